// SPDX-License-Identifier: MIT
//! The columns of one whole block run without a branch per instruction or
//! per access: its PCs as one fixed-size copy, each access's address and
//! value as one masked 8-byte read. BatchDecoder.zig's fast path, taken
//! where a run is whole and its data lies far enough from the chunk's end;
//! its per-access path is the reference these must agree with (a test there
//! fills the same run both ways).
const std = @import("std");
const records = @import("records.zig");
const abi = @import("decoder_abi.zig");
const Columns = abi.Columns;

/// Blocks of at most this many executed instructions are copied into the
/// column as one fixed-size vector (no loop, no mispredicted exit): four in
/// five blocks in busybox gzip. Twice this is the `block_pcs` slack.
const copy_insns_fixed = abi.block_pcs_slack / 2;

/// A layout entry as the branch-free fill uses it, worked out once per
/// chunk when the block is defined (BatchDecoder's define) rather than at
/// each access: whether the data holds the address (`read` all ones) or the
/// previous one's plus `delta` does (`read` zero), and the bits of an 8-byte
/// read its value keeps, with the bytes each takes.
pub const RunStep = struct {
    read: u64,
    delta: u64,
    value_mask: u64,
    addr_bytes: u32,
    value_bytes: u32,

    pub fn of(comptime addr_words: u32, entry: u32) RunStep {
        const derived = records.layoutDerived(entry);
        const value_bytes = records.valueBytes(records.layoutHead(entry));
        return .{
            .read = if (derived) 0 else std.math.maxInt(u64),
            .delta = @bitCast(@as(i64, records.layoutDelta(entry))),
            .value_mask = if (value_bytes >= 8) std.math.maxInt(u64) else (@as(u64, 1) << @intCast(8 * value_bytes)) - 1,
            .addr_bytes = if (derived) 0 else addr_words * 4,
            .value_bytes = value_bytes,
        };
    }
};

/// Copies a block's first `n` PCs from `pcs` to the column at row
/// `exec`; the caller checked `n` fits. Blocks of up to 16 go as one
/// fixed-size vector (no loop, no mispredicted exit), the copy past
/// `n` landing in the column's free room; `pcs` reaches past the
/// chunk's PCs by `abi.block_pcs_slack`.
pub inline fn copyPcs(columns: *const Columns, exec: u64, pcs: []const f64, n: u32) void {
    const room = columns.exec_capacity - exec;
    std.debug.assert(n <= room and pcs.len >= n + abi.block_pcs_slack);
    const out = columns.exec_pc[exec..columns.exec_capacity];
    if (n <= copy_insns_fixed and room >= copy_insns_fixed) {
        out[0..copy_insns_fixed].* = pcs[0..copy_insns_fixed].*;
    } else if (n <= 2 * copy_insns_fixed and room >= 2 * copy_insns_fixed) {
        out[0 .. 2 * copy_insns_fixed].* = pcs[0 .. 2 * copy_insns_fixed].*;
    } else {
        @memcpy(out[0..n], pcs[0..n]);
    }
}

/// Bytes a PutRunData may read past a run's data.
pub const run_read_slack = 8;

/// Fills the address and value columns of a whole run's accesses (rows `m`
/// on, their layout's `steps`, their data from `bytes` on), for a run where
/// no value takes 16 bytes and `bytes` reaches `run_read_slack` past the
/// data: every address and value is then one 8-byte read, masked, with no
/// branch on the entry (a derived address or a value's size).
pub const PutRunData = *const fn (columns: *const Columns, m: usize, steps: []const RunStep, bytes: []const u8) void;

/// The PutRunData for the columns `columns` wants, chosen once per chunk:
/// each set of columns has its own loop, which tests none of them.
pub fn putRunDataFor(comptime addr_words: u32, columns: *const Columns) PutRunData {
    return switch (columns.wantedOf(&.{ .mem_addr, .mem_value_lo, .mem_value_hi, .mem_value_upper })) {
        inline else => |set| &PutRunDataOf(addr_words, set).put,
    };
}

/// PutRunData for one set of columns (bits: address, value_lo, value_hi,
/// value_upper).
fn PutRunDataOf(comptime addr_words: u32, comptime set: u4) type {
    return struct {
        /// Called through a pointer: inlined into blockRuns, its loop
        /// reloaded a spilled register at every access.
        fn put(columns: *const Columns, m: usize, steps: []const RunStep, bytes: []const u8) void {
            // In locals: the compiler cannot tell that the column stores
            // leave `columns` alone, and would load these on every access.
            const addr_column = columns.mem_addr;
            const lo_column = columns.mem_value_lo;
            const hi_column = columns.mem_value_hi;
            const upper_lo_column = columns.mem_value_upper_lo;
            const upper_hi_column = columns.mem_value_upper_hi;
            var data: usize = 0;
            var address: u64 = 0;
            for (steps, m..) |*step, row| {
                address = (std.mem.readIntLittle(u64, bytes[data..][0..8]) & step.read) | ((address +% step.delta) & ~step.read);
                if (addr_words == 1) address &= 0xffff_ffff;
                data += step.addr_bytes;
                const value = std.mem.readIntLittle(u64, bytes[data..][0..8]) & step.value_mask;
                data += step.value_bytes;
                if (set & 1 != 0) addr_column[row] = @floatFromInt(address);
                if (set & 2 != 0) lo_column[row] = @truncate(value);
                if (set & 4 != 0) hi_column[row] = @truncate(value >> 32);
                if (set & 8 != 0) {
                    upper_lo_column[row] = 0;
                    upper_hi_column[row] = 0;
                }
            }
        }
    };
}

/// Fills the columns that a whole run's layout alone decides (rows `m`
/// on: mem_pc, mem_size, mem_is_store, mem_exec_index, mem_flags, those
/// wanted), its instructions' PCs at `pcs` and its first row `first_row`.
pub const PutRunMeta = *const fn (columns: *const Columns, m: usize, layout: []const u32, pcs: [*]const f64, first_row: u32) void;

/// The PutRunMeta for the columns `columns` wants, chosen once per chunk;
/// null when it wants none of them.
pub fn putRunMetaFor(columns: *const Columns) ?PutRunMeta {
    return switch (columns.wantedOf(&.{ .mem_pc, .mem_size, .mem_is_store, .mem_exec_index, .mem_flags })) {
        0 => null,
        inline else => |set| &PutRunMetaOf(set).put,
    };
}

/// PutRunMeta for one set of columns (bits: mem_pc, mem_size,
/// mem_is_store, mem_exec_index, mem_flags), with the same values as the
/// decoder's putMemMeta gives an access one at a time.
fn PutRunMetaOf(comptime set: u5) type {
    return struct {
        fn put(columns: *const Columns, m: usize, layout: []const u32, pcs: [*]const f64, first_row: u32) void {
            // In locals, as in PutRunDataOf.
            const pc_column = columns.mem_pc;
            const size_column = columns.mem_size;
            const store_column = columns.mem_is_store;
            const exec_index_column = columns.mem_exec_index;
            const flags_column = columns.mem_flags;
            for (layout, m..) |entry, row| {
                const head = records.layoutHead(entry);
                const insn = records.layoutInsn(entry);
                if (set & 1 != 0) pc_column[row] = pcs[insn];
                if (set & 2 != 0) size_column[row] = abi.memSize(head);
                if (set & 4 != 0) store_column[row] = abi.memIsStore(head);
                if (set & 8 != 0) exec_index_column[row] = first_row + insn;
                if (set & 16 != 0) flags_column[row] = abi.memFlags(head);
            }
        }
    };
}
