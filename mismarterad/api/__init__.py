"""The operator's REST API and web console, served by the daemon when its config has an `[api]` table.

It sits above the daemon: the CLI builds it over `DaemonControl` and the control socket's own
command handler (cli/control_api.py), and hands it to the daemon to serve, so the API and
`mismarterctl` answer the same thing. FastAPI, uvicorn and argon2 are imported only here and
only when the table is present.
"""

__all__: list[str] = []
