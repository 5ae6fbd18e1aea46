"""Compose only the tenant and traffic-regulator pieces of neocloud's Kubernetes layer on an existing cluster.

No cluster spec and no plan: the components take plain typed arguments. Config (namespace ``serving``):
``kubeconfig`` (secret; default: the ambient kubeconfig), ``kubeContext``, ``kubernetesVersion``, ``tenant``
(team, group, gpu_quota, max_gpus_per_pod) and ``trafficRegulator`` (the same fields as the cluster spec's
``kubernetes.traffic_regulator``, validated by the same model).
"""

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.kubernetes import Tenant, TrafficRegulator
from components.kubernetes.charts import ENVOY_GATEWAY
from components.kubernetes.traffic import admission_policy_supported
from neocloud.plan.kubernetes import traffic_ramp
from neocloud.spec import TrafficRegulator as TrafficRegulatorSettings


class TenantSettings(BaseModel):
    """The ``serving:tenant`` config object."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    team: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$", description="Namespace and team name.")
    group: str = Field(min_length=1, description="Identity-provider group bound to the team's Role.")
    gpu_quota: int = Field(ge=0, description="GPUs the namespace may request at once.")
    max_gpus_per_pod: int = Field(8, ge=1, description="GPUs of one node.")


def _settings() -> tuple[TenantSettings, TrafficRegulatorSettings]:
    config = pulumi.Config("serving")
    try:
        return (TenantSettings.model_validate(config.require_object("tenant")),
                TrafficRegulatorSettings.model_validate(config.require_object("trafficRegulator")))
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(p) for p in error["loc"])
        raise pulumi.RunError(f"serving config {path}: {error['msg']}") from None


config = pulumi.Config("serving")
tenant_settings, regulator_settings = _settings()
version = config.get("kubernetesVersion") or "1.33"
cluster = k8s.Provider("existing-cluster", kubeconfig=config.get_secret("kubeconfig"),
                       context=config.get("kubeContext"))
tenant = Tenant(
    tenant_settings.team, team=tenant_settings.team, kubernetes_version=version,
    gpu_quota=tenant_settings.gpu_quota, max_gpus_per_pod=tenant_settings.max_gpus_per_pod,
    group=tenant_settings.group, gateway_namespace=ENVOY_GATEWAY.namespace, kubernetes_provider=cluster,
)
regulator = TrafficRegulator(
    f"{tenant_settings.team}-traffic", namespace=tenant.namespace, ramp=traffic_ramp(regulator_settings),
    backends=regulator_settings.backends, hostnames=regulator_settings.hostnames,
    listener_port=regulator_settings.listener_port, retry_after_seconds=regulator_settings.retry_after_seconds,
    max_pending_requests=regulator_settings.max_pending_requests,
    controller_image=regulator_settings.controller_image,
    admission_policy=admission_policy_supported(version), kubernetes_provider=cluster,
)
pulumi.export("namespace", tenant.namespace)
pulumi.export("gateway", regulator.gateway.id)
