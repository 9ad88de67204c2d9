"""Turn the config's `strategies` entries into strategy classes with validated params.

Built-ins are found by name; a user's strategy is loaded from its file (relative paths are
relative to the session config's folder). Each entry is then built once, with a context that
runs nothing, to check what it requests up front (intervals, indicator names; `collect_requests`):
a typo such as `rsi` for `rsi(14)` is a configuration error before the run starts, not a
strategy that silently never trades. Every problem is reported with its config path.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError

from mismarterad.config.errors import format_validation_error
from mismarterad.config.session_config import SessionConfig, StrategyEntry
from mismarterad.core.errors import ConfigError, StrategyError
from mismarterad.strategies.base import Strategy
from mismarterad.strategies.builtin import BUILTIN_STRATEGIES
from mismarterad.strategies.data_requests import collect_requests
from mismarterad.strategies.spec import StrategySpec, strategy_id

__all__ = ["load_strategy_file", "resolve_strategies", "strategy_params_model"]

#: The packages a strategy file may import from mismarterad: its API, core values, pure services.
STRATEGY_PACKAGES = frozenset({"strategies", "core", "services"})


def resolve_strategies(cfg: SessionConfig, config_dir: Path) -> list[StrategySpec]:
    """Resolve every entry; raise one ConfigError listing all problems."""
    specs, problems = [], []
    for i, entry in enumerate(cfg.strategies):
        where = f"strategies[{i}]"
        try:
            cls = _strategy_class(entry, config_dir, where)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        try:
            params = cls.Params.model_validate(entry.params)
        except ValidationError as exc:
            problems.extend(format_validation_error(exc, prefix=f"{where}.params"))
            continue
        symbols = tuple(cfg.session_data_config.symbols if entry.symbols == "all" else entry.symbols)
        spec = StrategySpec(strategy_id(entry, i), cls, symbols, params)
        found = _request_problems(spec, cfg)
        problems.extend(f"{where} ({spec.strategy_id}): {p}" for p in found)
        if not found:
            specs.append(spec)
    if problems:
        raise ConfigError(problems)
    return specs


def strategy_params_model(cfg: SessionConfig, index: int, config_dir: Path) -> type[BaseModel]:
    """The `Params` model of the config's `index`-th strategy class (its fields are its parameters)."""
    return _strategy_class(cfg.strategies[index], config_dir, f"strategies[{index}]").Params


def _request_problems(spec: StrategySpec, cfg: SessionConfig) -> list[str]:
    """Build the strategy with a context that runs nothing and check its requests."""
    try:
        strategy = spec.cls(spec.strategy_id, spec.symbols, spec.params, _ConfigCheckContext())  # type: ignore[arg-type]
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the strategy's own code: any failure is its problem
        return [f"building {spec.cls.__name__} failed: {type(exc).__name__}: {exc}"]
    try:
        requests = collect_requests(strategy)
    except ConfigError as exc:
        return exc.problems
    if not requests.daily_reads:
        return []
    loaded = {symbol for data in cfg.session_data_config.historical.data if "1d" in data.intervals
              and data.trailing_days > 0 for symbol in
              (cfg.session_data_config.symbols if data.apply_to == "all" else data.apply_to)}
    missing = [s for s in spec.symbols if s not in loaded]
    if missing:
        return [f"reads 1d bars, but session_data_config.historical.data loads no 1d history of "
                f"{', '.join(missing)} (add {{\"intervals\": [\"1d\"], \"trailing_days\": N}})"]
    return []


class _ConfigCheckContext:
    """The context of a strategy built only to read its requests: every read or act refuses."""

    def market_time(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        def refuse(*_args: object) -> None:
            raise StrategyError(f"{name}() is not available while the strategy is built (use on_start or "
                                "on_session_start)")
        return refuse


def _strategy_class(entry: StrategyEntry, config_dir: Path, where: str) -> type[Strategy]:
    if entry.name is not None:
        cls = BUILTIN_STRATEGIES.get(entry.name)
        if cls is None:
            known = ", ".join(sorted(BUILTIN_STRATEGIES))
            raise ConfigError(f"{where}.name: unknown strategy {entry.name!r} (built-ins: {known})")
        return cls
    assert entry.file is not None and entry.class_name is not None
    path = Path(entry.file)
    if not path.is_absolute():
        path = config_dir / path
    module = load_strategy_file(path, f"{where}.file")
    cls = getattr(module, entry.class_name, None)
    if not (inspect.isclass(cls) and issubclass(cls, Strategy)):
        raise ConfigError(f"{where}.class: {path.name} has no Strategy subclass named {entry.class_name!r}")
    return cls


def load_strategy_file(path: Path, where: str) -> ModuleType:
    """Import a user's strategy file as a module of its own; raise ConfigError (`where: ...`)
    for a missing file, an import of mismarterad's internals, or anything its import raises."""
    if not path.is_file():
        raise ConfigError(f"{where}: no such file {str(path)!r}")
    _check_imports(path, where)
    module_name = f"mismarterad_user_strategy_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{where}: cannot load {str(path)!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:  # the operator's Ctrl-C, not the file's doing
        sys.modules.pop(module_name, None)
        raise
    except SystemExit as exc:  # sys.exit()/exit() at import: a broken file, never the daemon's exit
        sys.modules.pop(module_name, None)
        raise ConfigError(f"{where}: importing {path.name} failed: it called sys.exit({exc.code!r}) "
                          f"at import ({path})") from None
    except BaseException as exc:  # noqa: BLE001 - whatever the file raises, it is a broken config
        sys.modules.pop(module_name, None)
        raise ConfigError(f"{where}: importing {path.name} failed: {type(exc).__name__}: {exc}") from exc
    return module


def _check_imports(path: Path, where: str) -> None:
    """A strategy reads and acts through its `Strategy` methods only: importing the config,
    managers or broker code (to read settings or reach the account directly) is refused, as the
    package's own strategies are by the import-linter contract. This is a lint of the file's
    import statements, not a sandbox: it names the honest mistake, and code that goes around it
    (importlib, __import__, an attribute of an allowed module) runs with the daemon's rights. A
    file that does not parse is left for the import to report."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "mismarterad":
            # from mismarterad import config (a package), not __version__ (a value)
            names = [f"mismarterad.{a.name}" for a in node.names if not a.name.startswith("__")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "mismarterad" and len(parts) > 1 and parts[1] not in STRATEGY_PACKAGES:
                raise ConfigError(f"{where}: {path.name} line {node.lineno} imports {name}: a strategy may import "
                                  "only mismarterad.strategies, mismarterad.core and mismarterad.services")
