// SPDX-License-Identifier: MIT
//! The block definitions of the chunk being decoded, by id (BatchDecoder's):
//! open addressing, kept at most half full and doubled when it would not
//! be. Entries of earlier chunks are told apart by a stamp, so a chunk
//! starts with a bump instead of a clear: chunks decode alone, and a block
//! defined in one is unknown in the next until that one defines it too.
const std = @import("std");

const BlockTable = @This();

/// A block as the current chunk defines it: its length, where its PCs are
/// in the `block_pcs` column (when filling columns), and its layout: its
/// length, first word in the chunk (accesses 0: none) and what a whole run
/// of it carries, so that a pass that does not put accesses in columns can
/// count them and step over their words at once.
pub const Block = struct {
    pcs_at: u32,
    layout_at: u32 = 0,
    /// Where its layout's RunSteps start (when filling columns).
    steps_at: u32 = 0,
    /// At most records.block_insns_max; 16 bits keep a slot at 32 bytes.
    insns: u16,
    accesses: u16 = 0,
    reads: u16 = 0,
    /// The words of all the layout's accesses.
    data_words: u16 = 0,
    /// The instruction of the layout's last access.
    last_insn: u16 = 0,
    /// An access of the layout carries a 16-byte value.
    wide: bool = false,
};

const Slot = struct { stamp: u32, id: u32, block: Block };

comptime {
    // Slots a shift apart: the lookup's index arithmetic is one shift.
    std.debug.assert(@sizeOf(Slot) == 32);
}

const empty_slot = Slot{ .stamp = 0, .id = 0, .block = .{ .insns = 0, .pcs_at = 0 } };

/// Slots the table starts with: several times the distinct blocks of a
/// typical chunk (~50 in busybox gzip), and small enough to stay in the L1
/// cache.
pub const slots_initial: u32 = 1024;

allocator: std.mem.Allocator,
slots: []Slot = &.{},
stamp: u32 = 0,
/// Definitions in the table for the current chunk.
defined: u32 = 0,

pub fn init(allocator: std.mem.Allocator) BlockTable {
    return .{ .allocator = allocator };
}

pub fn deinit(self: *BlockTable) void {
    self.allocator.free(self.slots);
    self.* = undefined;
}

/// Forgets the previous chunk's definitions (the first time, makes the table).
pub fn nextChunk(self: *BlockTable) error{OutOfMemory}!void {
    if (self.slots.len == 0) {
        self.slots = try self.allocator.alloc(Slot, slots_initial);
        self.clear();
    }
    self.defined = 0;
    self.stamp +%= 1;
    if (self.stamp == 0) {
        self.clear();
        self.stamp = 1;
    }
}

/// Block `id` is `block` in this chunk. A block defined twice in a chunk:
/// the later definition wins, as in walk.ts.
pub fn define(self: *BlockTable, id: u32, block: Block) error{OutOfMemory}!void {
    std.debug.assert(self.slots.len > 0);
    if (2 * (self.defined + 1) > self.slots.len) try self.grow();
    var index = slotIndex(self.slots, id);
    var probes: usize = 0;
    while (probes < self.slots.len) : (probes += 1) {
        const slot = &self.slots[index];
        if (slot.stamp != self.stamp or slot.id == id) {
            if (slot.stamp != self.stamp) self.defined += 1;
            slot.* = .{ .stamp = self.stamp, .id = id, .block = block };
            return;
        }
        index = (index + 1) & (self.slots.len - 1);
    }
    unreachable; // the table is kept at most half full
}

/// Block `id` as this chunk defined it. A pointer, not an optional copy:
/// building `?Block` on the stack and reading it back whole stalled every
/// lookup on store forwarding (a quarter of the counting pass's time, in
/// perf).
pub inline fn lookup(self: *const BlockTable, id: u32) ?*const Block {
    const slots = self.slots;
    var index = slotIndex(slots, id);
    var probes: usize = 0;
    while (probes < slots.len) : (probes += 1) {
        const slot = &slots[index];
        if (slot.stamp != self.stamp) return null;
        if (slot.id == id) return &slot.block;
        index = (index + 1) & (slots.len - 1);
    }
    return null;
}

fn clear(self: *BlockTable) void {
    @memset(self.slots, empty_slot);
    self.stamp = 0;
}

fn slotIndex(slots: []const Slot, id: u32) usize {
    const hash = id *% 0x9E3779B1;
    return hash & (slots.len - 1);
}

/// Doubles the table, keeping the current chunk's definitions.
fn grow(self: *BlockTable) error{OutOfMemory}!void {
    const old = self.slots;
    std.debug.assert(old.len < std.math.maxInt(u32) / 2);
    const slots = try self.allocator.alloc(Slot, old.len * 2);
    @memset(slots, empty_slot);
    for (old) |slot| {
        if (slot.stamp != self.stamp) continue;
        var index = slotIndex(slots, slot.id);
        while (slots[index].stamp == self.stamp) index = (index + 1) & (slots.len - 1);
        slots[index] = slot;
    }
    self.allocator.free(old);
    self.slots = slots;
}

const testing = std.testing;

test "a chunk's definitions are found by id, the later of two wins, and the next chunk starts empty" {
    var table = BlockTable.init(testing.allocator);
    defer table.deinit();
    try table.nextChunk();
    try testing.expect(table.lookup(7) == null);
    try table.define(7, .{ .insns = 3, .pcs_at = 0 });
    try table.define(9, .{ .insns = 1, .pcs_at = 3 });
    try table.define(7, .{ .insns = 4, .pcs_at = 4 });
    try testing.expectEqual(@as(u16, 4), table.lookup(7).?.insns);
    try testing.expectEqual(@as(u32, 3), table.lookup(9).?.pcs_at);
    try testing.expectEqual(@as(u32, 2), table.defined);
    try table.nextChunk();
    try testing.expect(table.lookup(7) == null and table.lookup(9) == null);
}

test "the table grows past half full and keeps only the current chunk's definitions" {
    var table = BlockTable.init(testing.allocator);
    defer table.deinit();
    try table.nextChunk();
    try table.define(1, .{ .insns = 1, .pcs_at = 0 });
    try table.nextChunk();
    for (0..3 * slots_initial) |index| try table.define(@intCast(index + 100), .{ .insns = @intCast(index % 512 + 1), .pcs_at = @intCast(index) });
    try testing.expect(table.slots.len >= 6 * slots_initial);
    for (0..3 * slots_initial) |index| try testing.expectEqual(@as(u32, @intCast(index)), table.lookup(@intCast(index + 100)).?.pcs_at);
    try testing.expect(table.lookup(1) == null);
}

test "when the stamp wraps, old entries are cleared rather than seen again" {
    var table = BlockTable.init(testing.allocator);
    defer table.deinit();
    try table.nextChunk();
    table.stamp = std.math.maxInt(u32);
    try table.define(5, .{ .insns = 2, .pcs_at = 0 });
    try table.nextChunk();
    try testing.expectEqual(@as(u32, 1), table.stamp);
    try testing.expect(table.lookup(5) == null);
}
