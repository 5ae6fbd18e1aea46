"""GPU node groups by placement block, and the CPU system node group.

Per placement block (``neocloud.plan.placement``): one launch template, one EKS managed node group and, on
on-demand capacity only, one cluster placement group. Reserved capacity (an On-Demand Capacity Reservation or a
Capacity Block) is targeted explicitly in the launch template and gets no placement group: the reservation
already fixes placement, and forcing a placement group on it fails with capacity errors (terraform-aws-eks #3730,
hardware.md AWS [S]).

Launch template facts:

- One EFA interface per network card: card 0 is the primary interface (device index 0, ``efa``: EFA with ENA,
  which carries the node's IP), every further card gets an ``efa-only`` interface at device index 1 (EC2 user
  guide, "Maximize network bandwidth on Amazon EC2 instances with multiple network cards",
  docs.amazonaws.cn/en_us/AWSEC2/latest/UserGuide/efa-acc-inst-types.html: "For the primary network interface
  (network card index 0, device index 0), create an EFA (EFA with ENA) interface ... For each additional network
  interface, use the next unused network card index, device index 1, and either an EFA or EFA-only network
  interface") [P]. ``efa-only`` interfaces carry no IP address, which keeps 32-card p5 nodes from draining the
  subnet (AWS announcement of EFA-only interfaces, 2024-10) [P]. The global edition of that page now also shows
  an ENA-only primary with an ``efa-only`` interface at card 0 / device 1; this module keeps one interface per
  card, as the catalog's ``efa_network_cards`` counts them.
- Every EFA interface carries the EFA security group; the primary one also the EKS cluster security group
  (AWS PCS user guide, EFA launch templates: "Every EFA needs the security group that enables EFA traffic") [P].
- Capacity Blocks: ``InstanceMarketOptions.MarketType = capacity-block`` and
  ``CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId``, instance type in the
  template, node group ``capacityType: CAPACITY_BLOCK`` (EKS user guide, "Create a managed node group with
  Capacity Blocks for ML") [P].
- A block that draws on several reservations (``aws.reservations_per_node_group`` > 1) targets a Capacity
  Reservation resource group instead (``CapacityReservationResourceGroupArn``): a resource group with the
  ``AWS::EC2::CapacityReservationPool`` and ``AWS::ResourceGroups::Generic`` (allowed-resource-types
  ``AWS::EC2::CapacityReservation``) configurations, and the reservations added to it; EC2 then matches
  launches with any reservation in the group, Capacity Blocks included (EC2 user guide, cr-groups,
  create-group) [P].
- IMDSv2 only (``http_tokens: required``). The hop limit (``aws.imds_hop_limit``) is 1 by default: a pod is one
  network hop behind the node, so it cannot complete the IMDSv2 token exchange and read the node role's
  credentials (EKS best practices, "Restrict access to the instance profile assigned to the worker node") [P];
  platform workloads that call AWS get EKS Pod Identity roles (``addons``). 2 is an explicit choice for an agent
  that reads metadata from a pod (aws-load-balancer-controller #3695) [S].
- EKS refuses launch templates that set ``SubnetId``, ``IamInstanceProfile``, ``RequestSpotInstances``,
  ``HibernationOptions`` or ``TerminateInstances`` (EKS API, LaunchTemplateSpecification) [P]: the node group
  supplies subnet and role.
- The root volume is an encrypted gp3 volume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from neocloud.plan import ClusterPlan, PlacementBlock, PoolPlan
from neocloud.spec import ClusterSpec
from neocloud.vocabulary import LABEL_ROLE, TAG_RESERVATION, TAG_RESERVATIONS

from ...labels import (
    ACCEPTANCE_LABELS,
    ACCEPTANCE_TAINT,
    LABEL_CLUSTER,
    gpu_taint,
    pool_labels,
)
from .common import Scope, partition, pool_tags, tags
from .eks import ControlPlane
from .network import Network
from .profile import AwsSettings

__all__ = [
    "EKS_TAINT_EFFECTS",
    "block_labels",
    "build_pool_blocks",
    "build_system_node_group",
    "efa_interfaces",
    "gpu_ami_type",
    "update_config",
]

EKS_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
"""Kubernetes taint effects as the EKS node group API spells them (EKS API, Taint.effect) [P]."""

_GRACE_GPUS = ("GB200", "GB300")
"""GPUs that come with Grace (Arm) CPUs: their instances need the ARM AMI (EKS user guide, P6e-GB200) [P]."""

ROLE_LABEL = LABEL_ROLE


@dataclass(frozen=True)
class BlockResources:
    """What one placement block registered."""

    block: PlacementBlock
    launch_template: aws.ec2.LaunchTemplate
    node_group: aws.eks.NodeGroup
    placement_group: aws.ec2.PlacementGroup | None
    scale_down: aws.autoscaling.Schedule | None = None
    """Capacity Blocks: the scheduled action that scales the node group to zero before the block ends."""


def gpu_ami_type(spec: ClusterSpec, pool: PoolPlan) -> str:
    """The EKS AMI type of a GPU pool: the spec's choice, else the accelerated AL2023 AMI for the CPU arch."""
    chosen = spec.settings_of(AwsSettings).gpu_ami_type
    if chosen:
        return chosen
    return "AL2023_ARM_64_NVIDIA" if pool.system.gpu in _GRACE_GPUS else "AL2023_x86_64_NVIDIA"


