"""Hardware catalog: GPUs, systems (nodes and racks) and fabric switches.

Every number carries its source key from ``shared/reference/hardware.md``:

- ``H100RA``: NVIDIA DGX SuperPOD Reference Architecture, DGX H100 (RA-11333-001 V11, 2023-09).
- ``B200RA`` / ``GB200RA``: the same series for DGX B200 and DGX GB200.
- ``B300RA``: NVIDIA DGX SuperPOD with DGX B300, Spectrum-4 Ethernet and DC busbar power,
  docs.nvidia.com/dgx-superpod/reference-architecture/scalable-infrastructure-b300/latest/ (SU = 64 nodes).
- ``B300XDR``: NVIDIA DGX SuperPOD with DGX B300 and Quantum-X800 InfiniBand (RA-11339-001),
  docs.nvidia.com/dgx-superpod/reference-architecture/scalable-infrastructure-b300-xdr/latest/ (SU = 72 nodes).
- ``B200UG``: DGX B200 user guide. ``GB200UG``: DGX GB200 user guide.
- ``MLC``: MLCommons system descriptions. ``ROCM``: AMD ROCm documentation.
- ``AWS-P5EFA``: docs.aws.amazon.com/AWSEC2/latest/UserGuide/p5-efa.html.
- ``AWS-ACC``: "Specifications for Amazon EC2 accelerated computing instances",
  docs.aws.amazon.com/AWSEC2/latest/UserGuide/ac.html (performance and network specifications tables:
  accelerators and their memory, vCPUs, memory, network bandwidth, EFA support, network cards).
- ``NVL72RA``: NVIDIA Enterprise Reference Architecture, NVL72 AI Factory (GB300 NVL72),
  docs.nvidia.com/enterprise-reference-architectures/nvl72-ai-factory/latest/ ("GPUs are connected using a
  rail-optimized network topology through their respective ConnectX-8 NICs"; "each GPU is associated with a
  dedicated ConnectX-8 SuperNIC").
- ``AWS-EKS``: the Amazon EKS user guide (P6e-GB200 UltraServers).
- ``AWS-PCS``: the AWS PCS user guide, "Configure UltraServer instances" (docs.aws.amazon.com/pcs/latest/userguide/
  capacity-blocks-nvidia-imex.html): names ``p6e-gb300.36xlarge`` among the NVIDIA UltraServer instances whose GPUs
  NVLink joins across instances (IMEX). ``EKS-CHARTS``: aws/eks-charts ``hack/update-efa-instance-types.sh`` lists
  ``p6e-gb300.36xlarge`` among the EFA instance types of the EFA device plugin chart.
- ``LINKX``: NVIDIA LinkX cable reach tables.

Tags follow hardware.md: ``[P]`` vendor document, ``[S]`` third party restating one, ``[D]`` derived.
A number hardware.md marks unverified (``[U]``), or does not give at all, is ``None`` here: the spec's
``catalog`` section must supply it before the planner uses it (see ``CatalogOverrides`` in ``spec``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from .vocabulary import EFA_DEVICE_RESOURCE

__all__ = [
    "GPUS",
    "GPU_VENDORS",
    "SWITCHES",
    "SYSTEMS",
    "Gpu",
    "GpuVendor",
    "Switch",
    "System",
    "SystemKind",
    "known_system_names",
    "system_with_overrides",
]

SystemKind = Literal["dgx", "hgx", "nvl72-rack", "aws", "aws-ultraserver", "amd", "gpu-vm"]
"""How a system is built: an 8-GPU server (``dgx``/``hgx``/``amd``), a GB200 NVL72 compute tray that
only exists in whole racks (``nvl72-rack``), an AWS instance type (``aws``), an AWS UltraServer member
instance (``aws-ultraserver``) or a single-GPU cloud VM without a compute-fabric NIC (``gpu-vm``)."""


@dataclass(frozen=True, slots=True)
class GpuVendor:
    """What makes a vendor's GPUs schedulable and testable on Kubernetes."""

    name: str
    resource: str
    """Extended resource the vendor's device plugin advertises (quotas, flavors, LimitRanges, pod requests); GPU
    nodes are also tainted with it as the key."""
    operator: str
    """The operator that installs the driver, device plugin and metrics where the platform does not."""
    collective: str
    """Collective communication library node acceptance measures."""
    source: str
    missing: str | None = None
    """What this toolkit does not build yet for the vendor (``None``: nothing): the spec refuses its pools except
    where the provider's platform manages the vendor's GPU stack itself (``ProviderProfile.managed_gpu_vendors``)."""
    acceptance_missing: str | None = None
    """Why per-node acceptance cannot check this vendor's nodes yet (``None``: it can): the Kubernetes layer builds
    no acceptance for its pools, and a provider that would hold their new nodes for acceptance refuses them."""
    health_missing: str | None = None
    """Why continuous GPU health remediation (NVIDIA NVSentinel) does not cover this vendor's GPUs (``None``: it
    does); policy node-remediation-in-prod reports its prod pools with this reason."""


