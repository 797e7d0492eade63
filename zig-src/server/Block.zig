// SPDX-License-Identifier: GPL-2.0-or-later
//! A translated block recorded as a whole (the block-level encoding): its
//! PCs, and one inline counter per instruction (but the first of two or
//! more, which the block callback shows started) that tells, when the next
//! block starts, how far this one really ran (a fault may cut it short).
//! The counters are used only while the guest has a single thread (QEMU
//! 7.2's inline adds are not atomic, and a second thread would share them);
//! QEMU 9.0+ counts per vCPU instead (VcpuCounter.zig).
//!
//! The plugin API says nothing about an instruction's memory operations
//! when it is translated, so a block's memory layout (records.zig) is
//! learned from its first whole run instead: the accesses it made, in order.
//! Later runs that make the same accesses write them without heads; a run
//! that departs from it writes heads from there on (ThreadStream.zig).
const std = @import("std");
const assert = std.debug.assert;
const records = @import("wire").records;

const Block = @This();

id: u32,
insns: u32,
pcs: [*]u64,
/// Incremented by translated code (inline add) before each instruction
/// runs, but the first of a block of two or more (`counted`).
counters: [*]u64,
/// The last instruction's counter: the one a block change reads.
last_counter: *volatile u64,
/// `counters` as of the last time a cut-short execution was settled.
settled: [*]u64,
/// Which chunk of which stream already carries this block's definition
/// (see `defKey`), so each chunk defines the blocks it uses exactly once.
def_key: u64 = 0,
/// The layout learned from a whole run: written once (null to set),
/// then read by every thread that runs the block (QEMU 9.0+ shares blocks).
learned: ?*const Layout = null,
/// A run made more accesses than a layout may list: do not learn again.
unlearnable: bool = false,

/// A block's memory layout, learned from a whole run of it, in the forms
/// the hot path compares and writes with.
pub const Layout = struct {
    /// records.zig's layout entries, as the block_def carries them.
    entries: []const u32,
    /// One step per entry, then `Step.end` (at `steps_end`): what a run's
    /// next access is compared with, and how it is written.
    steps: [*]const Step,
    steps_end: [*]const Step,
    /// What a whole run's accesses take, before padding, and padded.
    data_bytes: u32,
    padded_bytes: u32,
    /// What a block opening takes at most: its definition, its record and
    /// its accesses (ThreadStream.enterBlock's reservation).
    room_bytes: u32,
    /// The block's block_run record, or 0 when its id is too large for one.
    run_head: u32,
};

/// A layout entry as the memory callback uses it: one 32-byte load tells
/// whether the access keeps to it and how to write it.
pub const Step = extern struct {
    /// The plugin's memory callback's key of the access it was learned
    /// from (`memKey`: QEMU's meminfo and the instruction): an access
    /// with the same key keeps to the step without taking its meminfo
    /// apart. `no_key` where not known: only the head compares.
    key: u64,
    /// A value of up to 8 bytes read 8 wide in host order: the bits of
    /// the access (little endian) ...
    value_mask: u64,
    /// ... or what a byte swap shifts away (big endian).
    swap_shift: u8,
    /// Bytes the access's value takes without a head (16 for 16 bytes).
    value_bytes: u8,
    flags: u8,
    _reserved: u8 = 0,
    /// The mem head the entry stands for; 0 (no head is 0) at the end.
    head: u32,
    /// A derived entry's distance from the previous access's address.
    delta: u64,

    pub const derived: u8 = 1;
    pub const big_endian: u8 = 2;
    /// 16 bytes: two 8-byte reads.
    pub const wide: u8 = 4;

    pub const no_key: u64 = std.math.maxInt(u64);
    /// After the last entry: matches no access.
    pub const end: Step = .{ .key = no_key, .value_mask = 0, .swap_shift = 0, .value_bytes = 0, .flags = 0, .head = 0, .delta = 0 };

    comptime {
        assert(@sizeOf(Step) == 32);
    }

    /// The step for layout entry `entry`, learned from an access whose
    /// callback key was `key`.
    pub fn of(entry: u32, key: u64) Step {
        const head = records.layoutHead(entry);
        const value_bytes = records.valueBytes(head);
        assert(value_bytes == 0 or value_bytes == 1 or value_bytes == 2 or value_bytes == 4 or value_bytes == 8 or value_bytes == 16);
        const narrow = value_bytes <= 8;
        const bits: u7 = if (narrow) @intCast(8 * value_bytes) else 64;
        return .{
            .key = key,
            .value_mask = if (bits == 64) std.math.maxInt(u64) else (@as(u64, 1) << @intCast(bits)) - 1,
            .swap_shift = @intCast(64 - @as(u32, bits)),
            .value_bytes = @intCast(value_bytes),
            .flags = @as(u8, if (records.layoutDerived(entry)) derived else 0) |
                @as(u8, if (head >> records.mem_big_endian_bit & 1 != 0) big_endian else 0) |
                @as(u8, if (narrow) 0 else wide),
            .head = head,
            .delta = @bitCast(@as(i64, records.layoutDelta(entry))),
        };
    }
};

/// The key a plugin memory callback's access is known by: QEMU's meminfo
/// (size, sign, byte order, direction, MMU index) and the instruction's
/// index in its block. Equal keys make equal mem heads.
pub inline fn memKey(info: u32, insn: u32) u64 {
    return @as(u64, insn) << 32 | info;
}

/// The learned layout, as far as this thread can see it.
pub inline fn layout(self: *const Block) ?*const Layout {
    return @atomicLoad(?*const Layout, &self.learned, .Acquire);
}

