"""The `mismarterad` command line: entry point, sub-commands, logging set-up."""
