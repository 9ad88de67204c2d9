"""What every venue emulator shares: the account and its fill rules, the exchange calendar, the
market replay on a clock, faults, the request log and `/_emulator/*` controls, the state file,
history from the store, and the process that serves it all. Each venue's package adds its wire
formats, routes and streams (`alpaca_emulator`, `schwab_emulator`)."""

from mismarterad.integrations.venue_emulator.serving import Hub, ServeAt, VenueServer, serve_emulator

__all__ = ["Hub", "ServeAt", "VenueServer", "serve_emulator"]
