#!/bin/sh
# `uzpgw flash` from this checkout: builds dist/ first when it is missing, then runs the CLI with
# every argument passed through. Relative --target/--config paths keep meaning what they meant
# where you typed them: the script does not change directory for the flash itself.
#   sudo sh scripts/flash.sh --board rpi-4b --target /mnt/rootfs      (docs/FLASH.md)
set -eu
repo=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
if [ ! -f "$repo/dist/cli/main.js" ]; then
  if [ ! -d "$repo/node_modules" ]; then
    echo "flash.sh: $repo/node_modules is missing; run \`npm ci\` in $repo first" >&2
    exit 1
  fi
  echo "flash.sh: $repo/dist is missing; building it (npm run build)" >&2
  (cd "$repo" && npm run build --silent)
fi
# The pinned Node 24 (scripts/node.sh prints its path; its `cd` stays in that subshell).
node=$(sh "$repo/scripts/node.sh")
exec "$node" "$repo/dist/cli/main.js" flash "$@"
