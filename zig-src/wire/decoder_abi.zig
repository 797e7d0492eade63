// SPDX-License-Identifier: MIT
//! What Bun and the native chunk decoder (BatchDecoder.zig) hand each other
//! through bun:ffi: a call's status, a chunk's counts, and the columns a
//! fill writes. consumer_abi_ts.zig generates src/consumer_abi.generated.ts
//! from these, and a Bun test checks the two agree, so the layouts Bun
//! reads are defined here once.
const std = @import("std");
const records = @import("records.zig");

/// What the C ABI's calls return (decoder_c_api.zig).
pub const Status = enum(u32) { ok = 0, corrupt = 1, columns_too_small = 2, out_of_memory = 3, bad_argument = 4 };

/// A chunk's event counts, read by Bun (src/consumer_abi.generated.ts).
pub const Counts = extern struct {
    instructions: u32 = 0,
    reads: u32 = 0,
    writes: u32 = 0,
    syscalls: u32 = 0,
    /// syscall, sysret, mmap, munmap and regs records: events the columns do not carry.
    others: u32 = 0,
    /// 1 when the stream's `exit` record was in the chunk.
    exited: u32 = 0,
    /// Word offset of the first record that failed validation.
    corrupt_word: u32 = 0,
    /// Exec records that carry their instruction's size (records.zig): the
    /// columns do not, so a per-event tracer gets these chunks walked.
    sized_execs: u32 = 0,
    /// Runs (Columns.run_*): block_open records that ran an instruction, and exec records.
    runs: u32 = 0,
    /// Entries of the regs records: registers listed.
    register_entries: u32 = 0,
};

/// The columns a fill may write, as bits of `Columns.wanted`: a batch
/// handler pays only for the columns it reads (src/runtime/decode.ts learns
/// which from the chunks before).
pub const Column = enum(u5) {
    exec_pc,
    mem_pc,
    mem_addr,
    mem_size,
    mem_is_store,
    mem_value_lo,
    mem_value_hi,
    /// mem_value_upper_lo and mem_value_upper_hi.
    mem_value_upper,
    mem_exec_index,
    mem_flags,
    /// run_pcs_at, run_length, run_first_exec and run_block_id.
    runs,
    /// other_kind, other_word and other_exec: where the records the other
    /// columns do not carry (syscall, sysret, mmap, munmap, regs) sit.
    others,
    /// reg_exec, reg_index, reg_value_lo and reg_value_hi: the entries of
    /// the regs records (`--regs`), one row per register listed.
    registers,

    pub fn bit(column: Column) u64 {
        return @as(u64, 1) << @intFromEnum(column);
    }

    /// The columns with one row per memory access.
    pub const memory_bits = bit(.mem_pc) | bit(.mem_addr) | bit(.mem_size) | bit(.mem_is_store) |
        bit(.mem_value_lo) | bit(.mem_value_hi) | bit(.mem_value_upper) | bit(.mem_exec_index) | bit(.mem_flags);
    /// Those a layout entry alone decides (with the run's rows): no
    /// address or value in them.
    pub const memory_meta_bits = bit(.mem_pc) | bit(.mem_size) | bit(.mem_is_store) | bit(.mem_exec_index) | bit(.mem_flags);
};

/// The run_block_id of an instruction recorded alone (an exec record).
pub const no_block_id: u32 = std.math.maxInt(u32);

/// Where the columns go; written by Bun (src/consumer_abi.generated.ts).
/// Every pointer is valid for its capacity; a column that is not wanted is
/// never written, so its capacity may be smaller than the chunk needs.
pub const Columns = extern struct {
    /// `Column` bits: the columns to write; the others are left alone.
    wanted: u64,
    exec_pc: [*]f64,
    exec_capacity: u64,
    mem_capacity: u64,
    mem_pc: [*]f64,
    mem_addr: [*]f64,
    mem_size: [*]u8,
    mem_is_store: [*]u8,
    mem_value_lo: [*]u32,
    mem_value_hi: [*]u32,
    /// A 16-byte access's value bytes 8-11 and 12-15 (0 for the others).
    mem_value_upper_lo: [*]u32,
    mem_value_upper_hi: [*]u32,
    /// Row in exec_pc of the instruction that made each access.
    mem_exec_index: [*]u32,
    /// Each access's head from its lowest flag up (head >> mem_size_shift_bit:
    /// size, store, sign, big endian).
    mem_flags: [*]u8,
    /// The PCs of the chunk's block definitions and exec records, each
    /// definition once, in chunk order; always written. Its capacity must be
    /// at least the chunk's words plus `block_pcs_slack` (no record has more
    /// PCs than words).
    block_pcs: [*]f64,
    block_pcs_capacity: u64,
    /// One row per run: a block's executed instructions (block_open) or
    /// one instruction (exec). Its PCs are block_pcs[pcs_at..][0..length],
    /// its first row in exec_pc is first_exec.
    run_capacity: u64,
    run_pcs_at: [*]u32,
    run_length: [*]u32,
    run_first_exec: [*]u32,
    run_block_id: [*]u32,
    /// One row per syscall, sysret, mmap, munmap or regs record (Counts.others):
    /// its kind, its word offset in the chunk, and the instructions before it.
    other_capacity: u64,
    other_kind: [*]u8,
    other_word: [*]u32,
    other_exec: [*]u32,
    /// One row per register a regs record lists (Counts.register_entries):
    /// the instruction's row in exec_pc, the register's index in the
    /// handshake's list, and the value's first 8 bytes as two words.
    reg_capacity: u64,
    reg_exec: [*]u32,
    reg_index: [*]u32,
    reg_value_lo: [*]u32,
    reg_value_hi: [*]u32,

    pub fn wants(columns: *const Columns, column: Column) bool {
        return columns.wanted & column.bit() != 0;
    }

    /// Which of `list` the columns want: bit i for list[i] (the fills pick
    /// one loop per such set, once per chunk).
    pub fn wantedOf(columns: *const Columns, comptime list: []const Column) std.meta.Int(.unsigned, list.len) {
        var set: std.meta.Int(.unsigned, list.len) = 0;
        inline for (list, 0..) |column, index| set |= @as(@TypeOf(set), @intFromBool(columns.wants(column))) << index;
        return set;
    }
};

