// SPDX-License-Identifier: MIT
//! Moves a descriptor out of the way of the program it lives beside. In
//! qemu-user the guest's file descriptors are QEMU's own, so the producer's
//! memfd and socket, left at the lowest free numbers, would shift every fd
//! the guest opens (its first `open` returning 5 instead of 3, as under
//! plain QEMU). Bash and others also dup2 onto fixed numbers up to 255, and
//! programs commonly close 3 .. the soft RLIMIT_NOFILE; so the descriptor
//! goes just above that limit where the hard limit allows, else just below
//! it, close-on-exec.
const std = @import("std");
const os = std.os;

/// Descriptors at or above this many below the soft limit are ours.
const below_limit = 64;
/// Never below this: bash's 255 and friends.
const floor_min = 256;
/// fcntl command (linux/fcntl.h); Zig 0.11's std does not name it.
const f_dupfd_cloexec = 1030;

/// Returns a close-on-exec duplicate of `fd` at a high number and closes
/// `fd`; when no high number is free (a tiny RLIMIT_NOFILE), `fd` itself,
/// made close-on-exec.
pub fn moveHigh(fd: os.fd_t) os.fd_t {
    const limit = os.getrlimit(.NOFILE) catch return fd;
    if (aboveSoftLimit(fd, limit)) |high| return high;
    const soft: u64 = if (limit.cur == os.linux.RLIM.INFINITY) 1 << 20 else limit.cur;
    if (soft < floor_min + below_limit) return fd;
    const floor: usize = @intCast(@min(soft - below_limit, std.math.maxInt(i32)));
    const high = os.fcntl(fd, f_dupfd_cloexec, floor) catch return fd;
    os.close(fd);
    return @intCast(high);
}

/// Best: just above the soft limit, where a guest that closes every
/// descriptor it may have (3 .. sysconf(_SC_OPEN_MAX), as daemons do) never
/// looks. fcntl only places a descriptor below the soft limit, so the limit
/// is raised toward the hard one for that one call and put back at once
/// (the guest's getrlimit sees no change). Null when the hard limit leaves
/// no room.
fn aboveSoftLimit(fd: os.fd_t, limit: os.rlimit) ?os.fd_t {
    const infinity = os.linux.RLIM.INFINITY;
    if (limit.cur == infinity or limit.cur > std.math.maxInt(i32) - below_limit) return null;
    if (limit.max != infinity and limit.max < limit.cur + below_limit) return null;
    os.setrlimit(.NOFILE, .{ .cur = limit.cur + below_limit, .max = limit.max }) catch return null;
    defer os.setrlimit(.NOFILE, limit) catch {};
    const high = os.fcntl(fd, f_dupfd_cloexec, @intCast(limit.cur)) catch return null;
    os.close(fd);
    return @intCast(high);
}

test "a descriptor moves high and stays usable" {
    const pipe = try os.pipe2(os.O.CLOEXEC);
    defer os.close(pipe[0]);
    const moved = moveHigh(pipe[1]);
    defer os.close(moved);
    try std.testing.expect(moved >= floor_min);
    const flags = try os.fcntl(moved, os.F.GETFD, 0);
    try std.testing.expect(flags & os.FD_CLOEXEC != 0);
    _ = try os.write(moved, "x");
    var byte: [1]u8 = undefined;
    try std.testing.expectEqual(@as(usize, 1), try os.read(pipe[0], &byte));
}
