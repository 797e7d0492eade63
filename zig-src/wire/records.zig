// SPDX-License-Identifier: MIT
//! The trace records carried inside mempipe chunks: the one definition of
//! the wire format. `gen_ts.zig` turns it into src/wire/records.generated.ts
//! and a Bun test checks the two agree, so Zig and TypeScript cannot drift.
//!
//! Every record is a whole number of little-endian u32 words, so a consumer
//! can decode a chunk through one Uint32Array view. Word 0 holds the kind in
//! its low 8 bits and kind-specific flags above. Addresses, PCs and
//! syscall arguments take one word on 32-bit guests and two (low, high) on
//! 64-bit guests: `addr_words` below. A record never straddles chunks.
//!
//! Ownership runs forward: every record belongs to the instruction or block
//! opened by the nearest `exec`, `block_run` or `block_open` record before
//! it in its chunk (records before the first one happened before the chunk's first
//! instruction: a forked child's first `sysret`). An instruction's or a
//! block's records never straddle chunks, so no record waits for a later
//! one and a chunk decodes in one forward pass.
//!
//!   exec     [head | insn_bytes<<8] [pc]          one instruction ran.
//!            insn_bytes: its size when the server wrote it (`once` on the
//!            plugin backend, for exact coverage blocks); 0: not given
//!   block_def [head | insns<<8 | accesses<<18] [id] [pc 0..insns-1]
//!            [layout 0..accesses-1]   a block's PCs, repeated in every chunk
//!            that uses the block, before its first use there, so chunks
//!            decode alone. accesses > 0: the block's memory layout, known
//!            when it was translated (patched backend) or learned from its
//!            first whole run (plugin backend): one word per
//!            access, in the order they are made, [flags | insn<<7 |
//!            derived<<16 | delta<<17]: `flags` are a mem head's bits 8-14
//!            (size shift, store, sign, big endian, no value), `insn` the
//!            accessing instruction's index in the block, non-decreasing
//!            along the layout. `derived`: the access's address is the
//!            previous entry's plus `delta` (signed 15 bits, wrapping), so
//!            its record has no address (aarch64 ldp/stp, x86
//!            read-modify-write); never on the first entry, nor on one
//!            without a value. On the patched backend a block has a layout
//!            only if every run of it makes all its accesses: one with an
//!            access under a branch inside its instruction (x86 rep strings,
//!            ARM conditional execution, MIPS branch-likely delay slots) or
//!            made inside a helper keeps mem records, the trace's escape.
//!            The plugin backend learns a layout (and which addresses are
//!            derived, from accesses of one instruction) from a run, and a
//!            later run may depart from it: see block_open
//!   block_run [head | id<<8]                      a block ran whole (ids
//!            below 2^24). A block with a layout is followed by all its
//!            accesses without a head, byte after byte: per layout entry,
//!            its address (addr_words words, none for a derived one), then
//!            its value in its own size (1, 2, 4, 8 or 16 bytes; none with
//!            no_value), unaligned; zero to three
//!            bytes after the last pad them to whole words
//!   block_open [head | executed<<8 | written<<18] [id]   a block ran its
//!            first `executed` instructions, and a block with a layout is
//!            followed by its layout's first `written` accesses, as after a
//!            block_run (an instruction may fault after some of its own; 0
//!            without a layout). Accesses after the `written` ones are mem
//!            records, in the same block: on the plugin backend, a run that
//!            departed from its learned layout there (a conditional access,
//!            an x86 rep string's varying count, another distance between
//!            an instruction's accesses). Both servers write a block_run
//!            when the block opens (the plugin backend: a block_open for a
//!            block without a layout yet, or with a larger id) and, while
//!            it is still in its unpublished chunk, turn it into a
//!            block_open when the run departs or a fault or a signal cuts
//!            it short, moving what was written after it one word on
//!   mem      [head | size_shift<<8 | store<<11 | sign<<12 | big_endian<<13
//!            | no_value<<14 | insn<<16] [addr] [value]
//!            one access, after it completed, where no layout tells it.
//!            insn: the accessing instruction's index in the open block (0
//!            after an exec record). value: one word for 1- to 4-byte
//!            accesses, two (low, high) for 8, four (least significant
//!            first) for 16; none with no_value
//!            (`--no-values`). An instruction's accesses come in the order
//!            it made them and a block's in its instructions' order;
//!            accesses QEMU makes inside helpers (MIPS lwl/swr, x86 xsave,
//!            atomics) and ones whose number varies at run time (x86 rep
//!            strings: one execution per iteration) are ordinary records,
//!            so the trace stays exact without an escape.
//!   syscall  [head] [number] [arg 0..5]          (number and args: addr width)
//!   sysret   [head] [number] [ret]
//!   mmap     [head | path_bytes<<8] [addr] [length] [offset] [prot] [flags]
//!            [fd] [path, padded to whole words]   a successful mmap/mmap2
//!   munmap   [head] [addr] [length]               a successful munmap
//!   exit     [head]                              the thread ended normally
//!   regs     [head | words<<8] [entries]          the registers of the
//!            instruction of the exec record before it, as they were before
//!            it ran (`--regs`: plugin backend on QEMU 9.0+, patched
//!            backend): each entry
//!            [register | value_words<<16] [value words], the register an
//!            index into the handshake's `registers`, its bytes as QEMU
//!            gives them (guest byte order) zero-padded to whole words. Only
//!            the registers that changed since the stream's previous regs
//!            record, all of them in a chunk's first, so chunks decode alone;
//!            no record when none changed. Memory records of the instruction
//!            follow it.
//!
//! A syscall, sysret, mmap or munmap record inside a block came after the
//! block's last executed instruction (a syscall ends its block), so memory
//! records after it in the same block are corrupt.
//!
//! `mmap` and `mem` have variable sizes, both told by their head.
const std = @import("std");

