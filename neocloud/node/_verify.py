"""Does this node match its catalog system? The hardware half of node acceptance, as a pure function.

Each mismatch is one line, ``<check>: <what was found>, expected <what the catalog says>``. What is checked and
why (the vendor behaviour each line encodes):

- ``gpus``: the count of GPUs of the expected model (``product_name`` as nvidia-smi and NVIDIA's GPU Feature
  Discovery label ``nvidia.com/gpu.product`` print it), and any GPU of another model.
- ``memory``: ``fb_memory_usage/total`` at least the catalog's GB (decimal; an H100 SXM "80 GB" reports 81,559 MiB,
  hardware.md).
- ``ecc``: ECC mode enabled, no uncorrectable (volatile) ECC error since driver load, no page retired or pending
  retirement (page retirement, pre-Ampere), no row remapping pending or failed, no recovery action. NVIDIA's GPU
  memory error management guide: a pending row remap happens at the next GPU reset; a remapping failure is the
  RMA condition; ``gpu_recovery_action`` other than None asks for a reset or reboot
  (docs.nvidia.com/deploy/a100-gpu-mem-error-mgmt/).
- ``fabric``: on NVSwitch systems the GPU's fabric state is ``Completed`` with status ``Success`` (Fabric Manager
  has set up NVLink; until then CUDA work fails). Drivers that report ``N/A`` are not judged.
- ``driver``: the driver is at least the version the acceptance asks for.
- ``nvlink`` (needs ``topo -m``): every GPU pair shows ``NV<links>`` -- "a bonded set of # NVLinks"; a pair with
  fewer links has a link down.
- ``nics`` / ``affinity`` (need ``topo -m``): the GPU-affine NICs (``PIX`` or ``PXB`` from some GPU, i.e. under
  the same PCIe switch hierarchy: GPUDirect RDMA needs the NIC and GPU on the same PCIe root complex, NVIDIA
  GPUDirect RDMA user manual, System Requirements) number the system's rails, and every GPU has one.
- ``nic-link`` (needs ``ibstat``): every compute NIC port is ``Active`` / ``LinkUp`` at the catalog's line rate.
  With ``topo -m`` the compute NICs are the GPU-affine ones; without it, the count of ports that are up at the
  line rate must reach the rail count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ._inputs import IbPort, SmiReport, TopoMatrix

__all__ = ["NodeExpectation", "Verification", "verify_node"]

_AFFINE = frozenset({"PIX", "PXB"})
"""PCIe distances under one switch hierarchy (no host bridge in the path)."""



@dataclass(frozen=True, slots=True)
class NodeExpectation:
    """What a node of one catalog system must show."""

    system: str
    gpus: int
    product_name: str
    min_memory_mib: int | None
    nvlinks: int | None
    """NVLink links between every GPU pair (``None``: not known, not checked)."""
    nvswitch: bool
    rails: int
    nic_gbps: float
    min_driver: str | None = None


@dataclass(frozen=True, slots=True)
class Verification:
    mismatches: tuple[str, ...]
    checked: tuple[str, ...]
    skipped: tuple[str, ...] = field(default=())
    """Checks that did not run, each with why (a missing input)."""

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in text.split("."))


def verify_node(expect: NodeExpectation, smi: SmiReport, *, topo: TopoMatrix | None = None,
                ports: tuple[IbPort, ...] | None = None) -> Verification:
    """Compare what the node reports with ``expect``."""
    out: list[str] = []
    checked = ["gpus", "memory", "ecc", "fabric"]
    skipped: list[str] = []
    models = Counter(g.product_name for g in smi.gpus)
    matching = models.get(expect.product_name, 0)
    if matching != expect.gpus:
        out.append(f"gpus: found {matching} {expect.product_name}, expected {expect.gpus}")
    for gpu in smi.gpus:
        at = f"gpu {gpu.bus_id}"
        if gpu.product_name != expect.product_name:
            out.append(f"{at}: {gpu.product_name}, expected {expect.product_name}")
            continue
        if expect.min_memory_mib is not None and (gpu.memory_mib or 0) < expect.min_memory_mib:
            out.append(f"memory: {at} has {gpu.memory_mib if gpu.memory_mib is not None else 'N/A'} MiB, "
                       f"expected at least {expect.min_memory_mib} MiB")
        if gpu.ecc_enabled is False:
            out.append(f"ecc: {at} has ECC disabled, expected enabled")
        if gpu.volatile_uncorrectable:
            out.append(f"ecc: {at} has {gpu.volatile_uncorrectable} uncorrectable ECC errors since driver load, "
                       f"expected 0")
        if gpu.retired_pages or gpu.retirement_pending:
            pending = ", retirement pending" if gpu.retirement_pending else ""
            out.append(f"ecc: {at} has {gpu.retired_pages} retired pages{pending}, expected none")
        if gpu.remap_pending:
            out.append(f"ecc: {at} has a row remapping pending (applied at the next GPU reset), expected none")
        if gpu.remap_failure:
            out.append(f"ecc: {at} had a row remapping failure (NVIDIA RMA condition), expected none")
        if gpu.recovery_action not in (None, "None"):
            out.append(f"ecc: {at} asks for recovery action {gpu.recovery_action}, expected None")
        if expect.nvswitch and gpu.fabric_state is not None and (
                gpu.fabric_state != "Completed" or gpu.fabric_status not in (None, "Success")):
            out.append(f"fabric: {at} NVLink fabric {gpu.fabric_state}/{gpu.fabric_status or '-'}, "
                       f"expected Completed/Success")
    if expect.min_driver is not None:
        checked.append("driver")
        found = smi.driver_version
        if found is None or _version(found) < _version(expect.min_driver):
            out.append(f"driver: found {found or 'none'}, expected at least {expect.min_driver}")
    else:
        skipped.append("driver (no minimum given)")
    affine: list[str] | None = None
    if topo is None:
        skipped.extend(["nvlink (no topo -m)", "nics and affinity (no topo -m)"])
    else:
        checked.extend(["nvlink", "nics", "affinity"])
        out.extend(_nvlink(expect, topo))
        affine, lines = _affinity(expect, topo)
        out.extend(lines)
    if ports is None:
        skipped.append("nic-link (no ibstat)")
    else:
        checked.append("nic-link")
        out.extend(_links(expect, ports, affine))
    return Verification(mismatches=tuple(out), checked=tuple(checked), skipped=tuple(skipped))


def _nvlink(expect: NodeExpectation, topo: TopoMatrix) -> list[str]:
    if expect.nvlinks is None:
        return []
    out = []
    want = f"NV{expect.nvlinks}" if expect.nvlinks else None
    for i, a in enumerate(topo.gpus):
        for b in topo.gpus[i + 1:]:
            found = topo.relation.get((a, b), "?")
            if want is None:
                continue
            if found != want:
                link = f"{found[2:]} links ({found})" if found.startswith("NV") else f"no NVLink ({found})"
                out.append(f"nvlink: {a}-{b} has {link}, expected {want}")
    return out


def _affinity(expect: NodeExpectation, topo: TopoMatrix) -> tuple[list[str], list[str]]:
    out = []
    affine = [nic for nic in topo.nics if any(topo.relation.get((g, nic)) in _AFFINE for g in topo.gpus)]
    if len(affine) < expect.rails:
        out.append(f"nics: found {len(affine)} GPU-affine NICs ({', '.join(affine) or 'none'}), "
                   f"expected {expect.rails}")
    for gpu in topo.gpus:
        if not any(topo.relation.get((gpu, nic)) in _AFFINE for nic in topo.nics):
            nearest = sorted({topo.relation.get((gpu, nic), "?") for nic in topo.nics}) or ["no NIC"]
            out.append(f"affinity: {gpu} has no NIC under its PCIe switch (nearest {'/'.join(nearest)}), "
                       f"expected PIX or PXB")
    return affine, out


def _links(expect: NodeExpectation, ports: tuple[IbPort, ...], affine: list[str] | None) -> list[str]:
    def up(p: IbPort) -> bool:
        return p.state.split()[-1].lower() == "active" and p.physical_state.split()[-1].lower() == "linkup"

    out = []
    if affine is not None:
        by_ca = {p.ca: p for p in ports}
        for nic in affine:
            port = by_ca.get(nic)
            if port is None:
                out.append(f"nic-link: {nic} is in topo -m but not in ibstat, expected Active at "
                           f"{expect.nic_gbps:g} Gb/s")
            elif not up(port):
                out.append(f"nic-link: {nic} port {port.port} is {port.state}/{port.physical_state}, "
                           f"expected Active/LinkUp")
            elif port.rate_gbps != expect.nic_gbps:
                out.append(f"nic-link: {nic} port {port.port} runs at {port.rate_gbps:g} Gb/s, "
                           f"expected {expect.nic_gbps:g}")
        return out
    good = [p for p in ports if up(p) and p.rate_gbps == expect.nic_gbps]
    if len(good) < expect.rails:
        down = [f"{p.ca} port {p.port} {p.state}/{p.physical_state} {p.rate_gbps or 0:g} Gb/s"
                for p in ports if p not in good]
        out.append(f"nic-link: found {len(good)} ports Active/LinkUp at {expect.nic_gbps:g} Gb/s, expected "
                   f"{expect.rails}; not up at rate: {', '.join(down) or 'none'}")
    return out
