"""JSON bodies read once the caller's rights are known.

FastAPI reads and validates a declared body before any dependency runs: a client with no token
and a malformed body would get 422 where it should get 401, and a viewer's malformed halt would
get 422 and never reach the audit trail. So a route with a body declares `raw: RawBody` after
its `who` dependency (dependencies are solved in order: the token first, then the body) and
parses it with `parsed` where it chooses, after the role check.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends
from pydantic import BaseModel, ValidationError

from mismarterad.api.errors import ApiError, validation_error
from mismarterad.integrations.http_server.request_body import body_bytes

__all__ = ["RawBody", "parsed"]

M = TypeVar("M", bound=BaseModel)
RawBody = Annotated[bytes, Depends(body_bytes)]


def parsed(model: type[M], raw: bytes, required: bool) -> M:
    """`raw` as `model`; no body at all is the model's defaults unless `required`. 422 naming the field."""
    if not raw.strip():
        if required:
            raise ApiError(422, "invalid", "body: a JSON object is required", "body")
        return model()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise validation_error(list(exc.errors())) from None
