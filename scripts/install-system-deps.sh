#!/usr/bin/env bash
# Installs the Debian packages Budlink's tests and `budlink simulate` need:
#   dbus  - dbus-daemon, for the private system bus that hosts the BlueZ emulator (node-ble e2e tests)
# Idempotent: does nothing when they are already there. Needs root (or sudo) for apt-get.
set -euo pipefail
need=()
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus)
if [ ${#need[@]} -eq 0 ]; then
  echo "system deps: all present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "system deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
