"""Read the cluster spec from Pulumi config, turning bad config into one clear error before any resource."""

from __future__ import annotations

import difflib
import json

import pulumi
from pulumi.runtime.config import get_config, is_config_secret

from neocloud import CONFIG_KEY, ClusterPlan, ClusterSpec, SpecError, build_plan, load_cluster_spec

__all__ = ["ConfigError", "load_cluster"]


class ConfigError(pulumi.RunError):
    """Bad ``neocloud:cluster`` config. Pulumi prints a RunError's message without a traceback."""

    def __init__(self, error: SpecError) -> None:
        super().__init__(str(error))
        self.config_path = error.path
        self.config_message = error.message
        self.config_problems = list(error.problems)


def load_cluster() -> tuple[ClusterSpec, ClusterPlan]:
    """The spec from this stack's config and its plan; raises ``ConfigError`` before any resource exists."""
    namespace, key = CONFIG_KEY.split(":", 1)
    raw = pulumi.Config(namespace).get(key)
    try:
        if raw is None:
            # Under the engine too (not only offline): a misspelt key gets a did-you-mean from the stack's keys.
            from pulumi.runtime.config import CONFIG

            known = CONFIG if isinstance(CONFIG, dict) else CONFIG.get()  # a ContextVar in current SDKs
            close = difflib.get_close_matches(CONFIG_KEY, [str(k) for k in known], n=1, cutoff=0.75)
            hint = f" (the stack sets {close[0]!r}: misspelt?)" if close else ""
            raise SpecError(CONFIG_KEY, f"required: set it in stacks/Pulumi.<stack>.yaml{hint}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise SpecError(CONFIG_KEY, "must be an object (a YAML mapping); got a string") from None
        spec = load_cluster_spec(value)
        for secret_key in spec.profile.secret_config:
            if get_config(secret_key) is not None and not is_config_secret(secret_key):
                raise SpecError(secret_key, f"a credential in plaintext config; set it with `pulumi config set "
                                f"--secret {secret_key} ...` so state and previews keep it encrypted")
        return spec, build_plan(spec)
    except SpecError as error:
        raise ConfigError(error) from None
