#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need (model weights), then every test of
# every crate. Safe to run on a fresh machine; quick when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/ensure-model.sh
scripts/ensure-services.sh
scripts/ensure-prometheus.sh
cargo test --workspace --all-targets "$@"