def efa_interfaces(cards: int, primary_groups: list[Any], efa_group: Any, *, first_card: int = 0) -> list[Any]:
    """Launch template network interfaces, one EFA per EFA card.

    EFA from card 0 (``first_card`` 0): ``efa`` on card 0 (device 0), ``efa-only`` on cards 1.. (device 1).
    Card 0 without EFA (p6-b300: 17 cards, EFA on 1-16, catalog ``efa_first_card``): an ENA ``interface`` primary
    on card 0 and ``efa-only`` at device index 0 on every EFA card ("For the primary network interface (network
    card index 0, device index 0), create an ENA interface ... For each additional network interface, use the next
    unused network card index, device index 0, for EFA-only network interface", EC2 user guide,
    docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-acc-inst-types.html) [P].
    """
    if first_card == 0:
        interfaces: list[Any] = [{
            "network_card_index": 0, "device_index": 0, "interface_type": "efa",
            "security_groups": primary_groups, "delete_on_termination": True,
        }]
        interfaces += [
            {"network_card_index": card, "device_index": 1, "interface_type": "efa-only",
             "security_groups": [efa_group], "delete_on_termination": True}
            for card in range(1, cards)
        ]
        return interfaces
    primary = {"network_card_index": 0, "device_index": 0, "interface_type": "interface",
               "security_groups": primary_groups, "delete_on_termination": True}
    return [primary] + [
        {"network_card_index": card, "device_index": 0, "interface_type": "efa-only",
         "security_groups": [efa_group], "delete_on_termination": True}
        for card in range(first_card, first_card + cards)
    ]


def block_labels(plan: ClusterPlan, pool: PoolPlan, block: PlacementBlock) -> dict[str, str]:
    """Node labels of a block's node group: the pool's, and the block's SU and (an UltraServer) NVLink domain,
    both as the plan decided them (``PlacementBlock.labels``)."""
    # nodes join with ACCEPTANCE_TAINT (_taints)
    return {**pool_labels(plan, pool), **ACCEPTANCE_LABELS, **block.labels}


def _taints(pool: PoolPlan) -> list[Any]:
    return [{"key": t["key"], "value": t["value"], "effect": EKS_TAINT_EFFECTS[t["effect"]]}
            for t in (gpu_taint(pool.system), ACCEPTANCE_TAINT)]


def _root_volume(spec: ClusterSpec) -> list[Any]:
    return [{
        "device_name": spec.settings_of(AwsSettings).root_device_name,
        "ebs": {"volume_size": spec.settings_of(AwsSettings).root_volume_gib, "volume_type": "gp3", "encrypted": True,
                "delete_on_termination": True},
    }]


def _metadata(spec: ClusterSpec) -> Any:
    hops = spec.settings_of(AwsSettings).imds_hop_limit
    return {"http_endpoint": "enabled", "http_tokens": "required",
            "http_put_response_hop_limit": hops, "instance_metadata_tags": "disabled"}


def _tag_specifications(resource_tags: dict[str, str]) -> list[Any]:
    # Instances, their volumes and interfaces carry the same plain-value tags as the template.
    return [{"resource_type": kind, "tags": resource_tags} for kind in ("instance", "volume", "network-interface")]


