"""``preflight``: the checks against moto where it serves the APIs (instance types, offerings), and with
``botocore.stub.Stubber`` for capacity reservations, Capacity Block offerings, reservation topology and EC2
Service Quotas, which moto does not serve (reference/pulumi-offline.md) -- every stubbed request and response is
validated against the AWS API model.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import ANY, Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.aws_ops import AwsError, AwsSession
from neocloud.aws_ops.preflight import (
    CHECKS,
    PreflightReport,
    Window,
    capacity_block_hours,
    quota_for,
    run_preflight,
    shared_prefix,
)
from neocloud.cli import main
from neocloud.plan import ClusterPlan, build_plan
from neocloud.spec import load_cluster_spec
from tests.aws_ops.conftest import REGION, aws_cluster, write_project
from tests.conftest import REPO

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CB_A, CB_B = "cr-0a1b2c3d4e5f60718", "cr-0f1e2d3c4b5a69788"  # the prod stack's Capacity Blocks
PROD_END = datetime(2027, 1, 8, 11, 30, tzinfo=UTC)
"""The prod stack's aws.capacity_block_end_times (Capacity Blocks end at 11:30 UTC)."""


def _plan(cluster: dict[str, Any]) -> ClusterPlan:
    return build_plan(load_cluster_spec(cluster))


def _prod_plan() -> ClusterPlan:
    from neocloud.cli.preflight import load_stack_plan

    return load_stack_plan(REPO, "prod")


@pytest.fixture
def p5_info(raw_client: Any) -> dict[str, Any]:
    """p5.48xlarge as the (moto) endpoint describes it, to feed stubbed clients realistic data."""
    return dict(raw_client("ec2").describe_instance_types(InstanceTypes=["p5.48xlarge"])["InstanceTypes"][0])


def _reservation(rid: str, *, count: int = 64, state: str = "active", start: datetime | None = None,
                 end: datetime | None = None, zone: str = "us-east-2b", kind: str = "capacity-block",
                 instance_type: str = "p5.48xlarge") -> dict[str, Any]:
    return {
        "CapacityReservationId": rid, "InstanceType": instance_type, "InstancePlatform": "Linux/UNIX",
        "AvailabilityZone": zone, "Tenancy": "default", "TotalInstanceCount": count, "AvailableInstanceCount": count,
        "State": state, "StartDate": start or NOW - timedelta(days=1), "EndDate": end or PROD_END,
        "EndDateType": "limited", "InstanceMatchCriteria": "targeted", "ReservationType": kind,
    }


def _offerings_reply(zone: str, types: list[str]) -> dict[str, Any]:
    return {"InstanceTypeOfferings": [{"InstanceType": t, "LocationType": "availability-zone", "Location": zone}
                                      for t in types]}


def _offerings_params(instance_type: str) -> dict[str, Any]:
    return {"LocationType": "availability-zone", "Filters": [{"Name": "instance-type", "Values": [instance_type]}]}


def _topology_entry(rid: str, nodes: list[str]) -> dict[str, Any]:
    return {"CapacityReservationId": rid, "State": "active", "InstanceType": "p5.48xlarge", "NetworkNodes": nodes,
            "AvailabilityZone": "us-east-2b", "AvailabilityZoneId": "use2-az2"}


def _rows(report: PreflightReport) -> dict[str, tuple[str, str]]:
    return {r.check: (r.status, r.reason) for r in report.results}


