"""The `divisions` setting in every form Meltano and users give it."""

from __future__ import annotations

import pytest

from exactonline_api.errors import ConfigError
from tap_exactonline.settings import parse_divisions


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        (None, None),
        ("", None),
        ([], None),
        ("all", "all"),
        (" ALL ", "all"),
        ([758984, 146278], [758984, 146278]),
        (["758984", 146278, 758984], [758984, 146278]),  # digit strings, duplicates dropped
        ("758984, 146278", [758984, 146278]),  # Meltano env var, comma separated
        ("[758984,146278]", [758984, 146278]),  # Meltano env var, JSON array
    ],
)
def test_divisions_setting_forms(value: object, codes: object) -> None:
    assert parse_divisions(value) == codes


@pytest.mark.parametrize("value", ["some", ["12a"], {"a": 1}])
def test_bad_divisions_setting_names_the_setting(value: object) -> None:
    with pytest.raises(ConfigError) as err:
        parse_divisions(value)
    assert "divisions" in str(err.value)
