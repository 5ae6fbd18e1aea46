"""Node verification: does a GPU node match its catalog system? Pure (no Pulumi), used by
``neocloud node verify`` and by the per-node acceptance pod, which runs it on the node's own
``nvidia-smi -q -x``, ``nvidia-smi topo -m`` and ``ibstat`` output."""

from ._bundle import ACCEPTANCE_CONDITION, acceptance_program
from ._dcgm import DcgmResult, parse_dcgm_diag
from ._expect import NVIDIA_SMI_PRODUCT_NAMES, NVLINKS_PER_GPU, expectation_for
from ._inputs import (
    GpuReport,
    IbPort,
    NodeInputError,
    SmiReport,
    TopoMatrix,
    parse_ibstat,
    parse_nvidia_smi_xml,
    parse_topo,
    read_sysfs_infiniband,
)
from ._verify import NodeExpectation, Verification, verify_node

__all__ = [
    "ACCEPTANCE_CONDITION",
    "NVIDIA_SMI_PRODUCT_NAMES",
    "NVLINKS_PER_GPU",
    "DcgmResult",
    "GpuReport",
    "IbPort",
    "NodeExpectation",
    "NodeInputError",
    "SmiReport",
    "TopoMatrix",
    "Verification",
    "acceptance_program",
    "expectation_for",
    "parse_dcgm_diag",
    "parse_ibstat",
    "parse_nvidia_smi_xml",
    "parse_topo",
    "read_sysfs_infiniband",
    "verify_node",
]
