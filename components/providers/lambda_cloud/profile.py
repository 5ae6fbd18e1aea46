"""Profile of provider ``lambda`` (pure: no Pulumi): Lambda Cloud's on-demand instances and 1-Click Clusters.

Two shapes, chosen by ``lambda.kubernetes``:

- ``none`` (default): on-demand instances (``capacity.source: on-demand``), one instance group per pool, launched
  through the Cloud API (https://docs.lambda.ai/api/cloud) with a filesystem, a firewall ruleset and an SSH key.
  On-demand instances come with no Kubernetes, so there is no Kubernetes layer and no team queues: the instances
  are a pool for SSH/Slurm-style work. Lambda on-demand instances do not autoscale, so ``min_nodes`` cannot be
  below ``nodes + spares``.
- ``existing``: 1-Click Clusters (``capacity.source: 1-click-cluster``), reserved multi-node clusters that Lambda
  provisions with their own Kubernetes; the Cloud API has no call that creates one (it can only list their
  instances: GET /instances ``cluster_id``), so nothing is launched and the Kubernetes layer runs on the
  existing cluster through the ``neocloud:kubeconfig`` secret, as for ``baremetal``. Their compute fabric is
  NVIDIA Quantum InfiniBand with SHARP in the switches (lambda.ai/blog/nvidia-sharp-on-lambda-1cc); NIC count
  and speed come from the catalog system (H100RA: 8 x 400G), overridable in ``catalog.systems`` where your
  cluster differs. Node labels (``neocloud.io/pool``, ``neocloud.io/su``) are the operator's to apply from the
  ``lambda.node_labels`` output: Lambda documents no topology labels for 1-Click Cluster nodes.

On-demand pools and 1-Click Cluster pools do not mix in one stack: an on-demand instance joins no cluster, so a
Kubernetes layer over both would promise GPUs (Kueue flavors, quotas) that no node of the cluster has.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from neocloud._model import IPV4_CIDR, PathProblem, SettingsModel
from neocloud.profiles import Problem, ProviderProfile, ResourceTypes, one_su_group, unknown_system_problems

if TYPE_CHECKING:
    from neocloud.catalog import System
    from neocloud.plan import PoolPlan
    from neocloud.spec import ClusterSpec, Pool

__all__ = [
    "API_KEY_CONFIG",
    "FILESYSTEM_KIND",
    "FILESYSTEM_TYPE",
    "FIREWALL_RULESET_TYPE",
    "INSTANCE_GROUP_TYPE",
    "LAMBDA_INSTANCE_TYPES",
    "ONE_CLICK_CLUSTER",
    "PROFILE",
    "SSH_KEY_TYPE",
    "LambdaFirewallRule",
    "LambdaProfile",
    "LambdaSettings",
]

API_KEY_CONFIG = "lambda:apiKey"
"""Secret stack config holding the Lambda Cloud API key (read by the dynamic providers in ``configure``)."""

_MODULE = "lambdacloud"
INSTANCE_GROUP_TYPE = f"pulumi-python:dynamic/{_MODULE}:InstanceGroup"
"""Type token of ``resources.InstanceGroup`` (pulumi.dynamic tokens are ``pulumi-python:dynamic/<module>:<name>``)."""
FILESYSTEM_TYPE = f"pulumi-python:dynamic/{_MODULE}:Filesystem"
FIREWALL_RULESET_TYPE = f"pulumi-python:dynamic/{_MODULE}:FirewallRuleset"
SSH_KEY_TYPE = f"pulumi-python:dynamic/{_MODULE}:SshKey"

FILESYSTEM_KIND = "lambda-filesystem"
"""``storage.filesystem.kind`` of a Lambda filesystem (shared storage in one region, mounted at launch)."""
ONE_CLICK_CLUSTER = "1-click-cluster"
"""``capacity.source`` of a pool that is (part of) a reserved 1-Click Cluster."""

LAMBDA_INSTANCE_TYPES: Mapping[str, str] = {
    # gpu_8x_h100_sxm5: 8x H100 SXM5. The Cloud API reference's InstanceType example names the GPUDirect-RDMA
    # variant gpu_8x_h100_sxm5gdr ("8x H100 (80 GB SXM5)"); check GET /instance-types for what your account sees.
    "hgx-h100": "gpu_8x_h100_sxm5",
    # gpu_8x_b200_sxm6: third-party tooling quoting GET /instance-types (gpu_1x_b200_sxm6 seen there) [S].
    "hgx-b200": "gpu_8x_b200_sxm6",
}
"""Lambda instance types by catalog system; anything else goes in ``lambda.instance_types``."""

_REGION = r"^[a-z]+(-[a-z]+)+-[0-9]+$"
"""Lambda region names, e.g. us-east-1, us-south-1, europe-central-1 (GET /regions)."""
_INSTANCE_TYPE = r"^[a-z0-9][a-z0-9_]{2,62}$"
"""Lambda instance type names, e.g. gpu_8x_h100_sxm5."""


class LambdaFirewallRule(SettingsModel):
    """One inbound allow rule of the cluster's firewall ruleset (the API's FirewallRule)."""

    protocol: Literal["tcp", "udp", "icmp", "all"] = Field(description="tcp, udp, icmp or all.")
    port_range: tuple[Annotated[int, Field(ge=1, le=65535)], Annotated[int, Field(ge=1, le=65535)]] | None = Field(
        None, description="Inclusive [min, max] ports; [22, 22] for one port. Required except for icmp, which takes "
        "none.",
    )
    source_network: str = Field(pattern=IPV4_CIDR, description="Source IPv4 network in CIDR form, e.g. "
                                "203.0.113.0/24 (0.0.0.0/0 is the whole internet).")
    description: str = Field("", max_length=128, description="What the rule is for.")

    @model_validator(mode="after")
    def _check(self) -> LambdaFirewallRule:
        if self.protocol == "icmp" and self.port_range is not None:
            raise ValueError("port_range is not allowed for icmp")
        if self.protocol != "icmp" and self.port_range is None:
            raise ValueError(f"port_range is required for {self.protocol}")
        if self.port_range is not None and self.port_range[0] > self.port_range[1]:
            raise ValueError(f"port_range {list(self.port_range)}: min exceeds max")
        try:
            ipaddress.IPv4Network(self.source_network)
        except ValueError as exc:
            raise ValueError(f"source_network {self.source_network!r} is not a network address ({exc})") from None
        return self


class LambdaSettings(SettingsModel):
    """Settings for ``provider: lambda`` (on-demand instances, filesystem, firewall ruleset and SSH key; or
    1-Click Clusters through the existing-Kubernetes path).

    Credentials are not here: the provider reads the API key from the secret stack config ``lambda:apiKey``
    (`pulumi config set --secret lambda:apiKey ...`) or ``LAMBDA_API_KEY``.
    """

    kubernetes: Literal["none", "existing"] = Field(
        "none", description="none: on-demand instances, no Kubernetes layer. existing: 1-Click Cluster pools and "
        "the Kubernetes layer on their cluster through the neocloud:kubeconfig secret.",
    )
    instance_types: dict[str, Annotated[str, Field(pattern=_INSTANCE_TYPE)]] = Field(
        default_factory=dict,
        description="Instance type by catalog system, on top of the built-in ones (hgx-h100: gpu_8x_h100_sxm5, "
        "hgx-b200: gpu_8x_b200_sxm6).",
    )
    ssh_key_name: str | None = Field(
        None, min_length=1, max_length=64,
        description="An SSH key already in your Lambda account that the instances accept (Lambda takes exactly one "
        "per launch). Or give ssh_public_key to upload one.",
    )
    ssh_public_key: str | None = Field(
        None, min_length=1, max_length=4096, pattern=r"^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)) ",
        description="A public key to upload as '<cluster>-admin' (managed by this stack); instead of ssh_key_name.",
    )
    firewall_rules: list[LambdaFirewallRule] = Field(
        default_factory=list, max_length=100,
        description="Inbound allow rules of the cluster's firewall ruleset, associated with every instance; empty "
        "allows no inbound traffic at all (policy firewall-not-world-open refuses SSH open to 0.0.0.0/0).",
    )
    filesystem_name: str | None = Field(
        None, min_length=1, max_length=60, pattern=r"^[a-zA-Z]+[0-9a-zA-Z-]*$",
        description="Name of the lambda-filesystem (unique per account); default '<cluster>-shared'.",
    )
    image_family: str | None = Field(
        None, pattern=r"^[a-z0-9][-a-z0-9._]{0,62}$",
        description="Machine image family to launch (GET /images); default: Lambda's latest Lambda Stack image.",
    )
    active_timeout_s: int = Field(
        1800, ge=60, le=14_400,
        description="Deadline for every instance of a pool to become active after its launch. Lambda says only "
        "that instances 'might take several minutes to launch', so this is a setting.",
    )
    keep_partial_launches: bool = Field(
        False, description="When a pool's launch fails part way (e.g. insufficient capacity), keep the instances "
        "that did launch, tagged, for the next `pulumi up` to adopt; default: terminate them (nothing bills "
        "outside Pulumi's state).",
    )
    one_click_cluster_id: str | None = Field(
        None, pattern=r"^[0-9a-f]{32}$",
        description="ID of the 1-Click Cluster (GET /instances?cluster_id=...), recorded in the outputs.",
    )

    @model_validator(mode="after")
    def _one_key(self) -> LambdaSettings:
        if self.ssh_key_name and self.ssh_public_key:
            raise PathProblem("lambda.ssh_public_key", "give ssh_key_name or ssh_public_key, not both (Lambda "
                              "takes exactly one SSH key per launch)")
        return self

    def instance_type(self, system: str) -> str | None:
        """The Lambda instance type for a catalog system (spec value first, then the built-in one)."""
        return self.instance_types.get(system) or LAMBDA_INSTANCE_TYPES.get(system)


class LambdaProfile(ProviderProfile):
    name = "lambda"
    summary = ("Lambda Cloud: on-demand instances, filesystem, firewall ruleset and SSH key through our provider "
               "over the Cloud API; 1-Click Clusters through the existing-Kubernetes path.")
    settings = LambdaSettings
    settings_description = "provider lambda: Kubernetes path, instance types, SSH key, firewall rules, filesystem."
    system_kinds = ("hgx",)
    fabric_kinds = ("infiniband",)
    fabric_note = ("1-Click Clusters run on NVIDIA Quantum InfiniBand; on-demand instances have no compute fabric "
                   "between them, so ")
    capacity_sources = ("on-demand", ONE_CLICK_CLUSTER)
    # On-demand instances are billed while they run and do not autoscale (pool_problems refuses another min_nodes),
    # so the only way an idle pool stops billing is to terminate its instances.
    scale_to_zero_advice = ("Lambda instances do not autoscale: remove the pool from the stack while idle "
                            "(`pulumi up` terminates its instances)")
    filesystem_kinds = (FILESYSTEM_KIND, "external")
    secret_config = (API_KEY_CONFIG,)  # the API key: full access to every API operation (access-security docs)
    resource_types: ClassVar[ResourceTypes] = ResourceTypes(
        stateful=(FILESYSTEM_TYPE,),
        other={"instance_group": INSTANCE_GROUP_TYPE, "filesystem": FILESYSTEM_TYPE,
               "firewall_ruleset": FIREWALL_RULESET_TYPE, "ssh_key": SSH_KEY_TYPE},
    )

    def pool_problems(self, spec: ClusterSpec, index: int, pool: Pool, system: System) -> Iterable[Problem]:
        settings: LambdaSettings = self.settings_of(spec)
        at = f"pools[{index}]"
        if pool.capacity.source == ONE_CLICK_CLUSTER:
            if settings.kubernetes != "existing":
                yield (f"{at}.capacity.source", "1-click-cluster pools run on the cluster's own Kubernetes; set "
                       "lambda.kubernetes: existing")
            return
        if settings.kubernetes == "existing":
            yield (f"{at}.capacity.source", "an on-demand instance joins no Kubernetes cluster, so with "
                   f"lambda.kubernetes existing allowed: {ONE_CLICK_CLUSTER}")
        if settings.instance_type(pool.system) is None:
            yield (f"lambda.instance_types.{pool.system}", f"required: no built-in Lambda instance type for "
                   f"{pool.system} ({at}); set one from GET /instance-types")
        widest = f"{spec.name}-{pool.name}-{pool.total_nodes - 1}"
        if len(widest) > 63:
            yield (f"{at}.name", f"instance '{widest}' is {len(widest)} chars; instance names are hostnames of at "
                   "most 63 (InstanceLaunchRequest.hostname), so shorten the cluster or pool name")
        if pool.min_nodes is not None and pool.min_nodes != pool.total_nodes:
            yield (f"{at}.min_nodes", f"got {pool.min_nodes}; Lambda on-demand instances do not autoscale, so "
                   f"allowed: unset or {pool.total_nodes} (nodes + spares)")

    def problems(self, spec: ClusterSpec) -> Iterable[Problem]:
        import re

        settings: LambdaSettings = self.settings_of(spec)
        yield from unknown_system_problems("lambda.instance_types", settings.instance_types)
        if spec.region and not re.match(_REGION, spec.region):
            yield ("region", f"got {spec.region!r}; allowed: a Lambda region such as us-east-1")
        on_demand = [p for p in spec.pools if p.capacity.source == "on-demand"]
        if on_demand and not (settings.ssh_key_name or settings.ssh_public_key):
            yield ("lambda.ssh_key_name", "required for on-demand pools: the SSH key the instances accept (or "
                   "ssh_public_key to upload one)")
        if settings.kubernetes == "none":
            if spec.kubernetes.queues:
                yield ("kubernetes.queues", "team queues need a Kubernetes cluster; on-demand Lambda instances have "
                       "none (lambda.kubernetes: none), so allowed: no queues")
            if spec.kubernetes.traffic_regulator is not None:
                yield ("kubernetes.traffic_regulator", "the gateway needs a Kubernetes cluster; lambda.kubernetes "
                       "is none")
        fs = spec.storage.filesystem
        if fs is not None and fs.kind == FILESYSTEM_KIND and settings.kubernetes == "existing":
            yield ("storage.filesystem.kind", f"{FILESYSTEM_KIND} is mounted on instances this stack launches; a "
                   "1-Click Cluster brings its own storage, so allowed: external")

    def su_groups(self, spec: ClusterSpec, pool: PoolPlan, placement: object = None) -> tuple[tuple[int, int], ...]:
        """One instance group per pool, labelled alike: one ``neocloud.io/su`` group (value 0)."""
        return one_su_group(pool)

    def settings_of(self, spec: ClusterSpec) -> LambdaSettings:
        section: LambdaSettings = getattr(spec, self.name)
        return section


PROFILE = LambdaProfile()
