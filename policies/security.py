"""Security and data-safety rules: IMDSv2, encryption at rest, private and versioned buckets, protected state in
prod, EFA security groups that only talk to themselves, default-deny tenant namespaces, and credentials only as
Pulumi secrets.

EFA facts (hardware.md, AWS docs): EFA traffic needs a security group that allows all traffic to and from itself.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from components.providers.aws.profile import (
    EBS_VOLUME,
    INSTANCE,
    LUSTRE,
    S3_BUCKET,
    S3_ENCRYPTION,
    SECURITY_GROUP,
    SG_EGRESS,
    SG_INGRESS,
    SG_RULE,
)
from neocloud.profiles import BucketShape, all_profiles
from neocloud.vocabulary import K8S_NAMESPACE, K8S_NETWORK_POLICY, K8S_PV, K8S_PVC, K8S_SECRET, LABEL_TEAM, LABEL_TENANT

from ._common import (
    LABEL_PURPOSE,
    StackIndex,
    as_list,
    as_map,
    fmt,
    get_in,
    labels_of,
    num,
    schema,
    settings,
    types_with_role,
    walk_strings,
)
from ._secrets import is_secret
from .topology import LAUNCH_TEMPLATE, efa_interfaces

__all__ = [
    "BUCKET_PUBLIC_ACCESS_BLOCKED",
    "BUCKET_VERSIONING",
    "EFA_SECURITY_GROUP_SELF_ONLY",
    "FIREWALL_NOT_WORLD_OPEN",
    "IMDSV2_REQUIRED",
    "NO_PLAINTEXT_SECRETS",
    "POLICIES",
    "PROTECT_STATEFUL_IN_PROD",
    "STORAGE_ENCRYPTED",
    "TENANT_DEFAULT_DENY",
]

NAMESPACE = K8S_NAMESPACE
NETWORK_POLICY = K8S_NETWORK_POLICY

BUCKET_SHAPES: dict[str, BucketShape] = {b.type: b for p in all_profiles() for b in p.resource_types.buckets}
"""Every provider's bucket type and how it says private and versioned (from the provider profiles)."""
BUCKET_TYPES = tuple(BUCKET_SHAPES)
ALL_PROTOCOLS = ("-1", "all")


def _related(stack: StackIndex, bucket: Any, types: tuple[str, ...]) -> list[Any]:
    """Resources of ``types`` whose ``bucket`` input comes from ``bucket`` (property dependency, else same name)."""
    name = bucket.props.get(BUCKET_SHAPES[bucket.resource_type].name_input)
    out = []
    for r in stack.of_type(*types):
        if any(d.urn == bucket.urn for d in stack.deps(r, "bucket")):
            out.append(r)
            continue
        try:
            same = isinstance(name, str) and r.props.get("bucket") == name
        except UnknownValueError:
            same = False
        if same:
            out.append(r)
    return out


# --- imdsv2-required ---------------------------------------------------------------------------------------

_IMDS_SCHEMA = schema({
    "maxHopLimit": {"type": "integer", "minimum": 1, "maximum": 64, "default": 1,
                    "description": "Largest metadataOptions.httpPutResponseHopLimit: 1 keeps IMDS (and the node "
                    "role) to the node; 2 lets every pod read the node role's credentials (EKS best practices)."},
})


