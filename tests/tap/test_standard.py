"""singer-sdk's standard tap tests (discovery, sync, schema and attribute checks) on the sandbox.

The test class is built at import with a config dict that is completed in place once the
sandbox runs (the SDK keeps a reference to it): discovery needs no network, so the class can be
built before any server exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.testing import get_tap_test_class

from exactonline_sandbox.harness import UNTHROTTLED, Sandbox
from tap_exactonline.selection import offline_catalog, select_streams
from tap_exactonline.tap import TapExactOnline

CONFIG: dict[str, Any] = {"client_id": "set-by-fixture", "client_secret": "set-by-fixture"}


def every_stream_selected() -> dict[str, Any]:
    """The tap's catalog (discovered offline) with every stream selected: the SDK's sync test
    syncs every stream whether selected or not, and its schema checks compare the records with
    the catalog's selection (some streams are not selected by default)."""
    return select_streams(offline_catalog())


_StandardTests = get_tap_test_class(
    TapExactOnline, config=CONFIG, parse_env_config=False, catalog=every_stream_selected()
)

# Fields the sandbox's generated company leaves empty in every row: the SDK's attribute test of
# such a field passes on no data at all ("No records were available to test"), so it is not run;
# any other attribute test without data fails (the warning is an error below).
NO_DATA = frozenset(
    {
        "contacts.BirthDate",
        "customers.CreditLineSales",
        "customers.DiscountSales",
        "customers.Latitude",
        "customers.Longitude",
        "divisions.ShareCapital",
        "documents.AmountFC",
        "gl_accounts.ExpenseNonDeductiblePercentage",
        "gl_accounts.PrivatePercentage",
        "gl_accounts.VATNonDeductiblePercentage",
    }
)
_StandardTests.params = {
    name: [param for param in params if param.id not in NO_DATA]
    for name, params in _StandardTests.params.items()
}
pytestmark = pytest.mark.filterwarnings("error:No records were available to test")


class TestTapExactOnlineStandard(_StandardTests):  # type: ignore[misc,valid-type]
    """The SDK's suites, run against a small two-division company."""

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _sandbox_config(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
        # the SDK's tests read every stream, more calls a division than Exact's 60 a minute
        with Sandbox(seed=3, scale=0.05, divisions=2, minutely_limit=UNTHROTTLED) as sb:
            grant = sb.grant()
            store: Path = tmp_path_factory.mktemp("standard") / "tokens.json"
            CONFIG.update(
                client_id=grant["client_id"],
                client_secret=grant["client_secret"],
                refresh_token=grant["refresh_token"],
                base_url=sb.url,
                token_store_path=str(store),
                divisions="all",
            )
            yield