pub const Kind = enum(u8) {
    exec = 1,
    mem = 2,
    syscall = 3,
    sysret = 4,
    exit = 5,
    mmap = 6,
    munmap = 7,
    block_def = 8,
    // 9 and 10 were protocol 1's closing `block` and `fence` records.
    block_open = 11,
    regs = 12,
    block_run = 13,
};

/// The high 24 bits of a head word carry a count (block sizes, path length).
pub const count_shift = 8;
/// QEMU's own limit on instructions per translated block (TCG_MAX_INSNS).
pub const block_insns_max = 512;
/// A block_def's or block_open's instruction count: ten bits above the kind.
pub const block_insns_mask: u32 = 0x3ff;
/// A block_def's layout length and a block_open's written accesses.
pub const block_accesses_shift = 18;
pub const block_accesses_mask: u32 = 0xfff;
/// The most accesses a layout lists (QEMU's CANNOLI_TB_MEM_RECORDS_MAX).
pub const block_accesses_max = 2048;
/// A block_run's id takes the 24 bits above its kind.
pub const block_run_id_max: u32 = (1 << 24) - 1;
/// A layout entry: the mem head flags (bits 8-14) low, the instruction
/// above, then whether its address is derived, and from what delta.
pub const layout_flags_mask: u32 = 0x7f;
pub const layout_insn_shift = 7;
pub const layout_insn_mask: u32 = 0x1ff;
pub const layout_derived_bit = 16;
pub const layout_delta_shift = 17;

pub const mmap_path_shift = count_shift;
/// A regs entry's head: the register's index, its value words above.
pub const regs_value_words_shift = 16;
pub const regs_index_mask: u32 = 0xffff;

/// Eight bits: no guest instruction is longer than 15 bytes.
pub const exec_insn_bytes_shift = count_shift;
pub const path_bytes_max = 4096;

/// Three bits: 1 << shift bytes, up to 16.
pub const mem_size_shift_bit = 8;
pub const mem_store_bit = 11;
pub const mem_sign_bit = 12;
pub const mem_big_endian_bit = 13;
pub const mem_no_value_bit = 14;
/// Ten bits: the accessing instruction's index in its block (< block_insns_max).
pub const mem_insn_shift = 16;
pub const mem_insn_mask: u32 = 0x3ff;

pub const syscall_args = 6;

