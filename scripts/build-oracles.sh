#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds QEMU 7.2's own plugins, unmodified, from Debian's qemu source package
# as test oracles: cannoli's counts and traces must match theirs.
# Usage: scripts/build-oracles.sh   (last line printed: the oracle dir)
#   Cache: ${CANNOLI_CACHE:-$HOME/.cache/cannoli}/{qemu-src,oracles}, outside
#   the repo because the unpacked source is ~300 MB. Seeds from
#   ${CANNOLI_QEMU_SEED:-/var/cache/cannoli/src}/qemu_7.2* if present, else
#   runs `apt-get source qemu`.
#   Run: qemu-<arch> -plugin $ORACLES/libX.so[,key=val,...] -d plugin -D log ./guest
#
# Output formats (details and caveats: test/oracles/FORMATS.md). Everything
# goes through qemu_plugin_outs, i.e. the QEMU log: nothing without
# `-d plugin`; stderr without `-D file`. Exit output only on a normal exit
# (none if the guest dies of a signal); a forked child prints its own.
#
# libexeclog.so: one line per executed instruction, written when that vCPU
#   starts its next one (the last at exit); a faulting access is not listed:
#     <cpu>, 0x<pc>, 0x<opcode>, "<disas>"[, load|store, 0x<vaddr>]...
#   cpu %u (one vCPU per guest thread, indexes reused); pc %PRIx64; opcode =
#   4 bytes of QEMU's copy of the insn as little-endian u32, %PRIx32 (bytes
#   past the insn size are junk); disas is arch-specific and may hold ", "
#   and tabs; then ", load, 0x%08PRIx64" / ", store, 0x%08PRIx64" per access
#   in order (guest vaddr, no size or value). Args: ifilter=<disas prefix>,
#   afilter=<hex pc>. With several threads records can be glued onto one
#   line (record and "\n" are separate writes).
# libinsn.so: at exit
#   (no args)   "cpu <i> insns: <n>" per vCPU index with n>0, "total insns: <n>";
#               while running "detected repeat execution @ 0x<pc32>" when a
#               vCPU runs the same pc twice in a row (x86 rep); pc cut to 32 bits
#   inline=on   "insns: <n>" (shared non-atomic counter: wrong with threads)
#   sizes=on    "len <b> bytes: <n> insns", counts translated, not executed
#   match=<p>   also per matching execution: "0x<pc>, '<disas>', <h> hits,
#               <m> match hits, Δ+<d> since last match, <a> avg insns/match"
# libmem.so: at exit; with no args it prints nothing
#   inline=on   "inline mem accesses: <n>"
#   callback=on "callback mem accesses: <n>"
#   haddr=on    "io accesses: <n>" (0 in linux-user)
#   track=r|w|rw  broken on 7.2: r counts stores, w counts all; keep rw
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
CACHE=${CANNOLI_CACHE:-$HOME/.cache/cannoli}
OUT=$CACHE/oracles
# A pre-downloaded copy of the source package, if this machine has one.

"$here/setup-system.sh" >/dev/null

src=$("$here/qemu-source.sh")

mkdir -p "$OUT"
cflags=(-shared -fPIC -O2 -I"$src/include/qemu")
read -ra glib <<<"$(pkg-config --cflags glib-2.0)"
# One change, to execlog only, which does not touch what it prints: in user
# mode it grows its per-vCPU GPtrArray while other threads read it without
# the lock (its own comment says that is safe; it is not: a realloc frees the
# array under them, and a threads guest crashed QEMU with SIGBUS/SIGSEGV now
# and then, cannoli or not). Reserving 4096 vCPUs up front means no realloc.
fixed_execlog=$OUT/execlog.c
sed 's/last_exec = g_ptr_array_new();/last_exec = g_ptr_array_sized_new(4096);/' "$src/contrib/plugins/execlog.c" >"$fixed_execlog"
grep -q 'g_ptr_array_sized_new(4096)' "$fixed_execlog" ||
  { echo "build-oracles: execlog.c no longer looks as expected; revisit its vCPU array fix" >&2; exit 1; }
for rel in contrib/plugins/execlog.c tests/plugin/insn.c tests/plugin/mem.c; do
  so=$OUT/lib$(basename "$rel" .c).so
  [ "$so" -nt "$src/$rel" ] && [ "$so" -nt "$src/include/qemu/qemu-plugin.h" ] && [ "$so" -nt "$0" ] && continue
  c=$src/$rel
  [ "$rel" = contrib/plugins/execlog.c ] && c=$fixed_execlog
  gcc "${cflags[@]}" "${glib[@]}" -o "$so.tmp" "$c"
  # QEMU dlopens with immediate binding and exits 1 if that fails: check
  # the plugin loads before trusting it (the host's /bin/true as guest).
  qemu-x86_64 -plugin "$so.tmp" /bin/true >/dev/null 2>&1 ||
    { echo "build-oracles: $so.tmp does not load in qemu-x86_64" >&2; exit 1; }
  mv "$so.tmp" "$so"
done
echo "$OUT"
