"""Real output matches the shipped JSON Schema, and the schema rejects what it must."""

from __future__ import annotations

import copy
import json
from importlib import resources

import jsonschema
import pytest

from workloads import DIGITS_SCHEMA


@pytest.fixture(scope="module")
def schema():
    text = resources.files("workloads").joinpath("schemas/digits-1.json").read_text("utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def test_real_output_validates_against_the_shipped_schema(schema, x1_run):
    _, result = x1_run
    assert result["schema"] == DIGITS_SCHEMA == "workloads.digits/1"
    jsonschema.validate(result, schema)


def test_the_schema_rejects_a_hostname_and_a_record_missing_a_field(schema, x1_run):
    _, result = x1_run
    with_host = copy.deepcopy(result)
    with_host["machine"]["hostname"] = "gpu-node-17"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(with_host, schema)
    missing = copy.deepcopy(result)
    del missing["records"][0]["test_accuracy"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(missing, schema)


def test_the_schema_rejects_another_version(schema, x1_run):
    _, result = x1_run
    other = {**result, "schema": "workloads.digits/2"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(other, schema)
