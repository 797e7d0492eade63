// SPDX-License-Identifier: MIT
//! Futex wait/wake on a word in memory shared between processes. Zig's
//! std.Thread.Futex uses FUTEX_PRIVATE_FLAG, which only works within one
//! process, so the mempipe needs its own shared variant.
const std = @import("std");
const linux = std.os.linux;

/// Sleeps while `word` still holds `expected`, at most `timeout_ns`.
/// Spurious and early returns are fine: every caller re-checks its condition.
pub fn wait(word: *const u32, expected: u32, timeout_ns: u64) void {
    const timeout = linux.timespec{
        .tv_sec = @intCast(timeout_ns / std.time.ns_per_s),
        .tv_nsec = @intCast(timeout_ns % std.time.ns_per_s),
    };
    _ = linux.futex_wait(@ptrCast(word), linux.FUTEX.WAIT, @bitCast(expected), &timeout);
}

pub fn wakeAll(word: *const u32) void {
    _ = linux.futex_wake(@ptrCast(word), linux.FUTEX.WAKE, std.math.maxInt(i32));
}
