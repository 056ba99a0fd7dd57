#!/usr/bin/env bash
# Installs Prometheus and promtool from Debian's `prometheus` package when missing (the tests
# lint /metrics with `promtool check metrics`). Idempotent; instant when both are present.
# Installs only; never starts the daemon (tests start their own on a free port).
set -euo pipefail
if command -v promtool >/dev/null && command -v prometheus >/dev/null; then
  exit 0
fi
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends prometheus >&2
}
echo "installing Debian's prometheus package (promtool) ..." >&2
install || { $SUDO apt-get update >&2 && install; }
command -v promtool >/dev/null
