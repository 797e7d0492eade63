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
//!   exec     [head | insn_bytes<<8] [pc]        insn_bytes: the instruction's
//!            size when the server wrote it (`once` on the plugin backend,
//!            for exact coverage block ends on variable-width ISAs); 0: not given
//!   mem      [head | size_shift<<8 | store<<11 | sign<<12 | big_endian<<13]
//!            [pc] [addr] [value lo] [value hi]
//!   syscall  [head] [number] [arg 0..5]          (number and args: addr width)
//!   sysret   [head] [number] [ret]
//!   exit     [head]                              the thread ended normally
//!   block_def [head | insns<<8] [id] [pc 0..insns-1]  a block's PCs, repeated
//!            in every chunk that uses the block, so chunks decode alone
//!   block    [head | executed<<8] [id]           closes a block: its first
//!            `executed` instructions ran. The records since the previous
//!            block, exec or fence record (memory accesses, syscalls)
//!            happened inside it; a memory record goes after the instruction
//!            with its pc. Records after an exec record belong to that
//!            instruction. A block's or an instruction's records never
//!            straddle chunks.
//!   fence    [head]                              records since the last
//!            block or exec record happened outside any block (in order)
//!   block_open [head | executed<<8] [id]         opens a block (written as
//!            it starts, by the patched-QEMU backend): its first `executed`
//!            instructions ran. The records after it, up to the next exec,
//!            block, block_open or fence record or the chunk's end, happened
//!            inside it (memory accesses after the instruction with their
//!            pc, anything else after its last instruction). Records before
//!            it that no block or instruction owns happened before it.
//!   mmap     [head | path_bytes<<8] [addr] [length] [offset] [prot] [flags]
//!            [fd] [path, padded to whole words]   a successful mmap/mmap2
//!   munmap   [head] [addr] [length]               a successful munmap
//!
//! `mmap` is the one variable-size record: its head carries the length of
//! the mapped file's path (0 for anonymous memory), at most `path_bytes_max`.
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
    block = 9,
    fence = 10,
    block_open = 11,
};

/// The high 24 bits of a head word carry a count (block sizes, path length).
pub const count_shift = 8;
/// QEMU's own limit on instructions per translated block (TCG_MAX_INSNS).
pub const block_insns_max = 512;

pub const mmap_path_shift = count_shift;
/// Eight bits: no guest instruction is longer than 15 bytes.
pub const exec_insn_bytes_shift = count_shift;
pub const path_bytes_max = 4096;

/// Three bits: 1 << shift bytes, up to 16 (only the low 8 bytes of a 16-byte
/// access are carried in `value`).
pub const mem_size_shift_bit = 8;
pub const mem_store_bit = 11;
pub const mem_sign_bit = 12;
pub const mem_big_endian_bit = 13;

pub const syscall_args = 6;

/// Words per record for a guest whose addresses take `addr_words` words;
/// for `mmap`, without its path.
pub fn recordWords(kind: Kind, addr_words: u32) u32 {
    std.debug.assert(addr_words == 1 or addr_words == 2);
    return switch (kind) {
        .exec => 1 + addr_words,
        .mem => 1 + 2 * addr_words + 2,
        .syscall => 1 + (1 + syscall_args) * addr_words,
        .sysret => 1 + 2 * addr_words,
        .exit => 1,
        .mmap => 1 + 3 * addr_words + 3,
        .munmap => 1 + 2 * addr_words,
        .block_def => 2, // plus `insns` PCs
        .block => 2,
        .fence => 1,
        .block_open => 2,
    };
}

pub fn pathWords(path_bytes: u32) u32 {
    std.debug.assert(path_bytes <= path_bytes_max);
    return (path_bytes + 3) / 4;
}

/// The handshake sent with each pipe is JSON; these are its fields (see
/// src/wire/handshake.ts for their meaning).
pub const protocol_version = 1;

test "records are whole words and fit any chunk" {
    inline for (std.meta.fields(Kind)) |field| {
        const kind: Kind = @enumFromInt(field.value);
        try std.testing.expect(recordWords(kind, 2) * 4 <= 4096);
    }
}
