#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds an unmodified QEMU 10.0 (Debian 13's `qemu` source package) for the
# linux-user targets the tests run on, plus QEMU 10's own plugins (insn, mem,
# execlog: the oracles for 10.x). Debian 12 ships QEMU 7.2; this is the other
# end of what users have. Last line printed: the build's directory, holding
# bin/qemu-<arch> and plugins/lib{insn,mem,execlog}.so.
#
# Usage: scripts/qemu-stock-build.sh [--targets aarch64,mipsel,x86_64]
#                                    (npm run qemu:build-10)
# Cache: ${CANNOLI_CACHE:-$HOME/.cache/cannoli}/
#   apt-trixie/      private apt state for Debian 13 (the host's apt
#                    configuration is never touched)
#   qemu-src-10.0/   the unpacked source
#   py-trixie/       Debian 13's meson and pycotap (QEMU 10's configure needs
#                    meson >= 1.5; the +ds tarball carries no Python wheels)
#   qemu-stock/<hash>/  the build, keyed by the source version, this script
#                    and the targets. About 7 minutes for two targets.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
CACHE=${CANNOLI_CACHE:-$HOME/.cache/cannoli}
VERSION=10.0
targets=aarch64,mipsel,x86_64

while [ $# -gt 0 ]; do
  case "$1" in
    --targets) targets=${2:?--targets needs a list}; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "qemu-stock-build: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
IFS=, read -ra target_list <<<"$targets"

"$here/setup-system.sh" >/dev/null

APT=$CACHE/apt-trixie
apt_trixie() {
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
  [ -f "$APT/trixie.sources" ] || cat >"$APT/trixie.sources" <<'SRC'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get -q -o Dir::Etc::sourcelist="$APT/trixie.sources" -o Dir::Etc::sourceparts=- \
    -o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache" \
    -o Dir::State::status=/var/lib/dpkg/status -o Debug::NoLocking=1 "$@"
}
apt_trixie_ready() {
  compgen -G "$APT/lists/*trixie*Sources*" >/dev/null || apt_trixie update >/dev/null 2>&1 ||
    { echo "qemu-stock-build: apt-get update for Debian 13 (trixie) failed" >&2; exit 1; }
}

# --- source: Debian 13's qemu, unpacked once (renamed into place when whole)
SRC_ROOT=$CACHE/qemu-src-$VERSION
find_src() { compgen -G "$SRC_ROOT/qemu-$VERSION*/include/qemu/qemu-plugin.h" | head -1 | sed 's|/include/qemu/qemu-plugin.h$||'; }
src=$(find_src || true)
if [ -z "$src" ]; then
  apt_trixie_ready
  tmp=$SRC_ROOT.tmp.$$
  rm -rf "$tmp"; mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  echo "qemu-stock-build: apt-get source qemu (Debian 13, ~40 MB)" >&2
  (cd "$tmp" && apt_trixie source --download-only qemu >/dev/null 2>&1) ||
    { echo "qemu-stock-build: 'apt-get source qemu' from trixie failed" >&2; exit 1; }
  (cd "$tmp" && dpkg-source -x qemu_*.dsc >/dev/null 2>&1 && rm -f qemu_*)
  rm -rf "$SRC_ROOT"; mv "$tmp" "$SRC_ROOT"; trap - EXIT
  src=$(find_src)
  [ -n "$src" ] || { echo "qemu-stock-build: Debian 13's qemu is not QEMU $VERSION" >&2; exit 1; }
fi

