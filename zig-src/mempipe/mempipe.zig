// SPDX-License-Identifier: MIT
//! mempipe: a ring of fixed-size chunks in shared memory carrying one guest
//! thread's events from its producer (inside QEMU) to consumer threads.
//! This is the package root; the tests below exercise producer and consumers
//! together in one process (the cross-process tests live in test/ on the Bun
//! side).
const std = @import("std");
const testing = std.testing;

pub const layout = @import("layout.zig");
pub const socket = @import("socket.zig");
pub const memfd = @import("memfd.zig");
pub const Producer = @import("Producer.zig");
pub const Consumer = @import("Consumer.zig");
pub const Listener = @import("Listener.zig");

test {
    std.testing.refAllDecls(@This());
    _ = @import("high_fd.zig");
    _ = @import("process_tree.zig");
}

/// Opens the consumer side on a duplicate of the producer's memfd, as the
/// socket hand-over would.
fn openConsumer(producer: *const Producer) !*Consumer {
    const fd = try std.os.dup(producer.memfd);
    return Consumer.open(testing.allocator, fd);
}

const Received = struct {
    /// Per ticket: the chunk's bytes, copied so the ordering can be checked
    /// after the run.
    chunks: std.AutoHashMap(u64, []u8),
    mutex: std.Thread.Mutex = .{},
};

fn consumeAll(consumer: *Consumer, received: *Received, stall_ms: u64) void {
    if (stall_ms > 0) std.time.sleep(stall_ms * std.time.ns_per_ms);
    while (true) {
        switch (consumer.claim()) {
            .claimed => |claimed| {
                const copy = testing.allocator.dupe(u8, consumer.data(claimed)) catch unreachable;
                consumer.release(claimed.ticket);
                received.mutex.lock();
                defer received.mutex.unlock();
                received.chunks.put(claimed.ticket, copy) catch unreachable;
            },
            .not_ready => std.atomic.spinLoopHint(),
            .ended => return,
            .failed => unreachable,
        }
    }
}

fn produceRandom(producer: *Producer, seed: u64, total_bytes: usize, record_bytes_max: u32) !u64 {
    var prng = std.rand.DefaultPrng.init(seed);
    var checksum = std.hash.Wyhash.init(0);
    var written: usize = 0;
    var record: [4096]u8 = undefined;
    while (written < total_bytes) {
        const n = prng.random().intRangeAtMost(u32, 1, record_bytes_max);
        prng.random().bytes(record[0..n]);
        try producer.write(record[0..n]);
        checksum.update(record[0..n]);
        written += n;
    }
    return checksum.final();
}

fn runStream(consumer_count: usize, chunk_count: u32, total_bytes: usize, stall_ms: u64) !void {
    var producer = try Producer.create(.{ .chunk_bytes = 4096, .chunk_count = chunk_count });
    const consumer = try openConsumer(&producer);
    defer consumer.destroy();
    var received = Received{ .chunks = std.AutoHashMap(u64, []u8).init(testing.allocator) };
    defer {
        var values = received.chunks.valueIterator();
        while (values.next()) |chunk| testing.allocator.free(chunk.*);
        received.chunks.deinit();
    }
    var threads: [3]std.Thread = undefined;
    for (threads[0..consumer_count]) |*thread| {
        thread.* = try std.Thread.spawn(.{}, consumeAll, .{ consumer, &received, stall_ms });
    }
    const expected = try produceRandom(&producer, 42, total_bytes, 300);
    if (stall_ms > 0) try testing.expect(producer.sequence > chunk_count); // it had to wait
    try producer.close();
    consumer.markProducerGone();
    for (threads[0..consumer_count]) |thread| thread.join();

    const summary = consumer.summary();
    try testing.expect(summary.clean);
    try testing.expectEqual(Consumer.Failure.none, summary.failure);
    try testing.expectEqual(@as(u64, received.chunks.count()), summary.chunks);
    var checksum = std.hash.Wyhash.init(0);
    var bytes: u64 = 0;
    var ticket: u64 = 0;
    while (ticket < summary.chunks) : (ticket += 1) {
        const chunk = received.chunks.get(ticket) orelse return error.MissingChunk;
        checksum.update(chunk);
        bytes += chunk.len;
    }
    try testing.expectEqual(summary.bytes, bytes);
    try testing.expectEqual(expected, checksum.final());
}

