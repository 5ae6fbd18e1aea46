"""Names and values AWS accepts, each rule from AWS's documentation: regions and zones, resource tags, S3 bucket
names. Pure functions that return the problem as text (``None``: accepted), so the spec, the AWS provider and the
boto3 commands (``neocloud backend bootstrap``) check the same rule once.
"""

from __future__ import annotations

import functools
import ipaddress
import re

__all__ = [
    "BUCKET_NAME_MAX",
    "TAGS_PER_RESOURCE_MAX",
    "TAG_KEY_MAX",
    "TAG_VALUE_MAX",
    "bucket_name_problem",
    "known_regions",
    "region_problem",
    "tag_problem",
    "zone_kind",
    "zone_problem",
]

# --- regions and zones ---------------------------------------------------------------------------------------------


@functools.cache
def known_regions() -> frozenset[str]:
    """The regions of EC2 in the commercial, GovCloud and China partitions, from the endpoint metadata the AWS SDK
    ships (botocore ``data/endpoints.json``, ``Session.get_available_regions``): the regions boto3 and the Pulumi AWS
    provider resolve. One list for the spec and for the boto3 commands' ``--region``."""
    import boto3

    session = boto3.session.Session()
    return frozenset(r for partition in ("aws", "aws-us-gov", "aws-cn")
                     for r in session.get_available_regions("ec2", partition_name=partition))


def region_problem(region: str) -> str | None:
    """``None`` if ``region`` is an AWS region the SDK knows (a free-text region would fail at the first API call)."""
    if region in known_regions():
        return None
    near = sorted(r for r in known_regions() if r.split("-")[0] == region.split("-")[0])
    return (f"'{region}' is not an AWS region; known: {', '.join(near or sorted(known_regions()))}")


_AZ = r"[a-z]"
"""An Availability Zone is its region's code followed by a letter, e.g. us-east-1a (EC2 user guide, "Regions and
Zones", Availability Zones: "An Availability Zone is represented by a Region code followed by a letter
identifier")."""
_LOCAL_ZONE = r"-[a-z]+-[0-9]+[a-z]"
"""A Local Zone is named by "the code of the Local Zone's parent Region followed by an identifier for its location.
For example, us-west-2-lax-1a is in Los Angeles" (AWS Local Zones user guide, "Available Local Zones"); the Dallas
Local Zone us-east-1-dfw-2a is where P6e-GB200 UltraServer Capacity Blocks are (EC2 user guide,
capacity-blocks-launch: "To use P6e-GB200 UltraServer Capacity Blocks, you must be opted in to the Dallas Local
Zone")."""


def zone_kind(zone: str, region: str) -> str | None:
    """``availability-zone``, ``local-zone`` or ``None`` (not a zone of ``region``). Wavelength Zones and Outposts
    are not GPU capacity, so they are not zones here."""
    escaped = re.escape(region)
    if re.fullmatch(escaped + _AZ, zone):
        return "availability-zone"
    if re.fullmatch(escaped + _LOCAL_ZONE, zone):
        return "local-zone"
    return None


def zone_problem(zone: str, region: str | None) -> str | None:
    """``None`` if ``zone`` is an Availability Zone or a Local Zone of ``region``."""
    if region is None or region not in known_regions():
        return None  # the spec reports the missing or unknown region itself
    if zone_kind(zone, region) is not None:
        return None
    return (f"'{zone}' is not a zone of region '{region}'; allowed: an Availability Zone ({region}a, {region}b, "
            f"...) or a Local Zone ({region}-<location>-<n><letter>, e.g. us-east-1-dfw-2a)")


# --- tags ----------------------------------------------------------------------------------------------------------

TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
TAGS_PER_RESOURCE_MAX = 50
"""AWS resource tag limits: at most 50 tags per resource, keys of 1-128 and values of 0-256 Unicode characters
(Tagging AWS resources user guide, "Tag naming limits and requirements")."""
_TAG_CHARACTERS = re.compile(r"^[\w\s.:/=+\-@]*$", re.UNICODE)
"""Allowed tag characters across AWS services: letters, numbers and spaces representable in UTF-8, and
``_ . : / = + - @`` (Tagging AWS resources, "Tag naming limits and requirements")."""


def tag_problem(key: str, value: str) -> str | None:
    """``None`` if AWS accepts ``key=value`` as a resource tag; keys starting ``aws:`` are reserved for AWS."""
    if not 1 <= len(key) <= TAG_KEY_MAX:
        return f"tag key '{key[:40]}' has {len(key)} characters; AWS allows 1-{TAG_KEY_MAX}"
    if key.lower().startswith("aws:"):
        return f"tag key '{key}' starts with 'aws:', which AWS reserves for its own tags"
    if len(value) > TAG_VALUE_MAX:
        return f"tag '{key}' has a value of {len(value)} characters; AWS allows at most {TAG_VALUE_MAX}"
    for text, what in ((key, "key"), (value, "value")):
        if not _TAG_CHARACTERS.match(text):
            return (f"tag {what} '{text[:40]}' has characters AWS refuses; allowed: letters, digits, spaces and "
                    "_ . : / = + - @")
    return None


# --- S3 bucket names -----------------------------------------------------------------------------------------------

BUCKET_NAME_MAX = 63
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """``None`` if ``name`` is a valid S3 general purpose bucket name (Amazon S3 user guide, "General purpose
    bucket naming rules", docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): 3-63
    characters; lower-case letters, digits, dots and hyphens; begins and ends with a letter or digit; no two
    adjacent periods; not formatted as an IP address; not the prefixes ``xn--``, ``sthree-``, ``amzn-s3-demo-``
    nor the suffixes ``-s3alias``, ``--ol-s3``, ``.mrap``, ``--x-s3``, ``--table-s3`` (reserved for access point
    aliases, Multi-Region Access Points, directory and table buckets)."""
    if not _BUCKET.match(name):
        return (f"'{name}' is not a valid S3 bucket name: 3-{BUCKET_NAME_MAX} lower-case letters, digits, dots and "
                "hyphens, starting and ending with a letter or digit")
    if ".." in name:
        return f"'{name}' has two adjacent periods, which S3 bucket names may not"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return f"'{name}' is formatted as an IP address, which S3 bucket names may not be"
    for prefix in _BUCKET_PREFIXES:
        if name.startswith(prefix):
            return f"'{name}' starts with '{prefix}', which S3 reserves"
    for suffix in _BUCKET_SUFFIXES:
        if name.endswith(suffix):
            return f"'{name}' ends with '{suffix}', which S3 reserves"
    return None
