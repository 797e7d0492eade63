// SPDX-License-Identifier: MIT
//! Moves a descriptor out of the way of the program it lives beside. In
//! qemu-user the guest's file descriptors are QEMU's own, so the producer's
//! memfd and socket, left at the lowest free numbers, would shift every fd
//! the guest opens (its first `open` returning 5 instead of 3, as under
//! plain QEMU). Bash and others also dup2 onto fixed numbers up to 255, and
//! programs commonly walk 3..1023; so the descriptor goes as high as the
//! soft RLIMIT_NOFILE allows, close-on-exec.
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
    const soft: u64 = if (limit.cur == os.linux.RLIM.INFINITY) 1 << 20 else limit.cur;
    if (soft < floor_min + below_limit) return fd;
    const floor: usize = @intCast(@min(soft - below_limit, std.math.maxInt(i32)));
    const high = os.fcntl(fd, f_dupfd_cloexec, floor) catch return fd;
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
