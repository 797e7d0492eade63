// SPDX-License-Identifier: GPL-2.0-or-later
//! The guest registers a `--regs` run records, chosen once from the list
//! QEMU offers (the plugin backend: QEMU 9.0+'s register API; the patched
//! backend: the patch's own table): `core` (the default: the architecture's
//! core feature, general-purpose registers, pc and flags), `all`, or names
//! and `*` globs separated by ':' (the plugin argument's own separator is
//! ','), as QEMU's execlog `reg=` takes them.
const std = @import("std");
const qp = @import("qemu_plugin.zig");

const RegisterSet = @This();

pub const registers_max = 128;
/// Wider registers (SVE) are left out of the selection.
pub const value_bytes_max = 64;
pub const spec_bytes_max = 256;

count: u32 = 0,
handles: [registers_max]*qp.qemu_plugin_register = undefined,
names: [registers_max][*:0]const u8 = undefined,
widths: [registers_max]u8 = undefined,
/// Sum over the registers of their value words.
value_words: u32 = 0,
/// The program counter among them: QEMU updates it only at block starts, so
/// the server writes the instruction's own address there instead.
pc_index: ?u32 = null,

/// Selects from the calling vCPU's registers (call from a vCPU callback;
/// QEMU's names and handles live as long as it does). `probe` is a scratch
/// array for reading each register's width.
pub fn select(api: qp.PluginApi, spec: []const u8, probe: *qp.GByteArray) error{NoRegisterApi}!RegisterSet {
    const getRegisters = api.get_registers orelse return error.NoRegisterApi;
    const readRegister = api.read_register orelse return error.NoRegisterApi;
    var set = RegisterSet{};
    const array = getRegisters() orelse return set;
    defer _ = qp.g_array_free(array, 1);
    const descriptors: [*]const qp.qemu_plugin_reg_descriptor = @ptrCast(@alignCast(array.data orelse return set));
    for (descriptors[0..array.len]) |descriptor| {
        if (set.count == registers_max) break;
        if (!wanted(spec, std.mem.span(descriptor.name), if (descriptor.feature) |f| std.mem.span(f) else "")) continue;
        _ = qp.g_byte_array_set_size(probe, 0);
        const width = readRegister(descriptor.handle, probe);
        if (width <= 0 or width > value_bytes_max) continue;
        set.handles[set.add(descriptor.name, @intCast(width))] = descriptor.handle;
    }
    return set;
}

/// Selects from the patched QEMU's table of the target's registers (every
/// one a core register), writing each chosen register's table index to
/// `chosen`. Widths over `value_bytes_max` are left out.
pub fn selectFromTable(spec: []const u8, names: []const [*:0]const u8, widths: []const u32, chosen: *[registers_max]u32) RegisterSet {
    std.debug.assert(names.len == widths.len);
    var set = RegisterSet{};
    for (names, widths, 0..) |name, width, index| {
        if (set.count == registers_max) break;
        if (width == 0 or width > value_bytes_max) continue;
        if (!wanted(spec, std.mem.span(name), "core.core")) continue;
        chosen[set.add(name, @intCast(width))] = @intCast(index);
    }
    return set;
}

/// Appends register `name` of `width` bytes (the caller checked there is
/// room and the width is in bounds); returns its index in the set.
fn add(set: *RegisterSet, name: [*:0]const u8, width: u8) u32 {
    std.debug.assert(set.count < registers_max and width > 0 and width <= value_bytes_max);
    const index = set.count;
    const span = std.mem.span(name);
    if (std.mem.eql(u8, span, "pc") or std.mem.eql(u8, span, "rip") or std.mem.eql(u8, span, "eip")) set.pc_index = index;
    set.names[index] = name;
    set.widths[index] = width;
    set.value_words += valueWords(width);
    set.count = index + 1;
    return index;
}

/// One bit per register of a set, by index.
pub const Mask = std.meta.Int(.unsigned, registers_max);

/// Every register of the set.
pub fn all(set: *const RegisterSet) Mask {
    return if (set.count == registers_max) ~@as(Mask, 0) else (@as(Mask, 1) << @intCast(set.count)) - 1;
}

/// Bytes of the largest regs record of this set: every register changed.
pub fn recordBytesMax(set: *const RegisterSet) u32 {
    return (1 + set.count + set.value_words) * 4;
}

pub inline fn valueWords(width: u8) u32 {
    return (@as(u32, width) + 3) / 4;
}

/// Whether register `name` of gdb feature `feature` is in `spec`.
fn wanted(spec: []const u8, name: []const u8, feature: []const u8) bool {
    if (std.mem.eql(u8, spec, "all")) return true;
    if (std.mem.eql(u8, spec, "core")) return std.mem.endsWith(u8, feature, ".core") or std.mem.endsWith(u8, feature, ".cpu");
    var patterns = std.mem.splitScalar(u8, spec, ':');
    while (patterns.next()) |pattern| {
        if (glob(pattern, name)) return true;
    }
    return false;
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: []const u8, text: []const u8) bool {
    const star = std.mem.indexOfScalar(u8, pattern, '*') orelse return std.mem.eql(u8, pattern, text);
    if (!std.mem.startsWith(u8, text, pattern[0..star])) return false;
    const rest = pattern[star + 1 ..];
    var at = star;
    while (at <= text.len) : (at += 1) {
        if (glob(rest, text[at..])) return true;
    }
    return false;
}

test "register specs: core features, globs, lists" {
    try std.testing.expect(wanted("core", "x0", "org.gnu.gdb.aarch64.core"));
    try std.testing.expect(wanted("core", "r1", "org.gnu.gdb.mips.cpu"));
    try std.testing.expect(!wanted("core", "v0", "org.gnu.gdb.aarch64.fpu"));
    try std.testing.expect(wanted("all", "v0", "org.gnu.gdb.aarch64.fpu"));
    try std.testing.expect(wanted("x1*:sp", "x19", ""));
    try std.testing.expect(wanted("x1*:sp", "sp", ""));
    try std.testing.expect(!wanted("x1*:sp", "x2", ""));
    try std.testing.expect(glob("*", ""));
    try std.testing.expect(glob("a*c*e", "abcde"));
    try std.testing.expect(!glob("a*c", "abd"));
}
