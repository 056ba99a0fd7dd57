#!/usr/bin/env bash
# Installs Prometheus and promtool from Debian's `prometheus` package when missing (the tests
# lint /metrics with `promtool check metrics`). Idempotent; instant when both are present.
# Installs only; never starts the daemon (tests start their own on a free port).
set -euo pipefail
exec "$(dirname "$0")/ensure-deb.sh" prometheus promtool prometheus
