"""The reliability scenarios in their short form: nothing lost, duplicated or leaked."""

from __future__ import annotations

from collections.abc import Callable

from reliability.result import ScenarioResult
from tests.support.scenarios import assert_nothing_lost

Run = Callable[[str], ScenarioResult]


def test_extraction_under_5xx_drops_latency_and_429_bursts_equals_a_fault_free_sync(
    short_scenario: Run,
) -> None:
    result = short_scenario("extraction")
    assert_nothing_lost(result)
    assert result.checked > 0 and result.figures["429 answered"] >= 3


def test_tap_sigkilled_and_resumed_from_its_last_state_loses_no_row(short_scenario: Run) -> None:
    result = short_scenario("crash")
    assert_nothing_lost(result)
    assert result.figures["SIGKILLs"] > 0


def test_target_killed_and_losing_answers_writes_each_record_exactly_once(
    short_scenario: Run,
) -> None:
    result = short_scenario("reverse_etl")
    assert_nothing_lost(result)
    assert result.figures["SIGKILLs"] > 0 and result.figures["answers lost after the write"] > 0


def test_tap_target_and_second_tap_share_one_token_store_without_token_errors_or_429(
    short_scenario: Run,
) -> None:
    result = short_scenario("concurrency")
    assert_nothing_lost(result)
    assert result.figures["Old refresh token used"] == 0
    assert result.figures["Access Token not expired"] == 0
    assert result.figures["429 answers"] == 0


def test_overlapping_targets_line_changes_and_incremental_copies_write_each_invoice_once(
    short_scenario: Run,
) -> None:
    result = short_scenario("target_writers")
    assert_nothing_lost(result)
    assert result.checked > 0
    assert result.figures["new invoices copied incrementally"].startswith("4 of 4")


def test_revoked_or_expired_grant_stops_at_once_with_the_login_message(
    short_scenario: Run,
) -> None:
    assert_nothing_lost(short_scenario("credentials"))


def test_hostile_keys_match_the_right_record_or_none_and_bad_input_is_rejected(
    short_scenario: Run,
) -> None:
    result = short_scenario("hostile")
    assert_nothing_lost(result)
    assert result.figures["rejects recorded"] >= 4
    assert result.figures["hostile attachment paths rejected"] == "11 of 11"


def test_no_secret_in_any_output_and_private_files_are_0600(short_scenario: Run) -> None:
    assert_nothing_lost(short_scenario("secrets"))


def test_login_callback_is_loopback_only_and_refuses_a_wrong_or_missing_state(
    short_scenario: Run,
) -> None:
    result = short_scenario("oauth_callback")
    assert_nothing_lost(result)
    assert result.figures["callback bound to"] == "127.0.0.1"