test "one consumer receives every byte in order" {
    try runStream(1, 8, 1 << 20, 0);
}

test "three consumers: chunks reassemble in ticket order" {
    try runStream(3, 8, 1 << 20, 0);
}

test "wrap-around over many thousands of chunks keeps a checksum of every byte" {
    try runStream(2, 4, 40 * 1024 * 1024, 0); // ≈ 10 000 chunks of 4 KiB through 4 slots
}

test "a stalled consumer makes the producer wait, and nothing is lost" {
    try runStream(1, 2, 256 * 1024, 200);
}

fn fillChunks(producer: *Producer, records: u32) void {
    const record = [_]u8{7} ** 1024;
    var i: u32 = 0;
    while (i < records) : (i += 1) producer.write(&record) catch unreachable;
}

fn drain(consumer: *Consumer) void {
    while (true) {
        switch (consumer.claim()) {
            .claimed => |claimed| consumer.release(claimed.ticket),
            .not_ready => std.atomic.spinLoopHint(),
            .ended, .failed => return,
        }
    }
}

test "a helper consumer is wanted only while the producer sleeps on a full ring, and once it is gone" {
    var producer = try Producer.create(.{ .chunk_bytes = 4096, .chunk_count = 2 });
    const consumer = try openConsumer(&producer);
    defer consumer.destroy();
    try testing.expect(!consumer.wantsHelp());
    // More than two chunks through two slots that nobody drains yet: the
    // producer sleeps until a consumer starts.
    const writer = try std.Thread.spawn(.{}, fillChunks, .{ &producer, 16 });
    var polls: u32 = 0;
    while (!consumer.wantsHelp()) : (polls += 1) {
        if (polls == 5000) return error.ProducerNeverWaited;
        std.time.sleep(std.time.ns_per_ms);
    }
    const drainer = try std.Thread.spawn(.{}, drain, .{consumer});
    writer.join();
    // Back from its last write, the producer no longer waits.
    try testing.expect(!consumer.wantsHelp());
    try producer.close();
    consumer.markProducerGone();
    try testing.expect(consumer.wantsHelp());
    drainer.join();
    try testing.expectEqual(Consumer.Failure.none, consumer.summary().failure);
}

test "a pipe that is never written ends cleanly with no chunks" {
    var producer = try Producer.create(.{ .chunk_bytes = 4096, .chunk_count = 2 });
    const consumer = try openConsumer(&producer);
    defer consumer.destroy();
    try testing.expect(consumer.claim() == .not_ready);
    try producer.close();
    consumer.markProducerGone();
    try testing.expect(consumer.claim() == .ended);
    const summary = consumer.summary();
    try testing.expect(summary.clean);
    try testing.expectEqual(@as(u64, 0), summary.chunks);
}

test "a producer that dies mid-chunk: published chunks drain, its open chunk is salvaged, the end is abrupt" {
    var producer = try Producer.create(.{ .chunk_bytes = 4096, .chunk_count = 4 });
    const consumer = try openConsumer(&producer);
    defer consumer.destroy();
    var record = [_]u8{0xab} ** 1000;
    for (0..9) |_| try producer.write(&record); // two full chunks and a partial one
    producer.release(); // dies without publishing the partial chunk (1000 bytes)
    consumer.markProducerGone();
    var claimed: u64 = 0;
    while (true) switch (consumer.claim()) {
        .claimed => |c| {
            consumer.release(c.ticket);
            claimed += 1;
        },
        .ended => break,
        else => return error.Unexpected,
    };
    const summary = consumer.summary();
    try testing.expect(!summary.clean);
    try testing.expectEqual(@as(u64, 3), claimed);
    try testing.expectEqual(@as(u64, 9000), summary.bytes);
}

