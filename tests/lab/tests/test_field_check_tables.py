"""The field check's copy of the lab's dialect table (plugins/filter/field_check.py) against the lab's own table.

The collection cannot import test code, so field_check.py duplicates DEFAULT_DIALECT and every axis's values; these
tests keep the copy equal to sdwan_lab.dialects and check that the `--dialect` the field check prints is one the lab
accepts. The filter is loaded from its file: it imports nothing, so no Ansible is needed here.
"""

import importlib.util
from pathlib import Path

import pytest

from sdwan_lab.dialects import AXES, DEFAULT_DIALECT, PRESETS, DialectError, parse_dialect

FIELD_CHECK = Path(__file__).resolve().parents[3] / "plugins" / "filter" / "field_check.py"
SPEC_LINE = "the lab dialect that answers like this: "


def _load_field_check():
    spec = importlib.util.spec_from_file_location("collection_field_check_filter", FIELD_CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


field_check = _load_field_check()


def suggested(report):
    """The SPEC of the report's `sdwan-lab up --dialect SPEC` line ('' for the default)."""
    (line,) = [line for line in report["lines"] if line.startswith(SPEC_LINE)]
    command = line[len(SPEC_LINE):]
    return "" if command == "the default" else command[len("sdwan-lab up --dialect "):]


def test_the_field_check_compares_with_the_labs_default_dialect():
    assert field_check.LAB_DEFAULT_DIALECT == DEFAULT_DIALECT


def test_the_field_check_knows_exactly_the_axes_and_values_the_lab_plays():
    assert {axis: set(values) for axis, values in field_check.LAB_VALUES.items()} == {
        name: set(axis.values) for name, axis in AXES.items()}


@pytest.mark.parametrize("axis,value", [(name, value) for name, axis in AXES.items() for value in axis.values
                                        if value != axis.default])
def test_each_value_the_lab_plays_is_suggested_as_a_dialect_the_lab_accepts(axis, value):
    report = field_check.compare({"vmanage-001": {axis: value}})

    assert report["differs"] is True
    assert suggested(report) == report["dialect"] == f"{axis}={value}"
    assert parse_dialect(report["dialect"]) == {**DEFAULT_DIALECT, axis: value}


def test_products_that_answer_as_documented_get_the_documented_dialect():
    report = field_check.compare({"vmanage-001": dict(PRESETS["documented"])})

    assert parse_dialect(suggested(report)) == PRESETS["documented"]


def test_a_value_the_lab_cannot_play_is_named_and_left_out_of_the_suggested_dialect():
    report = field_check.compare({"vmanage-001": {"sync-answer": "xml", "sync-parts": "data+name"}})

    assert "sync-answer=xml (lab: json), which the lab cannot play yet" in report["lines"][0]
    assert report["differs"] is True and suggested(report) == "sync-parts=data+name"
    with pytest.raises(DialectError):
        parse_dialect("sync-answer=xml")
