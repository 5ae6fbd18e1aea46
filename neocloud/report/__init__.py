"""``neocloud report``: the cluster as pictures -- racks, fabric, NVLink domains, storage, power, cost, goodput and
policy results -- on one self-contained HTML page drawn from the plan alone (no Pulumi imports here)."""

from ._page import CONTENT_SECURITY_POLICY, render_report

__all__ = ["CONTENT_SECURITY_POLICY", "render_report"]
