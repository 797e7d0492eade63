#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fetches Debian's static busybox for foreign architectures (real programs no
# one here wrote, for tests and benchmarks) into
# ${CANNOLI_CACHE:-$HOME/.cache/cannoli}/busybox/<debian-arch>/busybox.
# Usage: scripts/fetch-busybox.sh [debian-arch...]   (default: arm64 mipsel amd64)
set -euo pipefail
cache=${CANNOLI_CACHE:-$HOME/.cache/cannoli}/busybox
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(arm64 mipsel amd64)
for arch in "${archs[@]}"; do
  out=$cache/$arch/busybox
  [ -x "$out" ] && continue
  work=$(mktemp -d)
  # apt-get download needs the architecture known to dpkg and apt.
  if [ "$arch" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    dpkg --add-architecture "$arch"
    apt-get update -qq >/dev/null
  fi
  (cd "$work" && apt-get download -qq "busybox-static:$arch" >/dev/null 2>&1) ||
    { echo "fetch-busybox: apt-get download busybox-static:$arch failed" >&2; exit 1; }
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/root"
  mkdir -p "$(dirname "$out")"
  mv "$work/root/bin/busybox" "$out"
  rm -rf "$work"
done
echo "$cache"
