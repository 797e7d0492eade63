// SPDX-License-Identifier: GPL-2.0-or-later
//! The server's settings, from the plugin's arguments
//! (`-plugin libcannoli_server.so,sock=PATH,range=0x400000-0x401000,mem=off`)
//! with the socket path also accepted from CANNOLI_SOCKET.
const std = @import("std");
const mempipe = @import("mempipe");
const Hook = @import("hook_api").Hook;
const RegisterSet = @import("RegisterSet.zig");

const Config = @This();

pub const ranges_max = 64;

pub const Range = struct { lo: u64, hi: u64 };

/// sockaddr_un holds 108 bytes of path.
pub const socket_path_bytes_max = 108;

socket_path: [socket_path_bytes_max]u8 = undefined,
socket_path_len: usize = 0,
ranges: [ranges_max]Range = undefined,
range_count: usize = 0,
trace_mem: bool = true,
/// Memory records carry the value loaded or stored (`values=off`: addresses only).
trace_values: bool = true,
once: bool = false,
trace_syscalls: bool = true,
/// The block-level encoding (one record per executed block) while the guest
/// is single-threaded; off: one record per instruction throughout.
blocks: bool = true,
/// The consumer's pid (`owner=`): forked QEMU processes end when it is gone
/// (see process.watchOwner). 0: not given.
owner_pid: i32 = 0,
/// Execs of this pid already followed (`image=`, written by ExecPlan.zig).
image: u32 = 0,
/// `regs=SPEC`: the registers to record (RegisterSet.zig); empty: none.
regs_spec: [RegisterSet.spec_bytes_max]u8 = undefined,
regs_spec_len: usize = 0,
chunk_bytes: u32 = mempipe.layout.chunk_bytes_default,
chunk_count: u32 = mempipe.layout.chunk_count_default,

pub const Error = error{ BadArgument, MissingSocket, TooManyRanges, PathTooLong };

pub fn socketPath(self: *const Config) []const u8 {
    return self.socket_path[0..self.socket_path_len];
}

/// The `regs=` spec, or null when registers are not recorded.
pub fn regsSpec(self: *const Config) ?[]const u8 {
    return if (self.regs_spec_len == 0) null else self.regs_spec[0..self.regs_spec_len];
}

pub fn parse(args: []const []const u8, env_socket: ?[]const u8) Error!Config {
    var config = Config{};
    if (env_socket) |path| try config.setSocket(path);
    for (args) |arg| {
        const eq = std.mem.indexOfScalar(u8, arg, '=') orelse return error.BadArgument;
        const name = arg[0..eq];
        const value = arg[eq + 1 ..];
        if (std.mem.eql(u8, name, "sock")) {
            try config.setSocket(value);
        } else if (std.mem.eql(u8, name, "range")) {
            if (config.range_count == ranges_max) return error.TooManyRanges;
            config.ranges[config.range_count] = try parseRange(value);
            config.range_count += 1;
        } else if (std.mem.eql(u8, name, "mem")) {
            config.trace_mem = try parseBool(value);
        } else if (std.mem.eql(u8, name, "values")) {
            config.trace_values = try parseBool(value);
        } else if (std.mem.eql(u8, name, "once")) {
            config.once = try parseBool(value);
        } else if (std.mem.eql(u8, name, "blocks")) {
            config.blocks = try parseBool(value);
        } else if (std.mem.eql(u8, name, "syscalls")) {
            config.trace_syscalls = try parseBool(value);
        } else if (std.mem.eql(u8, name, "owner")) {
            config.owner_pid = std.fmt.parseInt(i32, value, 10) catch return error.BadArgument;
            if (config.owner_pid <= 0) return error.BadArgument;
        } else if (std.mem.eql(u8, name, "regs")) {
            if (value.len == 0 or value.len > config.regs_spec.len) return error.BadArgument;
            @memcpy(config.regs_spec[0..value.len], value);
            config.regs_spec_len = value.len;
        } else if (std.mem.eql(u8, name, "image")) {
            config.image = std.fmt.parseInt(u32, value, 10) catch return error.BadArgument;
        } else if (std.mem.eql(u8, name, "chunk_bytes")) {
            config.chunk_bytes = std.fmt.parseInt(u32, value, 0) catch return error.BadArgument;
        } else if (std.mem.eql(u8, name, "chunk_count")) {
            config.chunk_count = std.fmt.parseInt(u32, value, 0) catch return error.BadArgument;
        } else return error.BadArgument;
    }
    if (config.socket_path_len == 0) return error.MissingSocket;
    return config;
}

fn setSocket(self: *Config, path: []const u8) Error!void {
    if (path.len == 0) return error.MissingSocket;
    if (path.len >= self.socket_path.len) return error.PathTooLong;
    @memcpy(self.socket_path[0..path.len], path);
    self.socket_path_len = path.len;
}

fn parseBool(value: []const u8) Error!bool {
    if (std.mem.eql(u8, value, "on") or std.mem.eql(u8, value, "true")) return true;
    if (std.mem.eql(u8, value, "off") or std.mem.eql(u8, value, "false")) return false;
    return error.BadArgument;
}

/// `LO-HI`, both inclusive-exclusive guest addresses in any base Zig's
/// parseInt accepts with a prefix (0x...).
fn parseRange(value: []const u8) Error!Range {
    const dash = std.mem.indexOfScalar(u8, value, '-') orelse return error.BadArgument;
    const lo = std.fmt.parseInt(u64, value[0..dash], 0) catch return error.BadArgument;
    const hi = std.fmt.parseInt(u64, value[dash + 1 ..], 0) catch return error.BadArgument;
    if (hi <= lo) return error.BadArgument;
    return .{ .lo = lo, .hi = hi };
}

/// The command line's choice for one instruction, before the hook file's.
pub fn instructionChoice(self: *const Config, pc: u64) Hook {
    if (self.range_count > 0) {
        var inside = false;
        for (self.ranges[0..self.range_count]) |range| {
            if (pc >= range.lo and pc < range.hi) inside = true;
        }
        if (!inside) return .never;
    }
    return if (self.once) .once else .always;
}

test "arguments parse into filters" {
    const config = try Config.parse(&.{ "sock=/tmp/x/s", "range=0x1000-0x2000", "mem=off" }, null);
    try std.testing.expectEqualStrings("/tmp/x/s", config.socketPath());
    try std.testing.expect(!config.trace_mem);
    try std.testing.expectEqual(Hook.always, config.instructionChoice(0x1800));
    try std.testing.expectEqual(Hook.never, config.instructionChoice(0x2000));
    try std.testing.expectError(error.BadArgument, Config.parse(&.{ "sock=/s", "range=5-1" }, null));
    try std.testing.expectError(error.MissingSocket, Config.parse(&.{}, null));
}