GPU_VENDORS: Mapping[str, GpuVendor] = MappingProxyType({v.name: v for v in (
    # nvidia.com/gpu: NVIDIA k8s-device-plugin, deployed by the GPU Operator (docs.nvidia.com/datacenter/
    # cloud-native/gpu-operator) [P]; NCCL for all-reduce (NVIDIA nccl-tests) [P].
    GpuVendor("nvidia", "nvidia.com/gpu", "NVIDIA GPU Operator", "NCCL", "NVIDIA GPU Operator docs [P]"),
    # amd.com/gpu: "Exposes AMD GPUs as amd.com/gpu resources" (instinct.docs.amd.com/projects/k8s-device-plugin)
    # [P]; the AMD GPU Operator (Helm chart, needs cert-manager and KMM: instinct.docs.amd.com/projects/
    # gpu-operator, installation/kubernetes-helm) [P]; RCCL is ROCm's collective library [P].
    # NVSentinel's GPU health monitor watches GPUs through NVIDIA DCGM (docs.nvidia.com/nvsentinel/v1.30.0, see
    # components/kubernetes/health.py), which does not manage AMD GPUs.
    GpuVendor("amd", "amd.com/gpu", "AMD GPU Operator", "RCCL", "AMD Instinct docs [P]",
              missing="this toolkit does not install the AMD GPU Operator",
              acceptance_missing="per-node acceptance of AMD GPUs (amd-smi, ROCm Validation Suite, rccl-tests) is "
              "not built yet",
              health_missing="NVIDIA NVSentinel monitors NVIDIA GPUs through DCGM only; nothing here watches AMD "
              "GPUs (e.g. AMD Device Metrics Exporter health) and cordons, drains and repairs a failing node"),
)})
"""GPU vendors by name (``Gpu.vendor``)."""


@dataclass(frozen=True, slots=True)
class Gpu:
    """One accelerator model. Throughput is dense (sparse is 2x)."""

    name: str
    memory_gb: float | None
    """HBM capacity in GB (``None``: unverified)."""
    hbm_tbps: float | None
    """HBM bandwidth in TB/s."""
    bf16_tflops: float | None
    """Dense BF16 TFLOPS."""
    fp8_tflops: float | None
    """Dense FP8 TFLOPS; ``None`` where the GPU has no FP8 (A100) or it is unverified."""
    tdp_w: float | None
    """Board power (TDP) in watts."""
    source: str
    vendor: str = "nvidia"
    """Key into ``GPU_VENDORS``."""


