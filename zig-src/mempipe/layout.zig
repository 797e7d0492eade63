// SPDX-License-Identifier: MIT
//! The shared-memory layout of one mempipe: a header, one mailbox per chunk,
//! then the chunk data. This file is the single definition of that layout;
//! the producer (inside QEMU) and the consumer (behind Bun FFI) both use it,
//! and `Geometry.fromHeader` is the only way the consumer learns the layout
//! from memory it does not trust.
//!
//!   offset 0                 Header (4 cache lines)
//!   mailbox_offset           chunk_count × Mailbox (one cache line each)
//!   data_offset (page)       chunk_count × chunk_bytes
const std = @import("std");
const assert = std.debug.assert;

pub const magic: u64 = std.mem.readIntLittle(u64, "CNLPIPE1");
pub const layout_version: u32 = 2;

pub const cache_line_bytes = 64;
pub const page_bytes = 4096;

/// Limits that bound every loop and every size the consumer will accept.
pub const chunk_bytes_min: u32 = 4096;
pub const chunk_bytes_max: u32 = 16 * 1024 * 1024;
pub const chunk_count_min: u32 = 2;
pub const chunk_count_max: u32 = 4096;
pub const pipe_bytes_max: u64 = 1024 * 1024 * 1024;

/// 8 MiB per guest thread. 1 MiB chunks rather than more smaller ones: each
/// chunk costs the consumer a claim, a native fill, a handler call and a
/// message to the ordered stage, and the producer a wake when it waited;
/// with 256 KiB chunks those fixed costs took ~0.3 s of a 2 s PC + memory
/// trace of busybox gzip (and 0.8 s of CPU, see BENCHMARKS.md).
pub const chunk_bytes_default: u32 = 1024 * 1024;
pub const chunk_count_default: u32 = 8;

/// Mailbox states. A slot goes empty → full (producer publishes) → empty
/// (consumer releases). Any other value is corruption.
pub const State = enum(u32) {
    empty = 0,
    full = 1,
};

/// How the producer says it is done; anything but `closed_clean` at the end
/// of the stream means the producer died or was killed.
pub const ProducerStatus = enum(u32) {
    running = 0,
    closed_clean = 1,
};

pub const Header = extern struct {
    // Line 0: written once by the producer before the pipe is handed over.
    magic: u64 align(cache_line_bytes),
    layout_version: u32,
    chunk_bytes: u32,
    chunk_count: u32,
    mailbox_offset: u32,
    data_offset: u32,
    _reserved0: u32,
    total_bytes: u64,
    _pad0: [24]u8,

    // Line 1: written by the producer, rarely (close, drops, waiting).
    producer_status: u32 align(cache_line_bytes),
    /// Set while the producer sleeps waiting for a free chunk, so a releasing
    /// consumer knows to wake it.
    producer_waiting: u32,
    published_chunks: u64,
    dropped_chunks: u64,
    _pad1: [40]u8,

    // Line 2: written by consumers on every release; the producer reads it
    // only while it waits (futex word).
    released_chunks: u32 align(cache_line_bytes),
    _pad2: [60]u8,

    // Line 3: written by the producer on every record, read by the consumer
    // only once the producer is gone without closing: how much of the chunk
    // it was filling holds whole records, so a crash loses nothing written.
    open_sequence: u64 align(cache_line_bytes),
    open_bytes: u32,
    _pad3: [52]u8,
};

pub const Mailbox = extern struct {
    state: u32 align(cache_line_bytes),
    length: u32,
    sequence: u64,
    _pad: [48]u8,
};

comptime {
    assert(@sizeOf(Header) == 4 * cache_line_bytes);
    assert(@offsetOf(Header, "open_sequence") == 3 * cache_line_bytes);
    assert(@offsetOf(Header, "producer_status") == cache_line_bytes);
    assert(@offsetOf(Header, "released_chunks") == 2 * cache_line_bytes);
    assert(@sizeOf(Mailbox) == cache_line_bytes);
}

pub const GeometryError = error{
    BadMagic,
    BadLayoutVersion,
    BadChunkBytes,
    BadChunkCount,
    BadOffsets,
    BadTotalBytes,
};

