// SPDX-License-Identifier: GPL-2.0-or-later
//! The JSON handshake each stream sends with its pipe (parsed and checked by
//! src/runtime/handshake.ts): who the stream belongs to and how to read it.
const std = @import("std");
const records = @import("wire").records;
const guest = @import("guest.zig");
const process = @import("process.zig");

/// A recorded register, as the handshake names it (regs records index them).
pub const Register = struct { name: []const u8, bytes: u8 };

pub fn write(buffer: []u8, backend: []const u8, arch: guest.Arch, pid: i32, tid: i32, exe: []const u8, image: u32, registers: []const Register) ![]const u8 {
    var stream = std.io.fixedBufferStream(buffer);
    const comm = std.fs.path.basename(exe);
    try std.json.stringify(.{
        .protocol = records.protocol_version,
        .backend = backend,
        .arch = arch.name,
        .pointer_bytes = arch.pointer_bytes,
        .big_endian = arch.big_endian,
        .pid = pid,
        .ppid = process.getppid(),
        .tid = tid,
        // How many execs this pid went through before (ExecPlan.zig).
        .image = image,
        .exe = exe,
        // The kernel's comm is at most 15 characters.
        .comm = comm[0..@min(comm.len, 15)],
        .registers = registers,
    }, .{}, stream.writer());
    return stream.getWritten();
}
