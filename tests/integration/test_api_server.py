"""The API served by the real uvicorn on a real socket (in-process, over the stand-in daemon of
tests/support/api_rig.py): connections over the cap are closed at once, a request that does not
arrive whole in time is cut off, stop() ends open event streams and keep-alive connections, HTTPS
is served with the given certificate, and a bad certificate, a key anyone may read or a busy
port stop the start naming the key."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from support.api_rig import ApiRig

from mismarterad.integrations.http_server.http_protocol import ConnectionLimits
from mismarterad.core.errors import ConfigError

WAIT_SECS = 20.0  # a bound on waiting for the server, never a measured time


@pytest.fixture
def rig(tmp_path: Path) -> ApiRig:
    return ApiRig(tmp_path)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECS)


def _closed_by_server(conn: socket.socket) -> bool:
    """The server closes the connection (whatever it answered first); False if it is still open at WAIT_SECS."""
    try:
        while conn.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_SECS)
    client.request("GET", path, headers=headers or {})
    return client.getresponse()


def test_connections_over_the_cap_are_closed_as_they_come(rig: ApiRig) -> None:
    with rig.server(ConnectionLimits(max_connections=3, request_timeout_secs=60.0)) as served:
        idle = [_connect(served.port) for _ in range(3)]
        extra = _connect(served.port)
        assert _closed_by_server(extra), "the fourth connection is closed at once"
        idle[0].sendall(b"GET /api/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert idle[0].recv(64).startswith(b"HTTP/1.1 200"), "the connections within the cap are served"
        for conn in idle:
            conn.close()
        extra.close()


def test_a_request_that_does_not_arrive_whole_in_time_is_cut_off(rig: ApiRig) -> None:
    with rig.server(ConnectionLimits(max_connections=10, request_timeout_secs=0.5)) as served:
        silent, partial, body = (_connect(served.port) for _ in range(3))
        partial.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        body.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nuser")
        for conn in (silent, partial, body):
            assert _closed_by_server(conn)
            conn.close()
        assert _get(served.port, "/api/openapi.json").status == 200, "a whole request is answered"
        again = _connect(served.port)  # a kept-alive connection is timed again for its next request
        again.sendall(b"GET /api/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        reply = again.makefile("rb")
        assert reply.readline().startswith(b"HTTP/1.1 200")
        headers = list(iter(reply.readline, b"\r\n"))
        reply.read(next(int(line.split(b":")[1]) for line in headers if line.lower().startswith(b"content-length")))
        again.sendall(b"GET /api/openapi.json HTTP/1.1\r\n")
        assert reply.read(1) == b""
        again.close()


def test_stop_ends_open_event_streams_and_keep_alive_connections(rig: ApiRig) -> None:
    with rig.server() as served:
        stream = http.client.HTTPConnection("127.0.0.1", served.port, timeout=WAIT_SECS)
        stream.request("GET", "/api/v1/events", headers={"Authorization": f"Bearer {rig.token('vic')}"})
        events = stream.getresponse()
        assert events.status == 200 and events.readline() == b"retry: 2000\n"
        kept = http.client.HTTPConnection("127.0.0.1", served.port, timeout=WAIT_SECS)
        kept.request("GET", "/api/openapi.json")
        assert kept.getresponse().read()
    assert not served.alive, "the server's thread has ended"
    with contextlib.suppress(http.client.IncompleteRead):
        events.read()  # the stream has ended: read returns instead of waiting for more events


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    key.chmod(0o600)
    return cert, key


def test_https_is_served_with_the_given_certificate(rig: ApiRig, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    with rig.server(tls_cert=cert, tls_key=key) as served:
        trusted = ssl.create_default_context(cafile=str(cert))
        client = http.client.HTTPSConnection("127.0.0.1", served.port, timeout=WAIT_SECS, context=trusted)
        client.request("GET", "/api/openapi.json")
        reply = client.getresponse()
        assert reply.status == 200 and reply.headers["Strict-Transport-Security"] == "max-age=31536000"
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            _get(served.port, "/api/openapi.json").read()


def test_bad_tls_files_and_a_busy_port_stop_the_start_naming_the_key(rig: ApiRig, certificate: tuple[Path, Path],
                                                                      tmp_path: Path) -> None:
    cert, key = certificate
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    garbage.chmod(0o600)
    with pytest.raises(ConfigError, match="api.tls_cert"), rig.server(tls_cert=garbage, tls_key=key):
        pass
    open_key = tmp_path / "open-key.pem"
    open_key.write_bytes(key.read_bytes())
    open_key.chmod(0o644)
    with pytest.raises(ConfigError, match="api.tls_key: .* lets every user read"), \
            rig.server(tls_cert=cert, tls_key=open_key):
        pass
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"api.address: cannot listen on 127.0.0.1:{port}"), \
                rig.server(address=f"127.0.0.1:{port}"):
            pass