# --- meson >= 1.5 and pycotap from Debian 13, unpacked privately
PY=$CACHE/py-trixie
if ! compgen -G "$PY/usr/lib/python3/dist-packages/mesonbuild" >/dev/null ||
   ! compgen -G "$PY/usr/lib/python3/dist-packages/pycotap" >/dev/null; then
  apt_trixie_ready
  tmp=$PY.tmp.$$
  rm -rf "$tmp"; mkdir -p "$tmp/debs"
  (cd "$tmp/debs" && apt_trixie download meson python3-pycotap >/dev/null 2>&1) ||
    { echo "qemu-stock-build: apt-get download meson python3-pycotap (trixie) failed" >&2; exit 1; }
  for deb in "$tmp"/debs/*.deb; do dpkg -x "$deb" "$tmp"; done
  rm -rf "$tmp/debs" "$PY"; mv "$tmp" "$PY"
fi
export PYTHONPATH=$PY/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}

# --- QEMU itself, keyed by its version, configure options and targets (not
# by this script as a whole: a change to the plugins below must not cost a
# 7-minute rebuild)
version=$(cat "$src/VERSION")
configure_options=(--enable-plugins --disable-system --disable-tools --disable-docs
  --disable-download --disable-install-blobs --disable-rust --disable-werror)
hash=$( (echo "$version"; echo "${configure_options[*]}"; echo "$targets") | sha256sum | cut -c1-16)
out=$CACHE/qemu-stock/$version-$hash
complete() {
  for t in "${target_list[@]}"; do [ -x "$out/bin/qemu-$t" ] || return 1; done
}
if complete; then
  echo "qemu-stock-build: reusing QEMU $version ($out)" >&2
else
  work=$out.tmp
  rm -rf "$work"; mkdir -p "$work/build"
  trap 'echo "qemu-stock-build: failed; the build is left in $work" >&2' ERR
  target_args=$(printf '%s-linux-user,' "${target_list[@]}")
  echo "qemu-stock-build: building QEMU $version ${target_args%,} in $work/build" >&2
  (cd "$work/build" &&
    "$src/configure" --target-list="${target_args%,}" "${configure_options[@]}" >configure.log 2>&1) ||
    { tail -20 "$work/build/configure.log" >&2; exit 1; }
  (cd "$work/build" && ninja "${target_list[@]/#/qemu-}" >ninja.log 2>&1) ||
    { grep -B2 -A8 -m3 'error' "$work/build/ninja.log" >&2 || tail -20 "$work/build/ninja.log" >&2; exit 1; }
  rm -rf "$out"; mkdir -p "$out/bin"
  for t in "${target_list[@]}"; do cp "$work/build/qemu-$t" "$out/bin/"; done
  rm -rf "$work"
  trap - ERR
fi

# --- QEMU's own plugins (the oracles), compiled against this version's
# header, rebuilt when this script changes. Two changes, to execlog only,
# which do not touch what it prints:
# - It keeps per-vCPU state in a GArray sized for one vCPU in user mode and
#   hands out pointers into it that the next thread's vcpu_init invalidates
#   by growing the array (3 of 4 runs of a 5-thread guest crash QEMU 10.0
#   with "QEMU internal SIGSEGV", cannoli or not). Reserving room for 4096
#   vCPUs up front means the array never moves.
# - It prints an instruction when the next one on its vCPU runs, and a
#   thread that starts on the vCPU index of one that ended replaced that
#   thread's last, unprinted instruction (vcpu_init), so execlog lost it
#   (seen in CI: 123567 records for 123568 instructions). vcpu_init now
#   prints it first.
plugins=$out/plugins
if [ ! -f "$plugins/libexeclog.so" ] || [ "$0" -nt "$plugins/libexeclog.so" ]; then
  tmp=$plugins.tmp.$$
  rm -rf "$tmp"; mkdir -p "$tmp"
  read -ra glib <<<"$(pkg-config --cflags glib-2.0)"
  sed -e 's/info->system_emulation ? info->system.max_vcpus : 1);/info->system_emulation ? info->system.max_vcpus : 4096);/' \
    -e 's/^    c->last_exec = g_string_new(NULL);$/    if (c->last_exec \&\& c->last_exec->len) { qemu_plugin_outs(c->last_exec->str); qemu_plugin_outs("\\n"); }\n&/' \
    "$src/contrib/plugins/execlog.c" >"$tmp/execlog.c"
  grep -q ': 4096);' "$tmp/execlog.c" && grep -q 'if (c->last_exec && c->last_exec->len)' "$tmp/execlog.c" ||
    { echo "qemu-stock-build: execlog.c no longer looks as expected; revisit its two fixes" >&2; exit 1; }
  for c in "$src/tests/tcg/plugins/insn.c" "$src/tests/tcg/plugins/mem.c" "$tmp/execlog.c"; do
    gcc -shared -fPIC -O2 -I"$src/include/qemu" "${glib[@]}" -o "$tmp/lib$(basename "$c" .c).so" "$c"
  done
  rm -f "$tmp/execlog.c"
  rm -rf "$plugins"; mv "$tmp" "$plugins"
fi
# Whether they load in this QEMU is what the tests check first.
echo "$out"