/// Publishes `candidate` unless another thread's layout came first;
/// returns whether it did (the caller frees a loser).
pub fn learn(self: *Block, candidate: *const Layout) bool {
    return @cmpxchgStrong(?*const Layout, &self.learned, null, candidate, .Release, .Monotonic) == null;
}

pub fn create(arena: std.mem.Allocator, id: u32, pcs: []const u64) !*Block {
    assert(pcs.len > 0 and pcs.len <= records.block_insns_max);
    const block = try arena.create(Block);
    const storage = try arena.alloc(u64, 3 * pcs.len);
    @memcpy(storage[0..pcs.len], pcs);
    @memset(storage[pcs.len..], 0);
    block.* = .{
        .id = id,
        .insns = @intCast(pcs.len),
        .pcs = storage.ptr,
        .counters = storage.ptr + pcs.len,
        .last_counter = &storage[2 * pcs.len - 1],
        .settled = storage.ptr + 2 * pcs.len,
    };
    return block;
}

/// The last instruction's counter as the block starts: if it has not moved
/// by the time the next block starts, this execution was cut short.
pub inline fn entryMark(self: *const Block) u64 {
    return self.last_counter.*;
}

/// How many instructions of the execution that began at `entry_mark` ran
/// (a faulting instruction counts: it started, as QEMU's execlog says).
pub fn executed(self: *Block, entry_mark: u64) u32 {
    const n = self.insns;
    const counters: [*]volatile u64 = self.counters;
    if (counters[n - 1] != entry_mark) return n;
    // Since the last settlement every complete execution moved all counters
    // by one, and this cut execution moved only those of the instructions
    // it started: they are the ones ahead of the last instruction's count.
    const complete = counters[n - 1] -% self.settled[n - 1];
    // The first instruction started: the block callback ran, at its entry
    // (so a block of two or more has no counter of its own for it).
    var ran: u32 = 1;
    for (1..n) |index| {
        if (counters[index] -% self.settled[index] > complete) ran = @intCast(index + 1);
        self.settled[index] = counters[index];
    }
    return ran;
}

/// Identifies one chunk of one stream, and whether the definition there
/// carries the layout: `generation` changes with each stream (fork, new
/// thread), `sequence` with each chunk, and a layout learned after the
/// chunk defined the block makes the next run define it again.
pub fn defKey(generation: u32, sequence: u64, with_layout: bool) u64 {
    assert(sequence < 1 << 38);
    // The fields do not overlap, so adding is or-ing: one lea for the
    // block callback's fast path, which computes it at every block.
    return (@as(u64, generation) << 40) + ((sequence << 1) + (2 + @as(u64, @intFromBool(with_layout))));
}

test "a complete execution runs every instruction" {
    var arena = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena.deinit();
    const block = try Block.create(arena.allocator(), 1, &.{ 0x10, 0x14, 0x18 });
    const mark = block.entryMark();
    for (0..3) |i| block.counters[i] += 1;
    try std.testing.expectEqual(@as(u32, 3), block.executed(mark));
}

test "cut-short executions are found, also after earlier cuts" {
    var arena = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena.deinit();
    const block = try Block.create(arena.allocator(), 1, &.{ 0x10, 0x14, 0x18, 0x1c });
    // Two complete runs, then one cut after the second instruction.
    for (0..2) |_| {
        const mark = block.entryMark();
        for (0..4) |i| block.counters[i] += 1;
        try std.testing.expectEqual(@as(u32, 4), block.executed(mark));
    }
    var mark = block.entryMark();
    block.counters[0] += 1;
    block.counters[1] += 1;
    try std.testing.expectEqual(@as(u32, 2), block.executed(mark));
    // A complete run, then a cut on the first instruction.
    mark = block.entryMark();
    for (0..4) |i| block.counters[i] += 1;
    try std.testing.expectEqual(@as(u32, 4), block.executed(mark));
    mark = block.entryMark();
    block.counters[0] += 1;
    try std.testing.expectEqual(@as(u32, 1), block.executed(mark));
    // A fault on the last instruction still counts it.
    mark = block.entryMark();
    for (0..4) |i| block.counters[i] += 1;
    try std.testing.expectEqual(@as(u32, 4), block.executed(mark));
}

/// Whether instruction `index` of a block of `insns` gets an inline
/// counter: not the first of two or more, which the block callback shows
/// started (an add per block saved); a block of one keeps it, as its last
/// instruction's counter is what tells a whole run.
pub fn counted(index: usize, insns: usize) bool {
    assert(index < insns);
    return index > 0 or insns == 1;
}

test "a cut on the first instruction of a block whose first has no counter" {
    var arena = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena.deinit();
    const block = try Block.create(arena.allocator(), 1, &.{ 0x10, 0x14, 0x18 });
    try std.testing.expect(!counted(0, 3) and counted(1, 3) and counted(0, 1));
    // A whole run moves the counted ones; then one cut on its first.
    var mark = block.entryMark();
    for (1..3) |i| block.counters[i] += 1;
    try std.testing.expectEqual(@as(u32, 3), block.executed(mark));
    mark = block.entryMark();
    try std.testing.expectEqual(@as(u32, 1), block.executed(mark));
    // One cut on its second, after a whole run.
    mark = block.entryMark();
    for (1..3) |i| block.counters[i] += 1;
    try std.testing.expectEqual(@as(u32, 3), block.executed(mark));
    mark = block.entryMark();
    block.counters[1] += 1;
    try std.testing.expectEqual(@as(u32, 2), block.executed(mark));
}
