"""The API's answers to exceptions, through the HTTP adapter's handlers: a full lane is 503 `busy`
with Retry-After (the lane's name in the message), in the API's one error shape."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.testclient import TestClient

from mismarterad.api.errors import ApiJSONResponse, install_error_handlers
from mismarterad.integrations.http_server.lanes import LaneFull


def test_a_full_lane_is_answered_busy_with_retry_after() -> None:
    app = FastAPI(default_response_class=ApiJSONResponse)
    install_error_handlers(app)

    @app.get("/login")
    def login() -> None:
        raise LaneFull("login")

    with TestClient(app) as client:
        reply = client.get("/login")
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "2"
    assert reply.json() == {"error": {"status": 503, "code": "busy", "field": None,
                                      "message": "too many login requests at once; try again in a few seconds"}}
