#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages that cannoli's tests need: qemu-user, a C
# toolchain for QEMU's own plugins (the test oracles), the deb-src entry that
# `apt-get source qemu` needs, and foreign glibc runtimes so dynamically
# linked guests run under qemu-<arch> without -L.
# Idempotent: when everything is in place it changes nothing, runs in well
# under a second and needs no root.
# Usage: scripts/setup-system.sh        (as root, or it prints what to run)
set -euo pipefail

# Foreign glibc runtimes for the `dynamic` guest (bookworm has no riscv64;
# x86_64 uses the host's own glibc).
FOREIGN_ARCHS=(arm64 mipsel)
# meson .. python3-venv build the patched QEMU (scripts/qemu-build.sh); time
# (GNU time) measures runs in the bench and one test.
PKGS=(qemu-user gcc pkg-config libglib2.0-dev dpkg-dev xz-utils file meson ninja-build flex bison python3-venv time binutils)
for a in "${FOREIGN_ARCHS[@]}"; do PKGS+=("libc6:$a"); done
SRC_FILE=/etc/apt/sources.list.d/cannoli-src.sources

as_root() {
  [ "$(id -u)" = 0 ] && return 0
  echo "setup-system: $1; run as root:  sudo $(readlink -f "$0")" >&2
  exit 1
}

# apt is chatty even with -qq (debconf notes); show its output only on failure.
quiet() {
  local log rc=0
  log=$(mktemp)
  DEBIAN_FRONTEND=noninteractive "$@" >"$log" 2>&1 || rc=$?
  [ $rc = 0 ] || cat "$log" >&2
  rm -f "$log"
  return $rc
}

need_update=0
# `apt-get source` needs Sources indexes. Add an entry only if none exists:
# a duplicate one makes apt warn on every call. (Plain grep: asking apt
# costs a second.)
if ! grep -qsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; then
  as_root "no deb-src entry"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    # Same mirrors and keys as the binary entries (proxies, snapshots).
    sed 's/^Types: .*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$SRC_FILE"
  else
    cat > "$SRC_FILE" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  echo "setup-system: added $SRC_FILE"
  need_update=1
fi
# Configured but never fetched (a fresh machine, or an entry added by hand).
compgen -G '/var/lib/apt/lists/*_dists_bookworm_main_source_Sources*' >/dev/null || need_update=1

for a in "${FOREIGN_ARCHS[@]}"; do
  if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
    as_root "dpkg architecture $a not enabled"
    dpkg --add-architecture "$a"
    echo "setup-system: added dpkg architecture $a"
    need_update=1
  fi
done

missing=()
for p in "${PKGS[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
# A package apt has never heard of means stale or empty lists.
for p in "${missing[@]}"; do
  apt-cache show --no-all-versions "$p" >/dev/null 2>&1 || need_update=1
done

if [ $need_update = 1 ]; then
  as_root "apt lists need updating"
  echo "setup-system: apt-get update"
  quiet apt-get update
fi
if [ ${#missing[@]} -gt 0 ]; then
  as_root "missing packages: ${missing[*]}"
  echo "setup-system: apt-get install ${missing[*]}"
  quiet apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "setup-system: ok"
