"""Hide secrets in values shown to people: `mismarterctl config`, log lines, report files.

One pure function, `redact`, used by all three. A value is hidden when its key looks secret
(contains password, passwd, secret, token, api_key/apikey, key_id, credential, private or
authorization, in any case, `-` or `_` or nothing between the words), whatever the value is
(a nested dict or list included); and inside every string, the password of a URL
(`scheme://user:pw@host` -> `scheme://user:***@host`). Everything else is copied unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "is_secret_key", "redact", "redact_text"]

REDACTED = "***"

_SECRET_KEY = re.compile(
    r"password|passwd|secret|token|api[_-]?key|key[_-]?id|credential|private|authorization", re.IGNORECASE)

# scheme://user:password@host: the password runs to the '@' before the host; an unencoded '@'
# inside it (`user:p@ss@host`) is covered up to the last '@' of the authority.
_URL_PASSWORD = re.compile(
    r"(?P<keep>[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:]*:)(?P<password>[^\s@]*(?:@[^\s@/?#]*(?=@))*)@")


def is_secret_key(key: object) -> bool:
    """A key whose value is never shown."""
    return isinstance(key, str) and _SECRET_KEY.search(key) is not None


def redact_text(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***`."""
    if "://" not in text:
        return text
    return _URL_PASSWORD.sub(lambda m: f"{m.group('keep')}{REDACTED}@", text)


def redact(value: Any, key: object = None) -> Any:
    """A copy of `value` (JSON-like: dicts, lists, tuples, strings, numbers) with its secrets
    hidden; `key` is the name `value` is stored under, if any. Iterative: any depth works."""
    if is_secret_key(key):
        return REDACTED
    if not isinstance(value, Mapping | list | tuple):
        return redact_text(value) if isinstance(value, str) else value
    root: list[Any] = [None]
    # (container to fill, slot in it, key the value is stored under, value)
    stack: list[tuple[Any, Any, object, Any]] = [(root, 0, key, value)]
    while stack:
        target, slot, name, item = stack.pop()
        if is_secret_key(name):
            target[slot] = REDACTED
        elif isinstance(item, Mapping):
            copy: dict[Any, Any] = {}
            target[slot] = copy
            for k, v in item.items():
                shown = redact_text(k) if isinstance(k, str) else k  # a URL used as a key
                copy[shown] = None
                stack.append((copy, shown, k, v))
        elif isinstance(item, list | tuple):
            items: list[Any] = [None] * len(item)
            target[slot] = items
            stack.extend((items, i, None, v) for i, v in enumerate(item))
        elif isinstance(item, str):
            target[slot] = redact_text(item)
        else:
            target[slot] = item
    return root[0]