def build_pool_blocks(name: str, spec: ClusterSpec, plan: ClusterPlan, pool: PoolPlan,
                      blocks: tuple[PlacementBlock, ...], network: Network, control: ControlPlane,
                      scope: Scope) -> list[BlockResources]:
    """Launch template, node group and (on-demand) placement group per block, all in the pool's one subnet."""
    zone = pool.zone
    if zone is None:  # the spec requires a zone for every AWS pool; this guards direct callers
        raise ValueError(f"pool {pool.name} has no zone")
    subnet = network.private_subnets[zone]
    cards = pool.system.efa_network_cards
    if cards is None:  # the spec requires catalog.systems.<system>.efa_network_cards for such systems
        raise ValueError(f"{pool.system.name} has no efa_network_cards")
    cluster_sg = control.cluster.vpc_config.cluster_security_group_id
    opts = scope.opts()
    out: list[BlockResources] = []
    for block in blocks:
        base = f"{name}-{block.name}"
        block_tags = pool_tags(plan, pool, su=str(block.su), placement_block=block.name,
                               capacity=block.capacity_source, zone=zone,
                               plan_sus=f"{block.scalable_units[0]}-{block.scalable_units[-1]}")
        if block.reservation_id:
            block_tags[TAG_RESERVATION] = block.reservation_id
        elif block.reservation_group:
            block_tags[TAG_RESERVATIONS] = str(len(block.reservation_ids))
        placement_group = None
        lt_args: dict[str, Any] = {}
        lt_opts = opts
        if block.placement_group:
            placement_group = aws.ec2.PlacementGroup(f"{base}-pg", strategy="cluster", tags=block_tags, opts=opts)
            lt_args["placement"] = {"group_name": placement_group.name}
        else:
            target: dict[str, Any] = {"capacity_reservation_id": block.reservation_id}
            if block.reservation_group:
                group, members = _reservation_group(base, spec, block, control, block_tags, scope)
                target = {"capacity_reservation_resource_group_arn": group.arn}
                # Instances may launch only once every reservation is in the group.
                lt_opts = scope.opts(depends_on=members)
            lt_args["capacity_reservation_specification"] = {"capacity_reservation_target": target}
            if block.capacity_source == "capacity-block":
                lt_args["instance_market_options"] = {"market_type": "capacity-block"}
        template = aws.ec2.LaunchTemplate(
            f"{base}-lt",
            description=f"{plan.name} {pool.name} block {block.index}: {cards} EFA interfaces",
            instance_type=pool.system.name,
            network_interfaces=efa_interfaces(cards, [network.efa_security_group.id, cluster_sg],
                                              network.efa_security_group.id,
                                              first_card=pool.system.efa_first_card),
            metadata_options=_metadata(spec),
            block_device_mappings=_root_volume(spec),
            tag_specifications=_tag_specifications(block_tags),
            update_default_version=True,
            tags=block_tags,
            opts=lt_opts,
            **lt_args,
        )
        node_group = aws.eks.NodeGroup(
            f"{base}-ng",
            cluster_name=control.cluster.name,
            node_role_arn=control.node_role.arn,
            subnet_ids=[subnet.id],
            ami_type=gpu_ami_type(spec, pool),
            capacity_type="CAPACITY_BLOCK" if block.capacity_source == "capacity-block" else "ON_DEMAND",
            launch_template=_template_ref(template),
            scaling_config=_scaling(block.min_nodes, block.nodes, block.nodes),
            labels=block_labels(plan, pool, block),
            taints=_taints(pool),
            update_config=update_config(block),
            node_repair_config=_NODE_REPAIR,
            tags=block_tags,
            # The cluster autoscaler or an operator moves desired size; Pulumi must not reset it on every up.
            opts=scope.opts(ignore_changes=["scalingConfig.desiredSize"],
                                        depends_on=list(control.node_role_policies)),
        )
        scale_down = None
        if block.scale_to_zero_at is not None:
            scale_down = _scale_to_zero(base, block, node_group, scope)
        out.append(BlockResources(block, template, node_group, placement_group, scale_down))
    return out


def update_config(block: PlacementBlock) -> Any:
    """How EKS replaces the block's nodes on a version update.

    GPU nodes are too valuable to roll many at once: one at a time keeps jobs' spares in play. On reserved capacity
    (a Capacity Block or an On-Demand Capacity Reservation) there is no spare instance to launch first, so the
    strategy is ``MINIMAL``: "The minimal strategy ... terminates the old instances before launching the new
    instances ... useful in scenarios where you are constrained to resources or costs (for example, with hardware
    accelerators such as GPUs)", where ``DEFAULT`` "launches the new instances first" (EKS API,
    NodegroupUpdateConfig.updateStrategy).
    """
    if block.capacity_source == "on-demand":
        return {"max_unavailable": 1}
    return {"max_unavailable": 1, "update_strategy": "MINIMAL"}


CAPACITY_BLOCK_SCALEDOWN_ACTION = "neocloud-capacity-block-scaledown"
"""Name of the scheduled action that scales a Capacity Block node group to zero before the block ends."""


def _scale_to_zero(base: str, block: PlacementBlock, node_group: aws.eks.NodeGroup,
                   scope: Scope) -> aws.autoscaling.Schedule:
    """A one-time scheduled action on the node group's Auto Scaling group: min and desired 0 at the plan's
    ``scale_to_zero_at`` (``aws.capacity_block_drain_minutes`` before the block's end), so pods are drained before
    EC2 terminates the instances (EKS user guide, capacity-blocks-mng: a scheduled scaling policy scales the node
    group to 0 before the reservation ends; EC2 Auto Scaling user guide, "Scheduled scaling"). It runs before EKS's
    own scale-down (40 minutes before the end), and it also covers a node group that draws on several Capacity
    Blocks through a resource group, where EKS's action is not documented. The maximum size is left unchanged (-1).
    """
    asg_name = node_group.resources.apply(_autoscaling_group_name)
    return aws.autoscaling.Schedule(
        f"{base}-scaledown",
        autoscaling_group_name=asg_name,
        scheduled_action_name=CAPACITY_BLOCK_SCALEDOWN_ACTION,
        start_time=block.scale_to_zero_at,
        min_size=0,
        desired_capacity=0,
        max_size=-1,
        opts=scope.opts(depends_on=[node_group]),
    )


