#!/usr/bin/env bash
# Installs wrk (the HTTP load generator scripts/bench-wrk.sh cross-checks `memd bench load`
# with) from Debian's `wrk` package when missing. Idempotent; instant when wrk is present.
#   scripts/ensure-wrk.sh
set -euo pipefail
exec "$(dirname "$0")/ensure-deb.sh" wrk wrk