def test_prod_capacity_blocks_pass_every_check(session: AwsSession, p5_info: dict[str, Any]) -> None:
    ec2, quotas = session.client("ec2"), session.client("service-quotas")
    window = Window(NOW + timedelta(hours=1), NOW + timedelta(days=7))
    with Stubber(ec2) as stub, Stubber(quotas) as no_quota_calls:
        stub.add_response("describe_instance_types", {"InstanceTypes": [p5_info]},
                          {"InstanceTypes": ["p5.48xlarge"]})
        stub.add_response("describe_capacity_reservations",
                          {"CapacityReservations": [_reservation(CB_A), _reservation(CB_B)]},
                          {"CapacityReservationIds": [CB_A, CB_B]})
        stub.add_response("describe_instance_type_offerings", _offerings_reply("us-east-2b", ["p5.48xlarge"]),
                          _offerings_params("p5.48xlarge"))
        stub.add_response("describe_capacity_reservation_topology", {"CapacityReservations": [
            _topology_entry(CB_A, ["nn-111", "nn-222", "nn-333"]),
            _topology_entry(CB_B, ["nn-111", "nn-222", "nn-444"])]}, {"CapacityReservationIds": [CB_A, CB_B]})
        report = run_preflight(_prod_plan(), ec2, quotas, stack="prod", region=REGION, window=window, now=NOW)
        stub.assert_no_pending_responses()
        no_quota_calls.assert_no_pending_responses()
    rows = _rows(report)
    assert report.ok
    assert [r.check for r in report.results] == list(CHECKS)
    assert rows["offering"] == ("pass", "p5.48xlarge is offered in us-east-2b")
    assert rows["efa"] == ("pass", "EFA on 32 network cards (up to 32 EFA interfaces), 8 GPUs")
    assert rows["capacity"][0] == "pass"
    assert rows["capacity"][1].startswith("2 Capacity Block(s) hold 128 instances (128 available now) for 128 nodes")
    assert rows["quota"][0] == "skip"
    assert rows["topology"] == ("pass", "2 reservations share network node nn-222 (layer 2)")


def test_missing_and_short_capacity_blocks_fail_with_offerings(session: AwsSession, p5_info: dict[str, Any]) -> None:
    ec2 = session.client("ec2")
    window = Window(NOW + timedelta(days=1), NOW + timedelta(days=8))
    ends_too_soon = window.end + timedelta(minutes=10)  # inside the 30-minute termination margin
    offer = {"CapacityBlockOfferingId": "cb-0123456789abcdef0", "InstanceType": "p5.48xlarge",
             "AvailabilityZone": "us-east-2b", "InstanceCount": 64, "StartDate": window.start + timedelta(hours=2),
             "EndDate": window.start + timedelta(days=7, hours=2), "CapacityBlockDurationHours": 168,
             "UpfrontFee": "352800.00", "CurrencyCode": "USD", "Tenancy": "default"}
    elsewhere = {**offer, "CapacityBlockOfferingId": "cb-0fedcba9876543210", "AvailabilityZone": "us-east-2a"}
    with Stubber(ec2) as stub:
        stub.add_response("describe_instance_types", {"InstanceTypes": [p5_info]}, {"InstanceTypes": ["p5.48xlarge"]})
        stub.add_client_error("describe_capacity_reservations", "InvalidCapacityReservationId.NotFound",
                              f"The capacity reservation ID '{CB_B}' does not exist", 400,
                              expected_params={"CapacityReservationIds": [CB_A, CB_B]})
        stub.add_response("describe_capacity_reservations",
                          {"CapacityReservations": [_reservation(CB_A, end=ends_too_soon)]},
                          {"CapacityReservationIds": [CB_A]})
        stub.add_client_error("describe_capacity_reservations", "InvalidCapacityReservationId.NotFound", "gone", 400,
                              expected_params={"CapacityReservationIds": [CB_B]})
        stub.add_response("describe_instance_type_offerings", _offerings_reply("us-east-2b", ["p5.48xlarge"]),
                          _offerings_params("p5.48xlarge"))
        stub.add_response("describe_capacity_block_offerings", {"CapacityBlockOfferings": [offer, elsewhere]}, {
            "InstanceType": "p5.48xlarge", "InstanceCount": 64, "CapacityDurationHours": 168,
            "StartDateRange": window.start, "EndDateRange": window.end})
        stub.add_response("describe_capacity_reservation_topology",
                          {"CapacityReservations": [_topology_entry(CB_A, ["nn-1", "nn-2", "nn-3"])]},
                          {"CapacityReservationIds": [CB_A]})
        report = run_preflight(_prod_plan(), ec2, session.client("service-quotas"), stack="prod", region=REGION,
                               window=window, now=NOW, skip=["quota"])
        stub.assert_no_pending_responses()
    assert not report.ok
    status, reason = _rows(report)["capacity"]
    assert status == "fail"
    assert f"{CB_B} does not exist in this account and region" in reason
    assert (f"{CB_A} ends 2026-12-04T09:10:00Z, before the window ends (2026-12-04T09:00:00Z) (instances are "
            "terminated 30 minutes before a Capacity Block ends)") in reason
    assert "usable reservations hold 0 instances; the pool needs 128 (nodes + spares)" in reason
    assert reason.endswith("Capacity Block offerings for 64 x p5.48xlarge (x2 blocks), 168 h, in us-east-2b: 1 "
                           "(earliest 2026-11-27T11:00:00Z, upfront 352800.00 USD)")
    details = next(r for r in report.results if r.check == "capacity").details
    assert [o["id"] for o in details["capacity_block_offerings"]] == ["cb-0123456789abcdef0"]
    assert _rows(report)["topology"] == ("pass", f"{CB_A} sits under nn-1/nn-2/nn-3 (layers 1-3)")
    assert _rows(report)["quota"] == ("skip", "skipped by --skip")


