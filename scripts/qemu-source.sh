#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prints the directory of Debian's QEMU 7.2 source tree (Debian patches
# applied), unpacking it into ${CANNOLI_CACHE:-$HOME/.cache/cannoli}/qemu-src
# the first time: from ${CANNOLI_QEMU_SEED:-/var/cache/cannoli/src}/qemu_7.2*
# when present, else with `apt-get source qemu`. Shared by build-oracles.sh
# (QEMU's own plugins) and qemu-build.sh (the patched QEMU).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
CACHE=${CANNOLI_CACHE:-$HOME/.cache/cannoli}
SRC_ROOT=$CACHE/qemu-src
SEED=${CANNOLI_QEMU_SEED:-/var/cache/cannoli/src}

find_src() { compgen -G "$SRC_ROOT/qemu-*/include/qemu/qemu-plugin.h" | head -1 | sed 's|/include/qemu/qemu-plugin.h$||'; }

src=$(find_src || true)
if [ -z "$src" ]; then
  # Unpack in a scratch dir and rename, so an interrupted run leaves no
  # half-extracted tree that a later run would trust.
  tmp=$SRC_ROOT.tmp.$$
  rm -rf "$tmp"; mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  if compgen -G "$SEED/qemu_7.2*.dsc" >/dev/null; then
    cp "$SEED"/qemu_7.2* "$tmp"/
    (cd "$tmp" && dpkg-source -x qemu_7.2*.dsc >/dev/null 2>&1)
  else
    # apt-get source needs the deb-src entry setup-system.sh adds.
    if [ "$(id -u)" = 0 ]; then "$here/setup-system.sh" >/dev/null; fi
    echo "qemu-source: apt-get source qemu (~24 MB)" >&2
    (cd "$tmp" && apt-get source -qq qemu >/dev/null 2>&1) || {
      echo "qemu-source: 'apt-get source qemu' failed; is a bookworm deb-src entry configured? (scripts/setup-system.sh adds one)" >&2
      exit 1; }
  fi
  rm -rf "$SRC_ROOT"; mv "$tmp" "$SRC_ROOT"; trap - EXIT
  src=$(find_src)
fi
echo "$src"
