"""The report files of the bundled backtests, byte for byte as before the columnar pipeline.

`tests/golden/expected/<case>/` holds the files `mismarterad backtest` wrote for each case
(tests/support/golden.py) when they were generated; a faster pipeline must not change one byte
of them. report.html is compared by its SHA-256.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
from support.golden import CASES, COMPARED, GOLDEN, GoldenCase, digests, run_case


def _first_difference(name: str, expected: bytes, got: bytes) -> str:
    diff = difflib.unified_diff(expected.decode().splitlines(), got.decode().splitlines(), f"expected/{name}",
                                f"got/{name}", n=1, lineterm="")
    return "\n".join(line for _, line in zip(range(20), diff))


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_report_files_equal_the_golden_ones(case: GoldenCase, tmp_path: Path) -> None:
    out = run_case(case, tmp_path)
    expected_dir = GOLDEN / "expected" / case.name
    different = []
    for name in COMPARED:
        expected, got = (expected_dir / name).read_bytes(), (out / name).read_bytes()
        if expected != got:
            different.append(_first_difference(name, expected, got))
    hashes = json.loads((expected_dir / "hashes.json").read_text())
    different += [f"{name}: SHA-256 {got} instead of {hashes[name]}" for name, got in digests(out).items()
                  if got != hashes[name]]
    assert not different, "\n\n".join(different)
