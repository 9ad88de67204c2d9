"""Turn the config's `strategies` entries into strategy classes with validated params.

Built-ins are found by name; a user's strategy is loaded from its file (relative paths are
relative to the session config's folder). Every problem is reported with its config path.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

from pydantic import ValidationError

from mismarterad.config.errors import format_validation_error
from mismarterad.config.session_config import SessionConfig, StrategyEntry
from mismarterad.core.errors import ConfigError
from mismarterad.strategies.base import Strategy
from mismarterad.strategies.builtin import BUILTIN_STRATEGIES
from mismarterad.strategies.spec import StrategySpec, strategy_id

__all__ = ["resolve_strategies"]


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
        specs.append(StrategySpec(strategy_id(entry, i), cls, symbols, params))
    if problems:
        raise ConfigError(problems)
    return specs


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
    if not path.is_file():
        raise ConfigError(f"{where}.file: no such file {str(path)!r}")
    module_name = f"mismarterad_user_strategy_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{where}.file: cannot load {str(path)!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:  # the operator's Ctrl-C, not the file's doing
        sys.modules.pop(module_name, None)
        raise
    except SystemExit as exc:  # sys.exit()/exit() at import: a broken file, never the daemon's exit
        sys.modules.pop(module_name, None)
        raise ConfigError(f"{where}.file: importing {path.name} failed: it called sys.exit({exc.code!r}) "
                          f"at import ({path})") from None
    except BaseException as exc:  # noqa: BLE001 - whatever the file raises, it is a broken config
        sys.modules.pop(module_name, None)
        raise ConfigError(f"{where}.file: importing {path.name} failed: {type(exc).__name__}: {exc}") from exc
    cls = getattr(module, entry.class_name, None)
    if not (inspect.isclass(cls) and issubclass(cls, Strategy)):
        raise ConfigError(f"{where}.class: {path.name} has no Strategy subclass named {entry.class_name!r}")
    return cls
