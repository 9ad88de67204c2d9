"""Files written from the templates in `cli/templates/`: `init`'s folder, `strategy new`'s file.

Nothing is overwritten unless asked: every target is checked before the first is written, so
a refused command leaves the folder as it was (exit 73, EX_CANTCREAT, naming the files).
"""

from __future__ import annotations

import keyword
import re
import sys
from importlib import resources
from pathlib import Path
from string import Template

from mismarterad.cli.support import EX_CANTCREAT

__all__ = ["render", "strategy_names", "write_new_files"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_RESERVED = {"Strategy", "BaseModel", "ConfigDict", "Field", "Bar", "Fill", "Order"}  # the template's imports


def strategy_names(name: str) -> tuple[str, str]:
    """(class name, file stem) of a strategy called `name`: `buy-the-dip`, `buy_the_dip` and
    `BuyTheDip` all give (`BuyTheDip`, `buy_the_dip`). Raise ValueError saying what is accepted."""
    if not _NAME.match(name):
        raise ValueError(f"invalid strategy name {name!r}: expected up to 64 letters, digits, '-' or '_', "
                         "starting with a letter (e.g. buy-the-dip or BuyTheDip)")
    parts = [p for p in re.split(r"[-_]+", name) if p]
    class_name = "".join(p[0].upper() + p[1:] for p in parts)
    stem = "_".join(_WORD_START.sub("_", p).lower() for p in parts)
    if keyword.iskeyword(class_name) or class_name in _RESERVED:
        raise ValueError(f"invalid strategy name {name!r}: the class would be named {class_name}, a Python "
                         "keyword or a name the strategy file imports; choose another name")
    return class_name, stem


def render(template: str, **values: str) -> str:
    """The template `cli/templates/<template>` with `$name` placeholders filled."""
    text = resources.files("mismarterad.cli").joinpath("templates", template).read_text(encoding="utf-8")
    return Template(text).substitute(values)


def write_new_files(files: dict[Path, str], force: bool) -> int | None:
    """Write every file (creating folders), or none of them if one exists and not `force`:
    then say so on stderr and return 73. A write that fails raises StorageError (exit 74)."""
    from mismarterad.core.errors import StorageError

    if not force:
        existing = [str(path) for path in files if path.exists() or path.is_symlink()]
        if existing:
            print(f"mismarterad: error: {', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
                  "nothing was written (--force overwrites)", file=sys.stderr)
            return EX_CANTCREAT
    for path, text in files.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return None
