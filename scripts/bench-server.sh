# Sourced by the benchmark scripts, after they set SIZE, DATA and PORT: installs the model,
# builds the release binary ($MEMD), starts `memd serve` on $DATA at 127.0.0.1:$PORT ($URL,
# pid $SERVER, stopped when the script exits) and waits until it is ready.
# MEMD=/path/to/memd uses that binary instead of building one (the cargo target dir is shared
# between worktrees, so target/release/memd may be another checkout's build: copy yours first).
. scripts/env.sh
# The callers have read it into PORT; memd reads every MEMD_* variable as configuration and
# refuses unknown keys, so `MEMD_BENCH_PORT=… scripts/bench-latency.sh` would stop the server.
unset MEMD_BENCH_PORT
URL=http://127.0.0.1:$PORT
scripts/ensure-model.sh
if [ -z "${MEMD:-}" ]; then
  cargo build --release -p memd >&2
  MEMD="$CARGO_TARGET_DIR/release/memd"
fi
[ -x "$MEMD" ] || { echo "MEMD=$MEMD is not an executable" >&2; exit 1; }
MEMD_LOG_LEVEL=warn "$MEMD" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" >&2 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "$URL/health/ready" >/dev/null && break; sleep 0.2; done
# Never benchmark against no server: stop here if it exited or is not ready after 20 s.
kill -0 "$SERVER" 2>/dev/null || { echo "memd serve exited during start-up" >&2; exit 1; }
curl -fs "$URL/health/ready" >/dev/null || { echo "memd serve not ready after 20 s" >&2; exit 1; }
