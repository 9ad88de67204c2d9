"""The README's test set-up command is exactly what CI runs (.ci/run), so a package CI needs
(chromium for report.html, PostgreSQL, Prometheus) is never missing from a developer's set-up."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_installs_what_ci_installs() -> None:
    [ci] = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.startswith("apt-get ")]
    readme = [line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("apt-get ")]
    assert readme[1] == ci
    assert "chromium" in ci.split("&&")[1].split()
