// SPDX-License-Identifier: MIT
//! Who is at the other end of a connection, and whether it belongs to the
//! run: the consumer accepts trace streams only from the QEMU it started and
//! that QEMU's descendants (a guest's fork forks QEMU), not from any other
//! process of the same user that found the socket.
const std = @import("std");
const os = std.os;
const linux = os.linux;

/// Bounds the walk up the parent chain (a fork bomb deeper than this is not
/// a trace anyone wants).
const depth_max = 64;

/// struct ucred (linux/socket.h); Zig 0.11's std does not declare it.
const Ucred = extern struct { pid: i32, uid: u32, gid: u32 };

/// The pid of the process at the other end of a Unix socket (SO_PEERCRED),
/// as the kernel recorded it at connect time; null when unavailable.
pub fn peerPid(fd: os.fd_t) ?i32 {
    var credentials: Ucred = undefined;
    var length: os.socklen_t = @sizeOf(Ucred);
    const rc = linux.getsockopt(fd, linux.SOL.SOCKET, linux.SO.PEERCRED, @ptrCast(&credentials), &length);
    if (linux.getErrno(rc) != .SUCCESS or length != @sizeOf(Ucred)) return null;
    return credentials.pid;
}

/// Makes the calling process the reaper of its orphaned descendants, so a
/// guest's forked QEMU whose parent QEMU has already exited still descends
/// from the consumer (it would otherwise be reparented to init and look
/// like a stranger). Orphans that exit stay zombies until the consumer ends.
pub fn becomeSubreaper() bool {
    const pr_set_child_subreaper = 36;
    return linux.getErrno(linux.prctl(pr_set_child_subreaper, 1, 0, 0, 0)) == .SUCCESS;
}

pub const Relation = enum { descendant, stranger, gone };

/// Whether `pid` is `root` or descends from it, read from /proc; `gone`
/// when `pid` itself no longer exists (a short-lived process that connected,
/// wrote its stream and exited before the consumer got to it).
pub fn relation(pid: i32, root: i32) Relation {
    var current = pid;
    for (0..depth_max) |step| {
        if (current == root) return .descendant;
        if (current <= 1) return .stranger;
        current = parentOf(current) orelse return if (step == 0) .gone else .stranger;
    }
    return .stranger;
}

/// The parent pid in /proc/<pid>/stat: the field after the state, which
/// follows the last ')' (the command name may contain spaces and parens).
fn parentOf(pid: i32) ?i32 {
    var path_buffer: [32]u8 = undefined;
    const path = std.fmt.bufPrintZ(&path_buffer, "/proc/{d}/stat", .{pid}) catch return null;
    const fd = os.openZ(path, os.O.RDONLY | os.O.CLOEXEC, 0) catch return null;
    defer os.close(fd);
    var buffer: [512]u8 = undefined;
    const bytes = os.read(fd, &buffer) catch return null;
    const text = buffer[0..bytes];
    const close_paren = std.mem.lastIndexOfScalar(u8, text, ')') orelse return null;
    var fields = std.mem.tokenizeScalar(u8, text[close_paren + 1 ..], ' ');
    _ = fields.next() orelse return null; // state
    const parent = fields.next() orelse return null;
    return std.fmt.parseInt(i32, parent, 10) catch null;
}

test "this process descends from its parent and from itself, not from a child" {
    const self_pid = linux.getpid();
    const parent = parentOf(self_pid).?;
    try std.testing.expectEqual(Relation.descendant, relation(self_pid, self_pid));
    try std.testing.expectEqual(Relation.descendant, relation(self_pid, parent));
    try std.testing.expectEqual(Relation.stranger, relation(parent, self_pid));
    try std.testing.expectEqual(Relation.stranger, relation(self_pid, 0x7fff_fff0));
    try std.testing.expectEqual(Relation.gone, relation(0x7fff_fff0, self_pid));
}

test "the peer of a socketpair is this process" {
    var pair: [2]i32 = undefined;
    try std.testing.expectEqual(@as(usize, 0), linux.socketpair(linux.AF.UNIX, linux.SOCK.STREAM | linux.SOCK.CLOEXEC, 0, &pair));
    defer os.close(pair[0]);
    defer os.close(pair[1]);
    try std.testing.expectEqual(@as(?i32, linux.getpid()), peerPid(pair[0]));
}
