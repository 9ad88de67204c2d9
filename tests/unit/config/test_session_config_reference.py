"""docs/session-config.md documents every field of the session config schema (`config schema`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mismarterad.config.session_config import session_config_schema

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "session-config.md"


def field_paths(schema: dict[str, Any], node: dict[str, Any] | None = None, prefix: str = "") -> Iterator[str]:
    """Every field as a dotted path: `backtest_config.initial_cash`, `strategies[].class`,
    `session_data_config.historical.indicators.<name>.period`."""
    node = schema if node is None else node
    if "$ref" in node:
        yield from field_paths(schema, schema["$defs"][node["$ref"].rsplit("/", 1)[1]], prefix)
        return
    for option in node.get("anyOf", []):
        yield from field_paths(schema, option, prefix)
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        yield from field_paths(schema, node["items"], f"{prefix}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from field_paths(schema, node["additionalProperties"], f"{prefix}.<name>")
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        yield path
        yield from field_paths(schema, child, path)


def test_every_schema_field_is_documented() -> None:
    text = DOC.read_text()
    paths = sorted(set(field_paths(session_config_schema())))
    assert len(paths) > 40
    missing = [p for p in paths if f"`{p}`" not in text]
    assert missing == [], f"add these fields to {DOC.name}: {missing}"


def test_the_field_walk_finds_nested_and_mapped_fields() -> None:
    paths = set(field_paths(session_config_schema()))
    assert {"strategies[].class", "session_data_config.historical.indicators.<name>.period",
            "session_data_config.historical.data[].apply_to", "risk.daily_loss_limit"} <= paths


def test_the_complete_example_is_a_valid_config() -> None:
    import json

    from mismarterad.config.session_config import parse_session_config

    example = DOC.read_text().split("```json\n", 1)[1].split("```", 1)[0]
    config = parse_session_config(json.loads(example))
    assert {s.name or s.class_name for s in config.strategies} == {"sma_cross", "RsiReversion"}
