#!/usr/bin/env bash
# Builds qemu-user with cannoli's patch series (patches/qemu-7.2/) applied:
# the `-cannoli <server.so>` backend. Last line printed: the bin directory
# holding qemu-<arch> for each target.
#
# Usage: scripts/qemu-build.sh [--source DIR] [--targets mipsel,aarch64,...]
#   --source DIR  an unpacked Debian qemu 7.2 source tree (Debian patches
#                 applied, as dpkg-source -x leaves it); by default the one
#                 scripts/build-oracles.sh unpacked under the cache, else
#                 `apt-get source qemu` (needs a bookworm deb-src entry;
#                 scripts/setup-system.sh adds one).
#   --targets     linux-user targets [default: mipsel,aarch64,riscv64,x86_64]
# Cache: ${CANNOLI_CACHE:-$HOME/.cache/cannoli}/qemu-patched/<hash>/bin, where
#   <hash> covers the series, this script and the targets: a new series
#   builds anew, an unchanged one is reused. The source is copied, never
#   patched in place. About 4 minutes per two targets on 2 cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
CACHE=${CANNOLI_CACHE:-$HOME/.cache/cannoli}
SERIES=$repo/patches/qemu-7.2
targets=mipsel,aarch64,riscv64,x86_64
source=

while [ $# -gt 0 ]; do
  case "$1" in
    --source) source=${2:?--source needs a directory}; shift 2 ;;
    --targets) targets=${2:?--targets needs a list}; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "qemu-build: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

patches=("$SERIES"/*.patch)
[ -e "${patches[0]}" ] || { echo "qemu-build: no patches in $SERIES" >&2; exit 1; }
hash=$( (cat "${patches[@]}" "$0"; echo "$targets") | sha256sum | cut -c1-16)
out=$CACHE/qemu-patched/$hash
IFS=, read -ra target_list <<<"$targets"

complete() {
  for t in "${target_list[@]}"; do [ -x "$out/bin/qemu-$t" ] || return 1; done
}
if complete; then
  echo "qemu-build: reusing the build of this series" >&2
  echo "$out/bin"
  exit 0
fi

[ -n "$source" ] || source=$("$here/qemu-source.sh")
[ -f "$source/include/qemu/qemu-plugin.h" ] || { echo "qemu-build: $source is not a QEMU source tree" >&2; exit 1; }
grep -q '^7\.2' "$source/VERSION" || echo "qemu-build: warning: $source is QEMU $(cat "$source/VERSION"), the series is for 7.2" >&2

work=$out.tmp
rm -rf "$work"; mkdir -p "$work/src" "$work/build"
trap 'echo "qemu-build: failed; the tree is left in $work" >&2' ERR
# Copy without quilt's .pc state: the tree as dpkg-source left it.
tar -C "$source" --exclude=./.pc -cf - . | tar -C "$work/src" -xf -
for p in "${patches[@]}"; do
  patch -d "$work/src" -p1 --batch --forward --quiet <"$p" ||
    { echo "qemu-build: $(basename "$p") does not apply to $source" >&2; exit 1; }
done

target_args=$(printf '%s-linux-user,' "${target_list[@]}")
echo "qemu-build: building ${target_args%,} in $work/build" >&2
(cd "$work/build" &&
  ../src/configure --target-list="${target_args%,}" --enable-cannoli --enable-plugins \
    --disable-system --disable-docs --disable-tools --disable-install-blobs \
    --with-git-submodules=ignore --disable-werror >configure.log 2>&1) ||
  { tail -20 "$work/build/configure.log" >&2; exit 1; }
(cd "$work/build" && ninja "${target_list[@]/#/qemu-}" >ninja.log 2>&1) ||
  { grep -B2 -A8 -m3 'error' "$work/build/ninja.log" >&2 || tail -20 "$work/build/ninja.log" >&2; exit 1; }

rm -rf "$out"; mkdir -p "$out/bin"
for t in "${target_list[@]}"; do cp "$work/build/qemu-$t" "$out/bin/"; done
cp "${patches[@]}" "$out/"
rm -rf "$work"
echo "$out/bin"