def test_reservations_in_the_wrong_state_type_or_zone_fail(session: AwsSession, p5_info: dict[str, Any]) -> None:
    ec2 = session.client("ec2")
    window = Window(NOW, NOW + timedelta(days=2))
    with Stubber(ec2) as stub:
        stub.add_response("describe_instance_types", {"InstanceTypes": [p5_info]}, {"InstanceTypes": ["p5.48xlarge"]})
        stub.add_response("describe_capacity_reservations", {"CapacityReservations": [
            _reservation(CB_A, state="scheduled", start=NOW + timedelta(hours=3)),
            _reservation(CB_B, zone="us-east-2a", kind="default")]}, {"CapacityReservationIds": [CB_A, CB_B]})
        # Looking up offerings is a hint: a missing permission for it does not hide the capacity verdict.
        stub.add_client_error("describe_capacity_block_offerings", "UnauthorizedOperation", "not allowed", 403,
                              expected_params={"InstanceType": "p5.48xlarge", "InstanceCount": 64,
                                               "CapacityDurationHours": 48, "StartDateRange": window.start,
                                               "EndDateRange": window.end})
        report = run_preflight(_prod_plan(), ec2, session.client("service-quotas"), stack="prod", region=REGION,
                               window=window, now=NOW, skip=["offering", "quota", "topology"])
        stub.assert_no_pending_responses()
    status, reason = _rows(report)["capacity"]
    assert reason.endswith("could not look up Capacity Block offerings (permission denied: the caller needs IAM "
                           "permission ec2:DescribeCapacityBlockOfferings (UnauthorizedOperation: not allowed))")
    assert status == "fail"
    assert f"{CB_A} is scheduled, not active" in reason
    assert f"{CB_A} starts 2026-11-26T12:00:00Z, after the window starts (2026-11-26T09:00:00Z)" in reason
    assert f"{CB_B} is in us-east-2a, not the pool's zone us-east-2b" in reason
    assert f"{CB_B} is an On-Demand Capacity Reservation, not a Capacity Block" in reason