def _autoscaling_group_name(resources: Any) -> str:
    """The node group's Auto Scaling group (EKS API, Nodegroup.resources.autoScalingGroups[0].name)."""
    return str(resources[0].autoscaling_groups[0].name)


def _reservation_group(base: str, spec: ClusterSpec, block: PlacementBlock, control: ControlPlane,
                       block_tags: dict[str, str], scope: Scope,
                       ) -> tuple[aws.resourcegroups.Group, list[aws.resourcegroups.Resource]]:
    """A Capacity Reservation resource group holding the block's reservations (EC2 user guide, create-group)."""
    group = aws.resourcegroups.Group(
        f"{base}-crg",
        configurations=[
            {"type": "AWS::EC2::CapacityReservationPool"},
            {"type": "AWS::ResourceGroups::Generic",
             "parameters": [{"name": "allowed-resource-types", "values": ["AWS::EC2::CapacityReservation"]}]},
        ],
        tags=block_tags,
        opts=scope.opts(),
    )
    # The account comes from the cluster's ARN (arn:<partition>:eks:<region>:<account>:cluster/<name>): no invoke.
    account = control.cluster.arn.apply(lambda arn: arn.split(":")[4])
    arn_prefix = f"arn:{partition(spec.region)}:ec2:{spec.region}"

    def reservation_arn(rid: str) -> pulumi.Output[str]:
        return account.apply(lambda acct: f"{arn_prefix}:{acct}:capacity-reservation/{rid}")

    members = [
        aws.resourcegroups.Resource(f"{base}-crg-{rid}", group_arn=group.arn, resource_arn=reservation_arn(rid),
                                    opts=scope.opts())
        for rid in block.reservation_ids
    ]
    return group, members


_NODE_REPAIR: Any = {"enabled": True}
"""EKS node auto repair replaces nodes whose health checks fail (EKS user guide, node health) [P]."""


def _scaling(min_size: int, max_size: int, desired: int) -> Any:
    return {"min_size": min_size, "max_size": max_size, "desired_size": desired}


def _template_ref(template: aws.ec2.LaunchTemplate) -> Any:
    return {"id": template.id, "version": template.latest_version.apply(str)}


def _system_ami_type(instance_type: str) -> str:
    # Graviton families carry a 'g' after the generation digit (m7g, c8g, r7gd); they need the ARM AMI.
    return "AL2023_ARM_64_STANDARD" if re.match(r"^[a-z]+\d+g", instance_type) else "AL2023_x86_64_STANDARD"


def build_system_node_group(name: str, spec: ClusterSpec, plan: ClusterPlan, network: Network,
                            control: ControlPlane, scope: Scope) -> aws.eks.NodeGroup:
    """CPU nodes for add-ons and operators, across the control-plane zones, with the same IMDSv2 and root-volume
    rules."""
    opts = scope.opts()
    system_tags = tags(plan, role="system")
    template = aws.ec2.LaunchTemplate(
        f"{name}-system-lt", description=f"{plan.name} system nodes",
        metadata_options=_metadata(spec), block_device_mappings=_root_volume(spec),
        tag_specifications=_tag_specifications(system_tags), update_default_version=True, tags=system_tags,
        opts=opts,
    )
    nodes = spec.settings_of(AwsSettings).system_nodes
    return aws.eks.NodeGroup(
        f"{name}-system-ng",
        cluster_name=control.cluster.name,
        node_role_arn=control.node_role.arn,
        # The control-plane Availability Zones: system instance types are regional, a Local Zone offers few.
        subnet_ids=[network.private_subnets[z].id for z in network.control_plane_zones],
        instance_types=[spec.settings_of(AwsSettings).system_instance_type],
        ami_type=_system_ami_type(spec.settings_of(AwsSettings).system_instance_type),
        capacity_type="ON_DEMAND",
        launch_template={"id": template.id, "version": template.latest_version.apply(str)},
        scaling_config=_scaling(nodes, 2 * nodes, nodes),
        labels={LABEL_CLUSTER: plan.name, ROLE_LABEL: "system"},
        tags=system_tags,
        opts=scope.opts(ignore_changes=["scalingConfig.desiredSize"],
                                    depends_on=list(control.node_role_policies)),
    )