fn corruptFirstMailbox(comptime field: []const u8, value: anytype) !Consumer.Failure {
    var producer = try Producer.create(.{ .chunk_bytes = 4096, .chunk_count = 2 });
    defer producer.release();
    const consumer = try openConsumer(&producer);
    defer consumer.destroy();
    try producer.write("x");
    try producer.flush();
    const mailboxes: [*]layout.Mailbox = @ptrCast(@alignCast(producer.memory.ptr + producer.geometry.mailbox_offset));
    @field(mailboxes[0], field) = value;
    return switch (consumer.claim()) {
        .failed => |failure| blk: {
            // A failed stream stays failed.
            try testing.expect(consumer.claim() == .failed);
            break :blk failure;
        },
        else => error.CorruptionNotDetected,
    };
}

test "corrupted mailboxes end the stream with an error" {
    try testing.expectEqual(Consumer.Failure.bad_state, try corruptFirstMailbox("state", 7));
    try testing.expectEqual(Consumer.Failure.bad_sequence, try corruptFirstMailbox("sequence", 12345));
    try testing.expectEqual(Consumer.Failure.bad_length, try corruptFirstMailbox("length", 4097));
}

test "a corrupted header is refused when the pipe is opened" {
    const cases = .{
        .{ "magic", @as(u64, 0), error.BadMagic },
        .{ "layout_version", @as(u32, 99), error.BadLayoutVersion },
        .{ "chunk_bytes", @as(u32, 100), error.BadChunkBytes },
        .{ "chunk_count", @as(u32, 100000), error.BadChunkCount },
        .{ "data_offset", @as(u32, 64), error.BadOffsets },
        .{ "chunk_count", @as(u32, 3), error.BadTotalBytes }, // would not fit the mapping
    };
    inline for (cases) |case| {
        var producer = try Producer.create(.{ .chunk_bytes = 4096, .chunk_count = 2 });
        defer producer.release();
        @field(producer.header(), case[0]) = case[1];
        const fd = try std.os.dup(producer.memfd);
        try testing.expectError(case[2], Consumer.open(testing.allocator, fd));
        std.os.close(fd);
    }
}

test "an unsealed memfd is refused" {
    const fd = try std.os.memfd_create("unsealed", 0);
    defer std.os.close(fd);
    try std.os.ftruncate(fd, 1 << 20);
    try testing.expectError(error.NotSealed, Consumer.open(testing.allocator, fd));
}

test "an open group moves whole to the next chunk instead of being split" {
    var producer = try Producer.create(.{ .chunk_bytes = 4096, .chunk_count = 4 });
    defer producer.release();
    const consumer = try openConsumer(&producer);
    defer consumer.destroy();
    var record = [_]u8{0x11} ** 1000;
    try producer.write(&record); // a record outside any group
    producer.beginGroup();
    record = [_]u8{0x22} ** 1000;
    for (0..3) |_| try producer.write(&record); // 4000 bytes used so far
    try producer.write(record[0..200]); // does not fit: the group moves
    producer.endGroup();
    try producer.flush();
    const first = switch (consumer.claim()) {
        .claimed => |c| c,
        else => return error.Unexpected,
    };
    try testing.expectEqual(@as(u32, 1000), first.length);
    try testing.expect(std.mem.allEqual(u8, consumer.data(first), 0x11));
    consumer.release(first.ticket);
    const second = switch (consumer.claim()) {
        .claimed => |c| c,
        else => return error.Unexpected,
    };
    try testing.expectEqual(@as(u32, 3200), second.length);
    try testing.expect(std.mem.allEqual(u8, consumer.data(second), 0x22));
}

test "a group larger than a chunk is refused, not split" {
    var producer = try Producer.create(.{ .chunk_bytes = 4096, .chunk_count = 2 });
    defer producer.release();
    producer.beginGroup();
    var record = [_]u8{0x33} ** 2048;
    try producer.write(&record);
    try producer.write(&record);
    try testing.expectError(error.GroupTooLarge, producer.write(record[0..1]));
}

test "a cleanly closed stream salvages nothing, and a corrupt open length is an error" {
    var producer = try Producer.create(.{ .chunk_bytes = 4096, .chunk_count = 2 });
    const consumer = try openConsumer(&producer);
    defer consumer.destroy();
    try producer.write("abc");
    producer.header().open_bytes = 5000; // lies about the chunk being filled
    producer.release();
    consumer.markProducerGone();
    try testing.expectEqual(Consumer.Failure.bad_length, switch (consumer.claim()) {
        .failed => |failure| failure,
        else => return error.CorruptionNotDetected,
    });
}
