"""What the tap and the target add to singer-sdk's start-up: one check of the settings, and one
line for an error the plugin expects.

singer-sdk checks a config with jsonschema and prints each message, which quotes the value
(a `client_secret` given as a number is printed in full), says nothing of a misspelt name
(`divison` is dropped and the target writes to another division), and ends with a structured
"Config validation failed" record carrying the whole schema. A wrong setting, an expired grant or
a broken token store then surface as tracebacks, after an "An unhandled error occurred while
syncing" line that reads like a crash. `ExactPlugin` replaces the check with
`config_check.check_settings` and reports expected errors (`ExactError`, and whatever the plugin
adds to `expected_errors`) as one plain line on stderr, exit status 1, in every mode of the
command line (`--discover`, `--test`, a sync, a target run): plain text, so that
`meltano config test` (which shows the last line as it is) shows the message, not a JSON record.
"""

from __future__ import annotations

import atexit
import gc
import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NoReturn

import click
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR, extend_validator_with_defaults

from exactonline_api.config_check import check_settings, is_empty
from exactonline_api.errors import ConfigError, ExactError, error_line
from exactonline_api.redact import install_redaction

# singer-sdk's own check fills each missing setting with its schema default; so does this one.
_FILL_DEFAULTS = extend_validator_with_defaults(DEFAULT_JSONSCHEMA_VALIDATOR)

# What singer-sdk's `Stream.sync` logs before re-raising any error of a stream.
SDK_STREAM_FAILURE = "An unhandled error occurred while syncing"


class ExactPlugin:
    """Mixin for the tap and the target, listed before singer-sdk's `Tap` / `Target`."""

    name: str  # as singer-sdk declares it
    logger: ClassVar[logging.Logger]
    config_jsonschema: ClassVar[dict]
    _config: dict

    #: Errors reported as one line (no traceback) by the command line.
    expected_errors: ClassVar[tuple[type[BaseException], ...]] = (ExactError,)

    #: The plugin's settings, built by `settings_from_config` when the config is checked.
    settings: Any = None

    @classmethod
    def settings_from_config(cls, config: Mapping[str, Any]) -> Any:
        """The plugin's settings object; raises `ConfigError` naming the setting at fault."""
        raise NotImplementedError

    @classmethod
    def known_settings_schema(cls) -> dict:
        """The full settings schema: the plugin's own plus singer-sdk's capability settings
        (stream maps, flattening, batches, load method, ...), as `--about` shows it."""
        schema = cls.config_jsonschema
        cls.append_builtin_config(schema)  # type: ignore[attr-defined]  # singer-sdk's
        return schema

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Check the merged config (file, then environment) and build `self.settings`.

        A private singer-sdk hook, overridden on purpose: `PluginBase.__init__` calls it with the
        merged config before anything uses it, and no public method sees that config in time
        (`__init__` of `Tap` builds streams and maps right after). One of the two private hooks
        this project overrides (the other: `ExactSyncStream._increment_stream_state`, the
        tap's per-page bookmark); tests/client/test_plugin_hooks.py fails by name if singer-sdk
        stops calling it. With `raise_errors=False` (singer-sdk's `--discover`, which needs no
        settings) problems are only logged at debug level.
        """
        install_redaction()
        schema = self.known_settings_schema()
        config = self._config  # singer-sdk's own storage: defaults are filled in place, as it does
        for name in [k for k, v in config.items() if k in schema["properties"] and is_empty(v)]:
            del config[name]  # an empty value is a setting left out (Meltano drops them too)
        try:
            check_settings(config, schema, owner=self.name)
            for _ in _FILL_DEFAULTS(schema).iter_errors(config):
                pass  # only fills defaults: the check above has found every problem
            self.settings = self.settings_from_config(config)
        except ConfigError as exc:
            if raise_errors:
                raise
            # Discovery needs no settings; the sync reports the problem, once, as its error.
            self.logger.debug("settings not usable for a sync: %s", exc)
            return [str(exc)]
        return []

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """singer-sdk's command, with expected errors reported as one line; the process that
        runs it is spared CPython's last collections at its exit."""
        spare_the_exit_collections()
        command: click.Command = super().get_singer_command()  # type: ignore[misc]
        setattr(command, "main", one_line_errors(command.main, cls.name, cls.expected_errors))  # noqa: B010
        return command


def one_line_errors(
    run: Callable[..., Any], program: str, expected: tuple[type[BaseException], ...]
) -> Callable[..., Any]:
    """`run`, with an expected error printed as one line on stderr and exit status 1."""

    def main(*args: Any, **kwargs: Any) -> Any:
        try:
            return run(*args, **kwargs)
        except expected as exc:
            fail(program, exc)

    return main


def spare_the_exit_collections() -> None:
    """At the process's exit, freeze every object still alive before CPython's last collections.

    A tap or target process ends with its run, and CPython's exit then walks every object still
    alive (singer-sdk, the field catalogue, the streams and their schemas) in full garbage
    collections: 0.2-0.3 s on every run of the tap, measured at the end of a parallel sync.
    Frozen objects are skipped by those walks; the memory goes back with the process. Nothing
    changes while the plugin runs: it is an exit hook, registered once however often the command
    is built.
    """
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def fail(program: str, exc: BaseException) -> NoReturn:
    sys.stdout.flush()
    sys.stderr.write(error_line(program, exc) + "\n")
    sys.stderr.flush()
    sys.exit(1)


class QuietExpectedFailures(logging.Filter):
    """Drops singer-sdk's "An unhandled error occurred while syncing" line while the error in
    flight is one the plugin reports itself in one line: before a plain settings or login error
    it reads like a crash. Other errors keep the line (and their traceback)."""

    def __init__(self, expected: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        self.expected = expected

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        in_flight = sys.exc_info()[1]
        if not isinstance(in_flight, self.expected):
            return True
        return not record.getMessage().startswith(SDK_STREAM_FAILURE)
