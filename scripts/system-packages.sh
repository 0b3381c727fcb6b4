#!/usr/bin/env bash
# Installs the Debian packages `make run` and `make test` need, or says exactly what to type.
#   scripts/system-packages.sh run    DejaVu fonts (PDFs name them) and Graphviz (the workflow diagrams)
#   scripts/system-packages.sh test   the same, plus Chromium for the browser tests, nginx and systemd-analyze for
#                                     the deploy/ tests (tests/ops/test_deploy.py; nginx runs as the test's own
#                                     process, never as the system service)
# As root it installs what is missing with apt-get; otherwise it stops at once with the command to type.
# SYSTEM_PACKAGES_AS_ROOT=0|1 overrides the root check (the test of this script uses it).
set -euo pipefail

purpose=${1:-test}
font=${DEJAVU_FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}
nginx=${NGINX:-/usr/sbin/nginx}  # in /usr/sbin, which a user's PATH may lack
missing=()
[ -f "$font" ] || missing+=(fonts-dejavu-core)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
if [ "$purpose" = test ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
fi
if [ "$purpose" = test ]; then
  [ -x "$nginx" ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
  command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=${SYSTEM_PACKAGES_AS_ROOT:-$([ "$(id -u)" -eq 0 ] && echo 1 || echo 0)}
command="apt-get update && apt-get install -y ${missing[*]}"
if [ "$as_root" != 1 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${missing[*]}. Install them, then run make again:" >&2
  echo "  sudo sh -c '$command'" >&2
  exit 1
fi
echo "Installing the system packages make needs: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}"
