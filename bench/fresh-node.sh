#!/usr/bin/env bash
# Starts a povchain dev node on a fresh temporary data directory and removes the directory
# when the node exits. For benchmark harnesses that start "a fresh node" per run, e.g.
#   ../shared/bench/run-peers.mjs --target-cmd 'ours=http://127.0.0.1:18551::/path/to/bench/fresh-node.sh 18551'
# Usage: bench/fresh-node.sh HTTP_PORT [WS_PORT] [extra `povchain node` flags...]
# Needs `npm run build` first. Uses the Node 22 of node_modules/.bin when present.
# SIGTERM/SIGINT (to this script or its process group) stop the node cleanly first.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
http_port="${1:?usage: fresh-node.sh HTTP_PORT [WS_PORT] [flags...]}"
shift
ws_port="$((http_port + 1))"
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then ws_port="$1"; shift; fi
node_bin="$repo/node_modules/.bin/node"
[[ -x "$node_bin" ]] || node_bin="$(command -v node)"
datadir="$(mktemp -d "${TMPDIR:-/tmp}/povchain-bench-XXXXXX")"
cleanup() { rm -rf "$datadir"; }
trap cleanup EXIT
"$node_bin" ${POVCHAIN_NODE_FLAGS:-} "$repo/dist/cli/cli.js" node --dev --datadir "$datadir" \
  --http.addr 127.0.0.1 --http.port "$http_port" --ws.addr 127.0.0.1 --ws.port "$ws_port" --log.level "${LOG_LEVEL:-warn}" "$@" &
pid=$!
forward() { kill -TERM "$pid" 2>/dev/null || true; }
trap forward TERM INT
# `wait` returns early when a trapped signal arrives; wait again until the node is gone.
while kill -0 "$pid" 2>/dev/null; do wait "$pid" || true; done
