"""The systemd units under systemd/: `systemd-analyze verify` finds nothing to say about them,
the offline security review rates each at or below EXPOSURE_LIMIT (also with the
dedicated-user drop-in their comments document), and they carry the settings the daemon
relies on (sd_notify with a watchdog, SIGHUP reload, state and runtime directories).

Units are checked from copies in a temporary directory: offline verification insists that
ExecStart's program exists, so the installed path /opt/mismarterad/.venv/bin/mismarterad is
replaced there by this venv's `mismarterad` script; the template is checked as the instance
mismarterad@acct1.service.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS_DIR = ROOT / "systemd"
INSTALLED_PROGRAM = "/opt/mismarterad/.venv/bin/mismarterad"
EXPOSURE_LIMIT = 2.0
INSTANCE = "acct1"

EXEC_LINE = re.compile(r"^(?P<key>ExecStart|ExecReload)=(?P<prefix>[-@:+!|]*)(?P<program>\S+)(?P<rest>.*)$")
OVERALL_EXPOSURE = re.compile(r"Overall exposure level for (?P<unit>\S+): (?P<level>\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Unit:
    source: Path
    name: str  # checked under this name: the service itself, or an instance of the template
    dropin_dir: str  # where `systemctl edit` puts a drop-in for it
    config: str  # what follows `run` in ExecStart
    state_dir: str
    runtime_dir: str

    @property
    def data_dir(self) -> str:
        return f"/var/lib/{self.state_dir}/data"


SERVICE = Unit(
    source=UNITS_DIR / "mismarterad.service",
    name="mismarterad.service",
    dropin_dir="mismarterad.service.d",
    config="",  # $CONFIGURATION_DIRECTORY/mismarterad.toml
    state_dir="mismarterad",
    runtime_dir="mismarterad",
)
TEMPLATE = Unit(
    source=UNITS_DIR / "mismarterad@.service",
    name=f"mismarterad@{INSTANCE}.service",
    dropin_dir="mismarterad@.service.d",
    config=" --config %i.toml",  # relative: in $CONFIGURATION_DIRECTORY
    state_dir="mismarterad/%i",
    runtime_dir="mismarterad/%i",
)
UNITS = [pytest.param(SERVICE, id="service"), pytest.param(TEMPLATE, id="template")]

# Keys whose values differ between the service and the template (all of them name the account).
PER_ACCOUNT_KEYS = {"Description", "ExecStart", "Environment", "User", "StateDirectory", "RuntimeDirectory"}


# ---------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail(
            "systemd-analyze is not installed; the unit checks need it: apt-get install -y systemd",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def local_program() -> Path:
    """An existing executable to stand in for the installed console script."""
    candidates = [Path(sys.executable).with_name("mismarterad")]
    found = shutil.which("mismarterad")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"no `mismarterad` console script next to {sys.executable}; install the package in the venv",
                pytrace=False)


def stage(unit: Unit, directory: Path, program: Path, dropin: str | None = None) -> Path:
    """Copy the unit into `directory` under its check name, pointing ExecStart at `program`."""
    replaced = 0
    lines = []
    for line in unit.source.read_text(encoding="utf-8").splitlines():
        match = EXEC_LINE.match(line)
        if match and match["program"] == INSTALLED_PROGRAM:
            line = f"{match['key']}={match['prefix']}{program}{match['rest']}"
            replaced += 1
        lines.append(line)
    assert replaced == 1, f"{unit.source.name}: expected one Exec line running {INSTALLED_PROGRAM}, found {replaced}"
    staged = directory / unit.name
    staged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if dropin is not None:
        (directory / unit.dropin_dir).mkdir()
        (directory / unit.dropin_dir / "dedicated-user.conf").write_text(dropin, encoding="utf-8")
    return staged


def run_analyze(systemd_analyze: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEMD_LOG_LEVEL": "info", "SYSTEMD_COLORS": "0", "LC_ALL": "C.UTF-8"}
    return subprocess.run([systemd_analyze, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=60, check=False)


def assert_verifies(systemd_analyze: str, unit: Unit, staged: Path) -> None:
    # --man=no: no man page lookups for Documentation=; generators stay off by default.
    # Without systemd as PID 1 (containers) verify may log about other units; only lines
    # naming our unit or its directory count.
    proc = run_analyze(systemd_analyze, "verify", "--man=no", str(staged), cwd=staged.parent)
    output = proc.stdout + proc.stderr
    ours = [line for line in output.splitlines() if unit.name in line or str(staged.parent) in line]
    assert proc.returncode == 0 and not ours, (
        f"systemd-analyze verify {unit.name} exited {proc.returncode}; about the unit:\n"
        + "\n".join(ours) + f"\n--- full output ---\n{output}")


def exposure(systemd_analyze: str, unit: Unit, staged: Path) -> tuple[float, str]:
    proc = run_analyze(systemd_analyze, "security", "--offline=true", "--no-pager", str(staged), cwd=staged.parent)
    table = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"systemd-analyze security {unit.name} exited {proc.returncode}:\n{table}"
    match = OVERALL_EXPOSURE.search(table)
    assert match is not None, f"no overall exposure level in:\n{table}"
    assert match["unit"] == unit.name, table
    return float(match["level"]), table


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """section -> key -> every value assigned, in order (the last one wins for single-valued keys)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        assert not line.endswith("\\"), f"line {number}: continuation lines are not expected"
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep, f"line {number}: expected KEY=VALUE inside a section: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def last(sections: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    values = sections.get(section, {}).get(key)
    assert values, f"[{section}] {key}= is missing"
    return values[-1]


