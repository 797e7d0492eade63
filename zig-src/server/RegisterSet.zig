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
/// A spec lists at most this many names and globs (each one byte and a ':').
pub const patterns_max = spec_bytes_max / 2;
/// Bounds the list of registers a refusal names.
pub const offered_bytes_max = 320;

count: u32 = 0,
handles: [registers_max]*qp.qemu_plugin_register = undefined,
names: [registers_max][*:0]const u8 = undefined,
widths: [registers_max]u8 = undefined,
/// Sum over the registers of their value words.
value_words: u32 = 0,
/// The program counter among them: QEMU updates it only at block starts, so
/// the server writes the instruction's own address there instead.
pc_index: ?u32 = null,
/// The spec's first name or glob that no register on offer matched: the
/// caller refuses to start rather than quietly record fewer registers.
unmatched: ?[]const u8 = null,
/// The registers on offer (those of at most `value_bytes_max` bytes), by
/// name, for that refusal.
offered: std.BoundedArray(u8, offered_bytes_max) = .{},

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
    var matched: PatternMask = 0;
    for (descriptors[0..array.len]) |descriptor| {
        _ = qp.g_byte_array_set_size(probe, 0);
        const width = readRegister(descriptor.handle, probe);
        if (width <= 0 or width > value_bytes_max) continue;
        const name = std.mem.span(descriptor.name);
        set.offer(name);
        const patterns = wanted(spec, name, if (descriptor.feature) |f| std.mem.span(f) else "");
        matched |= patterns;
        if (patterns == 0 or set.count == registers_max) continue;
        set.handles[set.add(descriptor.name, @intCast(width))] = descriptor.handle;
    }
    set.unmatched = firstUnmatched(spec, matched);
    return set;
}

/// Selects from the patched QEMU's table of the target's registers (every
/// one a core register), writing each chosen register's table index to
/// `chosen`. Widths over `value_bytes_max` are left out.
pub fn selectFromTable(spec: []const u8, names: []const [*:0]const u8, widths: []const u32, chosen: *[registers_max]u32) RegisterSet {
    std.debug.assert(names.len == widths.len);
    var set = RegisterSet{};
    var matched: PatternMask = 0;
    for (names, widths, 0..) |name, width, index| {
        if (width == 0 or width > value_bytes_max) continue;
        set.offer(std.mem.span(name));
        const patterns = wanted(spec, std.mem.span(name), "core.core");
        matched |= patterns;
        if (patterns == 0 or set.count == registers_max) continue;
        chosen[set.add(name, @intCast(width))] = @intCast(index);
    }
    set.unmatched = firstUnmatched(spec, matched);
    return set;
}

/// Notes a register on offer for a refusal's list (names past the list's
/// bound become one "...").
fn offer(set: *RegisterSet, name: []const u8) void {
    const ellipsis = " ...";
    const list = &set.offered;
    if (std.mem.endsWith(u8, list.slice(), ellipsis)) return;
    const separator: []const u8 = if (list.len == 0) "" else " ";
    if (list.len + separator.len + name.len + ellipsis.len <= offered_bytes_max) {
        list.appendSliceAssumeCapacity(separator);
        list.appendSliceAssumeCapacity(name);
    } else {
        list.appendSliceAssumeCapacity(ellipsis);
    }
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

/// One bit per name or glob of a spec, in the order it lists them.
const PatternMask = std.meta.Int(.unsigned, patterns_max);

/// The names and globs of `spec` that register `name` of gdb feature
/// `feature` matches (bit 0 alone for `all`, and for `core` when it is a
/// core register); 0 when it is not wanted.
fn wanted(spec: []const u8, name: []const u8, feature: []const u8) PatternMask {
    if (std.mem.eql(u8, spec, "all")) return 1;
    if (std.mem.eql(u8, spec, "core")) return @intFromBool(std.mem.endsWith(u8, feature, ".core") or std.mem.endsWith(u8, feature, ".cpu"));
    std.debug.assert(spec.len <= spec_bytes_max);
    var mask: PatternMask = 0;
    var patterns = std.mem.splitScalar(u8, spec, ':');
    var index: u32 = 0;
    while (patterns.next()) |pattern| : (index += 1) {
        if (glob(pattern, name)) mask |= @as(PatternMask, 1) << @intCast(index);
    }
    return mask;
}

/// The first name or glob of `spec` whose bit `matched` lacks; null when
/// every one matched, and for `all` and `core` (whose emptiness the caller
/// tells from the set's count).
fn firstUnmatched(spec: []const u8, matched: PatternMask) ?[]const u8 {
    if (std.mem.eql(u8, spec, "all") or std.mem.eql(u8, spec, "core")) return null;
    var patterns = std.mem.splitScalar(u8, spec, ':');
    var index: u32 = 0;
    while (patterns.next()) |pattern| : (index += 1) {
        if (matched & (@as(PatternMask, 1) << @intCast(index)) == 0) return pattern;
    }
    return null;
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
    try std.testing.expect(wanted("core", "x0", "org.gnu.gdb.aarch64.core") != 0);
    try std.testing.expect(wanted("core", "r1", "org.gnu.gdb.mips.cpu") != 0);
    try std.testing.expect(wanted("core", "v0", "org.gnu.gdb.aarch64.fpu") == 0);
    try std.testing.expect(wanted("all", "v0", "org.gnu.gdb.aarch64.fpu") != 0);
    try std.testing.expectEqual(@as(PatternMask, 0b001), wanted("x1*:sp:x19", "x1", ""));
    try std.testing.expectEqual(@as(PatternMask, 0b101), wanted("x1*:sp:x19", "x19", ""));
    try std.testing.expectEqual(@as(PatternMask, 0b010), wanted("x1*:sp:x19", "sp", ""));
    try std.testing.expect(wanted("x1*:sp", "x2", "") == 0);
    try std.testing.expect(glob("*", ""));
    try std.testing.expect(glob("a*c*e", "abcde"));
    try std.testing.expect(!glob("a*c", "abd"));
}

test "a name or glob that matches no register is named, and the offered ones listed" {
    const names = [_][*:0]const u8{ "x0", "x1", "sp", "v0" };
    const widths = [_]u32{ 8, 8, 8, 128 };
    var chosen: [registers_max]u32 = undefined;
    const typo = selectFromTable("x0:bogus:s*", &names, &widths, &chosen);
    try std.testing.expectEqual(@as(u32, 2), typo.count);
    try std.testing.expectEqualStrings("bogus", typo.unmatched.?);
    // v0 is wider than any register the server records: not on offer.
    try std.testing.expectEqualStrings("x0 x1 sp", typo.offered.slice());
    try std.testing.expectEqualStrings("v0", selectFromTable("x*:v0", &names, &widths, &chosen).unmatched.?);
    try std.testing.expect(selectFromTable("x*:sp", &names, &widths, &chosen).unmatched == null);
    try std.testing.expect(selectFromTable("core", &names, &widths, &chosen).unmatched == null);
}

test "the offered list stays within its bound" {
    var set = RegisterSet{};
    for (0..200) |_| set.offer("register");
    try std.testing.expect(set.offered.len <= offered_bytes_max);
    try std.testing.expect(std.mem.endsWith(u8, set.offered.slice(), "register ..."));
}
