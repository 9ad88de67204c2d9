"""Building and running a pipeline: the composition of one backtest or one live day-run, its reports, and strategy loading."""
