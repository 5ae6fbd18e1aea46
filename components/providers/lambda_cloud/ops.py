"""Idempotent workflows over ``api.LambdaCloudClient`` (no Pulumi): create-or-adopt, wait with deadlines, delete.

Adoption is how a create survives a lost answer. Lambda's API has no client tokens, so:

- instances carry tags (launch ``tags``, keys ``^[a-z][a-z0-9-:]+$`` up to 55 chars, values up to 128, per the
  RequestedTagEntry schema): ``neocloud-token`` (the resource's identity plus a hash of everything that cannot
  change in place) and ``neocloud-index`` (the slot in the group). Before every launch, and after any launch that
  got no answer, the group is looked up by tag and a live instance in the slot is adopted instead of launching
  a second one;
- filesystems, firewall rulesets and SSH keys are looked up by name (filesystem names are unique per account:
  a second create answers ``global/duplicate``), in the same region, and adopted.

Launches that fail (e.g. ``insufficient-capacity`` for the 5th of 8 instances) roll back what this call launched
unless ``keep_partial``: a Pulumi create must leave nothing behind when it fails (pulumi.dynamic
``ResourceProvider.create``: "If this call fails, the resource must not have been created"), and instances that
no state records would bill silently. With ``keep_partial`` they stay tagged, and the next ``pulumi up`` adopts
them and launches only the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .api import DUPLICATE, DeadlineExceeded, LambdaApiError, LambdaCloudClient, NoAnswer

__all__ = [
    "GONE_STATUSES",
    "TAG_INDEX",
    "TAG_TOKEN",
    "Conflict",
    "InstanceFailed",
    "LaunchSpec",
    "Waiter",
    "ensure_filesystem",
    "ensure_firewall_ruleset",
    "ensure_instances",
    "ensure_ssh_key",
    "group_instances",
    "terminate_and_wait",
    "wait_active",
]

TAG_TOKEN = "neocloud-token"
"""Instance tag: which resource (and which generation of its immutable inputs) launched the instance."""
TAG_INDEX = "neocloud-index"
"""Instance tag: the instance's slot in its group, 0..count-1."""

GONE_STATUSES = frozenset({"terminated", "terminating", "preempted"})
"""InstanceStatus values of an instance that is not coming back."""
_ACTIVE = "active"


class Conflict(Exception):
    """A name is taken by something this resource cannot adopt (another region, another public key)."""


class InstanceFailed(Exception):
    """An instance ended instead of becoming active (terminated, terminating or preempted while booting)."""


@dataclass(frozen=True, kw_only=True)
class Waiter:
    """Polling with a deadline: ``poll_s`` between looks, ``clock``/``sleep`` injectable for tests."""

    timeout_s: float
    poll_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def deadline(self) -> float:
        return self.clock() + self.timeout_s


@dataclass(frozen=True, kw_only=True)
class LaunchSpec:
    """What one instance of a group is launched with (InstanceLaunchRequest fields)."""

    region: str
    instance_type: str
    ssh_key_names: tuple[str, ...]
    file_system_names: tuple[str, ...] = ()
    firewall_ruleset_ids: tuple[str, ...] = ()
    image_family: str | None = None
    user_data: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def request(self, *, name: str, token: str, index: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "region_name": self.region,
            "instance_type_name": self.instance_type,
            "ssh_key_names": list(self.ssh_key_names),
            "file_system_names": list(self.file_system_names),
            "name": name,
            "hostname": name,
            "tags": [{"key": k, "value": v} for k, v in sorted(self.tags.items())]
            + [{"key": TAG_TOKEN, "value": token}, {"key": TAG_INDEX, "value": str(index)}],
        }
        if self.firewall_ruleset_ids:
            body["firewall_rulesets"] = [{"id": rid} for rid in self.firewall_ruleset_ids]
        if self.image_family:
            body["image"] = {"family": self.image_family}
        if self.user_data:
            body["user_data"] = self.user_data
        return body


def _tags(instance: Mapping[str, Any]) -> dict[str, str]:
    return {str(t.get("key")): str(t.get("value")) for t in instance.get("tags") or ()}


