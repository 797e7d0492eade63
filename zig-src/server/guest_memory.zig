// SPDX-License-Identifier: GPL-2.0-or-later
//! Reading guest memory outside the memory callbacks (a syscall's string and
//! pointer arguments). In linux-user guest memory sits at a fixed offset in
//! QEMU's address space (guest_base), learnt from the first translated
//! instruction whose host bytes QEMU shows. The reads go through
//! process_vm_readv on this very process, so a guest pointer that is bad
//! (unmapped, a guard page) fails the read instead of faulting QEMU.
const std = @import("std");
const linux = std.os.linux;

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
    if (pointer_bytes == 4) {
        const word = bytes[0..4];
        return if (big_endian) std.mem.readIntBig(u32, word) else std.mem.readIntLittle(u32, word);
    }
    return if (big_endian) std.mem.readIntBig(u64, &bytes) else std.mem.readIntLittle(u64, &bytes);
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
    // Page 0 is never mapped: the read fails instead of faulting.
    try std.testing.expect(readPointer(16, 8, false) == null);
}