@dataclass(frozen=True, slots=True)
class System:
    """One node type: the unit that a pool counts (a server, a compute tray, or a cloud instance)."""

    name: str
    kind: SystemKind
    gpu: str
    """Key into ``GPUS``."""
    gpus_per_node: int
    rails: int
    """Compute-fabric NICs per node; rail-optimized fabrics have one rail per NIC."""
    nic_gbps: int
    """Line rate of one compute NIC in Gbit/s."""
    nvlink_domain_nodes: int
    """Nodes that share one NVLink domain: 1 for an 8-GPU HGX board, 18 trays for an NVL72 rack."""
    nvlink_gbps_per_gpu: float | None
    """NVLink bandwidth per GPU in GB/s (``None`` where unverified)."""
    source: str
    node_power_kw: float | None = None
    """Maximum power of one node in kW (for ``nvl72-rack`` this is ``None``: see ``rack_power_kw``)."""
    rack_units: int | None = None
    """Height of one node in rack units (``None`` for cloud instances and whole-rack systems)."""
    rack_power_kw: float | None = None
    """Power of one whole NVL72 rack in kW (rack-scale systems only)."""
    default_nodes_per_su: int = 32
    """Nodes in one scalable unit of the reference architecture."""
    efa_network_cards: int | None = None
    """AWS only: network cards, each carrying one EFA interface."""
    efa_gbps: int | None = None
    """AWS only: aggregate EFA bandwidth in Gbit/s."""
    vcpus: int | None = None
    memory_gib: int | None = None
    nic_ports_per_cage: int = 1
    """Compute ports per node-side OSFP cage, for transceiver counts. DGX H100/H200 carry 8 compute ports in 4
    twin-port OSFP cages (H100RA: 508 system OSFP for 127 nodes [P]); others are counted one per port."""
    ultraserver_sizes: tuple[int, ...] = ()
    """AWS UltraServer offerings, in instances per UltraServer."""
    nic_resource: str | None = None
    """Extended resource a pod requests for this system's compute NICs where the system itself fixes it: AWS EFA
    instances take ``vpc.amazonaws.com/efa`` from the AWS EFA device plugin, whatever the cluster. ``None`` for RDMA
    NICs (InfiniBand/RoCE HCAs), whose resource name the RDMA device plugin's config chooses: the provider profile's
    ``fabric_resource`` (the platform's plugin, or the NicClusterPolicy the layer installs); and for systems with no
    compute-fabric NIC at all (``rails`` 0)."""
    efa_first_card: int = 0
    """AWS only: the first network card that carries EFA. p6-b300 has 17 cards, card 0 for ENA only and EFA on
    cards 1-16 (AWS-ACC: 17 network cards, 6,400 Gbps = 16 x 400G EFA); elsewhere EFA starts at card 0."""
    unverified: tuple[str, ...] = field(default=())
    """Fields that hardware.md does not verify; the spec must override them before use."""

    @property
    def gpus_per_nvlink_domain(self) -> int:
        return self.gpus_per_node * self.nvlink_domain_nodes

    @property
    def gpu_vendor(self) -> GpuVendor:
        """Who makes this system's GPUs, and so which resource, operator and collective library it needs."""
        return GPU_VENDORS[GPUS[self.gpu].vendor]


@dataclass(frozen=True, slots=True)
class Switch:
    """A fabric switch model."""

    name: str
    ports: int
    """Radix: ports at the switch's native speed."""
    port_gbps: int
    ports_per_cage: int
    """Ports per OSFP cage (twin-port OSFP = 2), for transceiver counts."""
    kind: Literal["infiniband", "ethernet"]
    source: str
    max_port_split: int | None = None
    """Links one port may carry at a lower speed (2: an 800G port as 2 x 400G). ``None``: not verified, so the
    planner does not split ports unless the spec's ``fabric.port_split`` says the site does."""