/// Words per record for a guest whose addresses take `addr_words` words;
/// for `mmap`, without its path; for `mem`, the largest (a 16-byte value).
pub fn recordWords(kind: Kind, addr_words: u32) u32 {
    std.debug.assert(addr_words == 1 or addr_words == 2);
    return switch (kind) {
        .exec => 1 + addr_words,
        .mem => 1 + addr_words + 4,
        .syscall => 1 + (1 + syscall_args) * addr_words,
        .sysret => 1 + 2 * addr_words,
        .exit => 1,
        .mmap => 1 + 3 * addr_words + 3,
        .munmap => 1 + 2 * addr_words,
        .block_def => 2, // plus `insns` PCs
        .block_open => 2,
        .block_run => 1,
        .regs => 1, // plus `words`
    };
}

/// Value words of a memory record, from its head.
pub inline fn memValueWords(head: u32) u32 {
    if (head & (1 << mem_no_value_bit) != 0) return 0;
    return switch ((head >> mem_size_shift_bit) & 7) {
        0, 1, 2 => 1,
        3 => 2,
        else => 4,
    };
}

/// Words of the memory record whose head is `head`.
pub inline fn memWords(head: u32, addr_words: u32) u32 {
    return 1 + addr_words + memValueWords(head);
}

/// The head of a memory record (`flags`: size shift, store, sign and
/// big-endian bits in their places; `insn`: index in the open block).
pub inline fn memHead(flags: u32, insn: u32, with_value: bool) u32 {
    std.debug.assert(insn <= mem_insn_mask);
    return @intFromEnum(Kind.mem) | flags | @as(u32, @intFromBool(!with_value)) << mem_no_value_bit | insn << mem_insn_shift;
}

/// Words of a block's layout of `accesses` entries.
pub inline fn layoutWords(accesses: u32) u32 {
    return accesses;
}

/// The mem head a layout entry stands for (what a headed record would carry).
pub inline fn layoutHead(entry: u32) u32 {
    return @intFromEnum(Kind.mem) | (entry & layout_flags_mask) << mem_size_shift_bit |
        layoutInsn(entry) << mem_insn_shift;
}

/// The layout entry (not derived) that stands for the mem head `head`.
pub inline fn layoutEntry(head: u32) u32 {
    return (head >> mem_size_shift_bit) & layout_flags_mask |
        ((head >> mem_insn_shift) & layout_insn_mask) << layout_insn_shift;
}

pub inline fn layoutInsn(entry: u32) u32 {
    return (entry >> layout_insn_shift) & layout_insn_mask;
}

pub inline fn layoutDerived(entry: u32) bool {
    return (entry >> layout_derived_bit) & 1 != 0;
}

/// What a derived entry adds to the previous entry's address.
pub inline fn layoutDelta(entry: u32) i32 {
    // Sign-extends by hand: Zig 0.11's comptime `>>` of a negative i32
    // rounds toward zero.
    const raw: i32 = @intCast(entry >> layout_delta_shift);
    return raw - (raw & 0x4000) * 2;
}

/// `entry` (not derived) as derived: its address is the previous entry's
/// plus `delta`; null when the delta does not fit its signed 15 bits.
pub fn derivedEntry(entry: u32, delta: i64) ?u32 {
    std.debug.assert(!layoutDerived(entry) and entry >> layout_delta_shift == 0);
    if (delta < -(1 << 14) or delta >= 1 << 14) return null;
    const field: u32 = @as(u15, @truncate(@as(u64, @bitCast(delta))));
    return entry | 1 << layout_derived_bit | field << layout_delta_shift;
}

/// A block_run record: block `id` ran whole.
pub inline fn blockRunHead(id: u32) u32 {
    std.debug.assert(id <= block_run_id_max);
    return @intFromEnum(Kind.block_run) | id << count_shift;
}

/// A block_open record's head: `executed` instructions ran, and `written`
/// of the layout's accesses follow.
pub inline fn blockOpenHead(executed: u32, written: u32) u32 {
    std.debug.assert(executed <= block_insns_mask and written <= block_accesses_mask);
    return @intFromEnum(Kind.block_open) | executed << count_shift | written << block_accesses_shift;
}

/// Bytes of an access's record after a block_run: its address unless
/// derived, then its value in its own size.
pub inline fn layoutAccessBytes(entry: u32, addr_words: u32) u32 {
    return (if (layoutDerived(entry)) 0 else addr_words * 4) + valueBytes(layoutHead(entry));
}