def documented_dropin(unit: Unit) -> str:
    """The dedicated-user drop-in quoted in the unit's leading comment ("#   " lines)."""
    block: list[str] = []
    for line in unit.source.read_text(encoding="utf-8").splitlines():
        if line.startswith("#   "):
            block.append(line[4:])
        elif block:
            break
    assert block and block[0] == "[Service]", f"{unit.source.name}: no documented [Service] drop-in"
    return "\n".join(block) + "\n"


# ---------------------------------------------------------------------------- systemd-analyze


@pytest.mark.parametrize("unit", UNITS)
def test_unit_verifies_cleanly(systemd_analyze: str, local_program: Path, unit: Unit, tmp_path: Path) -> None:
    assert_verifies(systemd_analyze, unit, stage(unit, tmp_path, local_program))


@pytest.mark.parametrize("unit", UNITS)
def test_unit_exposure_is_within_limit(systemd_analyze: str, local_program: Path, unit: Unit,
                                       tmp_path: Path) -> None:
    level, table = exposure(systemd_analyze, unit, stage(unit, tmp_path, local_program))
    print(f"{unit.name}: overall exposure {level}")
    assert level <= EXPOSURE_LIMIT, f"{unit.name}: exposure {level} > {EXPOSURE_LIMIT}\n{table}"


@pytest.mark.parametrize("unit", UNITS)
def test_documented_dedicated_user_dropin_verifies_within_limit(systemd_analyze: str, local_program: Path,
                                                                unit: Unit, tmp_path: Path) -> None:
    dropin = documented_dropin(unit)
    settings = parse_unit(dropin)
    assert last(settings, "Service", "DynamicUser") == "no"
    assert last(settings, "Service", "User") == "mismarterad"
    staged = stage(unit, tmp_path, local_program, dropin=dropin)
    assert_verifies(systemd_analyze, unit, staged)
    level, table = exposure(systemd_analyze, unit, staged)
    print(f"{unit.name} with the dedicated-user drop-in: overall exposure {level}")
    assert level <= EXPOSURE_LIMIT, f"{unit.name} + drop-in: exposure {level} > {EXPOSURE_LIMIT}\n{table}"


# ---------------------------------------------------------------------------- contents


@pytest.mark.parametrize("unit", UNITS)
def test_unit_has_what_the_daemon_relies_on(unit: Unit) -> None:
    sections = parse_unit(unit.source.read_text(encoding="utf-8"))

    def service(key: str) -> str:
        return last(sections, "Service", key)

    # sd_notify: READY=1 and WATCHDOG=1 come from the main process.
    assert service("Type") == "notify"
    assert service("NotifyAccess") == "main"
    assert service("WatchdogSec") == "30"
    assert service("Restart") == "on-failure"
    assert service("RestartSec") == "5"
    assert last(sections, "Unit", "StartLimitIntervalSec")
    assert int(last(sections, "Unit", "StartLimitBurst")) >= 1
    # the daemon stops within 10 s of SIGTERM; systemd waits longer before SIGKILL
    assert service("KillSignal") == "SIGTERM"
    assert int(service("TimeoutStopSec")) > 10
    # the API's connections, the database, broker streams and journal share one descriptor table
    assert int(service("LimitNOFILE")) >= 4096

    assert service("ExecStart") == f"{INSTALLED_PROGRAM} run{unit.config}"
    assert service("ExecReload") == "/bin/kill -HUP $MAINPID"

    assert service("StateDirectory") == unit.state_dir
    assert service("RuntimeDirectory") == unit.runtime_dir  # the control socket lives here
    assert service("RuntimeDirectoryMode") == "0750"
    assert service("ConfigurationDirectory") == "mismarterad"  # the daemon's config: /etc/mismarterad
    assert service("DynamicUser") == "yes"
    environment = sections["Service"]["Environment"]
    assert "MISMARTERAD_LOG_FORMAT=json" in environment
    assert f"MISMARTERAD_DATA_DIR={unit.data_dir}" in environment  # inside the state directory

    # broker over IPv4/IPv6, metrics on 127.0.0.1, control socket/journald/sd_notify over unix
    families = set(" ".join(sections["Service"]["RestrictAddressFamilies"]).split())
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= families
    # ProcSubset=pid would hide /proc/stat, and with it the process_* metrics
    assert sections["Service"].get("ProcSubset", ["all"])[-1] != "pid"
    assert last(sections, "Install", "WantedBy") == "multi-user.target"


def test_template_differs_from_the_service_only_per_account() -> None:
    service = parse_unit(SERVICE.source.read_text(encoding="utf-8"))
    template = parse_unit(TEMPLATE.source.read_text(encoding="utf-8"))
    assert service.keys() == template.keys()
    for section, settings in service.items():
        assert settings.keys() == template[section].keys(), section
        for key, values in settings.items():
            if key in PER_ACCOUNT_KEYS:
                assert any("%i" in value for value in template[section][key]), f"[{section}] {key}= lacks %i"
            else:
                assert template[section][key] == values, f"[{section}] {key}= differs"
    assert documented_dropin(TEMPLATE) == documented_dropin(SERVICE)
