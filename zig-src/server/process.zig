// SPDX-License-Identifier: GPL-2.0-or-later
//! The QEMU process the server lives in, for both front doors (plugin.zig,
//! patched.zig): its pid, which a forked child renews before dropping the
//! streams it inherited, QEMU's tie to the consumer's life, the word to the
//! consumer that QEMU loaded the server, and the one line that says why
//! the server refuses to trace.
const std = @import("std");
const linux = std.os.linux;
const Config = @import("Config.zig");

/// This process's pid; a guest fork forks QEMU, and the child renews it.
pub var id: i32 = 0;
/// Execs of this pid the server followed before the running image (the
/// server's `image=` argument, see ExecPlan.zig); a forked child starts at 0.
pub var image: u32 = 0;
/// Whether PR_SET_PDEATHSIG ties this process to the consumer (its parent).
var tied_to_owner: bool = false;
/// The consumer (`owner=`), watched from forked processes; 0: not given.
var owner_pid: i32 = 0;
/// The process whose watchdog thread runs (threads do not survive fork).
var watched_in: i32 = 0;
/// How often a forked process looks whether the consumer is still there.
const owner_poll_ns = 200 * std.time.ns_per_ms;
var after_fork_hook: ?*const fn () void = null;

/// libc's (std 0.11 has no getppid for Linux).
pub extern fn getppid() i32;

/// Run once, at load. A guest fork forks QEMU: the child inherits the
/// parent's pipes and must neither write to them nor close them cleanly;
/// `drop_inherited` forgets them, and the child opens its own streams, keyed
/// by its new pid, on its first events.
pub fn adopt(drop_inherited: *const fn () void, owner: i32, exec_image: u32) error{AtforkFailed}!void {
    std.debug.assert(after_fork_hook == null);
    id = linux.getpid();
    image = exec_image;
    owner_pid = owner;
    // QEMU must not outlive the consumer that spawned it, even if that
    // consumer is killed with -9. Only a QEMU the consumer started is its
    // child: a guest's forked process that exec'd (a new image, same pid)
    // is not, and watches the consumer instead (watchOwner).
    if (owner == 0 or getppid() == owner) {
        _ = linux.prctl(@intFromEnum(linux.PR.SET_PDEATHSIG), linux.SIG.KILL, 0, 0, 0);
        tied_to_owner = true;
    }
    after_fork_hook = drop_inherited;
    if (std.c.pthread_atfork(null, null, afterForkInChild) != 0) return error.AtforkFailed;
}

fn afterForkInChild() callconv(.C) void {
    id = linux.getpid();
    image = 0;
    tied_to_owner = false;
    after_fork_hook.?();
}

/// A forked QEMU process must not outlive the consumer either, but the
/// parent-death signal does not survive fork, and re-arming it in the child
/// would tie the child to its parent QEMU (a guest that daemonizes, or a
/// thread that forks and exits, would lose its child). So a forked process
/// watches the consumer's pid from a thread of its own, started when it
/// opens its first stream (a normal context, unlike the fork handler), and
/// ends itself when the consumer is gone. The thread blocks every signal,
/// so QEMU's signal handling never runs on it.
pub fn watchOwner() void {
    if (owner_pid == 0 or tied_to_owner or watched_in == id) return;
    watched_in = id;
    var all = linux.all_mask;
    var previous: linux.sigset_t = undefined;
    _ = linux.sigprocmask(linux.SIG.BLOCK, &all, &previous);
    defer _ = linux.sigprocmask(linux.SIG.SETMASK, &previous, null);
    const thread = std.Thread.spawn(.{ .stack_size = 64 * 1024 }, watch, .{}) catch return;
    thread.detach();
}

fn watch() void {
    while (true) {
        std.time.sleep(owner_poll_ns);
        if (std.os.linux.getErrno(linux.kill(owner_pid, 0)) == .SRCH) linux.exit_group(137);
    }
}

/// Bounds a refusal's line (a register list's refusal names the registers).
const line_bytes_max = 1024;

/// Why the server will not trace, in one line, without allocating: for the
/// consumer to print as its own (`<socket>.refused`, once announceLoaded
/// has said where the consumer is), so the user reads one line and not
/// QEMU's exit besides; on stderr before that, or when the file cannot be
/// written. The caller then stops QEMU (a refused install, exit_group).
pub fn refuse(comptime format: []const u8, args: anytype) void {
    var buffer: [line_bytes_max]u8 = undefined;
    const message = std.fmt.bufPrint(&buffer, format, args) catch "cannot start (its message did not fit)";
    if (writeBeside(refused_suffix, message)) return;
    printLine("{s}", .{message});
}

/// "cannoli-server: <message>" on stderr, without allocating.
pub fn printLine(comptime format: []const u8, args: anytype) void {
    var buffer: [line_bytes_max + 32]u8 = undefined;
    const message = std.fmt.bufPrint(&buffer, "cannoli-server: " ++ format ++ "\n", args) catch "cannoli-server: cannot start\n";
    _ = linux.write(2, message.ptr, message.len);
}

/// Tells the consumer that this QEMU loaded the server, and which plugin API
/// it speaks (0 for the patched backend): a file next to the socket, in the
/// consumer's private directory, written once at load. A QEMU that exits
/// before any stream opened and left no such file never got as far as the
/// server, which is what the consumer's one-line diagnosis rests on.
/// Best effort: nothing about tracing depends on it.
pub fn announceLoaded(socket_path: []const u8, backend: []const u8, plugin_api: c_int) void {
    if (socket_path.len > Config.socket_path_bytes_max) return;
    @memcpy(consumer_socket[0..socket_path.len], socket_path);
    consumer_socket_len = socket_path.len;
    var text_buffer: [64]u8 = undefined;
    const text = std.fmt.bufPrint(&text_buffer, "backend={s} plugin_api={d}\n", .{ backend, plugin_api }) catch return;
    _ = writeBeside(loaded_suffix, text);
}

/// The consumer's socket, once announceLoaded knows it.
var consumer_socket: [Config.socket_path_bytes_max]u8 = undefined;
var consumer_socket_len: usize = 0;

/// Writes `text` to the file named by the consumer's socket and `suffix`;
/// false when there is no such socket yet or the file cannot be written.
fn writeBeside(comptime suffix: []const u8, text: []const u8) bool {
    if (consumer_socket_len == 0) return false;
    var path_buffer: [Config.socket_path_bytes_max + suffix.len + 1]u8 = undefined;
    const path = std.fmt.bufPrintZ(&path_buffer, "{s}" ++ suffix, .{consumer_socket[0..consumer_socket_len]}) catch return false;
    const fd = std.os.openZ(path, std.os.O.WRONLY | std.os.O.CREAT | std.os.O.TRUNC | std.os.O.CLOEXEC, 0o600) catch return false;
    defer std.os.close(fd);
    const written = std.os.write(fd, text) catch return false;
    return written == text.len;
}

/// Must match src/runtime/session.ts (`serverLoadedSuffix`, `serverRefusedSuffix`).
const loaded_suffix = ".loaded";
const refused_suffix = ".refused";
