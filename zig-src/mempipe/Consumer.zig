// SPDX-License-Identifier: MIT
//! The reading side of one mempipe, shared by every consumer thread (Bun
//! Worker) of the process. It lives in consumer-private memory: the ticket
//! counter and the end-of-stream state are out of the producer's reach, and
//! the geometry is copied out of the header once, after validation. Every
//! mailbox field read from shared memory is checked before it is used; a bad
//! one ends the stream with a `Failure`, never an out-of-bounds access.
const std = @import("std");
const os = std.os;
const assert = std.debug.assert;
const layout = @import("layout.zig");
const futex = @import("futex.zig");
const memfd = @import("memfd.zig");

const Consumer = @This();

pub const Failure = enum(u32) {
    none = 0,
    bad_state = 1,
    bad_sequence = 2,
    bad_length = 3,
    /// The producer said it closed cleanly but published a different number
    /// of chunks than were consumed.
    lost_chunks = 4,
};

pub const OpenError = error{OutOfMemory} || memfd.Error || layout.GeometryError;

pub const ClaimResult = union(enum) {
    claimed: Claim,
    not_ready,
    /// The producer is gone and every chunk it published has been claimed.
    ended,
    failed: Failure,
};

pub const Claim = struct {
    ticket: u64,
    /// Byte offset of the chunk's data from the start of the mapping.
    offset: u64,
    length: u32,
};

pub const Summary = struct {
    chunks: u64,
    bytes: u64,
    clean: bool,
    dropped_chunks: u64,
    failure: Failure,
};

allocator: std.mem.Allocator,
memory: []align(std.mem.page_size) u8,
geometry: layout.Geometry,
/// The next sequence number to hand out; only consumers touch it.
next_ticket: u64 = 0,
/// Set once the producer's connection has closed.
producer_gone: u32 = 0,
failure: u32 = @intFromEnum(Failure.none),
bytes: u64 = 0,
/// Set by the one consumer that looks at the dead producer's open chunk.
salvage_tried: u32 = 0,

/// Maps a pipe received from an untrusted producer and validates its header.
/// Takes ownership of `fd` only on success (closing it: the mapping is all
/// that is needed).
pub fn open(allocator: std.mem.Allocator, fd: os.fd_t) OpenError!*Consumer {
    const size = try memfd.sealedSize(fd);
    if (size < @sizeOf(layout.Header) or size > layout.pipe_bytes_max) return error.BadTotalBytes;
    const memory = try memfd.mapShared(fd, size);
    errdefer os.munmap(memory);
    const geometry = try layout.Geometry.fromHeader(@ptrCast(memory.ptr), size);
    const self = try allocator.create(Consumer);
    self.* = .{ .allocator = allocator, .memory = memory, .geometry = geometry };
    os.close(fd);
    return self;
}

pub fn destroy(self: *Consumer) void {
    os.munmap(self.memory);
    self.allocator.destroy(self);
}

fn header(self: *const Consumer) *layout.Header {
    return @ptrCast(self.memory.ptr);
}

fn mailbox(self: *const Consumer, slot: u32) *layout.Mailbox {
    assert(slot < self.geometry.chunk_count);
    const mailboxes: [*]layout.Mailbox = @ptrCast(@alignCast(self.memory.ptr + self.geometry.mailbox_offset));
    return &mailboxes[slot];
}

/// Called when the producer is gone: after this, a slot that is not ready
/// will never become ready.
pub fn markProducerGone(self: *Consumer) void {
    @atomicStore(u32, &self.producer_gone, 1, .Release);
}

/// Whether the producer said it closed the stream (its last chunk is
/// published).
pub fn closedClean(self: *const Consumer) bool {
    return @atomicLoad(u32, &self.header().producer_status, .Acquire) == @intFromEnum(layout.ProducerStatus.closed_clean);
}

fn fail(self: *Consumer, failure: Failure) ClaimResult {
    _ = @cmpxchgStrong(u32, &self.failure, @intFromEnum(Failure.none), @intFromEnum(failure), .AcqRel, .Acquire);
    return .{ .failed = @enumFromInt(@atomicLoad(u32, &self.failure, .Acquire)) };
}

