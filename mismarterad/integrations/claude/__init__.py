"""The Claude client: the Messages API, its tool-use loop and the usage ledger (explains, never trades)."""
