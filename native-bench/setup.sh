#!/bin/sh
# Installs the C toolchain and OpenSSL headers the native reference needs,
# from Debian's own packages, only when they are missing.
set -eu
missing=""
command -v cc >/dev/null 2>&1 || missing="$missing build-essential"
command -v make >/dev/null 2>&1 || missing="$missing build-essential"
[ -f /usr/include/openssl/sha.h ] || missing="$missing libssl-dev"
if [ -z "$missing" ]; then
  echo "native-bench: toolchain and libssl-dev already present"
  exit 0
fi
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
echo "native-bench: installing$missing"
$sudo_cmd apt-get update
# shellcheck disable=SC2086 # word splitting of the package list is intended
$sudo_cmd apt-get install -y --no-install-recommends $missing