def test_reservations_under_different_network_nodes_fail_topology(session: AwsSession,
                                                                  p5_info: dict[str, Any]) -> None:
    ec2 = session.client("ec2")
    with Stubber(ec2) as stub:
        stub.add_response("describe_capacity_reservations",
                          {"CapacityReservations": [_reservation(CB_A), _reservation(CB_B)]},
                          {"CapacityReservationIds": [CB_A, CB_B]})
        stub.add_response("describe_capacity_reservation_topology", {"CapacityReservations": [
            _topology_entry(CB_A, ["nn-aaa", "nn-bbb", "nn-ccc"]),
            _topology_entry(CB_B, ["nn-xxx", "nn-yyy", "nn-zzz"])]}, {"CapacityReservationIds": [CB_A, CB_B]})
        report = run_preflight(_prod_plan(), ec2, session.client("service-quotas"), stack="prod", region=REGION,
                               window=Window(NOW, NOW), now=NOW, skip=["offering", "efa", "quota"])
    assert _rows(report)["capacity"][0] == "pass"
    assert _rows(report)["topology"] == ("fail", f"reservations share no network node at layer 1 or above (0 shared "
                                         f"layers): {CB_A}: nn-aaa, {CB_B}: nn-xxx")


def _odcr_cluster(nodes: int = 2) -> dict[str, Any]:
    return aws_cluster(pools=[
        {"name": "train", "system": "p5.48xlarge", "nodes": nodes,
         "capacity": {"source": "reservation", "reservation_ids": [CB_A]}},
        {"name": "eval", "system": "p4d.24xlarge", "nodes": 2},
    ])


def _quota(value: float, name: str = "Running On-Demand P instances") -> dict[str, Any]:
    return {"Quota": {"ServiceCode": "ec2", "QuotaCode": "L-417A185B", "QuotaName": name, "Value": value,
                      "Unit": "None", "Adjustable": True, "GlobalQuota": False}}


@pytest.mark.parametrize(("value", "status"), [(576.0, "pass"), (384.0, "fail")])
def test_on_demand_quota_covers_every_pool_of_the_family(session: AwsSession, value: float, status: str) -> None:
    quotas = session.client("service-quotas")
    with Stubber(quotas) as stub:
        stub.add_response("get_service_quota", _quota(value), {"ServiceCode": "ec2", "QuotaCode": "L-417A185B"})
        report = run_preflight(_plan(_odcr_cluster()), session.client("ec2"), quotas, stack="t", region=REGION,
                               window=Window(NOW, NOW), now=NOW, skip=["offering", "efa", "capacity", "topology"])
        stub.assert_no_pending_responses()
    rows = [(r.pool, r.status, r.reason) for r in report.results if r.check == "quota"]
    cover = "covers" if status == "pass" else "does not cover"
    # 2 x p5.48xlarge x 192 vCPUs + 2 x p4d.24xlarge x 96 vCPUs (catalog, hardware.md AWS) = 576
    assert rows == [
        ("train", status, f"L-417A185B 'Running On-Demand P instances' = {value:,.0f} vCPUs {cover} 2 x p5.48xlarge "
                           "= 384 vCPUs; all pools on this quota need 576"),
        ("eval", status, f"L-417A185B 'Running On-Demand P instances' = {value:,.0f} vCPUs {cover} 2 x p4d.24xlarge "
                          "= 192 vCPUs; all pools on this quota need 576"),
    ]


def test_quota_falls_back_to_the_aws_default_and_checks_the_name(session: AwsSession) -> None:
    quotas = session.client("service-quotas")
    with Stubber(quotas) as stub:
        stub.add_client_error("get_service_quota", "NoSuchResourceException", "no applied value", 400,
                              expected_params={"ServiceCode": "ec2", "QuotaCode": "L-417A185B"})
        stub.add_response("get_aws_default_service_quota", _quota(0.0, name="Running Dedicated p5 Hosts"),
                          {"ServiceCode": "ec2", "QuotaCode": "L-417A185B"})
        report = run_preflight(_plan(_odcr_cluster()), session.client("ec2"), quotas, stack="t", region=REGION,
                               window=Window(NOW, NOW), now=NOW, skip=["offering", "efa", "capacity", "topology"])
    (first, *_) = [r for r in report.results if r.check == "quota"]
    assert (first.status, first.reason) == ("error", "quota L-417A185B is named 'Running Dedicated p5 Hosts', "
                                                     "expected 'Running On-Demand P instances'")
    assert not report.ok


