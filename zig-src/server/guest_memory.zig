// SPDX-License-Identifier: GPL-2.0-or-later
//! Reading guest memory outside the memory callbacks (a syscall's string and
//! pointer arguments). In linux-user guest memory sits at a fixed offset in
//! QEMU's address space (guest_base), learnt from the first translated
//! instruction whose host bytes QEMU shows. The reads go through
//! process_vm_readv on this very process, so a guest pointer that is bad
//! (unmapped, a guard page) fails the read instead of faulting QEMU.
const std = @import("std");
const linux = std.os.linux;
const records = @import("wire").records;

/// Host address of guest address 0: read directly on the memory-callback
/// hot path (plugin.zig's read-back), valid once `baseKnown`.
pub var base: usize = 0;
var base_known: bool = false;

/// `host` is where QEMU holds the guest's byte at `guest_address`.
pub fn noteBase(host: usize, guest_address: u64) void {
    if (@atomicLoad(bool, &base_known, .Acquire)) return;
    base = host -% @as(usize, @intCast(guest_address));
    @atomicStore(bool, &base_known, true, .Release);
}

pub fn baseKnown() bool {
    return @atomicLoad(bool, &base_known, .Acquire);
}

/// Copies `out.len` guest bytes at `address`; false unless all were readable.
pub fn read(address: u64, out: []u8) bool {
    if (!baseKnown() or out.len == 0) return out.len == 0;
    var local = [_]std.os.iovec{.{ .iov_base = out.ptr, .iov_len = out.len }};
    const remote = [_]std.os.iovec_const{.{ .iov_base = @ptrFromInt(base +% @as(usize, @intCast(address))), .iov_len = out.len }};
    const result = linux.process_vm_readv(linux.getpid(), &local, &remote, 0);
    return linux.getErrno(result) == .SUCCESS and result == out.len;
}

/// A guest pointer (`pointer_bytes` wide, in the guest's byte order).
pub fn readPointer(address: u64, pointer_bytes: u8, big_endian: bool) ?u64 {
    std.debug.assert(pointer_bytes == 4 or pointer_bytes == 8);
    var bytes: [8]u8 = undefined;
    if (!read(address, bytes[0..pointer_bytes])) return null;
    return if (pointer_bytes == 4) readGuest(u32, &bytes, big_endian) else readGuest(u64, &bytes, big_endian);
}

/// The value of an access (mem head `flags`: size and byte order) at
/// `host`, where QEMU holds the guest's bytes, as the guest sees it,
/// zero-extended. The caller knows the bytes are mapped: the access just
/// succeeded.
pub inline fn accessValue(flags: u32, host: [*]const u8) u128 {
    return accessValueNarrow(flags, host) orelse readGuest(u128, host, flags & (1 << records.mem_big_endian_bit) != 0);
}

/// accessValue of an access up to 8 bytes; null for a 16-byte one. The
/// memory callback's fast path: the size switch that reads the value also
/// sends the rare 16-byte access away, at no cost to the others.
pub inline fn accessValueNarrow(flags: u32, host: [*]const u8) ?u64 {
    const big_endian = flags & (1 << records.mem_big_endian_bit) != 0;
    return switch ((flags >> records.mem_size_shift_bit) & 7) {
        0 => host[0],
        1 => readGuest(u16, host, big_endian),
        2 => readGuest(u32, host, big_endian),
        3 => readGuest(u64, host, big_endian),
        else => null,
    };
}

inline fn readGuest(comptime T: type, host: [*]const u8, big_endian: bool) T {
    const bytes: *align(1) const [@sizeOf(T)]u8 = @ptrCast(host);
    return if (big_endian) std.mem.readIntBig(T, bytes) else std.mem.readIntLittle(T, bytes);
}

/// The NUL-terminated guest string at `address`, into `out` (without the
/// NUL); null when unreadable or longer than `out`. Reads page by page so
/// a string that ends just before an unmapped page still reads.
pub fn readString(address: u64, out: []u8) ?[]u8 {
    const page_bytes = 4096;
    var length: usize = 0;
    while (length < out.len) {
        const at = address +% length;
        const in_page = page_bytes - @as(usize, @intCast(at % page_bytes));
        const piece = out[length..@min(out.len, length + in_page)];
        if (!read(at, piece)) return null;
        if (std.mem.indexOfScalar(u8, piece, 0)) |nul| return out[0 .. length + nul];
        length += piece.len;
    }
    return null;
}

test "reads this process's own memory through a zero base" {
    base = 0;
    @atomicStore(bool, &base_known, true, .Release);
    defer @atomicStore(bool, &base_known, false, .Release);
    const text: [:0]const u8 = "guest string";
    var out: [64]u8 = undefined;
    try std.testing.expectEqualStrings("guest string", readString(@intFromPtr(text.ptr), &out).?);
    var short: [4]u8 = undefined;
    try std.testing.expect(readString(@intFromPtr(text.ptr), &short) == null);
    const words = [_]u32{ 0x11223344, 0 };
    try std.testing.expectEqual(@as(?u64, 0x11223344), readPointer(@intFromPtr(&words), 4, false));
    try std.testing.expectEqual(@as(?u64, 0x44332211), readPointer(@intFromPtr(&words), 4, true));
    const size = records.mem_size_shift_bit;
    const big = 1 << records.mem_big_endian_bit;
    const bytes = [16]u8{ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    try std.testing.expectEqual(@as(u128, 0x0201), accessValue(1 << size, &bytes));
    try std.testing.expectEqual(@as(?u64, 0x01020304), accessValueNarrow(2 << size | big, &bytes));
    try std.testing.expectEqual(@as(?u64, null), accessValueNarrow(4 << size, &bytes));
    try std.testing.expectEqual(@as(u128, 0x100f0e0d0c0b0a090807060504030201), accessValue(4 << size, &bytes));
    try std.testing.expectEqual(@as(u128, 0x0102030405060708090a0b0c0d0e0f10), accessValue(4 << size | big, &bytes));
    // Page 0 is never mapped: the read fails instead of faulting.
    try std.testing.expect(readPointer(16, 8, false) == null);
}
