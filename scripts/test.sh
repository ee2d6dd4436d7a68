#!/bin/sh
# `npm test`: install missing system packages the HIL tests need, build, run the whole suite.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-system-packages.sh
npx tsc -p tsconfig.json
# Type-check the tests too (vitest only strips types).
npx tsc -p tsconfig.test.json
exec npx vitest run "$@"
