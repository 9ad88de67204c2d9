"""The `[api]` table of the daemon's TOML: the operator's REST API and web console.

Without the table the daemon serves no HTTP API (and never imports its libraries). A
non-loopback `address` is refused unless the daemon terminates TLS itself (`tls_cert` and
`tls_key`) or the operator says a TLS reverse proxy does (`allow_insecure_remote = true`):
passwords and bearer tokens must never cross a network in clear text by accident.

`X-Forwarded-For` is believed only from the addresses in `trusted_proxies` (none by default):
any local process could otherwise claim any address, and the per-address login limit and the
addresses in the audit trail would mean nothing.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

from mismarterad.core.hosts import is_loopback

__all__ = ["ApiConfig", "api_problems", "check_host_port", "split_host_port"]

StrictBool = Annotated[bool, Strict()]


def check_host_port(value: str, example: str) -> str:
    """`value` if it is HOST:PORT with an IP address (or localhost) and a port 0-65535, else ValueError."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected HOST:PORT such as {example} (port 0: any free port), got {value!r}")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if host != "localhost":
            raise ValueError(f"expected an IP address or localhost before the port, got {host!r}") from None
    return value


def split_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


class ApiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = Field(description="HOST:PORT to listen on, e.g. 127.0.0.1:8321")
    tls_cert: Path | None = Field(default=None, description="PEM certificate (chain) for HTTPS; with tls_key")
    tls_key: Path | None = Field(default=None, description="PEM private key for HTTPS; with tls_cert")
    allow_insecure_remote: StrictBool = Field(
        default=False, description="serve plain HTTP on a non-loopback address (a TLS reverse proxy in front)")
    token_ttl_minutes: int = Field(default=480, ge=1, le=43_200, description="lifetime of an access token")
    login_failures_per_user: int = Field(default=5, ge=1, le=1000,
                                         description="failed logins of one user name per window before 429")
    login_failures_per_address: int = Field(default=20, ge=1, le=10_000,
                                            description="failed logins from one address per window before 429")
    login_window_minutes: int = Field(default=15, ge=1, le=1440, description="the failed-login window")
    trusted_proxies: tuple[str, ...] = Field(
        default=(), max_length=64,
        description="addresses or networks of reverse proxies whose X-Forwarded-For names the client")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return check_host_port(value, "127.0.0.1:8321")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:  # written out canonically: 10.0.0.1/24 is the network 10.0.0.0/24
            return tuple(str(ipaddress.ip_network(item, strict=False)) if "/" in item else str(ipaddress.ip_address(item))
                         for item in value)
        except ValueError:
            raise ValueError("expected IP addresses or networks such as 127.0.0.1 or 10.0.0.0/24, "
                             f"got {list(value)!r}"[:200]) from None

    @property
    def host_port(self) -> tuple[str, int]:
        return split_host_port(self.address)


def api_problems(api: ApiConfig) -> list[str]:
    """Pass 2, the rules between the table's keys: TLS files come in pairs, and a non-loopback
    address needs TLS or the operator's explicit word that a TLS proxy is in front."""
    if (api.tls_cert is None) != (api.tls_key is None):
        missing = "tls_key" if api.tls_key is None else "tls_cert"
        return [f"api.{missing}: give tls_cert and tls_key together (HTTPS needs both)"]
    host, _ = api.host_port
    if not is_loopback(host) and api.tls_cert is None and not api.allow_insecure_remote:
        return [f"api.address: {api.address} is not a loopback address: give api.tls_cert and api.tls_key "
                "(HTTPS), or set api.allow_insecure_remote = true when a TLS reverse proxy is in front"]
    return []