def test_quota_permission_denied_stops_the_preflight(session: AwsSession) -> None:
    quotas = session.client("service-quotas")
    with Stubber(quotas) as stub:
        stub.add_client_error("get_service_quota", "AccessDeniedException", "User is not authorized", 400)
        with pytest.raises(AwsError) as caught:
            run_preflight(_plan(_odcr_cluster()), session.client("ec2"), quotas, stack="t", region=REGION,
                          window=Window(NOW, NOW), now=NOW, skip=["offering", "efa", "capacity", "topology"])
    assert caught.value.exit_code == 2 and caught.value.action == "servicequotas:GetServiceQuota"


def test_moto_serves_types_and_offerings_end_to_end(moto_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preflight", "dev", "--project-dir", str(REPO), "--endpoint-url", moto_endpoint, "--skip", "quota",
                 "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["ok"] is True
    assert doc["region"] == "us-east-1" and doc["counts"] == {"pass": 2, "fail": 0, "skip": 3, "error": 0}
    efa = next(c for c in doc["checks"] if c["check"] == "efa")
    assert efa["details"] == {"efa_supported": True, "network_cards": 32, "max_efa_interfaces": 32, "gpus": 8,
                              "expected_network_cards": 32, "expected_gpus": 8}


def test_moto_has_no_ec2_quotas_so_the_quota_check_cannot_run(moto_endpoint: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preflight", "dev", "--project-dir", str(REPO), "--endpoint-url", moto_endpoint,
                 "--max-attempts", "1"])
    out = capsys.readouterr().out
    assert code == 1
    quota_line = next(line for line in out.splitlines() if line.startswith("train  quota"))
    assert "ERROR" in quota_line and "could not read ec2 L-417A185B from Service Quotas" in quota_line
    assert out.splitlines()[-1] == "FAILED: 2 passed, 0 failed, 1 could not run, 2 skipped"


