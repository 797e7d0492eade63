// SPDX-License-Identifier: GPL-2.0-or-later
//! One u64 per vCPU in a QEMU scoreboard (plugin API 2+, QEMU 9.0 and
//! later): how many instructions of the block this vCPU is executing have
//! started. Each instruction of a block-encoded block writes it inline
//! (thread-safe because every vCPU writes its own element): from 9.1 it
//! stores its own index + 1, on 9.0 (no inline store) it adds 1. The
//! stream takes the count, and resets it, when the next block starts or
//! the thread ends. That is the block encoding's cut-short check
//! (a fault longjmps out of the block and later instructions never add),
//! without 7.2's shared per-block counters, so it holds with any number of
//! guest threads.
const std = @import("std");
const assert = std.debug.assert;
const qp = @import("qemu_plugin.zig");
const records = @import("wire").records;
const fatal = @import("ThreadStream.zig").fatal;

const VcpuCounter = @This();

entry: qp.qemu_plugin_u64,
find: *const fn (*qp.qemu_plugin_scoreboard, c_uint) callconv(.C) ?*anyopaque,
/// Set (by the plugin, at the guest's first clone of a thread) before a
/// second vCPU can exist: from then on QEMU may grow the scoreboard, and
/// move every element, whenever a vCPU starts.
may_move: *const bool,

/// Null when the running QEMU has no scoreboards (7.2 to 8.2).
pub fn create(api: qp.PluginApi, may_move: *const bool) ?VcpuCounter {
    const new = api.scoreboard_new orelse return null;
    const find = api.scoreboard_find orelse return null;
    if (api.insn_exec_inline_per_vcpu == null) return null;
    const score = new(@sizeOf(u64)) orelse return null;
    return .{ .entry = .{ .score = score, .offset = 0 }, .find = find, .may_move = may_move };
}

/// Instruction `index` of a block-encoded block counts itself when it
/// starts. A store needs no load and no add in the translated code: two
/// host instructions fewer per guest instruction.
pub fn countInstruction(self: *const VcpuCounter, api: qp.PluginApi, insn: *qp.qemu_plugin_insn, index: u32) void {
    assert(index < records.block_insns_max);
    const register = api.insn_exec_inline_per_vcpu.?;
    if (api.version >= 3) register(insn, .inline_store_u64, self.entry, index + 1) else register(insn, .inline_add_u64, self.entry, 1);
}

/// The count of `vcpu_index`'s current block, reset to zero for the next.
/// QEMU moves the scoreboard when it grows it for a new vCPU, so the
/// element is looked up each time once another thread may exist; before
/// that, `cached` (the caller's, per vCPU) keeps it: QEMU's lookup was 6 %
/// of its time on a block-heavy guest.
pub inline fn take(self: *const VcpuCounter, vcpu_index: u32, block_insns: u32, cached: *?*u64) u32 {
    const element: *volatile u64 = if (@atomicLoad(bool, self.may_move, .Acquire))
        self.elementOf(vcpu_index)
    else
        cached.* orelse cache: {
            cached.* = self.elementOf(vcpu_index);
            break :cache cached.*.?;
        };
    const started = element.*;
    element.* = 0;
    assert(block_insns <= records.block_insns_max);
    // Only this vCPU's translated code adds to its element, one per
    // instruction of the block open on it: more means the scheme is broken,
    // and a trace that claims instructions never run is worse than none.
    if (started > block_insns) fatal(error.BlockCounterOverrun);
    return @intCast(started);
}

/// `take`'s element without a lookup: the cached one while it cannot
/// move, else null.
pub inline fn cachedElement(self: *const VcpuCounter, cached: ?*u64) ?*volatile u64 {
    if (@atomicLoad(bool, self.may_move, .Acquire)) return null;
    return cached;
}

fn elementOf(self: *const VcpuCounter, vcpu_index: u32) *u64 {
    return @ptrCast(@alignCast(self.find(self.entry.score.?, vcpu_index).?));
}

var test_elements = [_]u64{0} ** 4;

fn testFind(score: *qp.qemu_plugin_scoreboard, vcpu_index: c_uint) callconv(.C) ?*anyopaque {
    _ = score;
    return &test_elements[vcpu_index];
}

test "take returns a vCPU's count and resets it, leaving other vCPUs alone" {
    var score: u64 = 0;
    const may_move = true;
    const counter = VcpuCounter{ .entry = .{ .score = @ptrCast(&score), .offset = 0 }, .find = testFind, .may_move = &may_move };
    var cached = [_]?*u64{ null, null };
    test_elements = .{ 3, 7, 0, 0 };
    try std.testing.expectEqual(@as(u32, 3), counter.take(0, 3, &cached[0]));
    try std.testing.expectEqual(@as(u32, 0), counter.take(0, 3, &cached[0]));
    try std.testing.expectEqual(@as(u32, 7), counter.take(1, 8, &cached[1]));
    try std.testing.expectEqual([_]u64{ 0, 0, 0, 0 }, test_elements);
    // Threads may exist: nothing is cached.
    try std.testing.expectEqual([_]?*u64{ null, null }, cached);
}

test "while the guest has one thread, the element is looked up once" {
    var score: u64 = 0;
    var may_move = false;
    const counter = VcpuCounter{ .entry = .{ .score = @ptrCast(&score), .offset = 0 }, .find = testFind, .may_move = &may_move };
    var cached: ?*u64 = null;
    test_elements = .{ 2, 0, 0, 0 };
    try std.testing.expectEqual(@as(u32, 2), counter.take(0, 3, &cached));
    try std.testing.expectEqual(&test_elements[0], cached.?);
    // The cached address is the one read...
    var elsewhere: u64 = 5;
    cached = &elsewhere;
    try std.testing.expectEqual(@as(u32, 5), counter.take(0, 8, &cached));
    // ...until a second thread may exist.
    may_move = true;
    test_elements[0] = 4;
    try std.testing.expectEqual(@as(u32, 4), counter.take(0, 8, &cached));
}
