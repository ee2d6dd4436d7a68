#!/bin/sh
# `npm test`: install missing system packages the HIL tests need, build, run the whole suite on the
# project's pinned Node 24 (scripts/node.sh), whatever the system node is. Every process the tests
# start (RN, gateway, connect, simulators) is spawned with the runner's own node, so the same one.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-system-packages.sh
node=$(sh scripts/node.sh)
echo "uzp-gateway tests on node $("$node" --version) ($node)"
"$node" node_modules/typescript/bin/tsc -p tsconfig.json
# Type-check the tests too (vitest only strips types).
"$node" node_modules/typescript/bin/tsc -p tsconfig.test.json
# The arm64 runtime for the arm64 image test, fetched (and checked against the lock) before the tests
# run, since tests talk to nothing but loopback. Best effort: without it that test skips and says why.
"$node" dist/cli/main.js runtime fetch --arch arm64 >/dev/null ||
  echo "uzp-gateway tests: the arm64 runtime could not be fetched; the arm64 image test will skip" >&2
exec "$node" node_modules/vitest/vitest.mjs run "$@"
