// SPDX-License-Identifier: MIT
//! The writing end of a mempipe: owned by exactly one thread (a QEMU vCPU
//! thread, or a test). It fills the current chunk in place and publishes it
//! with a release store; when every chunk is held by consumers it waits
//! (spin, then futex), so no data is ever dropped silently.
const std = @import("std");
const os = std.os;
const assert = std.debug.assert;
const layout = @import("layout.zig");
const futex = @import("futex.zig");
const socket = @import("socket.zig");
const memfd_ = @import("memfd.zig");
const high_fd = @import("high_fd.zig");

const Producer = @This();

/// Spins before sleeping while waiting for a free chunk. Few: a consumer
/// takes hundreds of microseconds per chunk, so a spinning producer would
/// only burn the core that a helper Worker (which works while the producer
/// sleeps) could use; a futex wake costs microseconds per chunk.
const wait_spins = 100;
/// How long one futex sleep lasts before the producer re-checks that the
/// consumer is still alive.
const wait_sleep_ns = 50 * std.time.ns_per_ms;

pub const Options = struct {
    chunk_bytes: u32 = layout.chunk_bytes_default,
    chunk_count: u32 = layout.chunk_count_default,
};

pub const Error = error{ ConsumerGone, GroupTooLarge } || memfd_.Error || layout.GeometryError || socket.SocketError;

const no_group = std.math.maxInt(u32);

geometry: layout.Geometry,
memory: []align(layout.page_bytes) u8,
/// -1 once handed over: the mapping outlives it, and the guest must not
/// be able to see or close it (qemu-user shares the descriptor table).
memfd: os.fd_t,
/// -1 when the pipe is not connected (tests that hand the memory over in
/// process).
sock: os.fd_t,
/// The socket's inode, to tell it from a guest's file of the same number.
sock_inode: u64 = 0,
/// Sequence number of the chunk being filled.
sequence: u64,
/// Bytes already written into the current chunk.
cursor: u32,
chunk: [*]u8,
/// Where the open record group starts in the current chunk, or `no_group`.
group_start: u32 = no_group,

/// Creates the pipe memory (anonymous memfd, never named in /dev/shm).
pub fn create(options: Options) Error!Producer {
    const geometry = try layout.Geometry.init(options.chunk_bytes, options.chunk_count);
    const memfd = high_fd.moveHigh(try memfd_.createSealed(geometry.total_bytes));
    errdefer os.close(memfd);
    const memory = try memfd_.mapShared(memfd, geometry.total_bytes);
    var producer = Producer{
        .geometry = geometry,
        .memory = memory,
        .memfd = memfd,
        .sock = -1,
        .sequence = 0,
        .cursor = 0,
        .chunk = undefined,
    };
    geometry.writeHeader(producer.header());
    producer.chunk = producer.chunkData(0);
    return producer;
}

/// Connects to the consumer's socket and hands over the memfd with the
/// handshake payload.
pub fn connect(self: *Producer, socket_path: []const u8, handshake: []const u8) Error!void {
    assert(self.sock == -1);
    const sock = high_fd.moveHigh(try socket.connect(socket_path));
    errdefer os.close(sock);
    try socket.sendPipe(sock, self.memfd, handshake);
    self.sock = sock;
    self.sock_inode = inodeOf(sock) orelse 0;
    os.close(self.memfd);
    self.memfd = -1;
}

/// Whether `sock` still is our socket: the guest shares the descriptor
/// table, and one that closes every descriptor (or reuses the number) takes
/// it away; then it is neither polled nor closed (it may be the guest's).
fn ownsSocket(self: *const Producer) bool {
    if (self.sock == -1 or self.sock_inode == 0) return false;
    return inodeOf(self.sock) == self.sock_inode;
}

fn inodeOf(fd: os.fd_t) ?u64 {
    const stat = os.fstat(fd) catch return null;
    return stat.ino;
}

pub fn header(self: *const Producer) *layout.Header {
    return @ptrCast(self.memory.ptr);
}

fn mailbox(self: *const Producer, slot: u32) *layout.Mailbox {
    assert(slot < self.geometry.chunk_count);
    const mailboxes: [*]layout.Mailbox = @ptrCast(@alignCast(self.memory.ptr + self.geometry.mailbox_offset));
    return &mailboxes[slot];
}

fn chunkData(self: *const Producer, sequence: u64) [*]u8 {
    return self.memory.ptr + self.geometry.chunkOffset(self.geometry.slot(sequence));
}

/// Returns room for `bytes` contiguous bytes in the current chunk, publishing
/// it and moving to the next one when it is too full. Records never straddle
/// chunks, so a consumer can decode any chunk on its own.
pub inline fn reserve(self: *Producer, bytes: u32) Error![*]u8 {
    assert(bytes <= self.geometry.chunk_bytes);
    if (self.cursor + bytes > self.geometry.chunk_bytes) try self.advance();
    return self.chunk + self.cursor;
}

pub inline fn commit(self: *Producer, bytes: u32) void {
    assert(self.cursor + bytes <= self.geometry.chunk_bytes);
    self.cursor += bytes;
    // Plain store: read only after this process is gone (see layout.zig).
    self.header().open_bytes = self.cursor;
}

/// Lets a salvage of the open chunk (this process killed) take only its
/// first `bytes`, so that a committed record can be rewritten in place
/// along with what follows it; `commitRewritten` takes the rest back.
pub inline fn salvageUpTo(self: *Producer, bytes: u32) void {
    assert(bytes <= self.cursor);
    @as(*volatile u32, &self.header().open_bytes).* = bytes;
}

