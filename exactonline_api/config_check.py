"""Checking a config against a settings schema: every problem named, no secret ever quoted.

The schema (what `--about` shows and Meltano's plugin definitions are made of) is the one place
that states each setting's type, allowed values and bounds; this module enforces it. It differs
from singer-sdk's own check in three ways a data engineer needs:

- a value of a sensitive setting (`secret` in the schema) is registered for redaction before
  anything else, whatever its type, and no message quotes it: singer-sdk's messages print the
  value (`98765432123 is not of type 'string'` for a client secret given as a number);
- a name the plugin does not know is an error naming the closest known one (`divison` would
  otherwise be dropped and the target would write to the user's current division instead);
- an empty value (null, "") is a setting left out, as Meltano treats it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import ValidationError
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR

from exactonline_api.errors import ConfigError
from exactonline_api.redact import register_secret

_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
}


def is_sensitive(prop: Mapping[str, Any]) -> bool:
    """True for a setting the schema marks secret (singer-sdk: `secret`, `writeOnly`)."""
    return bool(prop.get("secret") or prop.get("writeOnly"))


def is_empty(value: Any) -> bool:
    """A value that means "not set": null, or a string of nothing but blanks."""
    return value is None or (isinstance(value, str) and not value.strip())


def check_settings(
    config: Mapping[str, Any], schema: Mapping[str, Any], *, owner: str | None = None
) -> None:
    """Raise one `ConfigError` listing every problem of `config` under `schema`.

    `owner` (the plugin's name) turns on the check for unknown names; without it, keys the
    schema does not list are ignored (`exactonline-auth` reads tap and target configs alike).
    """
    properties: Mapping[str, Any] = schema.get("properties", {})
    sensitive = {name for name, prop in properties.items() if is_sensitive(prop)}
    for name in sensitive:
        register_secret(config.get(name))

    problems: list[tuple[str, str]] = []
    if owner is not None:
        for name in config:
            if name not in properties:
                closest = closest_name(name, properties)
                if closest in sensitive:
                    register_secret(config[name])  # `clinet_secret: ...` holds a secret too
                hint = f"did you mean '{closest}'?" if closest else f"`{owner} --about` lists them"
                problems.append((name, f"is not a setting of {owner} ({hint})"))
    for name in schema.get("required", []):
        if is_empty(config.get(name)):
            problems.append((name, "is required"))

    given = {k: v for k, v in config.items() if k in properties and not is_empty(v)}
    validator = DEFAULT_JSONSCHEMA_VALIDATOR({**schema, "required": []})
    for error in validator.iter_errors(given):
        problems.append(_describe(error, sensitive))
    if problems:
        raise ConfigError.of(problems)


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The known setting `name` was most likely meant to be (case and typos forgiven)."""
    by_folded = {k.casefold(): k for k in known}
    match = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[match[0]] if match else None


def _describe(error: ValidationError, sensitive: set[str]) -> tuple[str, str]:
    """(setting, message) for one schema violation; the value only when it is not a secret."""
    path = [str(part) for part in error.absolute_path]
    setting = ".".join(path) if path else "config"
    secret = bool(path) and path[0] in sensitive
    value = error.instance
    got = f"got {kind_of(value)}" if secret else f"got {value!r}"
    rule = error.validator
    bound: Any = error.validator_value  # what the rule asks for (typed loosely by jsonschema)
    if rule == "type":
        return setting, f"must be {_expected(bound)}, {got}"
    if rule == "enum":
        allowed = ", ".join(repr(v) for v in bound if v is not None)
        return setting, f"must be one of {allowed}, {got}"
    if rule in ("minimum", "exclusiveMinimum"):
        word = "at least" if rule == "minimum" else "more than"
        return setting, f"must be {word} {bound}, {got}"
    if rule in ("maximum", "exclusiveMaximum"):
        word = "at most" if rule == "maximum" else "less than"
        return setting, f"must be {word} {bound}, {got}"
    if rule in ("anyOf", "oneOf"):
        kinds = [_expected(sub.get("type")) for sub in bound if sub.get("type")]
        return setting, f"must be {' or '.join(dict.fromkeys(kinds)) or 'valid'}, {got}"
    if secret:
        return setting, f"is not valid (schema rule {rule!r})"
    return setting, error.message


def _expected(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types or [])
    words = [_TYPE_WORDS.get(t, t) for t in names if t != "null"]
    return " or ".join(words) or "null"


def kind_of(value: Any) -> str:
    """What a value is, in words, without the value itself."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "null"
    return type(value).__name__
