"""The operator's REST API and web console, served by the daemon when its config has an `[api]` table.

It sits above the daemon: the CLI builds it over `DaemonControl` and the control socket's own
command handler (cli/control_api.py), and hands it to the daemon to serve, so the API and
`mismarterctl` answer the same thing. This package is the synchronous half: routes are plain
functions, and the HTTP half (uvicorn's thread, lanes of worker threads, the event streams, the
request guard) is the adapter `mismarterad.integrations.http_server`, where asyncio may run.
FastAPI, uvicorn and argon2 are imported only by the two and only when the table is present.
"""

__all__: list[str] = []
