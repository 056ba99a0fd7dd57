# Sourced by the project's scripts: a cargo target dir that survives fresh checkouts on the same
# machine (CI clones anew each run), so dependencies are built once per machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/memd/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