/// The pipe's dimensions, computed from the two numbers chosen at creation.
/// The consumer copies it out of the header once and never re-reads those
/// fields, so a producer that rewrites its header later cannot move bounds.
pub const Geometry = struct {
    chunk_bytes: u32,
    chunk_count: u32,
    mailbox_offset: u32,
    data_offset: u32,
    total_bytes: u64,

    pub fn init(chunk_bytes: u32, chunk_count: u32) GeometryError!Geometry {
        if (chunk_bytes < chunk_bytes_min or chunk_bytes > chunk_bytes_max or
            chunk_bytes % cache_line_bytes != 0) return error.BadChunkBytes;
        if (chunk_count < chunk_count_min or chunk_count > chunk_count_max) return error.BadChunkCount;
        const mailbox_offset: u32 = @sizeOf(Header);
        const mailboxes_end: u32 = mailbox_offset + chunk_count * @sizeOf(Mailbox);
        const data_offset: u32 = std.mem.alignForward(u32, mailboxes_end, page_bytes);
        const total_bytes: u64 = @as(u64, data_offset) + @as(u64, chunk_bytes) * chunk_count;
        if (total_bytes > pipe_bytes_max) return error.BadTotalBytes;
        return .{
            .chunk_bytes = chunk_bytes,
            .chunk_count = chunk_count,
            .mailbox_offset = mailbox_offset,
            .data_offset = data_offset,
            .total_bytes = total_bytes,
        };
    }

    /// Validates a header read from shared memory against what the layout
    /// rules derive from its two free parameters, and against the size of the
    /// mapping the consumer actually holds.
    pub fn fromHeader(header: *const volatile Header, mapped_bytes: u64) GeometryError!Geometry {
        if (header.magic != magic) return error.BadMagic;
        if (header.layout_version != layout_version) return error.BadLayoutVersion;
        const geometry = try Geometry.init(header.chunk_bytes, header.chunk_count);
        if (header.mailbox_offset != geometry.mailbox_offset or
            header.data_offset != geometry.data_offset) return error.BadOffsets;
        if (header.total_bytes != geometry.total_bytes or
            geometry.total_bytes != mapped_bytes) return error.BadTotalBytes;
        return geometry;
    }

    pub fn writeHeader(geometry: Geometry, header: *Header) void {
        header.* = std.mem.zeroes(Header);
        header.magic = magic;
        header.layout_version = layout_version;
        header.chunk_bytes = geometry.chunk_bytes;
        header.chunk_count = geometry.chunk_count;
        header.mailbox_offset = geometry.mailbox_offset;
        header.data_offset = geometry.data_offset;
        header.total_bytes = geometry.total_bytes;
    }

    pub fn slot(geometry: Geometry, sequence: u64) u32 {
        return @intCast(sequence % geometry.chunk_count);
    }

    pub fn chunkOffset(geometry: Geometry, slot_index: u32) u64 {
        assert(slot_index < geometry.chunk_count);
        return @as(u64, geometry.data_offset) + @as(u64, slot_index) * geometry.chunk_bytes;
    }
};

test "geometry keeps mailboxes and data apart and page-aligns data" {
    const g = try Geometry.init(chunk_bytes_default, chunk_count_default);
    try std.testing.expect(g.data_offset % page_bytes == 0);
    try std.testing.expect(g.data_offset >= g.mailbox_offset + g.chunk_count * @sizeOf(Mailbox));
    try std.testing.expectEqual(g.chunkOffset(g.chunk_count - 1) + g.chunk_bytes, g.total_bytes);
}

test "geometry refuses sizes outside the limits" {
    try std.testing.expectError(error.BadChunkBytes, Geometry.init(100, 4));
    try std.testing.expectError(error.BadChunkBytes, Geometry.init(chunk_bytes_max + 64, 4));
    try std.testing.expectError(error.BadChunkCount, Geometry.init(4096, 1));
    try std.testing.expectError(error.BadChunkCount, Geometry.init(4096, chunk_count_max + 1));
    try std.testing.expectError(error.BadTotalBytes, Geometry.init(chunk_bytes_max, chunk_count_max));
}
