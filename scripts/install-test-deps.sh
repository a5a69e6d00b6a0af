#!/usr/bin/env bash
# Installs what the test suite needs when it is missing: a real redis-server
# (with redis-cli and redis-benchmark) and Debian's chromium for the console
# tests. Everything else comes through the Go module proxy.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "install-test-deps: missing ${need[*]} and not root; install them with apt-get" >&2
    exit 1
  fi
else
  SUDO=
fi

echo "install-test-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
