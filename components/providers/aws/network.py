"""The VPC: private subnets per zone (each GPU pool's subnet in its one zone), public subnets with one NAT gateway,
an S3 gateway endpoint, and the security groups for EFA and FSx for Lustre.

Why each piece:

- EFA instances belong in one Availability Zone (hardware.md AWS [P]), so a GPU pool gets exactly one subnet:
  the private subnet of its zone.
- EFA traffic needs a security group that allows all traffic to and from itself (EC2 user guide, EFA
  "Prepare an EFA-enabled security group") [P]. The group allows nothing else: no rule names 0.0.0.0/0. Nodes
  reach the internet and the API through their other group (the EKS cluster security group).
- FSx for Lustre needs TCP 988 and 1018-1023 from its clients and from its own file servers (FSx for Lustre
  user guide, "File system access control with Amazon VPC") [P].
- The S3 gateway endpoint keeps dataset and checkpoint traffic off the NAT gateway (and its per-GB charge).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import pulumi_aws as aws

from neocloud.plan import ClusterPlan
from neocloud.plan.placement import ZonePlan
from neocloud.spec import ClusterSpec

from .common import Scope, tags
from .profile import VPC_SLICE_BITS, AwsSettings

__all__ = ["LUSTRE_PORTS", "Network", "build_network", "subnet_cidrs"]

LUSTRE_PORTS: tuple[tuple[int, int], ...] = ((988, 988), (1018, 1023))
"""TCP ports Lustre clients and servers use (FSx for Lustre user guide, VPC access control) [P]."""


@dataclass(frozen=True)
class Network:
    """What the rest of the provider needs from the network."""

    vpc: aws.ec2.Vpc
    zones: tuple[str, ...]
    """Every zone with subnets: GPU zones first, then the extra control-plane zones."""
    gpu_zones: tuple[str, ...]
    control_plane_zones: tuple[str, ...]
    """Availability Zones only: the EKS cluster's and the system node group's subnets (never a Local Zone)."""
    private_subnets: dict[str, aws.ec2.Subnet]
    """Private subnet by zone."""
    public_subnets: dict[str, aws.ec2.Subnet]
    efa_security_group: aws.ec2.SecurityGroup
    fsx_security_group: aws.ec2.SecurityGroup


def subnet_cidrs(vpc_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(private CIDRs, public CIDRs) for ``zones`` zones: private subnets are 1/8 of the VPC each (GPU pods take
    VPC addresses through the VPC CNI), public subnets 1/64 (they hold only the NAT gateway and load balancers)."""
    network = ipaddress.IPv4Network(vpc_cidr)
    slices = list(network.subnets(prefixlen_diff=VPC_SLICE_BITS))
    public = list(slices[-1].subnets(prefixlen_diff=VPC_SLICE_BITS))
    return [str(s) for s in slices[:zones]], [str(s) for s in public[:zones]]


def build_network(name: str, spec: ClusterSpec, plan: ClusterPlan, zone_plan: ZonePlan, scope: Scope) -> Network:
    """The VPC and everything in it; one NAT gateway (in the first Availability Zone) keeps idle dev clusters
    cheap. ``zone_plan`` is the plan's (``neocloud.plan.placement``)."""
    opts = scope.opts()
    gpu_zones, zones = zone_plan.gpu, zone_plan.all
    vpc_cidr = spec.settings_of(AwsSettings).vpc_cidr
    private_cidrs, public_cidrs = subnet_cidrs(vpc_cidr, len(zones))
    # DNS support and hostnames: EKS nodes and FSx mounts resolve private DNS names (EKS VPC requirements) [P].
    vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=vpc_cidr, enable_dns_support=True,
                      enable_dns_hostnames=True, tags=tags(plan, Name=f"{name}-vpc"), opts=opts)
    child = scope.opts(depends_on=[vpc])
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags(plan), opts=child)
    private: dict[str, aws.ec2.Subnet] = {}
    public: dict[str, aws.ec2.Subnet] = {}
    for i, zone in enumerate(zones):
        # kubernetes.io/role/* tags tell the AWS Load Balancer Controller where to put load balancers.
        private[zone] = aws.ec2.Subnet(
            f"{name}-private-{zone}", vpc_id=vpc.id, availability_zone=zone, cidr_block=private_cidrs[i],
            map_public_ip_on_launch=False,
            tags={**tags(plan, zone=zone, tier="private"), "kubernetes.io/role/internal-elb": "1"}, opts=child)
        public[zone] = aws.ec2.Subnet(
            f"{name}-public-{zone}", vpc_id=vpc.id, availability_zone=zone, cidr_block=public_cidrs[i],
            map_public_ip_on_launch=False,
            tags={**tags(plan, zone=zone, tier="public"), "kubernetes.io/role/elb": "1"}, opts=child)
    eip = aws.ec2.Eip(f"{name}-nat-ip", domain="vpc", tags=tags(plan), opts=child)
    nat = aws.ec2.NatGateway(f"{name}-nat", allocation_id=eip.id, subnet_id=public[zone_plan.control_plane[0]].id,
                             tags=tags(plan), opts=scope.opts(depends_on=[igw]))
    public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id,
                                   routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
                                   tags=tags(plan, tier="public"), opts=child)
    private_rt = aws.ec2.RouteTable(f"{name}-private-rt", vpc_id=vpc.id,
                                    routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                                    tags=tags(plan, tier="private"), opts=child)
    for zone in zones:
        aws.ec2.RouteTableAssociation(f"{name}-private-{zone}-rt", subnet_id=private[zone].id,
                                      route_table_id=private_rt.id, opts=child)
        aws.ec2.RouteTableAssociation(f"{name}-public-{zone}-rt", subnet_id=public[zone].id,
                                      route_table_id=public_rt.id, opts=child)
    aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=vpc.id, service_name=f"com.amazonaws.{spec.region}.s3",
                        vpc_endpoint_type="Gateway", route_table_ids=[private_rt.id], tags=tags(plan), opts=child)
    efa = aws.ec2.SecurityGroup(
        f"{name}-efa-sg", vpc_id=vpc.id,
        description="EFA: all traffic to and from members of this group only",
        ingress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "self": True,
                  "description": "EFA from members of this group"}],
        egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "self": True,
                 "description": "EFA to members of this group"}],
        tags=tags(plan, role="efa"), opts=child)
    lustre_ingress: list[Any] = [
        {"protocol": "tcp", "from_port": lo, "to_port": hi, "self": True, "security_groups": [efa.id],
         "description": "Lustre from file servers and EFA GPU nodes"}
        for lo, hi in LUSTRE_PORTS
    ]
    fsx = aws.ec2.SecurityGroup(
        f"{name}-fsx-sg", vpc_id=vpc.id, description="FSx for Lustre: Lustre ports from file servers and nodes",
        ingress=lustre_ingress,
        egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": [vpc_cidr],
                 "description": "replies and server traffic inside the VPC only"}],
        tags=tags(plan, role="fsx"), opts=child)
    return Network(vpc=vpc, zones=zones, gpu_zones=gpu_zones, control_plane_zones=zone_plan.control_plane,
                   private_subnets=private, public_subnets=public, efa_security_group=efa, fsx_security_group=fsx)