def group_instances(client: LambdaCloudClient, token: str) -> dict[int, dict[str, Any]]:
    """The live instances tagged with ``token``, by slot."""
    found: dict[int, dict[str, Any]] = {}
    for instance in client.list_instances():
        tags = _tags(instance)
        if tags.get(TAG_TOKEN) != token or instance.get("status") in GONE_STATUSES:
            continue
        try:
            index = int(tags.get(TAG_INDEX, ""))
        except ValueError:
            continue
        found.setdefault(index, instance)
    return found


def _launch_slot(client: LambdaCloudClient, spec: LaunchSpec, *, name: str, token: str, index: int,
                 deadline: float, looks: int, clock: Callable[[], float]) -> str:
    """Launch the instance of slot ``index``, or adopt it if an unanswered launch created it after all."""
    last: Exception | None = None
    while clock() < deadline:
        try:
            return client.launch_instance(spec.request(name=name, token=token, index=index))[0]
        except NoAnswer as error:
            last = error
        # The launch may have happened: look (a few times, the list may lag) before launching again.
        for _ in range(looks):
            adopted = group_instances(client, token).get(index)
            if adopted is not None:
                return str(adopted["id"])
    raise DeadlineExceeded(f"launching {name}: no launch was answered before the deadline; last: {last}")


def ensure_instances(client: LambdaCloudClient, spec: LaunchSpec, *, token: str, count: int, name_prefix: str,
                     waiter: Waiter, keep_partial: bool = False, adoption_looks: int = 3,
                     launch_timeout_s: float | None = None) -> list[dict[str, Any]]:
    """``count`` active instances tagged ``token``: adopts the live ones, launches the missing slots, waits until
    all are active. On failure, terminates what this call launched (unless ``keep_partial``) and re-raises."""
    clock = waiter.clock
    interval = client.pacer.limits.launch_interval_s
    budget = launch_timeout_s if launch_timeout_s is not None else (count + 1) * interval + client.timeouts.call_s
    launch_deadline = clock() + budget
    existing = group_instances(client, token)
    launched: list[str] = []
    try:
        for index in range(count):
            if index not in existing:
                launched.append(_launch_slot(client, spec, name=f"{name_prefix}-{index}", token=token, index=index,
                                             deadline=launch_deadline, looks=adoption_looks, clock=clock))
        return wait_active(client, token=token, count=count, waiter=waiter)
    except BaseException:
        if launched and not keep_partial:
            terminate_and_wait(client, launched, waiter=waiter)
        raise


def wait_active(client: LambdaCloudClient, *, token: str, count: int, waiter: Waiter) -> list[dict[str, Any]]:
    """Poll (one list request per look, within the 1 request/s limit) until slots 0..count-1 are ``active``."""
    deadline = waiter.deadline()
    pending: dict[int, str] = {}
    while True:
        everything = client.list_instances()
        by_slot: dict[int, dict[str, Any]] = {}
        for instance in everything:
            tags = _tags(instance)
            if tags.get(TAG_TOKEN) == token and tags.get(TAG_INDEX, "").isdigit():
                index = int(tags[TAG_INDEX])
                # A slot's live instance wins over a gone one (a replaced instance may linger as terminated).
                if index not in by_slot or by_slot[index].get("status") in GONE_STATUSES:
                    by_slot[index] = instance
        pending = {}
        for index in range(count):
            current = by_slot.get(index)
            if current is None:
                pending[index] = "missing"
            elif current.get("status") in GONE_STATUSES:
                raise InstanceFailed(f"instance {current.get('id')} (slot {index}) is {current.get('status')} "
                                     "instead of becoming active")
            elif current.get("status") != _ACTIVE:
                pending[index] = str(current.get("status"))
        if not pending:
            return [by_slot[i] for i in range(count)]
        if waiter.clock() + waiter.poll_s > deadline:
            states = ", ".join(f"slot {i}: {s}" for i, s in sorted(pending.items()))
            raise DeadlineExceeded(f"instances not active within {waiter.timeout_s:.0f} s ({states})")
        waiter.sleep(waiter.poll_s)


def terminate_and_wait(client: LambdaCloudClient, instance_ids: list[str], *, waiter: Waiter) -> None:
    """Terminate ``instance_ids`` and wait until each is gone (terminated, or no longer found)."""
    alive = [i for i in instance_ids if (found := client.get_instance(i)) and found.get("status") != "terminated"]
    if alive:
        try:
            client.terminate_instances(alive)
        except LambdaApiError as error:
            if not error.not_found:
                raise
    deadline = waiter.deadline()
    while True:
        remaining = [i for i in alive if (found := client.get_instance(i)) and found.get("status") != "terminated"]
        if not remaining:
            return
        if waiter.clock() + waiter.poll_s > deadline:
            raise DeadlineExceeded(f"instances still terminating after {waiter.timeout_s:.0f} s: "
                                   f"{', '.join(remaining)}")
        waiter.sleep(waiter.poll_s)


