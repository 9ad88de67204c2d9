"""The API's routes under /api/v1, one module per part of the design: auth (and users, audit),
session (what the daemon holds), market_data, system (control) and events."""

__all__: list[str] = []
