"""The [api] table: a loopback address by default, TLS or the operator's word for any other,
TLS files in pairs and readable, every problem naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mismarterad.config.daemon_config import load_daemon_config
from mismarterad.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]


def _load(tmp_path: Path, api: str) -> object:
    path = tmp_path / "daemon.toml"
    path.write_text(f'session_config = "{REPO / "session_configs" / "spy_2011_backtest.json"}"\n[api]\n{api}\n')
    return load_daemon_config(path).api


@pytest.mark.parametrize("address", ["127.0.0.1:8321", "localhost:8321", "[::1]:0", "127.0.0.2:80"])
def test_loopback_addresses_need_nothing_else(tmp_path: Path, address: str) -> None:
    api = _load(tmp_path, f'address = "{address}"')
    assert api.address == address and api.tls_cert is None and api.token_ttl_minutes == 480  # type: ignore[attr-defined]


@pytest.mark.parametrize("table, message", [
    ('address = "0.0.0.0:8321"', "api.address: 0.0.0.0:8321 is not a loopback address"),
    ('address = "192.168.1.5:8321"', "api.address: 192.168.1.5:8321 is not a loopback address"),
    ('address = "127.0.0.1:8321"\ntls_cert = "c.pem"', "api.tls_key: give tls_cert and tls_key together"),
    ('address = "0.0.0.0:8321"\ntls_cert = "c.pem"\ntls_key = "k.pem"', "api.tls_cert: cannot read"),
    ('address = "api.example.com:443"', "expected an IP address or localhost"),
    ('address = "127.0.0.1:8321"\nallow_insecure_remote = "yes"', "allow_insecure_remote"),
    ('address = "127.0.0.1:8321"\ntoken_ttl_minutes = 0', "token_ttl_minutes"),
    ('address = "127.0.0.1:8321"\npassword = "x"', "password"),
    ('address = "127.0.0.1:8321"\ntrusted_proxies = ["proxy.example.com"]', "api.trusted_proxies.*IP addresses"),
    ('address = "127.0.0.1:8321"\ntrusted_proxies = "127.0.0.1"', "trusted_proxies"),
])
def test_unsafe_or_bad_tables_are_refused_naming_the_key(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, table)


def test_remote_addresses_with_tls_or_a_proxy_are_accepted_and_tls_files_resolve_beside_the_config(
        tmp_path: Path) -> None:
    (tmp_path / "c.pem").write_text("cert")
    (tmp_path / "k.pem").write_text("key")
    api = _load(tmp_path, 'address = "0.0.0.0:8443"\ntls_cert = "c.pem"\ntls_key = "k.pem"')
    assert api.tls_cert == tmp_path / "c.pem" and api.tls_key == tmp_path / "k.pem"  # type: ignore[attr-defined]
    assert _load(tmp_path, 'address = "0.0.0.0:8321"\nallow_insecure_remote = true').allow_insecure_remote  # type: ignore[attr-defined]


def test_no_proxy_is_trusted_unless_listed_and_networks_are_written_out(tmp_path: Path) -> None:
    assert _load(tmp_path, 'address = "127.0.0.1:8321"').trusted_proxies == ()  # type: ignore[attr-defined]
    api = _load(tmp_path, 'address = "127.0.0.1:8321"\ntrusted_proxies = ["127.0.0.1", "10.0.0.9/24", "::1"]')
    assert api.trusted_proxies == ("127.0.0.1", "10.0.0.0/24", "::1")  # type: ignore[attr-defined]