/// What mem_size, mem_is_store and mem_flags hold for an access whose mem
/// head (or layout entry's head) is `head`.
pub inline fn memSize(head: u32) u8 {
    return @as(u8, 1) << @intCast((head >> records.mem_size_shift_bit) & 7);
}

pub inline fn memIsStore(head: u32) u8 {
    return @intCast((head >> records.mem_store_bit) & 1);
}

pub inline fn memFlags(head: u32) u8 {
    return @truncate(head >> records.mem_size_shift_bit);
}

/// Room past a chunk's PCs in `block_pcs` for the fixed-size copies of a
/// run's PCs (run_fill.zig).
pub const block_pcs_slack = 16;

/// Column storage for tests: room for `execs` instructions, `mems`
/// accesses and chunks of up to `words` words, every column wanted.
pub fn TestColumns(comptime execs: usize, comptime mems: usize) type {
    const words = 64;
    return struct {
        exec_pc: [execs]f64 = undefined,
        mem_pc: [mems]f64 = undefined,
        mem_addr: [mems]f64 = undefined,
        mem_size: [mems]u8 = undefined,
        mem_is_store: [mems]u8 = undefined,
        mem_value_lo: [mems]u32 = undefined,
        mem_value_hi: [mems]u32 = undefined,
        mem_value_upper_lo: [mems]u32 = undefined,
        mem_value_upper_hi: [mems]u32 = undefined,
        mem_exec_index: [mems]u32 = undefined,
        mem_flags: [mems]u8 = undefined,
        block_pcs: [words + block_pcs_slack]f64 = .{0} ** (words + block_pcs_slack),
        run_pcs_at: [words / 2]u32 = undefined,
        run_length: [words / 2]u32 = undefined,
        run_first_exec: [words / 2]u32 = undefined,
        run_block_id: [words / 2]u32 = undefined,
        other_kind: [words / 2]u8 = undefined,
        other_word: [words / 2]u32 = undefined,
        other_exec: [words / 2]u32 = undefined,
        reg_exec: [words / 2]u32 = undefined,
        reg_index: [words / 2]u32 = undefined,
        reg_value_lo: [words / 2]u32 = undefined,
        reg_value_hi: [words / 2]u32 = undefined,

        pub fn columns(self: *@This()) Columns {
            return .{
                .wanted = std.math.maxInt(u64),
                .exec_pc = &self.exec_pc,
                .exec_capacity = execs,
                .mem_capacity = mems,
                .mem_pc = &self.mem_pc,
                .mem_addr = &self.mem_addr,
                .mem_size = &self.mem_size,
                .mem_is_store = &self.mem_is_store,
                .mem_value_lo = &self.mem_value_lo,
                .mem_value_hi = &self.mem_value_hi,
                .mem_value_upper_lo = &self.mem_value_upper_lo,
                .mem_value_upper_hi = &self.mem_value_upper_hi,
                .mem_exec_index = &self.mem_exec_index,
                .mem_flags = &self.mem_flags,
                .block_pcs = &self.block_pcs,
                .block_pcs_capacity = self.block_pcs.len,
                .run_capacity = words / 2,
                .run_pcs_at = &self.run_pcs_at,
                .run_length = &self.run_length,
                .run_first_exec = &self.run_first_exec,
                .run_block_id = &self.run_block_id,
                .other_capacity = words / 2,
                .other_kind = &self.other_kind,
                .other_word = &self.other_word,
                .other_exec = &self.other_exec,
                .reg_capacity = words / 2,
                .reg_exec = &self.reg_exec,
                .reg_index = &self.reg_index,
                .reg_value_lo = &self.reg_value_lo,
                .reg_value_hi = &self.reg_value_hi,
            };
        }
    };
}