def _find_named(items: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [item for item in items if item.get("name") == name]


def _region(item: Mapping[str, Any]) -> str | None:
    region = item.get("region")
    return region.get("name") if isinstance(region, Mapping) else None


def ensure_filesystem(client: LambdaCloudClient, *, name: str, region: str, looks: int = 3) -> tuple[dict[str, Any],
                                                                                                    bool]:
    """The filesystem ``name`` in ``region``, created or adopted; ``(filesystem, adopted)``."""

    def look() -> dict[str, Any] | None:
        named = _find_named(client.list_filesystems(), name)
        if not named:
            return None
        if _region(named[0]) != region:
            raise Conflict(f"filesystem name {name!r} is taken in region {_region(named[0])!r}; filesystem names "
                           f"are unique per account, so it cannot be created in {region!r}")
        return named[0]

    found = look()
    if found is not None:
        return found, True
    try:
        return client.create_filesystem(name=name, region=region), False
    except NoAnswer:
        pass
    except LambdaApiError as error:
        if error.code != DUPLICATE:
            raise
    for _ in range(looks):
        found = look()
        if found is not None:
            return found, True
    return client.create_filesystem(name=name, region=region), False


def ensure_firewall_ruleset(client: LambdaCloudClient, *, name: str, region: str, rules: list[dict[str, Any]],
                            looks: int = 3) -> tuple[dict[str, Any], bool]:
    """The firewall ruleset ``name`` in ``region`` with exactly ``rules``, created or adopted (and then patched
    to ``rules``); ``(ruleset, adopted)``."""

    def look() -> dict[str, Any] | None:
        named = [r for r in _find_named(client.list_firewall_rulesets(), name) if _region(r) == region]
        if len(named) > 1:
            raise Conflict(f"{len(named)} firewall rulesets are named {name!r} in {region}; cannot tell which to "
                           f"adopt ({', '.join(str(r.get('id')) for r in named)})")
        return named[0] if named else None

    found: dict[str, Any] | None = look()
    if found is None:
        try:
            return client.create_firewall_ruleset(name=name, region=region, rules=rules), False
        except NoAnswer:
            pass
        for _ in range(looks):
            found = look()
            if found is not None:
                break
        else:
            return client.create_firewall_ruleset(name=name, region=region, rules=rules), False
    if found.get("rules") != rules:
        found = client.update_firewall_ruleset(str(found["id"]), rules=rules)
    return found, True


def ensure_ssh_key(client: LambdaCloudClient, *, name: str, public_key: str | None,
                   looks: int = 3) -> tuple[dict[str, Any], bool]:
    """The SSH key ``name``: uploaded ``public_key``, or (without one) a pair Lambda generates, whose
    ``private_key`` the answer carries once. ``(key, adopted)``.

    An existing key of that name is adopted if its public key matches. A generated key cannot be adopted (its
    private key is gone), so one whose create got no answer is deleted and generated again; one that existed
    before is a conflict."""

    def look() -> dict[str, Any] | None:
        named = _find_named(client.list_ssh_keys(), name)
        return named[0] if named else None

    def same_key(key: Mapping[str, Any]) -> bool:
        return public_key is not None and str(key.get("public_key", "")).split()[:2] == public_key.split()[:2]

    found = look()
    if found is not None:
        if same_key(found):
            return found, True
        raise Conflict(f"SSH key name {name!r} is taken by a different key (id {found.get('id')}); "
                       + ("choose another name" if public_key else "a generated key's private key cannot be "
                          "recovered, so delete it or give a public_key"))
    try:
        return client.add_ssh_key(name=name, public_key=public_key), False
    except NoAnswer:
        pass
    for _ in range(looks):
        found = look()
        if found is not None:
            break
    if found is not None and same_key(found):
        return found, True
    if found is not None:  # our own generated key whose answer (and private key) was lost
        client.delete_ssh_key(str(found["id"]))
    return client.add_ssh_key(name=name, public_key=public_key), False
