#!/usr/bin/env bash
# Runs the server with the embedded defaults (SQLite in ./data, local embedding model),
# installing the model weights first if they are missing. Extra arguments go to `memd serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/ensure-model.sh
cargo build --release -p memd
exec "$CARGO_TARGET_DIR/release/memd" serve "$@"
