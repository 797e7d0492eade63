// SPDX-License-Identifier: MIT
//! Keeps the descriptors QEMU inherits (stdin, stdout, stderr) in blocking
//! mode. QEMU shares cannoli's open file descriptions, and Node's
//! process.stdout and process.stderr in Bun (also in a tracer's Worker) set
//! O_NONBLOCK on theirs, which is the whole description's flag: the guest's
//! write into a full pipe (`cannoli run -- cat big 2>&1 | less`) would then
//! fail with EAGAIN where natively it waits. src/runtime/stdio.ts calls this
//! before QEMU starts and while it runs.
const std = @import("std");
const os = std.os;
const linux = os.linux;

/// Clears O_NONBLOCK on `fd`; true when it was set. A descriptor that is not
/// open, or whose flags cannot be read, is left alone (raw calls: std's
/// fcntl takes EBADF for a bug, and a closed stdio descriptor is not one).
pub fn makeBlocking(fd: os.fd_t) bool {
    const flags = linux.fcntl(fd, os.F.GETFL, 0);
    if (linux.getErrno(flags) != .SUCCESS) return false;
    const nonblock: usize = os.O.NONBLOCK;
    if (flags & nonblock == 0) return false;
    return linux.getErrno(linux.fcntl(fd, os.F.SETFL, flags & ~nonblock)) == .SUCCESS;
}

/// Makes descriptors 0, 1 and 2 blocking; returns a bit per descriptor that
/// was not.
export fn cnl_stdio_blocking() u32 {
    var changed: u32 = 0;
    for (0..3) |fd| {
        if (makeBlocking(@intCast(fd))) changed |= @as(u32, 1) << @intCast(fd);
    }
    return changed;
}

test "a non-blocking pipe is made blocking, once" {
    const fds = try os.pipe2(os.O.NONBLOCK | os.O.CLOEXEC);
    defer os.close(fds[0]);
    defer os.close(fds[1]);
    try std.testing.expect(makeBlocking(fds[1]));
    try std.testing.expect(!makeBlocking(fds[1]));
    const flags = try os.fcntl(fds[1], os.F.GETFL, 0);
    try std.testing.expect(flags & @as(usize, os.O.NONBLOCK) == 0);
    // The other end keeps its own description's flag.
    try std.testing.expect(makeBlocking(fds[0]));
}

test "a descriptor that is not open is left alone" {
    try std.testing.expect(!makeBlocking(9999));
}