GPUS: Mapping[str, Gpu] = MappingProxyType(
    {
        g.name: g
        for g in (
            Gpu("A100-SXM-80GB", 80, 2.039, 312, None, 400, "hardware.md GPUs [S]"),
            # A100 40 GB (p4d: "8 x NVIDIA A100 GPU, 320 GiB (8 x 40 GiB)", AWS-ACC [P]). Same GA100 compute and
            # board power as the 80 GB part [D]; its HBM bandwidth is not in our sources.
            Gpu("A100-SXM-40GB", 40, None, 312, None, 400, "AWS-ACC [P]; compute as A100 80GB [D]"),
            # An H100 SXM reports 81,559 MiB and a 700 W limit in nvidia-smi (hardware.md).
            Gpu("H100-SXM", 80, 3.35, 989, 1979, 700, "hardware.md GPUs [S]"),
            Gpu("H200-SXM", 141, 4.8, 989, 1979, 700, "MLC [P]"),
            Gpu("B200", 180, 8.0, 2250, 4500, 1000, "B200UG, MLC [P]"),
            Gpu("GB200", 186, 8.0, 2500, 5000, 1200, "GB200RA [P]/[D]"),
            Gpu("MI300X", 192, 5.3, 1307, 2615, 750, "ROCM [P]", vendor="amd"),
            # MI325X: 256 GB (ROCm gpu-specs: 256 GiB VRAM) [P]; 6.0 TB/s, 1,307.4 BF16 and 2,614.9 FP8 dense
            # TFLOPS (the MI300X's CDNA 3 compute), 1,000 W: AMD's spec sheet as restated by Vultr's ROCm docs and
            # awesomeagents.ai [S].
            Gpu("MI325X", 256, 6.0, 1307, 2615, 1000, "ROCM gpu-specs [P]; bandwidth, TFLOPS, TDP [S]", vendor="amd"),
            Gpu("L40S", 48, 0.864, 362, 733, 350, "hardware.md GPUs [S], PCIe only"),
            # B300 (Blackwell Ultra, also the GPU of GB300 NVL72): p6-b300 lists "8 x NVIDIA B300 GPU, 2148 GiB
            # (8 x 268 GiB)" (AWS-ACC [P]) = 288 GB [D]. Throughput and power are not in our sources.
            Gpu("B300", 288, None, None, None, None, "AWS-ACC memory [P]; the rest unverified"),
        )
    }
)
"""GPU models by name."""

_HGX_NVLINK_HOPPER = 900.0  # GB/s per GPU, HGX 8-GPU NVLink domain, H100/H200 [P]
_HGX_NVLINK_BLACKWELL = 1800.0  # GB/s per GPU, B200 and NVL72 [P]

