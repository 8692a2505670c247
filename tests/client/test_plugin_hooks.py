"""The singer-sdk behaviour `exactonline_api.plugin.ExactPlugin` relies on.

It overrides one private hook (`PluginBase._validate_config`) and quiets one line singer-sdk logs
(`Stream.sync`'s "An unhandled error occurred while syncing"). If a singer-sdk upgrade changes
either, these tests fail and say which; the command-line tests would only show the symptom.
"""

from __future__ import annotations

import inspect

import pytest
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import PluginBase
from singer_sdk.streams.core import Stream

from exactonline_api.errors import ConfigError
from exactonline_api.plugin import SDK_STREAM_FAILURE
from tap_exactonline.tap import TapExactOnline
from target_exactonline.target import TargetExactOnline

BAD = {"client_id": "app-1", "client_secret": 98765432123}


@pytest.mark.parametrize("plugin", [TapExactOnline, TargetExactOnline])
def test_singer_sdk_checks_the_config_through_the_overridden_hook(plugin: type) -> None:
    assert "_validate_config" in inspect.getsource(PluginBase.__init__), (
        "singer-sdk's PluginBase.__init__ no longer calls _validate_config: "
        "exactonline_api/plugin.py must hook the config check in elsewhere"
    )
    try:
        plugin(config=dict(BAD))
    except ConfigValidationError:
        pytest.fail(
            "singer-sdk checked the config itself (its messages print values): "
            "ExactPlugin._validate_config was not called",
            pytrace=False,
        )
    except ConfigError as exc:
        assert exc.setting == "client_secret"
        assert "98765432123" not in str(exc)
    else:
        pytest.fail("a client_secret given as a number was accepted", pytrace=False)


def test_singer_sdk_still_logs_the_stream_failure_line_that_is_quieted() -> None:
    assert SDK_STREAM_FAILURE in inspect.getsource(Stream.sync), (
        "singer-sdk's Stream.sync logs another text on a stream's failure: update "
        "SDK_STREAM_FAILURE in exactonline_api/plugin.py"
    )


def test_defaults_are_filled_as_singer_sdk_does() -> None:
    """singer-sdk's own check fills missing settings with their defaults; code reads them."""
    target = TargetExactOnline(config={"client_id": "app-1", "client_secret": "a-secret-771"})
    assert target.config["on_error"] == "fail"
    assert target.config["load_method"] == "upsert"
    assert target.config["validate_records"] is True
    tap = TapExactOnline(config={"client_id": "app-1", "client_secret": "a-secret-771"})
    assert tap.config["deletes"] is True