def _imdsv2_required(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (LAUNCH_TEMPLATE, INSTANCE):
        return
    cfg = settings(args.get_config(), _IMDS_SCHEMA)
    options = as_map(args.props.get("metadataOptions"))
    if options.get("httpEndpoint") == "disabled":
        return
    tokens = options.get("httpTokens")
    if tokens != "required":
        report(f"{args.name}: metadataOptions.httpTokens is {tokens or 'unset'!s}; set 'required' (IMDSv2 only) so "
               f"a pod or SSRF cannot read the node role's credentials with a plain GET", None)
    hops = num(options.get("httpPutResponseHopLimit"))
    if hops is not None and hops > float(cfg["maxHopLimit"]):
        report(f"{args.name}: metadataOptions.httpPutResponseHopLimit {hops:g} exceeds {fmt(cfg['maxHopLimit'])}", None)


IMDSV2_REQUIRED = ResourceValidationPolicy(
    name="imdsv2-required",
    description="EC2 launch templates and instances require IMDSv2 (metadataOptions.httpTokens = required) with a "
    "bounded hop limit.",
    validate=_imdsv2_required,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_IMDS_SCHEMA,
)


# --- storage-encrypted -------------------------------------------------------------------------------------

_ENCRYPTED_SCHEMA = schema({
    "requireCustomerManagedKey": {"type": "boolean", "default": False,
                                  "description": "FSx file systems, EBS volumes and S3 default encryption must name "
                                  "a KMS key (not the AWS-managed default)."},
    "requireBucketEncryptionConfig": {"type": "boolean", "default": True,
                                      "description": "Every S3 bucket has an explicit server-side encryption "
                                      "configuration resource."},
})


def _storage_encrypted(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _ENCRYPTED_SCHEMA)
    cmk = bool(cfg["requireCustomerManagedKey"])
    stack = StackIndex(args.resources)
    checked = False
    for lt in stack.of_type(LAUNCH_TEMPLATE):
        for i, mapping in enumerate(as_list(lt.props.get("blockDeviceMappings"))):
            ebs = as_map(as_map(mapping).get("ebs"))
            if not ebs:
                continue
            checked = True
            if str(ebs.get("encrypted")).lower() != "true":
                report(f"launch template '{lt.name}' blockDeviceMappings[{i}] "
                       f"({as_map(mapping).get('deviceName', '?')}): EBS volume not encrypted (ebs.encrypted "
                       f"'{ebs.get('encrypted')}')", lt.urn)
            elif cmk and not ebs.get("kmsKeyId"):
                report(f"launch template '{lt.name}' blockDeviceMappings[{i}]: no kmsKeyId", lt.urn)
    for inst in stack.of_type(INSTANCE):
        checked = True
        devices = [("rootBlockDevice", inst.props.get("rootBlockDevice"))]
        devices += [(f"ebsBlockDevices[{i}]", d) for i, d in enumerate(as_list(inst.props.get("ebsBlockDevices")))]
        for where, device in devices:
            if device is not None and as_map(device).get("encrypted") is not True:
                report(f"instance '{inst.name}' {where}: EBS volume not encrypted", inst.urn)
    for volume in stack.of_type(EBS_VOLUME):
        checked = True
        if volume.props.get("encrypted") is not True:
            report(f"EBS volume '{volume.name}' is not encrypted", volume.urn)
        elif cmk and not volume.props.get("kmsKeyId"):
            report(f"EBS volume '{volume.name}': no kmsKeyId", volume.urn)
    for fs in stack.of_type(LUSTRE):
        checked = True
        if cmk and not fs.props.get("kmsKeyId"):
            report(f"FSx file system '{fs.name}' uses the AWS-managed key; set kmsKeyId", fs.urn)
    for bucket in stack.of_type(S3_BUCKET):
        checked = True
        inline = as_map(bucket.props.get("serverSideEncryptionConfiguration"))
        configs = _related(stack, bucket, (S3_ENCRYPTION,))
        if not configs and not inline:
            if cfg["requireBucketEncryptionConfig"]:
                report(f"S3 bucket '{bucket.name}' has no server-side encryption configuration", bucket.urn)
            continue
        if cmk:
            rules = [as_map(r) for c in configs for r in as_list(c.props.get("rules"))]
            rules += [as_map(inline.get("rule"))] if inline else []
            if not any(get_in(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") in ("aws:kms", "aws:kms:dsse")
                       for r in rules):
                report(f"S3 bucket '{bucket.name}' default encryption is not SSE-KMS", bucket.urn)
    if not checked:
        args.not_applicable("no EBS, FSx or S3 storage")


STORAGE_ENCRYPTED = StackValidationPolicy(
    name="storage-encrypted",
    description="Storage is encrypted at rest: EBS volumes of launch templates, instances and volumes, FSx (with a "
    "customer key where required) and S3 buckets with an explicit default-encryption configuration.",
    validate=_storage_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_ENCRYPTED_SCHEMA,
)


# --- bucket-public-access-blocked --------------------------------------------------------------------------

PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GROUPS = ("http://acs.amazonaws.com/groups/global/AllUsers",
                 "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

_PUBLIC_SCHEMA = schema({
    "requirePublicAccessBlock": {"type": "boolean", "default": True,
                                 "description": "Every S3 bucket has a BucketPublicAccessBlock with all four flags."},
})


def _public_statements(policy: Any) -> list[str]:
    """Sids (or indexes) of Allow statements for any principal without a condition."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return []
    out = []
    for i, st in enumerate(as_list(as_map(policy).get("Statement"))):
        s = as_map(st)
        principal = s.get("Principal")
        anyone = principal == "*" or as_map(principal).get("AWS") in ("*", ["*"])
        if s.get("Effect") == "Allow" and anyone and not s.get("Condition"):
            out.append(str(s.get("Sid") or i))
    return out


def _bucket_public_access_blocked(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _PUBLIC_SCHEMA)
    stack = StackIndex(args.resources)
    buckets = stack.of_type(*BUCKET_TYPES)
    if not buckets:
        args.not_applicable("no buckets")
    for bucket in buckets:
        shape = BUCKET_SHAPES[bucket.resource_type]
        if shape.canned_acl_input and bucket.props.get(shape.canned_acl_input) in PUBLIC_ACLS:
            report(f"{shape.kind} '{bucket.name}' has canned ACL '{bucket.props.get(shape.canned_acl_input)}'",
                   bucket.urn)
        if shape.public_access_block_types:
            blocks = _related(stack, bucket, shape.public_access_block_types)
            if not blocks and cfg["requirePublicAccessBlock"]:
                report(f"{shape.kind} '{bucket.name}' has no BucketPublicAccessBlock; block public ACLs and policies",
                       bucket.urn)
            for block in blocks:
                off = [f for f in BLOCK_FLAGS if block.props.get(f) is not True]
                if off:
                    report(f"{shape.kind} '{bucket.name}': public access block '{block.name}' leaves "
                           f"{', '.join(off)} off", block.urn)
        for acl in _related(stack, bucket, shape.acl_types) if shape.acl_types else ():
            canned = acl.props.get("acl")
            grants = [as_map(g) for g in as_list(get_in(acl.props, "accessControlPolicy", "grants"))]
            public = [get_in(g, "grantee", "uri") for g in grants if get_in(g, "grantee", "uri") in PUBLIC_GROUPS]
            if canned in PUBLIC_ACLS or public:
                report(f"{shape.kind} '{bucket.name}': ACL '{acl.name}' grants public access "
                       f"({canned or ', '.join(map(str, public))})", acl.urn)
        policies = _related(stack, bucket, shape.policy_types) if shape.policy_types else []
        for policy in policies:
            try:
                public = _public_statements(policy.props.get("policy"))
            except UnknownValueError:
                continue
            if public:
                report(f"bucket '{bucket.name}': policy '{policy.name}' allows any principal without a condition "
                       f"(statements {', '.join(public)})", policy.urn)


BUCKET_PUBLIC_ACCESS_BLOCKED = StackValidationPolicy(
    name="bucket-public-access-blocked",
    description="Buckets are private: every S3 bucket has a public access block with all four flags on, and no "
    "bucket ACL or policy grants access to everyone.",
    validate=_bucket_public_access_blocked,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_PUBLIC_SCHEMA,
)


# --- bucket-versioning -------------------------------------------------------------------------------------

_VERSIONING_SCHEMA = schema({
    "purposes": {"type": "array", "items": {"type": "string"}, "default": ["datasets", "checkpoints"],
                 "description": "Bucket purposes (tag neocloud.io/purpose) that must be versioned; buckets without "
                 "the tag are always checked."},
    "requireNoncurrentExpiration": {"type": "boolean", "default": True,
                                    "description": "A versioned S3 bucket expires noncurrent versions (lifecycle "
                                    "rule with noncurrentVersionExpiration), so old checkpoints don't pile up."},
})


def _bucket_versioning(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _VERSIONING_SCHEMA)
    stack = StackIndex(args.resources)
    buckets = []
    for b in stack.of_type(*BUCKET_TYPES):
        purpose = labels_of(b.props).get(LABEL_PURPOSE) or labels_of(as_map(b.props.get("metadata"))).get(LABEL_PURPOSE)
        if purpose is None or purpose in cfg["purposes"]:
            buckets.append(b)
    if not buckets:
        args.not_applicable("no buckets that must be versioned")
    for bucket in buckets:
        shape = BUCKET_SHAPES[bucket.resource_type]
        inline = shape.versioning_inline
        if inline is not None and not shape.versioning_types:
            # Versioning is a property of the bucket itself (e.g. Nebius versioningPolicy).
            path, wanted = inline
            current = get_in(bucket.props, *path)
            if current != wanted:
                report(f"bucket '{bucket.name}': {'.'.join(path)} is {current or 'unset'}; set {wanted}", bucket.urn)
            continue
        states = [get_in(v.props, "versioningConfiguration", "status")
                  for v in (_related(stack, bucket, shape.versioning_types) if shape.versioning_types else ())]
        if inline is not None and get_in(bucket.props, *inline[0]) == inline[1]:
            states.append("Enabled")
        if "Enabled" not in states:
            report(f"bucket '{bucket.name}' is not versioned (versioning status: "
                   f"{', '.join(map(str, states)) or 'none'}); an overwritten checkpoint or dataset is lost",
                   bucket.urn)
            continue
        if shape.lifecycle_types and cfg["requireNoncurrentExpiration"]:
            rules = [as_map(r) for lc in _related(stack, bucket, shape.lifecycle_types)
                     for r in as_list(lc.props.get("rules"))]
            if not any(r.get("status") == "Enabled" and r.get("noncurrentVersionExpiration") for r in rules):
                report(f"{shape.kind} '{bucket.name}' keeps noncurrent versions forever; add a lifecycle rule with "
                       f"noncurrentVersionExpiration", bucket.urn)


BUCKET_VERSIONING = StackValidationPolicy(
    name="bucket-versioning",
    description="Dataset and checkpoint buckets are versioned (S3, CoreWeave, Nebius), and S3 buckets expire "
    "noncurrent versions.",
    validate=_bucket_versioning,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_VERSIONING_SCHEMA,
)


# --- protect-stateful-in-prod ------------------------------------------------------------------------------

STATEFUL_TYPES = [
    *dict.fromkeys(t for p in all_profiles() for t in p.resource_types.stateful),
    K8S_PVC,
    K8S_PV,
]
"""What holds data or cluster state: every provider profile's stateful types, and Kubernetes volumes."""

_PROTECT_SCHEMA = schema({
    "environments": {"type": "array", "items": {"type": "string"}, "default": ["prod"],
                     "description": "Environments (the plan's environment) whose stateful resources are protected."},
    "statefulTypes": {"type": "array", "items": {"type": "string"}, "default": STATEFUL_TYPES,
                      "description": "Resource types that hold data or cluster state."},
})


def _protect_stateful_in_prod(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _PROTECT_SCHEMA)
    stack = StackIndex(args.resources)
    environment = stack.environment()
    if environment not in cfg["environments"]:
        args.not_applicable(f"environment {environment or 'unknown'} is not one of {', '.join(cfg['environments'])}")
    stateful = stack.of_type(*cfg["statefulTypes"])
    if not stateful:
        args.not_applicable("no stateful resources")
    for r in stateful:
        if not r.opts.protect:
            report(f"{r.resource_type.split(':')[-1]} '{r.name}' holds data in {environment} but is not protected; "
                   f"set ResourceOptions(protect=True) so `pulumi destroy` or a replace cannot delete it", r.urn)


PROTECT_STATEFUL_IN_PROD = StackValidationPolicy(
    name="protect-stateful-in-prod",
    description="In prod, resources that hold data or cluster state (filesystems, buckets, volumes, clusters, PVCs) "
    "are created with protect=True.",
    validate=_protect_stateful_in_prod,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_PROTECT_SCHEMA,
)


# --- efa-security-group-self-only --------------------------------------------------------------------------

_EFA_SG_SCHEMA = schema({
    "allowOtherEgress": {"type": "boolean", "default": True,
                         "description": "Allow egress rules besides the self rule (nodes pull images over the "
                         "primary interface)."},
})


def _is_all_traffic(rule: Mapping[str, Any], protocol_key: str) -> bool:
    return str(rule.get(protocol_key)) in ALL_PROTOCOLS


def _efa_security_group_self_only(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _EFA_SG_SCHEMA)
    stack = StackIndex(args.resources)
    groups: dict[str, Any] = {}
    for lt in stack.of_type(LAUNCH_TEMPLATE):
        if efa_interfaces(lt.props):
            for dep in stack.deps(lt, "networkInterfaces"):
                if dep.resource_type == SECURITY_GROUP:
                    groups[dep.urn] = dep
    if not groups:
        args.not_applicable("no security group on an EFA interface")
    for sg in groups.values():
        self_in = self_out = False
        others_in: list[str] = []
        others_out: list[str] = []
        for direction, rules in (("ingress", sg.props.get("ingress")), ("egress", sg.props.get("egress"))):
            for i, rule in enumerate(as_list(rules)):
                r = as_map(rule)
                foreign_keys = [k for k in ("cidrBlocks", "ipv6CidrBlocks", "securityGroups", "prefixListIds")
                                if as_list(r.get(k))]
                is_self = r.get("self") is True
                if is_self and _is_all_traffic(r, "protocol") and direction == "ingress":
                    self_in = True
                if is_self and _is_all_traffic(r, "protocol") and direction == "egress":
                    self_out = True
                if foreign_keys or not is_self:
                    (others_in if direction == "ingress" else others_out).append(f"inline {direction}[{i}]")
        for rule in stack.of_type(SG_RULE, SG_INGRESS, SG_EGRESS):
            if not any(d.urn == sg.urn for d in stack.deps(rule, "securityGroupId")):
                continue
            p = rule.props
            if rule.resource_type == SG_RULE:
                direction = str(p.get("type"))
                source_is_self = p.get("self") is True or any(
                    d.urn == sg.urn for d in stack.deps(rule, "sourceSecurityGroupId"))
                foreign = bool(as_list(p.get("cidrBlocks")) or as_list(p.get("ipv6CidrBlocks"))
                               or as_list(p.get("prefixListIds")))
                all_traffic = _is_all_traffic(p, "protocol")
            else:
                direction = "ingress" if rule.resource_type == SG_INGRESS else "egress"
                source_is_self = any(d.urn == sg.urn for d in stack.deps(rule, "referencedSecurityGroupId"))
                foreign = any(p.get(k) for k in ("cidrIpv4", "cidrIpv6", "prefixListId"))
                all_traffic = _is_all_traffic(p, "ipProtocol")
            if source_is_self and not foreign and all_traffic:
                self_in = self_in or direction == "ingress"
                self_out = self_out or direction == "egress"
            if foreign or not source_is_self:
                (others_in if direction == "ingress" else others_out).append(f"rule '{rule.name}'")
        if not self_in:
            report(f"EFA security group '{sg.name}' does not allow all inbound traffic from itself; EFA needs it",
                   sg.urn)
        if not self_out:
            report(f"EFA security group '{sg.name}' does not allow all outbound traffic to itself; EFA needs it",
                   sg.urn)
        if others_in:
            report(f"EFA security group '{sg.name}' admits traffic from outside itself ({', '.join(others_in)}); the "
                   f"EFA group is self-only", sg.urn)
        if others_out and not cfg["allowOtherEgress"]:
            report(f"EFA security group '{sg.name}' sends traffic outside itself ({', '.join(others_out)})", sg.urn)


EFA_SECURITY_GROUP_SELF_ONLY = StackValidationPolicy(
    name="efa-security-group-self-only",
    description="The security group on EFA interfaces allows all traffic to and from itself, and admits nothing "
    "from elsewhere.",
    validate=_efa_security_group_self_only,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_EFA_SG_SCHEMA,
)


# --- tenant-default-deny -----------------------------------------------------------------------------------

_DENY_SCHEMA = schema({
    "tenantLabels": {"type": "array", "items": {"type": "string"}, "default": [LABEL_TEAM, LABEL_TENANT],
                     "description": "Namespace labels that mark a tenant namespace (team namespaces from the spec's "
                     "queues are tenants too)."},
    "policyTypes": {"type": "array", "items": {"type": "string", "enum": ["Ingress", "Egress"]},
                    "default": ["Ingress"],
                    "description": "Directions a tenant's default-deny NetworkPolicy must deny."},
    "networkPolicyEnforcedBy": {"type": "string", "default": "",
                                "description": "Where the provider's profile cannot show it (an existing cluster, a "
                                "platform whose CNI is not documented here): the CNI the operator verified enforces "
                                "NetworkPolicy on this cluster (e.g. cilium, calico). Empty: not verified."},
})


def _enforcement_problem(stack: StackIndex, cfg: Mapping[str, Any]) -> str | None:
    """Why the cluster's CNI would not enforce NetworkPolicies (None: it does), from the provider's profile."""
    from neocloud.profiles import profile

    provider = str(get_in(stack.cluster, "provider", default=""))
    if not provider:
        # Components composed on a cluster this stack does not describe (no GpuCluster facts): its CNI is the
        # cluster owner's fact.
        if cfg["networkPolicyEnforcedBy"]:
            return None
        return ("the stack does not describe the cluster (no GpuCluster), so nothing shows its CNI enforces "
                "NetworkPolicy; set this policy's networkPolicyEnforcedBy to the CNI you verified enforces it")
    try:
        prof = profile(provider)
    except KeyError:
        return f"unknown provider '{provider}': cannot tell whether its CNI enforces NetworkPolicy"
    if prof.network_policy_enforcement == "platform":
        return None
    if prof.network_policy_enforcement == "addon" and prof.network_policy_addon is not None:
        type_, name, key = prof.network_policy_addon
        for addon in stack.of_type(type_):
            if addon.props.get("addonName") != name:
                continue
            try:
                values = json.loads(str(addon.props.get("configurationValues") or "{}"))
            except ValueError:
                values = {}
            if str(as_map(values).get(key)).lower() == "true":
                return None
            return (f"the {name} add-on '{addon.name}' does not set {key}: \"true\", so the CNI accepts "
                    f"NetworkPolicies and does not enforce them")
        return f"no {name} add-on with {key}: \"true\": the {provider} CNI would not enforce NetworkPolicies"
    if cfg["networkPolicyEnforcedBy"]:
        return None
    return (f"provider '{provider}': whether the cluster's CNI enforces NetworkPolicy is not known from the stack; "
            f"set this policy's networkPolicyEnforcedBy to the CNI you verified enforces it")


def _namespace_name(r: Any) -> str | None:
    name = get_in(r.props, "metadata", "name")
    return name if isinstance(name, str) else None


def _tenant_default_deny(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _DENY_SCHEMA)
    stack = StackIndex(args.resources)
    teams = {str(as_map(q).get("team")) for q in as_list(get_in(stack.cluster, "queues"))}
    tenants = {}
    for ns in stack.of_type(NAMESPACE):
        name = _namespace_name(ns)
        labels = labels_of(ns.props)
        if name in teams or any(k in labels for k in cfg["tenantLabels"]):
            tenants[ns.urn] = (name or ns.name, ns)
    if not tenants:
        args.not_applicable("no tenant namespaces")
    required = set(cfg["policyTypes"])
    denied: dict[str, set[str]] = {urn: set() for urn in tenants}
    by_name = {name: urn for urn, (name, _) in tenants.items()}
    for np in stack.of_type(NETWORK_POLICY):
        target = next((d.urn for d in stack.deps(np, "metadata") if d.urn in tenants), None)
        if target is None:
            ns_name = get_in(np.props, "metadata", "namespace")
            target = by_name.get(ns_name) if isinstance(ns_name, str) else None
        if target is None:
            continue
        spec = as_map(np.props.get("spec"))
        selector = as_map(spec.get("podSelector"))
        selects_all = not as_map(selector.get("matchLabels")) and not as_list(selector.get("matchExpressions"))
        if not selects_all:
            continue
        types = {str(t) for t in as_list(spec.get("policyTypes"))} or {"Ingress"}
        if "Ingress" in types and not as_list(spec.get("ingress")):
            denied[target].add("Ingress")
        if "Egress" in types and not as_list(spec.get("egress")):
            denied[target].add("Egress")
    if (problem := _enforcement_problem(stack, cfg)) is not None:
        urn, (name, ns) = sorted(tenants.items())[0]
        report(f"tenant namespaces' default-deny NetworkPolicies would not be enforced: {problem}", ns.urn)
    for urn, (name, ns) in sorted(tenants.items()):
        missing = sorted(required - denied[urn])
        if missing:
            report(f"tenant namespace '{name}' has no default-deny NetworkPolicy for {', '.join(missing)} (empty "
                   f"podSelector, policyTypes {missing}, no rules); other tenants' pods can reach it", ns.urn)


TENANT_DEFAULT_DENY = StackValidationPolicy(
    name="tenant-default-deny",
    description="Every tenant namespace has a default-deny NetworkPolicy (all pods selected, no allow rules) for "
    "the configured directions, and the cluster's CNI enforces NetworkPolicy (per the provider's profile).",
    validate=_tenant_default_deny,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_DENY_SCHEMA,
)


# --- no-plaintext-secrets ----------------------------------------------------------------------------------

SENSITIVE_KEY = re.compile(
    r"(?i)^(kubeconfig|password|passwd|passphrase|token|[a-z]*(api|auth|access|bearer|bootstrap|refresh)token|"
    r"secret|client_?secret|secret_?(access_?)?key|private_?key|api_?key|access_?key|credentials?)$"
)
SENSITIVE_CONTENT = [
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a kubeconfig credential", re.compile(r"(client-key-data|client-certificate-data)\s*:|\btoken:\s*\S{16,}")),
    ("an AWS secret access key", re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*\S{20,}")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
]

_SECRETS_SCHEMA = schema({
    "ignoreTypes": {"type": "array", "items": {"type": "string"}, "default": [],
                    "description": "Resource types not checked."},
    "extraKeys": {"type": "array", "items": {"type": "string"}, "default": [],
                  "description": "More property names (exact) whose string values must be secrets."},
})


def _no_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _SECRETS_SCHEMA)
    if args.resource_type in cfg["ignoreTypes"]:
        return
    extra = set(cfg["extraKeys"])
    secret_object = args.resource_type == K8S_SECRET
    found: list[str] = []
    for path, key, value in walk_strings(args.props):
        if not value or is_secret(value):
            continue
        if secret_object and path.split(".")[0].split("[")[0] in ("data", "stringData"):
            found.append(f"{path} (Secret data)")
        elif SENSITIVE_KEY.match(key) or key in extra:
            found.append(f"{path} (a {key})")
        else:
            what = next((w for w, pattern in SENSITIVE_CONTENT if pattern.search(value)), None)
            if what is not None:
                found.append(f"{path} ({what})")
    if found:
        report(f"{args.name}: plaintext credentials in {', '.join(found)}; pass them as Pulumi secrets "
               f"(pulumi.Output.secret / config --secret) so state and previews keep them encrypted", None)


NO_PLAINTEXT_SECRETS = ResourceValidationPolicy(
    name="no-plaintext-secrets",
    description="Kubeconfigs, keys, tokens and passwords reach resources only as Pulumi secrets (by property name "
    "and by content: PEM private keys, kubeconfig credentials, AWS/GitHub/Hugging Face tokens).",
    validate=_no_plaintext_secrets,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_SECRETS_SCHEMA,
)


# --- firewall-not-world-open ------------------------------------------------------------------------------

FIREWALL_RULESET_TYPES = types_with_role("firewall_ruleset")
"""Rulesets of inbound allow rules ``rules: [{protocol, port_range: [min, max], source_network}]`` (Lambda Cloud's
FirewallRule shape); instances name theirs in ``firewall_ruleset_ids``."""
INSTANCE_GROUP_TYPES = types_with_role("instance_group")

_FIREWALL_SCHEMA = schema({
    "ports": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 65535}, "default": [22],
              "description": "TCP ports that no rule may open to the whole internet (22: SSH)."},
})


def _world_open_ports(rule: Mapping[str, Any], ports: list[int]) -> list[int]:
    """Which of ``ports`` a FirewallRule opens to every IPv4 address (a /0 source network over tcp or all)."""
    try:
        network = ipaddress.IPv4Network(str(rule.get("source_network")), strict=False)
    except ValueError:
        return []
    if network.prefixlen != 0 or rule.get("protocol") not in ("tcp", "all"):
        return []
    bounds = [num(p) for p in as_list(rule.get("port_range"))]
    low, high = (bounds[0], bounds[1]) if len(bounds) == 2 and None not in bounds else (1.0, 65535.0)
    return [p for p in ports if low <= p <= high]  # type: ignore[operator]


def _firewall_not_world_open(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _FIREWALL_SCHEMA)
    stack = StackIndex(args.resources)
    rulesets = stack.of_type(*FIREWALL_RULESET_TYPES)
    groups = stack.of_type(*INSTANCE_GROUP_TYPES)
    if not rulesets and not groups:
        args.not_applicable("no firewall rulesets or instance groups")
    for ruleset in rulesets:
        for i, rule in enumerate(as_list(ruleset.props.get("rules"))):
            r = as_map(rule)
            if opened := _world_open_ports(r, [int(p) for p in cfg["ports"]]):
                report(f"firewall ruleset '{ruleset.name}' rules[{i}] admits {r.get('protocol')} port "
                       f"{', '.join(map(str, opened))} from {r.get('source_network')}, the whole internet; list your "
                       "networks in lambda.firewall_rules", ruleset.urn)
    for group in groups:
        if not as_list(group.props.get("firewall_ruleset_ids")) and not stack.deps(group, "firewall_ruleset_ids"):
            report(f"instance group '{group.name}' has no firewall ruleset, so its instances get only the account's "
                   "global firewall rules, which no stack declares or checks", group.urn)


FIREWALL_NOT_WORLD_OPEN = StackValidationPolicy(
    name="firewall-not-world-open",
    description="No firewall ruleset opens SSH (the configured TCP ports) to 0.0.0.0/0, and every instance group "
    "carries a ruleset of the stack.",
    validate=_firewall_not_world_open,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_FIREWALL_SCHEMA,
)



# --- images-pinned-by-digest -------------------------------------------------------------------------------

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
"""An image reference pinned by content: ``name[:tag]@sha256:<64 hex>`` (the OCI image spec's sha256 digest)."""
_POD_TEMPLATES: Mapping[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Workload kinds the program registers and where each keeps its pod spec."""

_DIGEST_SCHEMA = schema({
    "environments": {"type": "array", "items": {"type": "string"}, "default": ["prod"],
                     "description": "Environments whose workload images must be pinned by digest."},
})


def _images_pinned_by_digest(args: StackValidationArgs, report: ReportViolation) -> None:
    # A tag can be moved to other content; a digest cannot: Kubernetes "Images" (kubernetes.io/docs/concepts/
    # containers/images/, "Image names": "image@sha256:..." pins the exact content), so a prod node runs the
    # acceptance checks that were reviewed, not whatever the tag points to on the day it joins.
    cfg = settings(args.get_config(), _DIGEST_SCHEMA)
    stack = StackIndex(args.resources)
    environment = stack.environment()
    if environment not in cfg["environments"]:
        args.not_applicable(f"environment {environment or 'unknown'} is not one of {', '.join(cfg['environments'])}")
    workloads = stack.of_type(*_POD_TEMPLATES)
    if not workloads:
        args.not_applicable("no Kubernetes workloads")
    for r in workloads:
        pod = as_map(get_in(r.props, *_POD_TEMPLATES[r.resource_type]))
        kind = r.resource_type.rsplit(":", 1)[-1]
        by_tag: dict[str, list[str]] = {}
        for field in ("initContainers", "containers"):
            for container in as_list(pod.get(field)):
                image = as_map(container).get("image")
                if not isinstance(image, str) or not _DIGEST.search(image):
                    by_tag.setdefault(str(image), []).append(str(as_map(container).get("name")))
        for image, containers in by_tag.items():
            report(f"{kind} '{r.name}' runs {image!r} by tag only in {environment} (containers "
                   f"{', '.join(containers)}): pin it by digest (image@sha256:...), e.g. with "
                   f"kubernetes.acceptance.image / kubernetes.acceptance.dcgm_image", r.urn)


IMAGES_PINNED_BY_DIGEST = StackValidationPolicy(
    name="images-pinned-by-digest",
    description="In the listed environments (default prod) every container image of the workloads the program "
    "registers (node acceptance DaemonSets and sweeps, the traffic ramp controller) is pinned by digest.",
    validate=_images_pinned_by_digest,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_DIGEST_SCHEMA,
)

POLICIES = [
    IMDSV2_REQUIRED,
    STORAGE_ENCRYPTED,
    BUCKET_PUBLIC_ACCESS_BLOCKED,
    BUCKET_VERSIONING,
    PROTECT_STATEFUL_IN_PROD,
    EFA_SECURITY_GROUP_SELF_ONLY,
    TENANT_DEFAULT_DENY,
    NO_PLAINTEXT_SECRETS,
    FIREWALL_NOT_WORLD_OPEN,
    IMAGES_PINNED_BY_DIGEST,
]
