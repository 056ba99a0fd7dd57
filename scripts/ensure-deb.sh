#!/usr/bin/env bash
# Installs a Debian package when any of the commands it provides is missing; idempotent and
# instant when they are all present. Used by the ensure-*.sh scripts.
#   scripts/ensure-deb.sh PACKAGE COMMAND [COMMAND ...]
set -euo pipefail
package=$1
shift
missing=0
for cmd in "$@"; do
  command -v "$cmd" >/dev/null || missing=1
done
[ "$missing" = 1 ] || exit 0
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$package" >&2
}
echo "installing Debian's $package package ..." >&2
install || { $SUDO apt-get update >&2 && install; }
for cmd in "$@"; do
  command -v "$cmd" >/dev/null
done
