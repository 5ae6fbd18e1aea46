"""What the Lambda Cloud dynamic providers compute that the program reads or exports: instance IDs and
addresses, the filesystem's mount point. Values are clearly fake (RFC 5737 TEST-NET addresses, ``mock-`` IDs)."""

from __future__ import annotations

from typing import Any

from components.providers.lambda_cloud.profile import FILESYSTEM_TYPE, INSTANCE_GROUP_TYPE, SSH_KEY_TYPE

from . import OUTPUTS

__all__ = ["filesystem", "instance_group", "ssh_key"]


def instance_group(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """``count`` active instances, named like the provider names them (``<name_prefix>-<slot>``)."""
    count = int(inputs.get("count") or 0)
    prefix = str(inputs.get("name_prefix", name))
    return {
        "generation": f"{inputs.get('identity', name)}-mock",
        "instance_ids": [f"mock-{prefix}-{i}" for i in range(count)],
        "ips": [f"198.51.100.{i % 250 + 1}" for i in range(count)],
        "private_ips": [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(count)],
        "hostnames": [f"{prefix}-{i}" for i in range(count)],
        "statuses": ["active"] * count,
    }


def filesystem(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A Lambda filesystem's default mount point is ``/lambda/nfs/<name>`` (Filesystem.mount_point)."""
    return {"mount_point": f"/lambda/nfs/{inputs.get('name', name)}", "adopted": False}


def ssh_key(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"private_key": None, "adopted": False}


OUTPUTS[INSTANCE_GROUP_TYPE] = instance_group
OUTPUTS[FILESYSTEM_TYPE] = filesystem
OUTPUTS[SSH_KEY_TYPE] = ssh_key