def test_an_instance_type_not_offered_in_the_zone_fails(moto_endpoint: str, raw_client: Any, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    cluster = aws_cluster(region="us-east-1", zone="us-east-1a",
                          pools=[{"name": "h200", "system": "p5e.48xlarge", "nodes": 1}])
    root = write_project(tmp_path, {"h200": cluster})
    offered = sorted(o["Location"] for o in raw_client("ec2", "us-east-1").describe_instance_type_offerings(
        LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": ["p5e.48xlarge"]}]
    )["InstanceTypeOfferings"])
    assert "us-east-1a" not in offered  # what moto's offering data says
    code = main(["preflight", "h200", "--project-dir", str(root), "--endpoint-url", moto_endpoint,
                 "--skip", "quota"])
    out = capsys.readouterr().out
    assert code == 1
    where = f"offered in {', '.join(offered)}" if offered else "offered in no zone of us-east-1"
    assert f"h200  offering  FAIL    p5e.48xlarge is not offered in us-east-1a; {where}" in out


@pytest.mark.parametrize(("args", "message"), [
    (["preflight", "staging"], "STACK: stack 'staging' is provider 'baremetal'; preflight checks AWS pools only "
                               "(stacks with provider aws)"),
    (["preflight", "nope"], "STACK: no stack 'nope'"),
    (["preflight", "dev", "--start", "tomorrow"], "--start: not an ISO 8601 time: 'tomorrow'"),
    (["preflight", "dev", "--start", "2026-12-02", "--end", "2026-12-01"], "--end: 2026-12-01T00:00:00+00:00 is "
                                                                           "before --start"),
    (["preflight", "dev", "--region", "eu-west-1"], "--region: stack 'dev' is in us-east-1, not eu-west-1"),
    (["preflight", "dev", "--endpoint-url", "localhost:5000"], "--endpoint-url: must start with http://"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*args, "--project-dir", str(REPO)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"neocloud: error: {message}")
    assert err.count("\n") == 1


def test_capacity_block_durations() -> None:
    assert capacity_block_hours(Window(NOW, NOW)) == 24
    assert capacity_block_hours(Window(NOW, NOW + timedelta(hours=24))) == 24
    assert capacity_block_hours(Window(NOW, NOW + timedelta(hours=25))) == 48
    assert capacity_block_hours(Window(NOW, NOW + timedelta(days=14))) == 14 * 24
    assert capacity_block_hours(Window(NOW, NOW + timedelta(days=15))) == 21 * 24
    assert capacity_block_hours(Window(NOW, NOW + timedelta(days=400))) == 182 * 24


def test_quota_codes_by_family() -> None:
    assert quota_for("p5.48xlarge") == ("L-417A185B", "Running On-Demand P instances")
    assert quota_for("p6e-gb200.36xlarge") == ("L-417A185B", "Running On-Demand P instances")
    assert quota_for("g6e.48xlarge") == ("L-DB2E81BA", "Running On-Demand G and VT instances")
    assert quota_for("trn2.48xlarge") is None


def test_shared_prefix() -> None:
    assert shared_prefix([["a", "b", "c"], ["a", "b", "d"]]) == ["a", "b"]
    assert shared_prefix([["a", "b"], ["x", "b"]]) == []
    assert shared_prefix([["a", "b", "c"]]) == ["a", "b", "c"]
    assert shared_prefix([]) == []


def test_stubbed_requests_are_checked_against_the_api_model(session: AwsSession) -> None:
    ec2 = session.client("ec2")
    with Stubber(ec2) as stub:
        # The model has no "InstanceCount" on DescribeCapacityReservationTopology: a wrong response is rejected.
        with pytest.raises(ParamValidationError, match="InstanceCount"):
            stub.add_response("describe_capacity_reservation_topology",
                              {"CapacityReservations": [{"CapacityReservationId": CB_A, "InstanceCount": 3}]},
                              {"CapacityReservationIds": ANY})


def test_an_open_ended_on_demand_capacity_reservation_passes(session: AwsSession, p5_info: dict[str, Any]) -> None:
    ec2 = session.client("ec2")
    odcr = {**_reservation(CB_A, count=2, kind="default"), "EndDateType": "unlimited"}
    del odcr["EndDate"]
    with Stubber(ec2) as stub:
        stub.add_response("describe_capacity_reservations", {"CapacityReservations": [odcr]},
                          {"CapacityReservationIds": [CB_A]})
        report = run_preflight(_plan(_odcr_cluster()), ec2, session.client("service-quotas"), stack="t",
                               region=REGION, window=Window(NOW, NOW + timedelta(days=365)), now=NOW,
                               skip=["offering", "efa", "quota", "topology"])
    rows = {(r.pool, r.check): (r.status, r.reason) for r in report.results}
    assert rows[("train", "capacity")][0] == "pass"
    assert rows[("train", "capacity")][1].startswith("1 capacity reservation(s) hold 2 instances")
    assert rows[("eval", "capacity")] == ("skip", "on-demand capacity: no reservation to check")


@settings(deadline=None)  # a shared 2-core machine: timing is not what is under test
@given(hours=st.floats(min_value=0, max_value=24 * 400, allow_nan=False))
def test_capacity_block_hours_cover_the_window_in_bookable_steps(hours: float) -> None:
    window = Window(NOW, NOW + timedelta(hours=hours))
    got = capacity_block_hours(window)
    days = got // 24
    assert got % 24 == 0 and 1 <= days <= 182
    assert days <= 14 or days % 7 == 0
    assert got >= min(hours, 182 * 24) - 1e-6


def _prod_capacity_at(session: AwsSession, reservations: list[dict[str, Any]], now: datetime) -> tuple[str, str]:
    """prod's capacity check at ``now`` against the stubbed DescribeCapacityReservations answer ``reservations``
    (and an empty offering search): its (status, reason)."""
    ec2 = session.client("ec2")
    with Stubber(ec2) as stub:
        stub.add_response("describe_capacity_reservations", {"CapacityReservations": reservations},
                          {"CapacityReservationIds": [CB_A, CB_B]})
        stub.add_response("describe_capacity_block_offerings", {"CapacityBlockOfferings": []}, {
            "InstanceType": "p5.48xlarge", "InstanceCount": 64, "CapacityDurationHours": 24,
            "StartDateRange": now, "EndDateRange": now + timedelta(hours=24)})
        report = run_preflight(_prod_plan(), ec2, session.client("service-quotas"), stack="prod", region=REGION,
                               window=Window(now, now), now=now, skip=["offering", "efa", "quota", "topology"])
        stub.assert_no_pending_responses()
    status, reason = _rows(report)["capacity"]
    return status, reason


def test_a_capacity_block_end_that_differs_from_the_spec_fails(session: AwsSession) -> None:
    """The node group scales to zero before the end the spec gives: DescribeCapacityReservations' EndDate must be it."""
    later = PROD_END + timedelta(days=7)
    status, reason = _prod_capacity_at(session, [_reservation(CB_A), _reservation(CB_B, end=later)], NOW)
    assert status == "fail"
    assert reason.startswith(f"{CB_B} ends 2027-01-15T11:30:00Z, but aws.capacity_block_end_times says "
                             "2027-01-08T11:30:00Z (the node group scales to zero before that time)")


def test_a_capacity_block_whose_scale_down_time_has_passed_fails(session: AwsSession) -> None:
    """EC2 Auto Scaling refuses a scheduled action in the past (PutScheduledUpdateGroupAction), so `pulumi up` would
    fail on a block whose scale-to-zero time (90 minutes before its end) is gone."""
    late = PROD_END - timedelta(minutes=30)  # the block is still active, but its drain time has passed
    status, reason = _prod_capacity_at(session, [_reservation(CB_A), _reservation(CB_B)], late)
    assert status == "fail"
    assert reason.startswith(f"{CB_A} scales its node group to zero at 2027-01-08T10:00:00Z, which has passed (the "
                             "block ends 2027-01-08T11:30:00Z; EC2 Auto Scaling refuses a scheduled action in the "
                             "past)")


def test_a_reservation_size_that_differs_from_the_spec_fails(session: AwsSession) -> None:
    ec2 = session.client("ec2")
    with Stubber(ec2) as stub:
        stub.add_response("describe_capacity_reservations",
                          {"CapacityReservations": [_reservation(CB_A), _reservation(CB_B, count=48)]},
                          {"CapacityReservationIds": [CB_A, CB_B]})
        stub.add_response("describe_capacity_block_offerings", {"CapacityBlockOfferings": []}, {
            "InstanceType": "p5.48xlarge", "InstanceCount": 64, "CapacityDurationHours": 24,
            "StartDateRange": NOW, "EndDateRange": NOW + timedelta(hours=24)})
        report = run_preflight(_prod_plan(), ec2, session.client("service-quotas"), stack="prod", region=REGION,
                               window=Window(NOW, NOW), now=NOW, skip=["offering", "efa", "quota", "topology"],
                               reservation_sizes={CB_A: 64, CB_B: 64})
        stub.assert_no_pending_responses()
    status, reason = _rows(report)["capacity"]
    assert reason.endswith("Capacity Block offerings for 64 x p5.48xlarge, 24 h, in us-east-2b: none")
    assert status == "fail"
    assert reason.startswith(f"{CB_B} holds 48 instances, but aws.reservation_instances says 64 (the node groups are "
                             "cut by that number); usable reservations hold 64 instances; the pool needs 128")
