#!/usr/bin/env bash
# Installs the Debian packages Budlink's tests, benchmarks and `budlink simulate` need:
#   dbus          dbus-daemon, for the private system bus that hosts the BlueZ emulator (node-ble e2e tests)
#   gcc-multilib  32-bit C toolchain: the real Espruino interpreter is built 32-bit, as on the nRF52
#   make, python3, git   Espruino's own build (firmware/sim/espruino/build/build.ts)
#   valgrind      instruction counts of the firmware on the real interpreter (npm run bench)
#   pocketsphinx, pocketsphinx-en-us, espeak-ng   the offline voice service (--voice local: speech-to-text,
#                 its en-us model, speech) and the voice-quality bench
#   sox           the voice-quality bench's reference resampling
# Idempotent: does nothing when they are already there. Needs root (or sudo) for apt-get.
set -euo pipefail
need=()
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v git >/dev/null 2>&1 || need+=(git)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
command -v pocketsphinx_continuous >/dev/null 2>&1 || need+=(pocketsphinx)
[ -d /usr/share/pocketsphinx/model/en-us/en-us ] || need+=(pocketsphinx-en-us)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)
if ! echo 'int main(void){return 0;}' | gcc -m32 -x c - -o /dev/null >/dev/null 2>&1; then
  need+=(gcc-multilib)
fi
if [ ${#need[@]} -eq 0 ]; then
  echo "system deps: all present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "system deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
