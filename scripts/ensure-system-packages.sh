#!/bin/sh
# Installs the Debian packages integration tests use (socat for PTY pairs, mosquitto as the
# equipment broker, swtpm + tpm2-tools for the TPM attestation path) when they are missing.
# Never a manual step: `npm test` calls this.
set -eu
missing=""
command -v socat >/dev/null 2>&1 || missing="$missing socat"
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing="$missing mosquitto"
command -v swtpm >/dev/null 2>&1 || missing="$missing swtpm swtpm-tools"
command -v tpm2_quote >/dev/null 2>&1 || missing="$missing tpm2-tools"
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-system-packages: need$missing but apt-get is not available; install them and rerun" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "ensure-system-packages: installing$missing" >&2
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
