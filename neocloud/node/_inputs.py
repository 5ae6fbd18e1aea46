"""Parsers for what a GPU node says about itself: ``nvidia-smi -q -x``, ``nvidia-smi topo -m`` and ``ibstat``.

Pure functions over text; a file that is not what its flag says raises ``NodeInputError`` (exit 2).

- ``nvidia-smi -q -x`` is XML whose elements NVIDIA's DTD defines (``nvsmi_device_v12.dtd`` since driver R535; the
  elements read here -- ``driver_version``, ``gpu/product_name``, ``fb_memory_usage/total``, ``ecc_mode``,
  ``ecc_errors/volatile``, ``retired_pages``, ``remapped_rows``, ``gpu_recovery_action``, ``fabric`` and
  ``pci/pci_bus_id`` -- keep their names from v10 to v12). Values are text: ``N/A`` where a GPU does not support
  the feature (row remapping reads ``N/A`` before Ampere, page retirement ``N/A`` from Ampere on).
- ``nvidia-smi topo -m`` prints a tab-separated matrix: a header of device names (``GPU0`` .. ``NICn`` or
  ``mlx5_N``), one row per device with ``X`` on the diagonal, ``NV#`` ("a bonded set of # NVLinks") or a PCIe
  distance (``PIX`` at most one PCIe bridge, ``PXB`` multiple bridges without the host bridge, ``PHB`` through the
  host bridge, ``NODE`` between host bridges of a NUMA node, ``SYS`` across NUMA nodes), then a legend and, on
  recent drivers, a ``NIC Legend`` naming each ``NICn`` (``NIC0: mlx5_0``).
- NIC link state comes from ``ibstat`` (infiniband-diags, shipped with MLNX_OFED/DOCA and rdma-core): one
  ``CA 'name'`` block per adapter and one ``Port N:`` block per port with ``State`` (``Active`` when the subnet
  manager -- or, for Ethernet/RoCE, the link -- brought it up), ``Physical state`` (``LinkUp``) and ``Rate`` in
  Gbit/s. It is the same data as ``/sys/class/infiniband/<ca>/ports/<n>/{state,phys_state,rate}``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "GpuReport",
    "IbPort",
    "NodeInputError",
    "SmiReport",
    "TopoMatrix",
    "parse_ibstat",
    "parse_nvidia_smi_xml",
    "parse_topo",
    "read_sysfs_infiniband",
]


class NodeInputError(ValueError):
    """A node input that cannot be read as what it claims to be (the CLI exits 2 naming the flag)."""


@dataclass(frozen=True, slots=True)
class GpuReport:
    """One ``<gpu>`` of ``nvidia-smi -q -x``."""

    bus_id: str
    product_name: str
    memory_mib: int | None
    """``fb_memory_usage/total`` in MiB (``None`` where the driver reports ``N/A``)."""
    ecc_enabled: bool | None
    volatile_uncorrectable: int
    """Uncorrectable ECC errors since the last driver load (DRAM + SRAM, every counter the DTD names)."""
    retired_pages: int
    """Pages retired for single- or double-bit errors (pre-Ampere page retirement)."""
    retirement_pending: bool
    remap_pending: bool
    """Row remapping pending: the remap happens at the next GPU reset (A100+ memory error management)."""
    remap_failure: bool
    """A row remapping failed: NVIDIA's RMA policy condition."""
    recovery_action: str | None
    """``gpu_recovery_action`` (R550+): ``None`` when no reset or reboot is needed."""
    fabric_state: str | None
    """``fabric/state`` on NVSwitch systems (``Completed`` once Fabric Manager set up NVLink); ``None``: N/A."""
    fabric_status: str | None


@dataclass(frozen=True, slots=True)
class SmiReport:
    driver_version: str | None
    attached_gpus: int | None
    gpus: tuple[GpuReport, ...]


@dataclass(frozen=True, slots=True)
class TopoMatrix:
    """``nvidia-smi topo -m``: the GPU rows and their relation to every other device."""

    gpus: tuple[str, ...]
    nics: tuple[str, ...]
    """NIC names as the NIC Legend gives them (``mlx5_0``), else as the header does."""
    relation: dict[tuple[str, str], str] = field(default_factory=dict)
    """(GPU, device) -> ``NV18`` / ``PIX`` / ``PXB`` / ``PHB`` / ``NODE`` / ``SYS``."""


@dataclass(frozen=True, slots=True)
class IbPort:
    ca: str
    port: int
    state: str
    physical_state: str
    rate_gbps: float | None
    link_layer: str | None


