// SPDX-License-Identifier: GPL-2.0-or-later
//! One u64 per vCPU in a QEMU scoreboard (plugin API 2+, QEMU 9.0 and
//! later): how many instructions of the block this vCPU is executing have
//! started. Each instruction of a block-encoded block adds 1 inline (QEMU's
//! per-vCPU inline add, thread-safe because every vCPU writes its own
//! element); the stream takes the count, and resets it, when the next block
//! starts or the thread ends. That is the block encoding's cut-short check
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

/// Null when the running QEMU has no scoreboards (7.2 to 8.2).
pub fn create(api: qp.PluginApi) ?VcpuCounter {
    const new = api.scoreboard_new orelse return null;
    const find = api.scoreboard_find orelse return null;
    if (api.insn_exec_inline_per_vcpu == null) return null;
    const score = new(@sizeOf(u64)) orelse return null;
    return .{ .entry = .{ .score = score, .offset = 0 }, .find = find };
}

/// The count of `vcpu_index`'s current block, reset to zero for the next.
/// The element's address is looked up each time: QEMU moves the
/// scoreboard when it grows it for a new vCPU.
pub inline fn take(self: *const VcpuCounter, vcpu_index: u32, block_insns: u32) u32 {
    const element: *volatile u64 = @ptrCast(@alignCast(self.find(self.entry.score.?, vcpu_index).?));
    const started = element.*;
    element.* = 0;
    assert(block_insns <= records.block_insns_max);
    // Only this vCPU's translated code adds to its element, one per
    // instruction of the block open on it: more means the scheme is broken,
    // and a trace that claims instructions never run is worse than none.
    if (started > block_insns) fatal(error.BlockCounterOverrun);
    return @intCast(started);
}

var test_elements = [_]u64{0} ** 4;

fn testFind(score: *qp.qemu_plugin_scoreboard, vcpu_index: c_uint) callconv(.C) ?*anyopaque {
    _ = score;
    return &test_elements[vcpu_index];
}

test "take returns a vCPU's count and resets it, leaving other vCPUs alone" {
    var score: u64 = 0;
    const counter = VcpuCounter{ .entry = .{ .score = @ptrCast(&score), .offset = 0 }, .find = testFind };
    test_elements = .{ 3, 7, 0, 0 };
    try std.testing.expectEqual(@as(u32, 3), counter.take(0, 3));
    try std.testing.expectEqual(@as(u32, 0), counter.take(0, 3));
    try std.testing.expectEqual(@as(u32, 7), counter.take(1, 8));
    try std.testing.expectEqual([_]u64{ 0, 0, 0, 0 }, test_elements);
}
