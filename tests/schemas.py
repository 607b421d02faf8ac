"""Validating records against the JSON Schemas shipped in pytest_xdpperf/schemas/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from pytest_xdpperf.schema import ENTRY_SCHEMA, SCHEMAS, kind_of, load_schema


@cache
def registry() -> Registry:
    """Every schema file, by its $id (its file name), so their $refs resolve."""
    resources = [(s["$id"], Resource.from_contents(s))
                 for s in (json.loads(p.read_text()) for p in sorted(SCHEMAS.glob("*.json")))]
    return Registry().with_resources(resources)


def errors(name: str, doc: Any) -> list[str]:
    """What is wrong with `doc` by schemas/<name>.json, one line each; [] if valid."""
    validator = Draft202012Validator(load_schema(name), registry=registry())
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                  for e in validator.iter_errors(doc))


def assert_valid(name: str, doc: Any) -> None:
    found = errors(name, doc)
    assert not found, f"not a valid {name}:\n" + "\n".join(found)


def assert_record_file_valid(path: Path) -> int:
    """Each xdpperf entry of a pytest-benchmark JSON file against its kind's schema
    (those under xdpperf_unmeasured against the entry's); how many were checked."""
    doc = json.loads(path.read_text())
    checked = 0
    for bench in doc["benchmarks"]:
        kind = kind_of(bench.get("extra_info"))
        assert kind is not None, f"{bench.get('fullname')}: no xdpperf kind"
        assert_valid(kind, bench["extra_info"])
        checked += 1
    for entry in doc.get("xdpperf_unmeasured", []):
        assert_valid(ENTRY_SCHEMA, entry)
        checked += 1
    return checked
