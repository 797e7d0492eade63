// SPDX-License-Identifier: MIT
//! cannoli-exec FILE: replaces itself with the program and arguments that
//! FILE holds as bytes (each argument followed by one NUL), with its own
//! environment. Bun hands a child's arguments to execve as UTF-8 made from
//! JavaScript strings, so a guest argument or path that is not UTF-8 would
//! reach the guest changed; cannoli writes such an argv to a private file
//! and starts QEMU through this instead. The exec keeps the pid, so Bun's
//! child is QEMU itself. FILE is removed before the exec.
const std = @import("std");

/// Linux's limit on an execve's arguments and environment together
/// (ARG_MAX with the default 8 MiB stack is 2 MiB).
const argv_bytes_max = 2 * 1024 * 1024;
/// Every argument takes at least its NUL.
const argv_count_max = argv_bytes_max / 2;

var argv_bytes: [argv_bytes_max]u8 = undefined;
var argv_pointers: [argv_count_max + 1]?[*:0]const u8 = undefined;

pub fn main() u8 {
    if (std.os.argv.len != 2) return fail("usage: cannoli-exec ARGV-FILE", .{});
    const path = std.os.argv[1];
    const length = readArgv(path) catch |err| return fail("cannoli-exec: cannot read {s}: {s}", .{ path, @errorName(err) });
    std.os.unlinkZ(path) catch |err| return fail("cannoli-exec: cannot remove {s}: {s}", .{ path, @errorName(err) });
    const count = splitArgv(argv_bytes[0..length], &argv_pointers) orelse return fail("cannoli-exec: {s} is not NUL-terminated arguments", .{path});
    std.debug.assert(count >= 1 and argv_pointers[count] == null);
    const envp: [*:null]const ?[*:0]const u8 = @ptrCast(std.os.environ.ptr);
    const err = std.os.execveZ(argv_pointers[0].?, @ptrCast(&argv_pointers), envp);
    return fail("cannoli-exec: cannot run {s}: {s}", .{ argv_pointers[0].?, @errorName(err) });
}

fn readArgv(path: [*:0]const u8) !usize {
    const file = try std.fs.cwd().openFileZ(path, .{});
    defer file.close();
    const length = try file.readAll(&argv_bytes);
    if (length == argv_bytes.len) return error.FileTooBig;
    return length;
}

/// Points `pointers` at each NUL-terminated argument of `bytes` and ends
/// them with null; the count, or null when `bytes` is empty or does not end
/// with a NUL.
fn splitArgv(bytes: []u8, pointers: []?[*:0]const u8) ?usize {
    if (bytes.len == 0 or bytes[bytes.len - 1] != 0) return null;
    var count: usize = 0;
    var start: usize = 0;
    for (bytes, 0..) |byte, i| {
        if (byte != 0) continue;
        if (count + 1 >= pointers.len) return null;
        pointers[count] = @ptrCast(&bytes[start]);
        count += 1;
        start = i + 1;
    }
    pointers[count] = null;
    return count;
}

fn fail(comptime format: []const u8, args: anytype) u8 {
    std.io.getStdErr().writer().print(format ++ "\n", args) catch {};
    return 127;
}

test "arguments split at their NULs, bytes untouched" {
    var bytes = "/bin/echo\x00caf\xe9\x00\x00".*;
    var pointers: [4]?[*:0]const u8 = undefined;
    try std.testing.expectEqual(@as(?usize, 3), splitArgv(&bytes, &pointers));
    try std.testing.expectEqualStrings("caf\xe9", std.mem.span(pointers[1].?));
    try std.testing.expectEqualStrings("", std.mem.span(pointers[2].?));
    try std.testing.expectEqual(@as(?[*:0]const u8, null), pointers[3]);
    var unterminated = "/bin/echo".*;
    try std.testing.expectEqual(@as(?usize, null), splitArgv(&unterminated, &pointers));
    var too_many = "a\x00b\x00c\x00d\x00".*;
    try std.testing.expectEqual(@as(?usize, null), splitArgv(&too_many, &pointers));
}