/// The bytes a packed value takes: its size, none with no_value.
pub inline fn valueBytes(head: u32) u32 {
    if (head & (1 << mem_no_value_bit) != 0) return 0;
    return @as(u32, 1) << @intCast((head >> mem_size_shift_bit) & 7);
}

pub fn pathWords(path_bytes: u32) u32 {
    std.debug.assert(path_bytes <= path_bytes_max);
    return (path_bytes + 3) / 4;
}

/// The handshake sent with each pipe is JSON; these are its fields (see
/// src/wire/handshake.ts for their meaning).
/// 2: forward ownership (block_open on both backends; no `block` or
/// `fence`), memory records without a pc, values in their own size.
/// 3: static memory layouts in block_def, accesses without a head, and
/// one-word block_run records for blocks that ran whole.
/// 4: a 16-byte access carries all 16 value bytes (3: the low 8).
pub const protocol_version = 4;

test "a memory record's size follows its head" {
    const byte_load = memHead(0 << mem_size_shift_bit, 3, true);
    try std.testing.expectEqual(@as(u32, 4), memWords(byte_load, 2));
    try std.testing.expectEqual(@as(u32, 3), memWords(byte_load, 1));
    try std.testing.expectEqual(@as(u32, 3), (byte_load >> mem_insn_shift) & mem_insn_mask);
    try std.testing.expectEqual(@as(u32, 5), memWords(memHead(3 << mem_size_shift_bit, 0, true), 2));
    try std.testing.expectEqual(@as(u32, 7), memWords(memHead(4 << mem_size_shift_bit, 0, true), 2));
    try std.testing.expectEqual(@as(u32, 16), valueBytes(memHead(4 << mem_size_shift_bit, 0, true)));
    try std.testing.expectEqual(@as(u32, 3), memWords(memHead(3 << mem_size_shift_bit, 0, false), 2));
    try std.testing.expectEqual(@as(u32, memWords(memHead(4 << mem_size_shift_bit, 0, true), 2)), recordWords(.mem, 2));
}

test "a layout entry stands for the mem head it replaces, and derives addresses" {
    const head = memHead(3 << mem_size_shift_bit | 1 << mem_store_bit, 511, true);
    const entry = (head >> mem_size_shift_bit) & layout_flags_mask | 511 << layout_insn_shift;
    try std.testing.expectEqual(head, layoutHead(entry));
    try std.testing.expectEqual(entry, layoutEntry(head));
    try std.testing.expect(!layoutDerived(entry));
    try std.testing.expectEqual(@as(u32, 16), layoutAccessBytes(entry, 2));
    const back8 = entry | 1 << layout_derived_bit | @as(u32, @bitCast(@as(i32, -8))) << layout_delta_shift;
    try std.testing.expectEqual(head, layoutHead(back8));
    try std.testing.expect(layoutDerived(back8));
    try std.testing.expectEqual(@as(i32, -8), layoutDelta(back8));
    try std.testing.expectEqual(back8, derivedEntry(entry, -8).?);
    try std.testing.expectEqual(@as(i32, -16384), layoutDelta(derivedEntry(entry, -16384).?));
    try std.testing.expectEqual(@as(i32, 16383), layoutDelta(derivedEntry(entry, 16383).?));
    try std.testing.expect(derivedEntry(entry, 16384) == null and derivedEntry(entry, -16385) == null);
    try std.testing.expectEqual(@as(u32, 8), layoutAccessBytes(back8, 2));
    const byte_load = memHead(0 << mem_size_shift_bit, 0, true) >> mem_size_shift_bit & layout_flags_mask;
    try std.testing.expectEqual(@as(u32, 5), layoutAccessBytes(byte_load, 1));
    try std.testing.expect(block_accesses_max <= block_accesses_mask);
    try std.testing.expect(block_insns_max <= block_insns_mask and block_accesses_shift >= count_shift + 10);
}

test "records are whole words and fit any chunk" {
    inline for (std.meta.fields(Kind)) |field| {
        const kind: Kind = @enumFromInt(field.value);
        try std.testing.expect(recordWords(kind, 2) * 4 <= 4096);
    }
}