SYSTEMS: Mapping[str, System] = MappingProxyType(
    {
        s.name: s
        for s in (
            # DGX H100/H200: 8 GPUs, 10.2 kW max [S]; 8 single-port CX-7 400G compute NICs [P] (H100RA);
            # SU = 32 nodes [P] (H100RA). hardware.md gives no chassis height: set catalog.systems.<name>.rack_units
            # for rack-space limits (the power budget and H100RA's 1, 2 or 4 per rack bound racks without it).
            System("dgx-h100", "dgx", "H100-SXM", 8, 8, 400, 1, _HGX_NVLINK_HOPPER,
                   "H100RA [P]; power [S]", node_power_kw=10.2, nic_ports_per_cage=2, unverified=("rack_units",)),
            System("dgx-h200", "dgx", "H200-SXM", 8, 8, 400, 1, _HGX_NVLINK_HOPPER,
                   "H100RA [P]; power [S]", node_power_kw=10.2, nic_ports_per_cage=2, unverified=("rack_units",)),
            # HGX boards from other vendors: same GPUs and NICs; chassis power and height vary by OEM.
            System("hgx-h100", "hgx", "H100-SXM", 8, 8, 400, 1, _HGX_NVLINK_HOPPER,
                   "H100RA NICs [P]; chassis varies by OEM", unverified=("node_power_kw", "rack_units")),
            System("hgx-h200", "hgx", "H200-SXM", 8, 8, 400, 1, _HGX_NVLINK_HOPPER,
                   "H100RA NICs [P]; chassis varies by OEM", unverified=("node_power_kw", "rack_units")),
            # DGX B200: 8 GPUs, 14.3 kW max, 10U, 8 CX-7 400G + 2 BlueField-3 (B200UG [P]).
            # Its 8 compute ports sit in 4 twin-port OSFP cages: "the compute fabric ports in the middle use a
            # two-port transceiver to access all eight GPUs" (B200RA "network-fabrics" [P]), so a node takes 4
            # transceivers, not 8.
            System("dgx-b200", "dgx", "B200", 8, 8, 400, 1, _HGX_NVLINK_BLACKWELL,
                   "B200UG, B200RA [P]", node_power_kw=14.3, rack_units=10, nic_ports_per_cage=2),
            System("hgx-b200", "hgx", "B200", 8, 8, 400, 1, _HGX_NVLINK_BLACKWELL,
                   "B200UG NICs [P]; chassis varies by OEM", unverified=("node_power_kw", "rack_units")),
            # DGX B300: 8 GPUs, 8 ConnectX-8 800G compute NICs: B300XDR's SU of 72 nodes takes 576 node-leaf cables
            # on 800G XDR Q3400 leaves (8 x 800G per node), and B300RA runs the same NICs as 2 x 400G planes [P].
            # SU = 72 nodes (B300XDR; B300RA's Spectrum-X SU is 64: set fabric.nodes_per_su). Power and height
            # are not in our sources (B300XDR: ~56 kW for a rack of four, approximate): site values.
            System("dgx-b300", "dgx", "B300", 8, 8, 800, 1, _HGX_NVLINK_BLACKWELL, "B300XDR, B300RA [P]",
                   default_nodes_per_su=72, unverified=("node_power_kw", "rack_units")),
            System("hgx-b300", "hgx", "B300", 8, 8, 800, 1, _HGX_NVLINK_BLACKWELL,
                   "B300XDR NICs [P]; chassis varies by OEM", default_nodes_per_su=72,
                   unverified=("node_power_kw", "rack_units")),
            # GB200 NVL72: 18 compute trays of 4 GPUs = one 72-GPU NVLink domain at 1.8 TB/s per GPU;
            # 4 CX-7 400G per tray; SU = 8 racks (GB200RA [P]). Rack power ~120 kW is press only [S]:
            # configurable, so left to the spec.
            System("gb200-nvl72", "nvl72-rack", "GB200", 4, 4, 400, 18, _HGX_NVLINK_BLACKWELL,
                   "GB200RA, GB200UG [P]", default_nodes_per_su=8 * 18, unverified=("rack_power_kw",)),
            # GB300 NVL72: the same 18 trays of 4 GPUs in one 72-GPU NVLink 5 domain, one ConnectX-8 800G NIC per
            # GPU (NVL72RA [P]); rack power up to 142 kW (hardware.md, NVL72 AI-factory RA [P]). No GB300
            # SuperPOD table is in our sources: the SU is GB200RA's 8 racks [D].
            System("gb300-nvl72", "nvl72-rack", "B300", 4, 4, 800, 18, _HGX_NVLINK_BLACKWELL,
                   "NVL72RA [P]; SU as GB200RA [D]", default_nodes_per_su=8 * 18, rack_power_kw=142.0),
            # AWS p5/p5e: 8 GPUs, 192 vCPU, 2,048 GiB, 32 EFA network cards, 3,200 Gbps (AWS-P5EFA [P]).
            System("p5.48xlarge", "aws", "H100-SXM", 8, 32, 100, 1, _HGX_NVLINK_HOPPER, "AWS-P5EFA [P]",
                   efa_network_cards=32, efa_gbps=3200, vcpus=192, memory_gib=2048, nic_resource=EFA_DEVICE_RESOURCE),
            System("p5e.48xlarge", "aws", "H200-SXM", 8, 32, 100, 1, _HGX_NVLINK_HOPPER, "AWS-P5EFA [P]",
                   efa_network_cards=32, efa_gbps=3200, vcpus=192, memory_gib=2048, nic_resource=EFA_DEVICE_RESOURCE),
            # p5.4xlarge: 1 H100, 16 vCPU, 256 GiB, 100 Gbps on 1 network card with EFA (AWS-ACC [P]).
            System("p5.4xlarge", "aws", "H100-SXM", 1, 1, 100, 1, None, "AWS-ACC [P]",
                   efa_network_cards=1, efa_gbps=100, vcpus=16, memory_gib=256, nic_resource=EFA_DEVICE_RESOURCE),
            # p5en: 8 H200, 192 vCPU, 2,048 GiB, 16 network cards, 3,200 Gbps (AWS-ACC [P]).
            System("p5en.48xlarge", "aws", "H200-SXM", 8, 16, 200, 1, _HGX_NVLINK_HOPPER, "AWS-ACC [P]",
                   efa_network_cards=16, efa_gbps=3200, vcpus=192, memory_gib=2048, nic_resource=EFA_DEVICE_RESOURCE),
            # p4d: 8 A100 40 GB, 96 vCPU, 1,152 GiB, 4 x 100 Gbps on 4 EFA network cards (AWS-ACC [P]).
            System("p4d.24xlarge", "aws", "A100-SXM-40GB", 8, 4, 100, 1, None, "AWS-ACC [P]",
                   efa_network_cards=4, efa_gbps=400, vcpus=96, memory_gib=1152, nic_resource=EFA_DEVICE_RESOURCE),
            # p4de: the same with A100 80 GB ("640 GiB (8 x 80 GiB)", AWS-ACC [P]).
            System("p4de.24xlarge", "aws", "A100-SXM-80GB", 8, 4, 100, 1, None, "AWS-ACC [P]",
                   efa_network_cards=4, efa_gbps=400, vcpus=96, memory_gib=1152, nic_resource=EFA_DEVICE_RESOURCE),
            # p6-b200: 8 B200, 192 vCPU, 2,048 GiB, 3,200 Gbps on 8 network cards with EFA (AWS-ACC [P]).
            System("p6-b200.48xlarge", "aws", "B200", 8, 8, 400, 1, _HGX_NVLINK_BLACKWELL, "AWS-ACC, AWS-EKS [P]",
                   efa_network_cards=8, efa_gbps=3200, vcpus=192, memory_gib=2048, nic_resource=EFA_DEVICE_RESOURCE),
            # p6-b300: 8 B300, 192 vCPU, 4,096 GiB, 6,400 Gbps on 17 network cards (AWS-ACC [P]): card 0 carries
            # the ENA primary only, cards 1-16 one 400G EFA each.
            System("p6-b300.48xlarge", "aws", "B300", 8, 16, 400, 1, _HGX_NVLINK_BLACKWELL, "AWS-ACC [P]",
                   efa_network_cards=16, efa_gbps=6400, vcpus=192, memory_gib=4096, efa_first_card=1,
                   nic_resource=EFA_DEVICE_RESOURCE),
            # p6e-gb200.36xlarge: 4 GPUs; UltraServers of 9 (x36) or 18 (x72) instances, one NVLink domain
            # each (AWS-EKS [P]); 144 vCPU, 960 GiB, 3,200 Gbps on 17 network cards (AWS-ACC [P]). Which cards
            # carry EFA is not stated there: a site value.
            System("p6e-gb200.36xlarge", "aws-ultraserver", "GB200", 4, 4, 400, 18, _HGX_NVLINK_BLACKWELL,
                   "AWS-EKS, AWS-ACC [P]", default_nodes_per_su=8 * 18, ultraserver_sizes=(9, 18),
                   vcpus=144, memory_gib=960, unverified=("efa_network_cards",), nic_resource=EFA_DEVICE_RESOURCE),
            # p6e-gb300.36xlarge: the GB300 NVL72 UltraServer instance (AWS-PCS, EKS-CHARTS [P]). EC2's
            # specifications page we read does not list it yet, so per instance: 4 B300 GPUs and 4 rails are derived
            # from the GB300 NVL72 compute tray (4 Blackwell Ultra GPUs, each with its own ConnectX-8: NVL72RA [P])
            # as p6e-gb200.36xlarge is one GB200 tray [D], and the UltraServer of 18 instances from NVL72 = 72 GPUs
            # [D]. The EFA rate and network cards are not published there: site values the spec must give
            # (catalog.systems.p6e-gb300.36xlarge.{nic_gbps, efa_network_cards}); 800 is only a placeholder.
            System("p6e-gb300.36xlarge", "aws-ultraserver", "B300", 4, 4, 800, 18, _HGX_NVLINK_BLACKWELL,
                   "AWS-PCS, EKS-CHARTS [P]; GPUs, rails, UltraServer size [D] from NVL72RA",
                   default_nodes_per_su=8 * 18, ultraserver_sizes=(18,),
                   unverified=("efa_network_cards", "nic_gbps"), nic_resource=EFA_DEVICE_RESOURCE),
            # Single-GPU cloud VMs: one GPU and no compute-fabric NIC. DigitalOcean "Droplet features"
            # (docs.digitalocean.com/products/droplets/details/features/, #gpu-droplets) lists the self-service
            # gpu-h100x1-80gb and gpu-h200x1-141gb; "All GPU Droplets have a maximum bandwidth of 10 Gbps public and
            # 25 Gbps private", and only the multi-node (contracted) sizes are fabric-attached [P]. So: 0 rails, no
            # RDMA fabric, and an NVLink "domain" of one GPU (nothing to link to: no NVLink figure). The GPU is the
            # H100/H200 SXM part whose memory the slug names (80 GB, 141 GB) [D].
            System("h100-x1", "gpu-vm", "H100-SXM", 1, 0, 0, 1, None, "DigitalOcean Droplet features [P]"),
            System("h200-x1", "gpu-vm", "H200-SXM", 1, 0, 0, 1, None, "DigitalOcean Droplet features [P]"),
            # MI300X 8-GPU node: GPUs per ROCM [P]; node power, height and NICs vary by OEM.
            System("mi300x-8", "amd", "MI300X", 8, 8, 400, 1, None, "ROCM [P]; chassis varies by OEM",
                   unverified=("node_power_kw", "rack_units")),
            # MI325X platform: 8 OAM GPUs on the MI300X's UBB, a drop-in replacement (AMD MI325X platform) [S].
            System("mi325x-8", "amd", "MI325X", 8, 8, 400, 1, None, "MI325X platform [S]; chassis varies by OEM",
                   unverified=("node_power_kw", "rack_units")),
        )
    }
)
"""Systems by name."""

