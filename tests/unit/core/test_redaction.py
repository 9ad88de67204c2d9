"""`redact`: secrets by key name at any depth and URL passwords never survive; the rest does."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.redaction import REDACTED, is_secret_key, redact, redact_text


def test_secret_keys_by_name_in_any_case_and_at_any_depth() -> None:
    value = {"strategy": {"params": {"api_key": "sk-SECRET123", "API-Key": "x1", "Password": {"a": 1},
                                     "private_key_pem": ["-----BEGIN"], "aws_key_id": "AKIA", "fast": 10,
                                     "nested": [{"auth_token": "t0k"}, {"plain": "keep"}]}}}
    out = redact(value)
    params = out["strategy"]["params"]
    assert params["api_key"] == params["API-Key"] == params["Password"] == REDACTED
    assert params["private_key_pem"] == params["aws_key_id"] == REDACTED
    assert params["fast"] == 10 and params["nested"] == [{"auth_token": REDACTED}, {"plain": "keep"}]
    assert value["strategy"]["params"]["api_key"] == "sk-SECRET123"  # the input is not changed
    for key in ("password", "passwd", "client_secret", "token", "apikey", "key_id", "credentials", "private"):
        assert is_secret_key(key) and is_secret_key(key.upper())
    assert not is_secret_key("quantity") and not is_secret_key("symbol") and not is_secret_key(3)


def test_url_passwords_are_hidden_and_the_rest_of_the_url_kept() -> None:
    assert redact_text("postgresql://trader:hunter2@db:5432/x") == "postgresql://trader:***@db:5432/x"
    assert redact_text("see https://u:p@ss@host/path?q=1 and ftp://a:b@c") == \
        "see https://u:***@host/path?q=1 and ftp://a:***@c"
    assert redact_text("https://host/a?email=x@y.org") == "https://host/a?email=x@y.org"
    assert redact_text("redis://:onlypw@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redact_text("plain text") == "plain text"
    assert redact({"feed": ["wss://me:pw@feed.example/v1"], "url_as_key": {"http://u:pw@h": 1}}) == \
        {"feed": ["wss://me:***@feed.example/v1"], "url_as_key": {"http://u:***@h": 1}}


def test_very_deep_values_do_not_exhaust_the_stack() -> None:
    value: Any = {"token": "x"}
    for _ in range(20_000):
        value = [value]
    out = redact(value)
    for _ in range(20_000):
        out = out[0]
    assert out == {"token": REDACTED}


# -- property: whatever the structure, no secret value survives anywhere --

_PLAIN = st.text(alphabet="abcdefghijklmnopqrstuvwxy0123456789 _-.:/@", max_size=12)  # no 'Z'
_SECRET = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12).map(lambda t: "Z9" + t)
_URL_SECRET = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"),
                                             blacklist_characters="@Z"), max_size=12).map(lambda t: "Z9" + t)
_SECRET_KEYS = st.sampled_from(["password", "passwd", "secret", "token", "api_key", "apikey", "key_id",
                                "credential", "private", "Api-Key"]).flatmap(
    lambda word: st.tuples(st.sampled_from(["", "my_", "DB"]), st.sampled_from(["", "_2", "S"])).map(
        lambda ab: ab[0] + (word.upper() if ab[0] == "DB" else word) + ab[1]))
_URL = st.tuples(st.sampled_from(["postgresql", "https", "redis+tls"]), _PLAIN.filter(lambda u: not set(u) & set(":/@ ")),
                 _URL_SECRET, st.sampled_from(["db", "h:5432", "x.example"]),
                 st.sampled_from(["", "/path", "/a?b=c@d"])).map(lambda p: f"{p[0]}://{p[1]}:{p[2]}@{p[3]}{p[4]}")


def _values(secret_leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _PLAIN,
                       _URL.map(lambda u: f"at {u} now"), secret_leaves)
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(_PLAIN.filter(lambda k: not is_secret_key(k)), inner, max_size=4),
        st.dictionaries(_SECRET_KEYS, st.one_of(_SECRET, inner), min_size=1, max_size=2)), max_leaves=20)


@settings(max_examples=500, deadline=None)
@given(_values(st.nothing()))
def test_a_redacted_structure_never_contains_a_secret(value: Any) -> None:
    # secrets start with Z9 and only ever sit under secret keys or in URL passwords
    dumped = json.dumps(redact(value), default=str)
    assert "Z9" not in dumped


@settings(max_examples=300, deadline=None)
@given(_values(st.nothing()))
def test_redaction_is_idempotent_and_keeps_the_shape(value: Any) -> None:
    once = redact(value)
    assert redact(once) == once
    assert type(once) is (list if isinstance(value, tuple) else type(value))


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.one_of(st.integers(), st.text(alphabet="abc xyz", max_size=8)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(alphabet="abcxyz", max_size=6)
                                                            .filter(lambda k: not is_secret_key(k)), inner, max_size=3))))
def test_values_without_secrets_are_unchanged(value: Any) -> None:
    assert redact(value) == value
