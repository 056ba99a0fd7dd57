#!/usr/bin/env bash
# Installs wrk (the HTTP load generator scripts/bench-wrk.sh cross-checks `memd bench load`
# with) from Debian's `wrk` package when missing. Idempotent; instant when wrk is present.
#   scripts/ensure-wrk.sh
set -euo pipefail
if command -v wrk >/dev/null; then
  exit 0
fi
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends wrk >&2
}
echo "installing Debian's wrk package ..." >&2
install || { $SUDO apt-get update >&2 && install; }
command -v wrk >/dev/null
