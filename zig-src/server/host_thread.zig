// SPDX-License-Identifier: GPL-2.0-or-later
//! The calling host thread's identity (in linux-user, one host thread per
//! guest thread), asked on every plugin callback: a stream checks that the
//! thread writing it is its own.
const std = @import("std");
const builtin = @import("builtin");

/// pthread_self's value. On x86-64 glibc that is the thread pointer's
/// `self` field (%fs:0x10, glibc's THREAD_SELF), read here without the
/// call through the PLT: it was 4 % of QEMU's instructions with the plugin
/// backend tracing memory.
pub inline fn current() usize {
    if (comptime builtin.cpu.arch == .x86_64 and builtin.os.tag == .linux and builtin.abi.isGnu()) {
        return asm ("movq %%fs:0x10, %[self]"
            : [self] "=r" (-> usize),
        );
    }
    return @intFromPtr(std.c.pthread_self());
}

fn otherThread(out: *[2]usize) void {
    out.* = .{ current(), @intFromPtr(std.c.pthread_self()) };
}

test "the thread's identity is pthread_self's, and differs between threads" {
    try std.testing.expectEqual(@intFromPtr(std.c.pthread_self()), current());
    var other: [2]usize = undefined;
    const thread = try std.Thread.spawn(.{}, otherThread, .{&other});
    thread.join();
    try std.testing.expectEqual(other[1], other[0]);
    try std.testing.expect(other[0] != current());
}
