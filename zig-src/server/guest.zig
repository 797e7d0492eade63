//! What the server needs to know about the guest architecture, from QEMU's
//! target name: address width (4-byte fields for 32-bit guests) and byte
//! order.
const std = @import("std");

pub const Arch = struct {
    name: []const u8,
    pointer_bytes: u8,
    big_endian: bool,
};

const table = [_]Arch{
    .{ .name = "aarch64", .pointer_bytes = 8, .big_endian = false },
    .{ .name = "aarch64_be", .pointer_bytes = 8, .big_endian = true },
    .{ .name = "x86_64", .pointer_bytes = 8, .big_endian = false },
    .{ .name = "riscv64", .pointer_bytes = 8, .big_endian = false },
    .{ .name = "mips64el", .pointer_bytes = 8, .big_endian = false },
    .{ .name = "mips64", .pointer_bytes = 8, .big_endian = true },
    .{ .name = "ppc64le", .pointer_bytes = 8, .big_endian = false },
    .{ .name = "ppc64", .pointer_bytes = 8, .big_endian = true },
    .{ .name = "s390x", .pointer_bytes = 8, .big_endian = true },
    .{ .name = "loongarch64", .pointer_bytes = 8, .big_endian = false },
    .{ .name = "sparc64", .pointer_bytes = 8, .big_endian = true },
    .{ .name = "alpha", .pointer_bytes = 8, .big_endian = false },
    .{ .name = "mipsel", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "mips", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "mipsn32el", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "mipsn32", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "arm", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "armeb", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "i386", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "riscv32", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "ppc", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "m68k", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "sh4", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "sh4eb", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "hppa", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "or1k", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "microblaze", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "microblazeel", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "xtensa", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "xtensaeb", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "sparc", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "sparc32plus", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "nios2", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "cris", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "hexagon", .pointer_bytes = 4, .big_endian = false },
};

pub fn lookup(target_name: []const u8) ?Arch {
    for (table) |arch| {
        if (std.mem.eql(u8, arch.name, target_name)) return arch;
    }
    return null;
}

test "32-bit guests get 4-byte fields" {
    try std.testing.expectEqual(@as(u8, 4), lookup("mipsel").?.pointer_bytes);
    try std.testing.expectEqual(@as(u8, 8), lookup("aarch64").?.pointer_bytes);
    try std.testing.expect(lookup("mips").?.big_endian);
    try std.testing.expect(lookup("vax") == null);
}