def _text(element: ET.Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return None if value in ("", "N/A") else value


def _count(element: ET.Element, path: str) -> int:
    value = _text(element, path)
    if value is None:
        return 0
    try:
        return int(value.split()[0])
    except ValueError:
        return 0


def _yes(element: ET.Element, path: str) -> bool:
    return (_text(element, path) or "").lower() == "yes"


_MIB = re.compile(r"^(\d+)\s*MiB$")


def _uncorrectable(volatile: ET.Element | None) -> int:
    """Uncorrectable ECC errors since driver load: v12 names them ``sram_uncorrectable*`` and
    ``dram_uncorrectable``; v10/v11 nest them as ``double_bit/total``."""
    if volatile is None:
        return 0
    total = sum(_count(volatile, child.tag) for child in volatile
                if "uncorrectable" in child.tag and len(child) == 0)
    return total + _count(volatile, "double_bit/total")


def parse_nvidia_smi_xml(text: str) -> SmiReport:
    """Parse ``nvidia-smi -q -x`` output; raises ``NodeInputError`` when it is not that document."""
    if "<!ENTITY" in text:
        # nvidia-smi never declares entities; a document that does is not its output (and could expand them).
        raise NodeInputError("declares XML entities, which nvidia-smi -q -x output never does")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise NodeInputError(f"not well-formed XML ({error})") from None
    if root.tag != "nvidia_smi_log":
        raise NodeInputError(f"root element <{root.tag}>, expected <nvidia_smi_log> (nvidia-smi -q -x)")
    attached = _text(root, "attached_gpus")
    gpus = []
    for gpu in root.findall("gpu"):
        product = _text(gpu, "product_name")
        if product is None:
            raise NodeInputError("a <gpu> without <product_name>")
        memory = _text(gpu, "fb_memory_usage/total")
        match = _MIB.match(memory or "")
        uncorrectable = _uncorrectable(gpu.find("ecc_errors/volatile"))
        retired = sum(_count(gpu, f"retired_pages/{kind}/retired_count")
                      for kind in ("multiple_single_bit_retirement", "double_bit_retirement"))
        ecc = _text(gpu, "ecc_mode/current_ecc")
        gpus.append(GpuReport(
            bus_id=gpu.get("id") or _text(gpu, "pci/pci_bus_id") or "?",
            product_name=product,
            memory_mib=int(match.group(1)) if match else None,
            ecc_enabled=None if ecc is None else ecc.lower() == "enabled",
            volatile_uncorrectable=uncorrectable,
            retired_pages=retired,
            retirement_pending=_yes(gpu, "retired_pages/pending_retirement"),
            remap_pending=_yes(gpu, "remapped_rows/remapped_row_pending"),
            remap_failure=_yes(gpu, "remapped_rows/remapped_row_failure"),
            recovery_action=_text(gpu, "gpu_recovery_action"),
            fabric_state=_text(gpu, "fabric/state"),
            fabric_status=_text(gpu, "fabric/status"),
        ))
    try:
        attached_gpus = None if attached is None else int(attached)
    except ValueError:
        raise NodeInputError(f"<attached_gpus> is '{attached}', not a number") from None
    return SmiReport(driver_version=_text(root, "driver_version"), attached_gpus=attached_gpus, gpus=tuple(gpus))


_RELATION = re.compile(r"^(X|NV\d+|PIX|PXB|PHB|NODE|SYS|SOC)$")
_NIC_LEGEND = re.compile(r"^\s*(NIC\d+):\s*(\S+)\s*$")


def parse_topo(text: str) -> TopoMatrix:
    """Parse ``nvidia-smi topo -m`` output; raises ``NodeInputError`` when there is no GPU matrix in it."""
    lines = text.splitlines()
    # The header and GPU0's row both start with GPU0; the row's next cell is X (the diagonal).
    header_at = next((i for i, line in enumerate(lines)
                      if (cells := line.split())[:1] == ["GPU0"] and cells[1:2] != ["X"]), None)
    if header_at is None:
        raise NodeInputError("no matrix header starting with GPU0 (nvidia-smi topo -m)")
    devices = []
    for c in lines[header_at].split():
        if not re.fullmatch(r"(GPU|NIC)\d+|mlx\d+_\d+|[a-z][a-z0-9_]*\d", c):
            break  # "CPU Affinity", "NUMA Affinity", "GPU NUMA ID" follow the devices
        devices.append(c)
    legend = {m.group(1): m.group(2) for line in lines if (m := _NIC_LEGEND.match(line))}
    gpus = tuple(d for d in devices if re.fullmatch(r"GPU\d+", d))
    if not gpus:
        raise NodeInputError("the matrix header names no GPU")
    relation: dict[tuple[str, str], str] = {}
    seen_rows: set[str] = set()
    for line in lines[header_at + 1:]:
        cells = line.split()
        if cells[:1] == ["Legend:"]:
            break
        if not cells or cells[0] not in gpus:
            continue
        row = cells[0]
        values = cells[1:1 + len(devices)]
        if len(values) < len(devices) or not all(_RELATION.match(v) for v in values):
            raise NodeInputError(f"row {row} does not give one relation (X, NV#, PIX, PXB, PHB, NODE, SYS) per "
                                 f"device of the header")
        seen_rows.add(row)
        for device, value in zip(devices, values, strict=True):
            relation[(row, legend.get(device, device))] = value
    missing = [g for g in gpus if g not in seen_rows]
    if missing:
        raise NodeInputError(f"no matrix row for {', '.join(missing)}")
    nics = tuple(legend.get(d, d) for d in devices if d not in gpus)
    return TopoMatrix(gpus=gpus, nics=nics, relation=relation)


_CA = re.compile(r"^CA '([^']+)'\s*$")
_PORT = re.compile(r"^\s+Port (\d+):\s*$")
_FIELD = re.compile(r"^\s+([A-Za-z ]+):\s*(.*?)\s*$")


def parse_ibstat(text: str) -> tuple[IbPort, ...]:
    """Parse ``ibstat`` output; raises ``NodeInputError`` when it names no adapter port."""
    ports: list[IbPort] = []
    ca: str | None = None
    current: dict[str, str] | None = None
    port_no = 0

    def close() -> None:
        if ca is not None and current is not None:
            if "State" not in current or "Physical state" not in current:
                raise NodeInputError(f"CA '{ca}' port {port_no} has no State / Physical state line")
            rate = current.get("Rate")
            try:
                rate_gbps = float(rate) if rate is not None else None
            except ValueError:
                raise NodeInputError(f"CA '{ca}' port {port_no}: Rate '{rate}' is not a number") from None
            ports.append(IbPort(ca=ca, port=port_no, state=current["State"],
                                physical_state=current["Physical state"], rate_gbps=rate_gbps,
                                link_layer=current.get("Link layer")))

    for line in text.splitlines():
        if m := _CA.match(line):
            close()
            ca, current = m.group(1), None
        elif (m := _PORT.match(line)) and ca is not None:
            close()
            port_no, current = int(m.group(1)), {}
        elif (m := _FIELD.match(line)) and current is not None:
            current[m.group(1).strip()] = m.group(2)
    close()
    if not ports:
        raise NodeInputError("no \"CA '<name>'\" block with a \"Port N:\" section (ibstat)")
    return tuple(ports)


_RATE = re.compile(r"^\s*([\d.]+)\s*Gb/sec")


def read_sysfs_infiniband(root: Path) -> tuple[IbPort, ...]:
    """The same ports from ``/sys/class/infiniband`` (Linux ABI ``sysfs-class-infiniband``: ``ports/<n>/state``
    reads ``4: ACTIVE``, ``phys_state`` ``5: LinkUp``, ``rate`` ``400 Gb/sec (4X NDR)``, ``link_layer``
    ``InfiniBand``/``Ethernet``), for images without ``ibstat``."""
    ports: list[IbPort] = []
    if not root.is_dir():
        raise NodeInputError(f"{root} is not a directory")
    for ca in sorted(p for p in root.iterdir() if (p / "ports").is_dir()):
        for port in sorted((ca / "ports").iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 0):
            def read(name: str, port: Path = port) -> str | None:
                f = port / name
                return f.read_text().strip() if f.is_file() else None

            state, phys = read("state"), read("phys_state")
            if state is None or phys is None:
                raise NodeInputError(f"{port} has no state / phys_state")
            rate = _RATE.match(read("rate") or "")
            ports.append(IbPort(ca=ca.name, port=int(port.name) if port.name.isdigit() else 0, state=state,
                                physical_state=phys, rate_gbps=float(rate.group(1)) if rate else None,
                                link_layer=read("link_layer")))
    if not ports:
        raise NodeInputError(f"no adapter port under {root}")
    return tuple(ports)
