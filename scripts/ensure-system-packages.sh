#!/bin/sh
# Installs the Debian packages integration tests use when they are missing: socat for PTY pairs,
# mosquitto as the equipment broker, swtpm + tpm2-tools for the TPM attestation path, postgresql for
# the collector's store, libxml2-utils (xmllint) for the JUnit report check, nats-server for the
# rendezvous fabric's cluster, chromium for the browser tests, openssl for a test certificate, python3 for
# a bare pty, and for the arm64 image test
# qemu-user-static with the arm64 C and C++ runtimes (dpkg --add-architecture arm64) so the flashed
# aarch64 node runs under qemu-aarch64-static. Never a manual step: `npm test` calls this. The
# first group is required; the arm64 emulation is best effort: when it cannot be installed, the
# arm64 test says why and skips.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get "$@"
}

missing=""
command -v socat >/dev/null 2>&1 || missing="$missing socat"
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing="$missing mosquitto"
command -v swtpm >/dev/null 2>&1 || missing="$missing swtpm swtpm-tools"
command -v tpm2_quote >/dev/null 2>&1 || missing="$missing tpm2-tools"
# PostgreSQL for the collector's store tests (test/helpers/postgres.ts); Debian keeps initdb off PATH.
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
# xmllint validates `uzpgw hil run --junit` reports against a JUnit XSD (test/e2e/hil-run.test.ts).
command -v xmllint >/dev/null 2>&1 || missing="$missing libxml2-utils"
# nats-server for the rendezvous fabric's cluster tests (test/helpers/nats-cluster.ts); Debian puts it in /usr/sbin.
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing="$missing nats-server"
# chromium for the web console's browser tests (test/helpers/browser.ts, driven by playwright-core).
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing="$missing chromium"
# openssl makes the self-signed certificate of the console's HTTPS test (test/console/server.test.ts).
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
# python3 holds a bare pty's master side for the tty binding's full-duplex test (test/helpers/bare-pty.py).
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-system-packages: need$missing but apt-get is not available; install them and rerun" >&2
    exit 1
  fi
  echo "ensure-system-packages: installing$missing" >&2
  apt update -qq >/dev/null
  apt install -y -qq --no-install-recommends $missing >/dev/null
fi

# arm64 emulation (test/flash/arm64-image.test.ts).
if command -v qemu-aarch64-static >/dev/null 2>&1 && [ -e /lib/ld-linux-aarch64.so.1 ] && [ -e /usr/lib/aarch64-linux-gnu/libstdc++.so.6 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
  echo "ensure-system-packages: no apt-get/dpkg here; the arm64 image test will skip" >&2
  exit 0
fi
echo "ensure-system-packages: installing qemu-user-static libc6:arm64 libstdc++6:arm64 (arm64 image test)" >&2
# apt update again: the index read above (if any) had no arm64 packages in it.
if { dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64; } &&
  apt update -qq >/dev/null &&
  apt install -y -qq --no-install-recommends qemu-user-static libc6:arm64 libstdc++6:arm64 >/dev/null; then
  :
else
  echo "ensure-system-packages: could not install the arm64 emulation; the arm64 image test will skip and say why" >&2
fi
exit 0
