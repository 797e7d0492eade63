// SPDX-License-Identifier: MIT
//! The last resort behind Ctrl-C and SIGTERM in the consumer process.
//! cannoli's own handlers (JavaScript, src/runtime/session.ts) stop QEMU and
//! finish the run, but they run on the main thread, which a tracer handler
//! that never returns (`trace()` in an endless loop) holds forever. This
//! guard chains in front of them: it notes when the first signal came and
//! passes it on; a watchdog thread ends the process if it is still there
//! `grace` later, and a second signal ends it at once. QEMU goes with it:
//! the first QEMU has the parent-death signal, forked ones watch cannoli's
//! pid (zig-src/server/process.zig); the next run removes the socket
//! directory.
const std = @import("std");
const linux = std.os.linux;

const signals = [_]u6{ linux.SIG.INT, linux.SIG.TERM };
var previous: [signals.len]linux.Sigaction = undefined;
var grace_ns: u64 = 0;
/// CLOCK_MONOTONIC ns of the first signal (0: none yet), and which one.
var signalled_at_ns: u64 = 0;
var signalled: u32 = 0;
var armed = std.atomic.Atomic(bool).init(false);

/// Installs the guard (once) in front of the handlers already installed
/// for SIGINT and SIGTERM. Returns false when it could not.
pub fn arm(grace_ms: u32) bool {
    if (armed.swap(true, .AcqRel)) return true;
    grace_ns = @as(u64, grace_ms) * std.time.ns_per_ms;
    var action = linux.Sigaction{
        .handler = .{ .sigaction = onSignal },
        .mask = linux.empty_sigset,
        .flags = linux.SA.SIGINFO | linux.SA.RESTART,
    };
    for (signals, 0..) |sig, index| {
        std.os.sigaction(sig, &action, &previous[index]) catch return false;
    }
    const thread = std.Thread.spawn(.{ .stack_size = 64 * 1024 }, watch, .{}) catch return false;
    thread.detach();
    return true;
}

fn onSignal(sig: c_int, info: *const linux.siginfo_t, context: ?*const anyopaque) callconv(.C) void {
    const now = nowNs();
    if (@cmpxchgStrong(u64, &signalled_at_ns, 0, now, .AcqRel, .Acquire) != null) {
        stop(@intCast(sig), "cannoli: stopped by a second signal");
    }
    @atomicStore(u32, &signalled, @intCast(sig), .Release);
    for (signals, 0..) |candidate, index| {
        if (candidate != sig) continue;
        const old = previous[index];
        if (old.flags & linux.SA.SIGINFO != 0) {
            if (old.handler.sigaction) |handler| handler(sig, info, context);
        } else if (old.handler.handler) |handler| {
            // SIG_DFL (0) is null here; SIG_IGN (1) is not a function.
            if (@intFromPtr(handler) != 1) handler(sig);
        }
    }
}

fn watch() void {
    while (true) {
        std.time.sleep(100 * std.time.ns_per_ms);
        const at = @atomicLoad(u64, &signalled_at_ns, .Acquire);
        if (at != 0 and nowNs() -% at > grace_ns) {
            stop(@atomicLoad(u32, &signalled, .Acquire), "cannoli: still running after the signal (a tracer handler that does not return?); stopped");
        }
    }
}

/// One line, then the exit status a shell expects after that signal.
fn stop(sig: u32, comptime line: []const u8) noreturn {
    const text = line ++ "\n";
    _ = linux.write(2, text, text.len);
    linux.exit_group(@intCast(128 + (sig & 0x3f)));
}

fn nowNs() u64 {
    var ts: linux.timespec = undefined;
    _ = linux.clock_gettime(linux.CLOCK.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.tv_sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.tv_nsec)) + 1;
}

export fn cnl_stop_guard_arm(grace_ms: u32) u32 {
    return @intFromBool(arm(grace_ms));
}