/// `commit` after `salvageUpTo` and a rewrite through volatile stores: in
/// that order, so a producer killed in between leaves a chunk that decodes.
pub inline fn commitRewritten(self: *Producer, bytes: u32) void {
    assert(self.cursor + bytes <= self.geometry.chunk_bytes);
    self.cursor += bytes;
    @as(*volatile u32, &self.header().open_bytes).* = self.cursor;
}

pub fn write(self: *Producer, bytes: []const u8) Error!void {
    const n: u32 = @intCast(bytes.len);
    const destination = try self.reserve(n);
    @memcpy(destination[0..n], bytes);
    self.commit(n);
}

/// Opens a group of records that must reach the consumer in one chunk (a
/// block's memory records and the record that closes the block, written
/// later). When the chunk fills while a group is open, the group's bytes
/// move to the next chunk instead of being split.
pub inline fn beginGroup(self: *Producer) void {
    self.group_start = self.cursor;
}

/// `commit` up to `cursor` and `beginGroup` at `group_start` in one.
pub inline fn commitAndGroup(self: *Producer, cursor: u32, group_start: u32) void {
    assert(self.cursor <= group_start and group_start <= cursor and cursor <= self.geometry.chunk_bytes);
    self.cursor = cursor;
    self.header().open_bytes = cursor;
    self.group_start = group_start;
}

pub inline fn endGroup(self: *Producer) void {
    self.group_start = no_group;
}

/// Publishes the current chunk if it holds anything. An open group is
/// published as it stands.
pub fn flush(self: *Producer) Error!void {
    self.endGroup();
    if (self.cursor > 0) try self.advance();
}

fn advance(self: *Producer) Error!void {
    if (self.group_start == no_group or self.group_start == self.cursor) {
        self.publish();
        try self.acquire();
        if (self.group_start != no_group) self.group_start = 0;
        return;
    }
    // A group filling a whole chunk cannot move anywhere bigger.
    if (self.group_start == 0) return error.GroupTooLarge;
    const carried = self.cursor - self.group_start;
    const source = self.chunk + self.group_start;
    // Take the next chunk before publishing this one: the group's bytes are
    // still needed, and the consumer may read a published chunk at once.
    const next = self.mailbox(self.geometry.slot(self.sequence + 1));
    if (!self.slotEmpty(next)) try self.waitForSlot(next);
    const destination = self.chunkData(self.sequence + 1);
    @memcpy(destination[0..carried], source[0..carried]);
    self.cursor = self.group_start;
    self.publish();
    self.chunk = destination;
    self.cursor = carried;
    self.header().open_bytes = carried;
    self.group_start = 0;
}

fn publish(self: *Producer) void {
    const box = self.mailbox(self.geometry.slot(self.sequence));
    assert(@atomicLoad(u32, &box.state, .Monotonic) == @intFromEnum(layout.State.empty));
    box.length = self.cursor;
    box.sequence = self.sequence;
    @atomicStore(u32, &box.state, @intFromEnum(layout.State.full), .Release);
    self.header().published_chunks = self.sequence + 1;
    self.sequence += 1;
    self.cursor = 0;
    self.header().open_sequence = self.sequence;
    self.header().open_bytes = 0;
}

/// Makes the chunk for `self.sequence` writable, waiting for consumers to
/// hand it back.
fn acquire(self: *Producer) Error!void {
    const box = self.mailbox(self.geometry.slot(self.sequence));
    if (!self.slotEmpty(box)) try self.waitForSlot(box);
    self.chunk = self.chunkData(self.sequence);
}

fn slotEmpty(self: *const Producer, box: *const layout.Mailbox) bool {
    _ = self;
    return @atomicLoad(u32, &box.state, .Acquire) == @intFromEnum(layout.State.empty);
}

fn waitForSlot(self: *Producer, box: *layout.Mailbox) Error!void {
    const head = self.header();
    var spins: u32 = 0;
    while (spins < wait_spins) : (spins += 1) {
        if (self.slotEmpty(box)) return;
        std.atomic.spinLoopHint();
    }
    while (true) {
        const released = @atomicLoad(u32, &head.released_chunks, .SeqCst);
        @atomicStore(u32, &head.producer_waiting, 1, .SeqCst);
        if (self.slotEmpty(box)) break;
        futex.wait(&head.released_chunks, released, wait_sleep_ns);
        if (self.slotEmpty(box)) break;
        if (self.ownsSocket() and socket.peerClosed(self.sock)) {
            @atomicStore(u32, &head.producer_waiting, 0, .SeqCst);
            return error.ConsumerGone;
        }
    }
    @atomicStore(u32, &head.producer_waiting, 0, .SeqCst);
}

/// Publishes what is left, marks the stream as cleanly closed and hangs up.
pub fn close(self: *Producer) Error!void {
    try self.flush();
    @atomicStore(u32, &self.header().producer_status, @intFromEnum(layout.ProducerStatus.closed_clean), .Release);
    self.release();
}

/// Closes the socket (if it still is ours), leaving the mapping.
pub fn hangUp(self: *Producer) void {
    if (self.ownsSocket()) closeOwned(self.sock);
    self.sock = -1;
}

/// Drops the mapping and descriptors without marking the stream clean, as if
/// the producer had died.
pub fn release(self: *Producer) void {
    if (self.ownsSocket()) closeOwned(self.sock);
    self.sock = -1;
    os.munmap(self.memory);
    if (self.memfd != -1) closeOwned(self.memfd);
    self.memfd = -1;
}

/// Closes a descriptor of ours that the guest may already have closed (a
/// guest that closes every descriptor, close_range(3, ~0)): the descriptors
/// live in the guest's table, so EBADF is the guest's doing, not a bug here.
/// (The socket goes through `ownsSocket` first: its number may be reused.)
pub fn closeOwned(fd: os.fd_t) void {
    _ = std.os.linux.close(fd);
}
