"""What a node of a catalog system must show: the catalog's numbers, as ``verify_node`` compares them."""

from __future__ import annotations

from types import MappingProxyType

from ..catalog import GPUS, System
from ._verify import NodeExpectation

__all__ = ["NVIDIA_SMI_PRODUCT_NAMES", "NVLINKS_PER_GPU", "expectation_for"]

NVIDIA_SMI_PRODUCT_NAMES = MappingProxyType({
    # Catalog GPU -> nvidia-smi <product_name>. H100 SXM: "NVIDIA H100 80GB HBM3" (the product name nvidia-smi
    # prints on DGX H100 / p5, and GFD's nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3); the others likewise.
    # A GPU missing here (B300, AMD MI300X) cannot be verified by name: pass --product-name.
    "A100-SXM-80GB": "NVIDIA A100-SXM4-80GB",
    "A100-SXM-40GB": "NVIDIA A100-SXM4-40GB",
    "H100-SXM": "NVIDIA H100 80GB HBM3",
    "H200-SXM": "NVIDIA H200",
    "B200": "NVIDIA B200",
    "GB200": "NVIDIA GB200",
    "L40S": "NVIDIA L40S",
})
"""How nvidia-smi names each catalog GPU."""

NVLINKS_PER_GPU = MappingProxyType({
    # NVLink links per GPU: Hopper SXM 18 x NVLink4 (900 GB/s, the catalog's HGX NVLink figure; topo -m prints
    # NV18 between every pair on DGX H100), Blackwell 18 x NVLink5 (1.8 TB/s), A100 SXM 12 x NVLink3 (600 GB/s),
    # L40S none (PCIe only, hardware.md).
    "A100-SXM-80GB": 12,
    "A100-SXM-40GB": 12,
    "H100-SXM": 18,
    "H200-SXM": 18,
    "B200": 18,
    "GB200": 18,
    "L40S": 0,
})
"""NVLink links per GPU, by catalog GPU."""

_NVSWITCH_KINDS = frozenset({"dgx", "hgx", "nvl72-rack", "aws", "aws-ultraserver"})
"""System kinds whose GPUs reach each other through NVSwitch (8-GPU HGX boards and NVL72 trays)."""

_MIB_PER_GB = 1e9 / 2**20


def expectation_for(system: System, *, product_name: str | None = None, nvlinks: int | None = None,
                    min_driver: str | None = None) -> NodeExpectation:
    """The expectation for ``system``; raises ``KeyError`` naming what the catalog cannot say."""
    name = product_name or NVIDIA_SMI_PRODUCT_NAMES.get(system.gpu)
    if name is None:
        raise KeyError(f"the catalog has no nvidia-smi product name for GPU '{system.gpu}' of system "
                       f"'{system.name}'; pass --product-name")
    memory_gb = GPUS[system.gpu].memory_gb
    return NodeExpectation(
        system=system.name,
        gpus=system.gpus_per_node,
        product_name=name,
        min_memory_mib=None if memory_gb is None else int(memory_gb * _MIB_PER_GB),
        nvlinks=nvlinks if nvlinks is not None else NVLINKS_PER_GPU.get(system.gpu),
        nvswitch=system.kind in _NVSWITCH_KINDS,
        rails=system.efa_network_cards or system.rails,
        nic_gbps=float(system.nic_gbps),
        min_driver=min_driver,
    )