SWITCHES: Mapping[str, Switch] = MappingProxyType(
    {
        s.name: s
        for s in (
            # QM9700: 64 NDR 400G ports in 32 twin-port OSFP cages (H100RA [P]).
            Switch("QM9700", 64, 400, 2, "infiniband", "H100RA [P]"),
            # Quantum-X800 Q3400: 144 XDR 800G ports [S].
            Switch("Q3400", 144, 800, 2, "infiniband", "hardware.md [S]"),
            # Spectrum-X SN5600: 64 800G ports [S]. B300RA's twin-planar compute fabric runs each 800G port as
            # 2 x 400G (B300RA "network-fabrics": "each GPU has 2x 400GbE connectivity through two different
            # planes"; its Table 3 counts 128 400G links per switch) [P].
            Switch("SN5600", 64, 800, 1, "ethernet", "hardware.md [S]; B300RA split [P]", max_port_split=2),
        )
    }
)
"""Fabric switch models by name."""


def known_system_names() -> list[str]:
    """Sorted system names, for error messages."""
    return sorted(SYSTEMS)


def system_with_overrides(name: str, overrides: Mapping[str, object]) -> System:
    """The catalog system ``name`` with spec-supplied values replacing catalog values.

    A field the spec supplies stops being unverified. Unknown fields raise ``KeyError``; the spec
    validates field names before calling this.
    """
    base = SYSTEMS[name]
    if not overrides:
        return base
    remaining = tuple(f for f in base.unverified if f not in overrides)
    return replace(base, **dict(overrides), unverified=remaining)  # type: ignore[arg-type]
