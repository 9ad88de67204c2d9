"""A throw-away Prometheus server from the installed Debian package, for the test suite.

`start_server("127.0.0.1:PORT")` writes a config that scrapes that target every second (job
"mismarterad", rules evaluated every second), starts `/usr/bin/prometheus` on a free local
port with its storage in a temporary directory, and waits until `/-/ready` answers. The
returned `PrometheusServer` queries the HTTP API with urllib (`query`, `query_range`,
`wait_for`, `alerts`, `rules`, `targets`) and `stop()`s the process and removes the directory.

`dashboard_queries(path)` returns the PromQL of every panel target of a Grafana dashboard
with the dashboard variables replaced by values Prometheus accepts, so that a test can run
each of them against a server that scrapes the daemon.

Prometheus needs neither systemd nor an unprivileged user; it runs as root as well. It is
ready within a fraction of a second, but its scrape manager applies the configured target only
after about 5 seconds (a fixed throttle in 2.42), so the first samples arrive ~6 s after start:
start one server per test module rather than per test where that matters.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "INSTALL_HINT",
    "DashboardTarget",
    "PrometheusNotInstalled",
    "PrometheusQueryError",
    "PrometheusServer",
    "dashboard_queries",
    "dashboard_targets",
    "find_binary",
    "start_server",
    "substitute_variables",
]

INSTALL_HINT = (
    "Prometheus (the `prometheus` server and `promtool`) was not found. Install it with "
    "`apt-get update && apt-get install -y prometheus` (Debian/Ubuntu), or set "
    "MISMARTERAD_TEST_PROMETHEUS_BINDIR to the directory holding both programs."
)
JOB = "mismarterad"
_DEFAULT_BINDIR = Path("/usr/bin")


class PrometheusNotInstalled(RuntimeError):
    pass


class PrometheusQueryError(RuntimeError):
    """The HTTP API answered with an error (bad PromQL, failed evaluation, ...)."""


def find_binary(name: str = "prometheus") -> Path:
    """Path of `prometheus` or `promtool`; raises PrometheusNotInstalled with the install hint."""
    explicit = os.environ.get("MISMARTERAD_TEST_PROMETHEUS_BINDIR")
    candidates = [Path(explicit) / name] if explicit else []
    candidates.append(_DEFAULT_BINDIR / name)
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise PrometheusNotInstalled(INSTALL_HINT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------------ server


@dataclass
class PrometheusServer:
    root: Path
    port: int
    target: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / "prometheus.log"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # ---- HTTP API

    def api(self, path: str, params: Mapping[str, str] | None = None, timeout: float = 10.0) -> Any:
        """GET /api/v1/<path> and return its `data`; raise PrometheusQueryError on an error answer."""
        url = f"{self.url}/api/v1/{path.lstrip('/')}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as exc:
            # 400 (bad query) and 422 (evaluation failed) carry a JSON error body
            try:
                body = json.loads(exc.read().decode("utf-8", errors="replace"))
            except ValueError:
                raise PrometheusQueryError(f"{url}: HTTP {exc.code}") from exc
        if body.get("status") != "success":
            raise PrometheusQueryError(f"{body.get('errorType', 'error')}: {body.get('error')} ({url})")
        return body.get("data")

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query; a list of {"metric": {...}, "value": [ts, "v"]} (scalars come as one entry)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = repr(at)
        return _as_vector(self.api("query", params))

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """Range query; a list of {"metric": {...}, "values": [[ts, "v"], ...]}."""
        data = self.api("query_range", {"query": expr, "start": repr(start), "end": repr(end), "step": repr(step)})
        return list(data["result"])

    def wait_for(self, expr: str, timeout: float = 30.0, *,
                 predicate: Callable[[list[dict[str, Any]]], bool] | None = None,
                 poll: float = 0.25) -> list[dict[str, Any]]:
        """Poll `query(expr)` until it returns something (and `predicate(result)` holds); return it.

        A query error (bad PromQL) is raised at once; on timeout a TimeoutError tells the last
        result, the scrape target's health and the server log.
        """
        accept = predicate or (lambda result: bool(result))
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while True:
            self._check_running()
            result = self.query(expr)
            if accept(result):
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{expr!r} gave {result!r} after {timeout:.0f}s; targets: {self._target_summary()}\n"
                    f"prometheus log:\n{self.log_tail()}")
            time.sleep(poll)

    def targets(self) -> list[dict[str, Any]]:
        """Active scrape targets (health, lastError, lastScrape, labels...)."""
        return list(self.api("targets", {"state": "active"})["activeTargets"])

    def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts of the loaded rule files."""
        return list(self.api("alerts")["alerts"])

    def rules(self) -> list[dict[str, Any]]:
        """Every loaded rule (name, health, lastError, query, labels, annotations...)."""
        return [rule for group in self.api("rules")["groups"] for rule in group["rules"]]

    def _target_summary(self) -> str:
        try:
            return "; ".join(f"{t['scrapeUrl']} {t['health']} {t.get('lastError', '')}".strip()
                             for t in self.targets()) or "none"
        except (OSError, PrometheusQueryError) as exc:
            return f"unavailable ({exc})"

    def _check_running(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {self.process.returncode}:\n{self.log_tail()}")

    # ---- lifecycle

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrometheusServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _as_vector(data: dict[str, Any]) -> list[dict[str, Any]]:
    if data["resultType"] in ("vector", "matrix"):
        return list(data["result"])
    return [{"metric": {}, "value": data["result"]}]  # scalar or string


def write_config(path: Path, target: str, *, scrape_interval: str = "1s", evaluation_interval: str = "1s",
                 rule_files: Iterable[str | Path] = (), job: str = JOB) -> None:
    """A Prometheus config (JSON is YAML) scraping `target` as `job`."""
    config = {
        "global": {"scrape_interval": scrape_interval, "scrape_timeout": scrape_interval,
                   "evaluation_interval": evaluation_interval},
        "rule_files": [str(Path(p).resolve()) for p in rule_files],
        "scrape_configs": [{"job_name": job, "metrics_path": "/metrics",
                            "static_configs": [{"targets": [target]}]}],
    }
    path.write_text(json.dumps(config, indent=2) + "\n")


def start_server(target: str, *, scrape_interval: str = "1s", evaluation_interval: str = "1s",
                 rule_files: Iterable[str | Path] = (), job: str = JOB,
                 timeout: float = 60.0) -> PrometheusServer:
    """Start a private Prometheus scraping `target` ("host:port") and wait until it is ready.

    `rule_files` (e.g. ops/prometheus/rules/mismarterad.rules.yml) are loaded and evaluated every
    `evaluation_interval`; see `PrometheusServer.alerts()` and `.rules()`.
    """
    binary = find_binary("prometheus")
    root = Path(tempfile.mkdtemp(prefix="mismarterad-prometheus-"))
    try:
        config = root / "prometheus.yml"
        write_config(config, target, scrape_interval=scrape_interval, evaluation_interval=evaluation_interval,
                     rule_files=rule_files, job=job)
        for _attempt in range(3):  # a free port can be taken between probing and binding it
            server = _launch(binary, root, config, target)
            try:
                _wait_ready(server, timeout)
                return server
            except _PortTaken:
                continue
        raise RuntimeError(f"prometheus found no free port:\n{server.log_tail()}")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


class _PortTaken(Exception):
    pass


def _launch(binary: Path, root: Path, config: Path, target: str) -> PrometheusServer:
    port = _free_port()
    data = root / "data"
    shutil.rmtree(data, ignore_errors=True)
    with open(root / "prometheus.log", "ab") as log:
        process = subprocess.Popen(
            [str(binary), f"--config.file={config}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=info"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)
    return PrometheusServer(root=root, port=port, target=target, process=process)


def _wait_ready(server: PrometheusServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            log = server.log_tail()
            if "address already in use" in log:
                raise _PortTaken()
            raise RuntimeError(f"prometheus exited with {server.process.returncode} while starting:\n{log}")
        try:
            with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet, or 503 while the TSDB opens
        if time.monotonic() >= deadline:
            server.stop()
            raise RuntimeError(f"prometheus not ready after {timeout:.0f}s:\n{server.log_tail()}")
        time.sleep(0.1)


# ------------------------------------------------------------------------------- dashboards

#: Grafana's built-in variables, with values suited to a server scraping every second.
BUILTIN_VARIABLES: dict[str, str] = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
#: The dashboard's own variables; they are only used inside `=~` matchers, so ".*" is "All".
DEFAULT_VARIABLES: dict[str, str] = {"job": JOB, "instance": ".*"}

_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")
_IN_REGEX_MATCHER = re.compile(r'=~\s*"[^"]*$')


@dataclass(frozen=True)
class DashboardTarget:
    panel: str  # panel title
    ref_id: str
    expr: str  # with the variables substituted

    def __str__(self) -> str:
        return f"{self.panel} [{self.ref_id}]: {self.expr}"


def substitute_variables(expr: str, variables: Mapping[str, str] | None = None) -> str:
    """Replace Grafana variables in `expr`: built-ins by BUILTIN_VARIABLES, the rest by
    `variables` (default DEFAULT_VARIABLES). A dashboard variable used outside a `=~"..."`
    matcher, or an unknown variable, raises ValueError."""
    own = dict(DEFAULT_VARIABLES if variables is None else variables)

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name.isdigit():
            return match.group(0)  # a regex group reference such as label_replace's "$1"
        if name in BUILTIN_VARIABLES:
            return own.get(name, BUILTIN_VARIABLES[name])
        if name not in own:
            raise ValueError(f"unknown dashboard variable ${name} in {expr!r}")
        if not _IN_REGEX_MATCHER.search(expr[: match.start()]):
            raise ValueError(f"${name} must only be used inside a =~ matcher: {expr!r}")
        return own[name]

    return _VARIABLE.sub(replace, expr)


def _panels(panels: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", ()))  # collapsed rows hold their panels


def dashboard_targets(path: str | Path, variables: Mapping[str, str] | None = None) -> list[DashboardTarget]:
    """Every panel target with a PromQL `expr`, in dashboard order, variables substituted."""
    dashboard = json.loads(Path(path).read_text())
    found = []
    for panel in _panels(dashboard.get("panels", ())):
        for target in panel.get("targets", ()):
            expr = target.get("expr", "")
            if expr.strip():
                found.append(DashboardTarget(panel=panel.get("title", ""), ref_id=target.get("refId", ""),
                                             expr=substitute_variables(expr, variables)))
    return found


def dashboard_queries(path: str | Path, variables: Mapping[str, str] | None = None) -> list[str]:
    """The PromQL of every panel target of a Grafana dashboard, variables substituted."""
    return [t.expr for t in dashboard_targets(path, variables)]
