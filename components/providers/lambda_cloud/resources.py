"""Pulumi resources for Lambda Cloud: dynamic providers (``pulumi.dynamic``) over ``api`` and ``ops``.

Why dynamic providers: Lambda publishes no Pulumi or official Terraform provider, only the Cloud API, and a
dynamic provider is the supported way to implement CRUD in the program's own language; it runs in Pulumi's
``pulumi-python`` provider process, which deserializes the provider object and calls ``configure`` with the stack
configuration first (pulumi/pulumi#17673, pulumi docs "Dynamic Resource Providers").

Credentials: the API key is read in ``configure`` from the stack config ``lambda:apiKey`` (set it with
``pulumi config set --secret lambda:apiKey ...``; the engine hands secret config to the provider decrypted) or
from ``LAMBDA_API_KEY`` in the engine's environment. It is never a resource input or output, so it is in no
resource's state at all, and the serialized provider (``__provider``, itself stored as a secret) holds none,
because ``configure`` runs only in the provider process. Instance outputs leave out ``jupyter_token`` and
``jupyter_url`` (the Instance schema calls the token "the secret token used to log into the JupyterLab
server"); a generated SSH key's ``private_key`` is an additional secret output.

Replacement: Lambda instances cannot be changed after launch except their name (POST /instances/{id} takes only
``name``), so any change but ``count`` replaces an instance group, deleting first (GPU quota and capacity rarely
allow both generations at once). Filesystems have no update at all; SSH keys neither; firewall rulesets can be
renamed and get new rules in place (PATCH /firewall-rulesets/{id}) but not moved to another region.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from . import ops
from .api import API_BASE_URL, LambdaCloudClient, Pacer, RateLimits, Timeouts
from .profile import _MODULE, API_KEY_CONFIG, FILESYSTEM_TYPE, FIREWALL_RULESET_TYPE, INSTANCE_GROUP_TYPE, SSH_KEY_TYPE

__all__ = [
    "API_KEY_CONFIG",
    "API_KEY_ENV",
    "BASE_URL_CONFIG",
    "FILESYSTEM_TYPE",
    "FIREWALL_RULESET_TYPE",
    "INSTANCE_GROUP_TYPE",
    "SSH_KEY_TYPE",
    "Filesystem",
    "FilesystemProvider",
    "FirewallRuleset",
    "FirewallRulesetProvider",
    "InstanceGroup",
    "InstanceGroupProvider",
    "SshKey",
    "SshKeyProvider",
    "firewall_rule_problems",
]

API_KEY_ENV = "LAMBDA_API_KEY"
"""Environment fallback for the API key (the variable Lambda's own curl examples use)."""
BASE_URL_CONFIG = "lambda:apiBaseUrl"
"""Stack config overriding the API base URL (default https://cloud.lambda.ai/api/v1)."""
LAUNCH_INTERVAL_CONFIG = "lambda:launchIntervalSeconds"
REQUEST_INTERVAL_CONFIG = "lambda:requestIntervalSeconds"


_HOSTNAME = re.compile(r"^[a-z0-9][0-9a-z-]{0,62}$")
"""InstanceLaunchRequest.hostname (the instance name is the hostname, so the name obeys it too)."""
_FILESYSTEM_NAME = re.compile(r"^[a-zA-Z]+[0-9a-zA-Z-]*$")
"""FilesystemCreateRequest.name, 1-60 chars."""
_PROTOCOLS = ("tcp", "udp", "icmp", "all")
"""NetworkProtocol."""

_PACERS: dict[str, Pacer] = {}
_PACERS_LOCK = threading.Lock()


def _shared_pacer(base_url: str, limits: RateLimits) -> Pacer:
    """One pacer per API endpoint in this process: the limits are per account, and the provider process serves
    several resources at once (pulumi-python runs dynamic providers on a 4-thread gRPC server)."""
    with _PACERS_LOCK:
        pacer = _PACERS.get(base_url)
        if pacer is None or pacer.limits != limits:
            pacer = _PACERS[base_url] = Pacer(limits=limits)
        return pacer


class _LambdaProvider(ResourceProvider):
    """Shared configuration: the API key and endpoint from the stack config, never from resource inputs."""

    def __init__(self, *, limits: RateLimits | None = None, timeouts: Timeouts | None = None) -> None:
        super().__init__()
        self.limits = limits
        self.timeouts = timeouts

    def __getstate__(self) -> dict[str, Any]:
        """What dill serializes into ``__provider``: never the key or endpoint (they come from ``configure``)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_api_key", "_base_url")}

    def configure(self, req: ConfigureRequest) -> None:
        self._api_key = req.config.get(API_KEY_CONFIG) or os.environ.get(API_KEY_ENV)
        self._base_url = req.config.get(BASE_URL_CONFIG) or API_BASE_URL
        if self.limits is None:
            defaults = RateLimits()
            self.limits = RateLimits(
                request_interval_s=float(req.config.get(REQUEST_INTERVAL_CONFIG) or defaults.request_interval_s),
                launch_interval_s=float(req.config.get(LAUNCH_INTERVAL_CONFIG) or defaults.launch_interval_s),
            )

    def client(self) -> LambdaCloudClient:
        key = getattr(self, "_api_key", None)
        if not key:
            raise ValueError(f"no Lambda Cloud API key: set it with `pulumi config set --secret {API_KEY_CONFIG} "
                             f"<key>` (or {API_KEY_ENV} in the environment of `pulumi up`)")
        base_url = getattr(self, "_base_url", API_BASE_URL)
        limits = self.limits or RateLimits()
        return LambdaCloudClient(api_key=key, base_url=base_url, timeouts=self.timeouts,
                                 pacer=_shared_pacer(base_url, limits))


def _changed(olds: Mapping[str, Any], news: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    return [k for k in keys if olds.get(k) != news.get(k)]


# -- instances ---------------------------------------------------------------------------------------------------

_INSTANCE_IMMUTABLE = ("identity", "name_prefix", "region", "instance_type", "ssh_key_names", "file_system_names",
                       "firewall_ruleset_ids", "image_family", "user_data", "tags")
"""Launch-time inputs: Lambda has no call that changes them on a running instance."""
_INSTANCE_MUTABLE = ("count", "active_timeout_s", "poll_s", "keep_partial")


def generation_token(props: Mapping[str, Any]) -> str:
    """The ``neocloud-token`` tag value: the resource's stable identity plus a hash of its launch-time inputs, so a
    replacement never adopts the instances of the generation it replaces. At most 128 chars (tag values)."""
    immutable = {k: props.get(k) for k in _INSTANCE_IMMUTABLE if k != "identity"}
    digest = hashlib.sha256(json.dumps(immutable, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{str(props['identity'])[:100]}-{digest}"


def _launch_spec(props: Mapping[str, Any]) -> ops.LaunchSpec:
    return ops.LaunchSpec(
        region=str(props["region"]),
        instance_type=str(props["instance_type"]),
        ssh_key_names=tuple(props.get("ssh_key_names") or ()),
        file_system_names=tuple(props.get("file_system_names") or ()),
        firewall_ruleset_ids=tuple(props.get("firewall_ruleset_ids") or ()),
        image_family=props.get("image_family"),
        user_data=props.get("user_data"),
        tags=dict(props.get("tags") or {}),
    )


def _waiter(props: Mapping[str, Any]) -> ops.Waiter:
    return ops.Waiter(timeout_s=float(props.get("active_timeout_s") or 1200), poll_s=float(props.get("poll_s") or 10))


def _instance_outs(props: Mapping[str, Any], instances: list[dict[str, Any]]) -> dict[str, Any]:
    """State: the inputs plus what the API says, without the Jupyter token and URL."""
    keep = {k: props.get(k) for k in (*_INSTANCE_IMMUTABLE, *_INSTANCE_MUTABLE) if k != "user_data"}
    if props.get("user_data") is not None:
        keep["user_data"] = props["user_data"]
    return {
        **keep,
        "generation": generation_token(props),
        "instance_ids": [str(i["id"]) for i in instances],
        "ips": [i.get("ip") for i in instances],
        "private_ips": [i.get("private_ip") for i in instances],
        "hostnames": [i.get("hostname") for i in instances],
        "statuses": [i.get("status") for i in instances],
    }


class InstanceGroupProvider(_LambdaProvider):
    """``count`` on-demand instances of one type in one region, launched one by one (the launch limit), tagged
    for adoption, and ready when every one is ``active``."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        count = news.get("count")
        if not isinstance(count, (int, float)) or int(count) != count or count < 1:
            failures.append(CheckFailure("count", f"got {count!r}; allowed: a whole number >= 1"))
        keys = news.get("ssh_key_names") or []
        if len(keys) != 1:
            # InstanceLaunchRequest.ssh_key_names: "Currently, exactly one SSH key must be specified."
            failures.append(CheckFailure("ssh_key_names", f"got {len(keys)}; Lambda takes exactly one SSH key"))
        prefix = str(news.get("name_prefix", ""))
        widest = f"{prefix}-{max(0, int(count or 1) - 1)}" if isinstance(count, (int, float)) else prefix
        if not _HOSTNAME.match(widest):
            failures.append(CheckFailure("name_prefix", f"{widest!r} is not a hostname "
                                         "(^[a-z0-9][0-9a-z-]{0,62}$)"))
        for key in ("region", "instance_type", "identity"):
            if not news.get(key):
                failures.append(CheckFailure(key, "required"))
        for key, value in (news.get("tags") or {}).items():
            if not re.match(r"^[a-z][a-z0-9-:]+$", key) or len(key) > 55 or len(str(value)) > 128:
                failures.append(CheckFailure(f"tags.{key}", "tag keys match ^[a-z][a-z0-9-:]+$ (55 chars), values "
                                             "128 chars"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = _changed(olds, news, _INSTANCE_IMMUTABLE)
        changes = bool(replaces or _changed(olds, news, _INSTANCE_MUTABLE))
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = self.client()
        token = generation_token(props)
        instances = ops.ensure_instances(client, _launch_spec(props), token=token, count=int(props["count"]),
                                         name_prefix=str(props["name_prefix"]), waiter=_waiter(props),
                                         keep_partial=bool(props.get("keep_partial")))
        return CreateResult(token, _instance_outs(props, instances))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        client = self.client()
        token = generation_token(news)
        count = int(news["count"])
        surplus = [str(i["id"]) for slot, i in ops.group_instances(client, token).items() if slot >= count]
        if surplus:  # scale down: the highest slots go
            ops.terminate_and_wait(client, surplus, waiter=_waiter(news))
        instances = ops.ensure_instances(client, _launch_spec(news), token=token, count=count,
                                         name_prefix=str(news["name_prefix"]), waiter=_waiter(news),
                                         keep_partial=bool(news.get("keep_partial")))
        return UpdateResult(_instance_outs(news, instances))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        client = self.client()
        token = str(props.get("generation") or _id)
        ids = set(props.get("instance_ids") or ())
        ids.update(str(i["id"]) for i in ops.group_instances(client, token).values())  # orphans of a lost answer
        ops.terminate_and_wait(client, sorted(ids), waiter=_waiter(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        found = ops.group_instances(self.client(), str(props.get("generation") or id_))
        if not found:
            return ReadResult(None, {})
        return ReadResult(id_, _instance_outs(props, [found[k] for k in sorted(found)]))


class InstanceGroup(Resource, module=_MODULE, name="InstanceGroup"):
    """Lambda on-demand instances: one resource per pool, not per node."""

    instance_ids: pulumi.Output[list[str]]
    ips: pulumi.Output[list[str]]
    private_ips: pulumi.Output[list[str]]
    hostnames: pulumi.Output[list[str]]
    generation: pulumi.Output[str]

    OUTPUTS: ClassVar[tuple[str, ...]] = ("instance_ids", "ips", "private_ips", "hostnames", "statuses",
                                          "generation")

    def __init__(self, name: str, *, identity: str, name_prefix: str, region: str, instance_type: str, count: int,
                 ssh_key_names: pulumi.Input[Sequence[str]], file_system_names: pulumi.Input[Sequence[str]] = (),
                 firewall_ruleset_ids: Sequence[pulumi.Input[str]] = (), image_family: str | None = None,
                 user_data: pulumi.Input[str] | None = None, tags: Mapping[str, str] | None = None,
                 active_timeout_s: float = 1200, poll_s: float = 10, keep_partial: bool = False,
                 provider: InstanceGroupProvider | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "identity": identity, "name_prefix": name_prefix, "region": region, "instance_type": instance_type,
            "count": count, "ssh_key_names": ssh_key_names, "file_system_names": file_system_names,
            "firewall_ruleset_ids": firewall_ruleset_ids, "image_family": image_family,
            # user_data is write-only in the API (format: password): it may carry secrets.
            "user_data": pulumi.Output.secret(user_data) if user_data is not None else None,
            "tags": dict(tags or {}), "active_timeout_s": active_timeout_s, "poll_s": poll_s,
            "keep_partial": keep_partial, **dict.fromkeys(self.OUTPUTS),
        }
        super().__init__(provider or InstanceGroupProvider(), name, props, opts)


# -- filesystems ---------------------------------------------------------------------------------------------------

class FilesystemProvider(_LambdaProvider):
    """A Lambda filesystem (shared NFS storage in one region; no update operation exists)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        name = str(news.get("name", ""))
        failures = [] if _FILESYSTEM_NAME.match(name) and len(name) <= 60 else [
            CheckFailure("name", f"got {name!r}; a letter first, then letters, digits and '-', 60 chars")]
        if not news.get("region"):
            failures.append(CheckFailure("region", "required"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = _changed(olds, news, ("name", "region"))
        # The name is unique per account: a same-named replacement must wait for the old one to go.
        return DiffResult(changes=bool(replaces), replaces=replaces,
                          delete_before_replace=olds.get("name") == news.get("name"))

    def create(self, props: dict[str, Any]) -> CreateResult:
        found, adopted = ops.ensure_filesystem(self.client(), name=str(props["name"]), region=str(props["region"]))
        return CreateResult(str(found["id"]), {"name": props["name"], "region": props["region"],
                                               "mount_point": found.get("mount_point"), "adopted": adopted})

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        self.client().delete_filesystem(id_)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        found = next((f for f in self.client().list_filesystems() if f.get("id") == id_), None)
        if found is None:
            return ReadResult(None, {})
        return ReadResult(id_, {**props, "mount_point": found.get("mount_point")})


class Filesystem(Resource, module=_MODULE, name="Filesystem"):
    """A Lambda persistent filesystem (mounted on instances at launch under /lambda/nfs/<name> by default)."""

    mount_point: pulumi.Output[str]

    def __init__(self, name: str, *, filesystem_name: str, region: str, provider: FilesystemProvider | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(provider or FilesystemProvider(), name,
                         {"name": filesystem_name, "region": region, "mount_point": None, "adopted": None}, opts)


# -- firewall rulesets ---------------------------------------------------------------------------------------------

def firewall_rule_problems(rules: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(path, problem) for rules that break the FirewallRule schema: protocol one of tcp/udp/icmp/all;
    ``port_range`` ``[min, max]`` in 1..65535, required except for icmp and not allowed for it;
    ``source_network`` an IPv4 network; ``description`` up to 128 chars."""
    problems: list[tuple[str, str]] = []
    for i, rule in enumerate(rules):
        at = f"rules[{i}]"
        protocol = rule.get("protocol")
        if protocol not in _PROTOCOLS:
            problems.append((f"{at}.protocol", f"got {protocol!r}; allowed: {', '.join(_PROTOCOLS)}"))
        ports = rule.get("port_range")
        if protocol == "icmp" and ports is not None:
            problems.append((f"{at}.port_range", "not allowed for icmp"))
        elif protocol != "icmp" and (not isinstance(ports, (list, tuple)) or len(ports) != 2
                                     or not all(isinstance(p, (int, float)) and 1 <= p <= 65535 for p in ports)
                                     or ports[0] > ports[1]):
            problems.append((f"{at}.port_range", f"got {ports!r}; allowed: [min, max] with 1 <= min <= max <= 65535"))
        try:
            ipaddress.IPv4Network(str(rule.get("source_network")), strict=False)
        except ValueError:
            problems.append((f"{at}.source_network", f"got {rule.get('source_network')!r}; allowed: an IPv4 CIDR"))
        if len(str(rule.get("description", ""))) > 128:
            problems.append((f"{at}.description", "at most 128 chars"))
    return problems


def _api_rules(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rules as the API takes them (port numbers as integers: the engine hands numbers over as floats)."""
    out = []
    for rule in rules:
        entry: dict[str, Any] = {"protocol": rule["protocol"], "source_network": rule["source_network"],
                                 "description": rule.get("description", "")}
        if rule.get("port_range") is not None:
            entry["port_range"] = [int(p) for p in rule["port_range"]]
        out.append(entry)
    return out


class FirewallRulesetProvider(_LambdaProvider):
    """A firewall ruleset (inbound allow rules for the instances it is associated with at launch)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure(path, problem) for path, problem in firewall_rule_problems(news.get("rules") or [])]
        if not news.get("name") or len(str(news["name"])) > 64:
            failures.append(CheckFailure("name", "required, at most 64 chars"))
        if not news.get("region"):
            failures.append(CheckFailure("region", "required"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = _changed(olds, news, ("region",))
        return DiffResult(changes=bool(replaces or _changed(olds, news, ("name", "rules"))), replaces=replaces)

    def create(self, props: dict[str, Any]) -> CreateResult:
        found, adopted = ops.ensure_firewall_ruleset(self.client(), name=str(props["name"]),
                                                     region=str(props["region"]), rules=_api_rules(props["rules"]))
        return CreateResult(str(found["id"]), {**props, "adopted": adopted})

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self.client().update_firewall_ruleset(id_, name=str(news["name"]), rules=_api_rules(news["rules"]))
        return UpdateResult({**news, "adopted": _olds.get("adopted")})

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        self.client().delete_firewall_ruleset(id_)


class FirewallRuleset(Resource, module=_MODULE, name="FirewallRuleset"):
    """Inbound rules for instances; Lambda denies inbound traffic that no rule allows
    (docs.lambda.ai/public-cloud/firewalls)."""

    def __init__(self, name: str, *, ruleset_name: str, region: str, rules: Sequence[Mapping[str, Any]],
                 provider: FirewallRulesetProvider | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(provider or FirewallRulesetProvider(), name,
                         {"name": ruleset_name, "region": region, "rules": [dict(r) for r in rules],
                          "adopted": None}, opts)


# -- SSH keys ------------------------------------------------------------------------------------------------------

class SshKeyProvider(_LambdaProvider):
    """An SSH key in the account: an uploaded public key, or a pair Lambda generates."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        name = str(news.get("name", ""))
        failures = [] if 1 <= len(name) <= 64 else [CheckFailure("name", "1-64 chars")]
        key = news.get("public_key")
        if key is not None and not (1 <= len(str(key)) <= 4096):
            failures.append(CheckFailure("public_key", "1-4096 chars"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = _changed(olds, news, ("name", "public_key"))
        return DiffResult(changes=bool(replaces), replaces=replaces,
                          delete_before_replace=olds.get("name") == news.get("name"))

    def create(self, props: dict[str, Any]) -> CreateResult:
        found, adopted = ops.ensure_ssh_key(self.client(), name=str(props["name"]), public_key=props.get("public_key"))
        return CreateResult(str(found["id"]), {
            "name": props["name"], "public_key": found.get("public_key"),
            "private_key": found.get("private_key"), "adopted": adopted,
        })

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        self.client().delete_ssh_key(id_)


class SshKey(Resource, module=_MODULE, name="SshKey"):
    """An SSH key; without ``public_key`` the generated ``private_key`` is a secret output."""

    private_key: pulumi.Output[str | None]

    def __init__(self, name: str, *, key_name: str, public_key: str | None = None,
                 provider: SshKeyProvider | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["private_key"])
        super().__init__(provider or SshKeyProvider(), name,
                         {"name": key_name, "public_key": public_key, "private_key": None, "adopted": None},
                         pulumi.ResourceOptions.merge(opts, secret))
