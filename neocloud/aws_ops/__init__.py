"""AWS operations with boto3 around ``pulumi up``: the S3 state backend, capacity preflight, topology import.

Pure-ish modules: each function takes boto3 clients (made by ``AwsSession``) and returns plain data; the
command line in ``neocloud.cli.backend``, ``neocloud.cli.preflight`` and ``neocloud.cli.topology`` prints it.
Every botocore error leaves as an ``AwsError`` with a one-line message and an exit code (``errors``).
"""

from .errors import AwsError, iam_action, translate, translated
from .session import AwsOptions, AwsSession, client_config

__all__ = ["AwsError", "AwsOptions", "AwsSession", "client_config", "iam_action", "translate", "translated"]
