"""Profile of provider ``baremetal`` (pure: no Pulumi): the operator's own racks with an existing Kubernetes
cluster. The racks are physical, so rack power, node power and NIC speed are site values the plan needs; the
Network Operator installs the DOCA driver (no node image ships it); labels are ours (``neocloud.io/su``, rack,
NVLink domain), set by the operator's node provisioning from the plan's outputs.
"""

from __future__ import annotations

from neocloud.profiles import ProviderProfile

__all__ = ["PROFILE", "BaremetalProfile"]


class BaremetalProfile(ProviderProfile):
    name = "baremetal"
    summary = "Your own racks and an existing Kubernetes cluster (kubeconfig); the plan is the product."
    requires_region = False
    physical_racks = True
    required_catalog_fields = ("node_power_kw", "rack_power_kw", "nic_gbps")
    installs_fabric_driver = True
    bills_idle_nodes = False
    # An existing (kubeadm-style) cluster: its control plane is a set of Kubernetes nodes, where NVIDIA's DRA driver
    # runs its ComputeDomain controller by default (the chart's controller affinity, vendored values.yaml).
    control_plane_nodes = True


PROFILE = BaremetalProfile()
