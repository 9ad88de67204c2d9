#!/usr/bin/env bash
# Dress rehearsal: run the real daemon through one stored trading day on the replay clock, watch
# it with mismarterctl, and check its session report against the backtest of the same day.
# Usage: ops/demo/replay_day.sh [BIN_DIR] [DAY] [SPEED]
set -euo pipefail
BIN=${1:-.venv/bin}
DAY=${2:-2011-01-04}
SPEED=${3:-1200}
WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true' EXIT
export MISMARTERAD_SOCKET="$WORK/ctl.sock"
cat > "$WORK/mismarterad.toml" <<TOML
session_config = "$PWD/session_configs/spy_2011_backtest.json"
socket_path = "$MISMARTERAD_SOCKET"
metrics_address = "127.0.0.1:0"
TOML
# the replayed day keeps its report apart from the user's own state, but reads the stored bars
MISMARTERAD_STATE_DIR="$WORK/state" "$BIN/mismarterad" run --config "$WORK/mismarterad.toml" \
    --clock replay --start "${DAY}T09:00:00-05:00" --speed "$SPEED" 2> "$WORK/daemon.log" &
PID=$!
until "$BIN/mismarterctl" hello > /dev/null 2>&1; do sleep 0.2; done
echo "daemon up (pid $PID); replaying $DAY at ${SPEED}x"
state=""
while [ "$state" != "STOPPED-done" ]; do
    line=$("$BIN/mismarterctl" --json status | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["state"], s["clock"][:19], s["bars_processed"], "done" if s["last_report"] else "")')
    echo "  $line"
    set -- $line
    state="$1-${4:-}"
    sleep 2
done
"$BIN/mismarterctl" report "$DAY"
"$BIN/mismarterad" backtest session_configs/spy_2011_backtest.json --from "$DAY" --to "$DAY" --out "$WORK/backtest" > /dev/null 2>> "$WORK/daemon.log"
if cmp -s "$WORK/backtest/trades.csv" "$WORK/state/reports/$DAY/trades.csv"; then
    echo "the replayed day's trades.csv equals the backtest's ($(($(wc -l < "$WORK/backtest/trades.csv") - 1)) trades)"
else
    echo "MISMATCH between the replayed day and the backtest" >&2
    diff "$WORK/backtest/trades.csv" "$WORK/state/reports/$DAY/trades.csv" >&2 || true
    exit 1
fi
kill -TERM "$PID"
wait "$PID"
echo "daemon stopped cleanly"
