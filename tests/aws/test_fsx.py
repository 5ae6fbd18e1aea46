"""FSx for Lustre sizing alone: valid PERSISTENT_2 capacities and tiers, tier choice, growth at the top tier."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neocloud import SpecError
from neocloud.plan import FSX_PERSISTENT_2_TIERS, round_fsx_capacity_gib, size_fsx_lustre


def is_valid_capacity(gib: int) -> bool:
    return gib in (1200, 2400) or (gib > 0 and gib % 2400 == 0)


@pytest.mark.parametrize(
    ("asked", "valid"),
    [(0, 1200), (1, 1200), (1200, 1200), (1200.5, 2400), (2400, 2400), (2401, 4800), (4800, 4800),
     (100 * 1024, 103200), (4799.9999999999, 4800)],
)
def test_capacity_rounds_up_to_valid_sizes(asked: float, valid: int) -> None:
    assert round_fsx_capacity_gib(asked) == valid


def test_negative_capacity_is_rejected() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        round_fsx_capacity_gib(-1)


def test_capacity_bound_picks_the_lowest_tier_that_meets_the_target() -> None:
    # 100 TiB of data -> 103,200 GiB (100.78 TiB). At 125 MB/s/TiB that is 12.6 GB/s.
    sizing = size_fsx_lustre(read_gbps=10, write_gbps=5, capacity_tib=100)
    assert (sizing.storage_capacity_gib, sizing.per_unit_storage_throughput, sizing.basis) == (103200, 125, "capacity")
    # 30 GB/s needs 297.7 MB/s/TiB at that capacity: 250 is short (25.2 GB/s), 500 is the lowest that meets it.
    sizing = size_fsx_lustre(read_gbps=30, write_gbps=5, capacity_tib=100)
    assert (sizing.storage_capacity_gib, sizing.per_unit_storage_throughput) == (103200, 500)
    assert sizing.throughput_gbps == pytest.approx(103200 / 1024 * 500 / 1000)


def test_the_tier_carries_the_larger_of_read_and_write() -> None:
    # Throughput per TiB is "read or write" (FSx API): a 20 GB/s write target alone must set the tier.
    read_heavy = size_fsx_lustre(read_gbps=20, write_gbps=1, capacity_tib=100)
    write_heavy = size_fsx_lustre(read_gbps=1, write_gbps=20, capacity_tib=100)
    assert read_heavy.per_unit_storage_throughput == write_heavy.per_unit_storage_throughput == 250
    assert write_heavy.target_mbps == 20_000


def test_throughput_bound_grows_capacity_at_the_top_tier() -> None:
    # 160 GB/s on 1 TiB of data: even 1,000 MB/s/TiB needs 160 TiB = 163,840 GiB -> 165,600 GiB (69 x 2,400).
    sizing = size_fsx_lustre(read_gbps=160, write_gbps=20, capacity_tib=1)
    assert (sizing.per_unit_storage_throughput, sizing.basis) == (1000, "throughput")
    assert sizing.storage_capacity_gib == 165600
    assert sizing.throughput_mbps >= 160_000
    assert (sizing.storage_capacity_gib - 2400) / 1024 * 1000 < 160_000


def test_forced_tier_grows_capacity_instead() -> None:
    sizing = size_fsx_lustre(read_gbps=30, write_gbps=5, capacity_tib=100, per_unit_throughput=125)
    assert sizing.per_unit_storage_throughput == 125
    assert sizing.storage_capacity_gib == 247200  # 30,000 MB/s / 125 x 1,024 = 245,760 GiB -> 103 x 2,400
    assert sizing.basis == "throughput"


def test_an_invalid_tier_names_its_setting() -> None:
    with pytest.raises(SpecError) as info:
        size_fsx_lustre(read_gbps=1, write_gbps=1, capacity_tib=1, per_unit_throughput=200)
    assert str(info.value) == ("aws.fsx_per_unit_throughput: 200 MB/s/TiB is not a PERSISTENT_2 tier; allowed: "
                               "125, 250, 500, 1000")


def test_prod_stack_targets() -> None:
    # prod plan: 992 GPUs at 'better' (155 GB/s read) and 204.1 TiB (200 TiB data + 4 x 1.02 TiB checkpoints).
    sizing = size_fsx_lustre(read_gbps=155.0, write_gbps=77.5, capacity_tib=204.075)
    assert (sizing.storage_capacity_gib, sizing.per_unit_storage_throughput) == (211200, 1000)


@given(
    read=st.floats(min_value=0, max_value=50_000, allow_nan=False),
    write=st.floats(min_value=0, max_value=50_000, allow_nan=False),
    capacity=st.floats(min_value=0, max_value=20_000, allow_nan=False),
)
def test_every_sizing_is_valid_sufficient_and_minimal(read: float, write: float, capacity: float) -> None:
    sizing = size_fsx_lustre(read_gbps=read, write_gbps=write, capacity_tib=capacity)
    gib, tier = sizing.storage_capacity_gib, sizing.per_unit_storage_throughput
    assert is_valid_capacity(gib)
    assert tier in FSX_PERSISTENT_2_TIERS
    assert gib >= capacity * 1024 - 1e-6
    assert gib / 1024 * tier >= max(read, write) * 1000 - 1e-6
    if sizing.basis == "capacity":
        # the smallest capacity for the data, and no lower tier would have done
        assert gib == round_fsx_capacity_gib(capacity * 1024)
        lower = [t for t in FSX_PERSISTENT_2_TIERS if t < tier]
        assert all(gib / 1024 * t < max(read, write) * 1000 for t in lower)
    else:
        # top tier, and one capacity step less would miss the throughput target
        assert tier == FSX_PERSISTENT_2_TIERS[-1]
        smaller = 1200 if gib == 2400 else gib - 2400
        assert gib == 1200 or smaller / 1024 * tier < max(read, write) * 1000