/// Tries to take the next published chunk. Never blocks: a consumer thread
/// serves many pipes and backs off on its own when none has work.
pub fn claim(self: *Consumer) ClaimResult {
    const failure: Failure = @enumFromInt(@atomicLoad(u32, &self.failure, .Acquire));
    if (failure != .none) return .{ .failed = failure };
    // Read before the mailbox: if the producer was already gone, everything
    // it published is visible by now.
    const gone = @atomicLoad(u32, &self.producer_gone, .Acquire) != 0;
    const ticket = @atomicLoad(u64, &self.next_ticket, .Acquire);
    const box = self.mailbox(self.geometry.slot(ticket));
    const state = @atomicLoad(u32, &box.state, .Acquire);
    if (state == @intFromEnum(layout.State.empty)) return if (gone) self.salvage(ticket) else .not_ready;
    if (state != @intFromEnum(layout.State.full)) return self.fail(.bad_state);
    const sequence = @as(*volatile u64, &box.sequence).*;
    const length = @as(*volatile u32, &box.length).*;
    if (sequence != ticket) {
        // Still holding the previous lap's chunk: another consumer has not
        // handed it back, so the producer cannot have written this one yet.
        const previous_lap = ticket >= self.geometry.chunk_count and
            sequence == ticket - self.geometry.chunk_count;
        if (previous_lap) return if (gone) .ended else .not_ready;
        // Another consumer may have claimed and released this ticket while we
        // looked, letting the producer reuse the slot. Only if the ticket is
        // still unclaimed is a foreign sequence number a lie.
        if (@atomicLoad(u64, &self.next_ticket, .Acquire) != ticket) return .not_ready;
        return self.fail(.bad_sequence);
    }
    if (length > self.geometry.chunk_bytes) return self.fail(.bad_length);
    if (@cmpxchgStrong(u64, &self.next_ticket, ticket, ticket + 1, .AcqRel, .Acquire) != null) {
        return .not_ready; // Another consumer took it; the caller simply polls again.
    }
    _ = @atomicRmw(u64, &self.bytes, .Add, length, .Monotonic);
    return .{ .claimed = .{
        .ticket = ticket,
        .offset = self.geometry.chunkOffset(self.geometry.slot(ticket)),
        .length = length,
    } };
}

/// A producer that died without closing leaves the chunk it was filling
/// unpublished; the header says how many bytes of it hold whole records.
/// Claimed once, as the stream's last chunk, after every published one.
fn salvage(self: *Consumer, ticket: u64) ClaimResult {
    if (@cmpxchgStrong(u32, &self.salvage_tried, 0, 1, .AcqRel, .Acquire) != null) return .ended;
    const head = self.header();
    if (@atomicLoad(u32, &head.producer_status, .Acquire) == @intFromEnum(layout.ProducerStatus.closed_clean)) return .ended;
    const open_sequence = @as(*volatile u64, &head.open_sequence).*;
    const open_bytes = @as(*volatile u32, &head.open_bytes).*;
    if (open_sequence != ticket or open_bytes == 0) return .ended;
    if (open_bytes > self.geometry.chunk_bytes) return self.fail(.bad_length);
    if (@cmpxchgStrong(u64, &self.next_ticket, ticket, ticket + 1, .AcqRel, .Acquire) != null) return .ended;
    _ = @atomicRmw(u64, &self.bytes, .Add, open_bytes, .Monotonic);
    return .{ .claimed = .{
        .ticket = ticket,
        .offset = self.geometry.chunkOffset(self.geometry.slot(ticket)),
        .length = open_bytes,
    } };
}

/// Hands a claimed chunk back to the producer, waking it if it waits.
pub fn release(self: *Consumer, ticket: u64) void {
    assert(ticket < @atomicLoad(u64, &self.next_ticket, .Acquire));
    const box = self.mailbox(self.geometry.slot(ticket));
    @atomicStore(u32, &box.state, @intFromEnum(layout.State.empty), .Release);
    const head = self.header();
    _ = @atomicRmw(u32, &head.released_chunks, .Add, 1, .SeqCst);
    if (@atomicLoad(u32, &head.producer_waiting, .SeqCst) != 0) futex.wakeAll(&head.released_chunks);
}

/// Whether a helper consumer (one that works only when the producer has
/// nothing to do) should claim now: the producer sleeps waiting for a free
/// chunk, or it is gone and what it published is to be drained. Advisory:
/// the flag is the producer's to write, and `claim` validates the chunk.
pub fn wantsHelp(self: *const Consumer) bool {
    if (@atomicLoad(u32, &self.producer_gone, .Acquire) != 0) return true;
    return @atomicLoad(u32, &self.header().producer_waiting, .Monotonic) != 0;
}

/// How the stream ended. Meaningful once `claim` has returned `ended`.
pub fn summary(self: *Consumer) Summary {
    const head = self.header();
    const chunks = @atomicLoad(u64, &self.next_ticket, .Acquire);
    const clean = @atomicLoad(u32, &head.producer_status, .Acquire) ==
        @intFromEnum(layout.ProducerStatus.closed_clean);
    if (clean and @as(*volatile u64, &head.published_chunks).* != chunks) _ = self.fail(.lost_chunks);
    return .{
        .chunks = chunks,
        .bytes = @atomicLoad(u64, &self.bytes, .Monotonic),
        .clean = clean,
        .dropped_chunks = @as(*volatile u64, &head.dropped_chunks).*,
        .failure = @enumFromInt(@atomicLoad(u32, &self.failure, .Acquire)),
    };
}

pub fn data(self: *const Consumer, claimed: Claim) []const u8 {
    assert(claimed.offset + claimed.length <= self.memory.len);
    return self.memory[claimed.offset..][0..claimed.length];
}
