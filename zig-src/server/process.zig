//! The QEMU process the server lives in, for both front doors (plugin.zig,
//! patched.zig): its pid, which a forked child renews before dropping the
//! streams it inherited, QEMU's tie to the consumer's life, and the one-line
//! messages the server prints when it refuses to start.
const std = @import("std");
const linux = std.os.linux;

/// This process's pid; a guest fork forks QEMU, and the child renews it.
pub var id: i32 = 0;
var after_fork_hook: ?*const fn () void = null;

/// Run once, at load. A guest fork forks QEMU: the child inherits the
/// parent's pipes and must neither write to them nor close them cleanly;
/// `drop_inherited` forgets them, and the child opens its own streams, keyed
/// by its new pid, on its first events.
pub fn adopt(drop_inherited: *const fn () void) error{AtforkFailed}!void {
    std.debug.assert(after_fork_hook == null);
    id = linux.getpid();
    // QEMU must not outlive the consumer that spawned it, even if that
    // consumer is killed with -9.
    _ = linux.prctl(@intFromEnum(linux.PR.SET_PDEATHSIG), linux.SIG.KILL, 0, 0, 0);
    after_fork_hook = drop_inherited;
    if (std.c.pthread_atfork(null, null, afterForkInChild) != 0) return error.AtforkFailed;
}

fn afterForkInChild() callconv(.C) void {
    id = linux.getpid();
    after_fork_hook.?();
}

/// "cannoli-server: <message>" on stderr, without allocating.
pub fn printLine(comptime format: []const u8, args: anytype) void {
    var buffer: [256]u8 = undefined;
    const message = std.fmt.bufPrint(&buffer, "cannoli-server: " ++ format ++ "\n", args) catch "cannoli-server: cannot start\n";
    _ = linux.write(2, message.ptr, message.len);
}
