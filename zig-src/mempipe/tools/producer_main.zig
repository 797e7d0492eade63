// SPDX-License-Identifier: MIT
//! `mempipe-producer`: a stand-alone producer for the cross-process tests and
//! benchmarks of the mempipe (the real producer is the server inside QEMU).
//!
//!   mempipe-producer SOCKET MODE [BYTES] [CHUNK_BYTES] [CHUNK_COUNT]
//!
//! Modes:
//!   random        BYTES of length-prefixed records with pseudo-random
//!                 contents; prints "bytes=N chunks=N fnv=0x..." at the end
//!   messages      BYTES one-byte messages (u16 length 1, one byte each)
//!   bulk          BYTES of whole chunks, copied from a source buffer
//!   random-then-die  as random, then SIGKILL itself before publishing the
//!                 chunk it was filling (the consumer must salvage it)
//!   forever       random records until killed
//!   silent        connect, hand over the pipe, then sleep until killed
//!   empty         connect, hand over the pipe, close cleanly
//!   no-handshake  connect and exit without sending anything
//!   bad-header    hand over a pipe whose header has the wrong magic
//!   bad-mailbox   publish one chunk, then corrupt its mailbox state
//!   bad-length    publish one chunk, then make its length exceed the chunk
//!   bad-sequence  publish one chunk, then rewrite its sequence number
//!   unsealed      hand over a memfd that is not sealed
const std = @import("std");
const mempipe = @import("mempipe");
const Producer = mempipe.Producer;

const Mode = enum { random, @"random-then-die", messages, bulk, forever, silent, empty, @"no-handshake", @"bad-header", @"bad-mailbox", @"bad-length", @"bad-sequence", unsealed };

const handshake = "{\"tool\":\"mempipe-producer\"}";

pub fn main() !void {
    var args = std.process.args();
    _ = args.skip();
    const socket_path = args.next() orelse return usage();
    const mode = std.meta.stringToEnum(Mode, args.next() orelse return usage()) orelse return usage();
    const bytes = try parseArg(&args, 1 << 20);
    const chunk_bytes: u32 = @intCast(try parseArg(&args, mempipe.layout.chunk_bytes_default));
    const chunk_count: u32 = @intCast(try parseArg(&args, mempipe.layout.chunk_count_default));

    if (mode == .@"no-handshake") {
        std.os.close(try mempipe.socket.connect(socket_path));
        return;
    }
    if (mode == .unsealed) return sendUnsealed(socket_path);

    var producer = try Producer.create(.{ .chunk_bytes = chunk_bytes, .chunk_count = chunk_count });
    if (mode == .@"bad-header") producer.header().magic = 0xdead;
    try producer.connect(socket_path, handshake);
    switch (mode) {
        .random => {
            const fnv = try writeRandom(&producer, bytes);
            const chunks = producer.sequence + @intFromBool(producer.cursor > 0);
            try producer.close();
            try std.io.getStdOut().writer().print("bytes={d} chunks={d} fnv=0x{x:0>8}\n", .{ bytes, chunks, fnv });
        },
        .@"random-then-die" => {
            const fnv = try writeRandom(&producer, bytes);
            const chunks = producer.sequence + @intFromBool(producer.cursor > 0);
            try std.io.getStdOut().writer().print("bytes={d} chunks={d} fnv=0x{x:0>8}\n", .{ bytes, chunks, fnv });
            _ = std.os.linux.kill(std.os.linux.getpid(), std.os.linux.SIG.KILL);
            unreachable;
        },
        .messages => {
            var index: u64 = 0;
            while (index < bytes) : (index += 1) {
                const destination = try producer.reserve(3);
                destination[0] = 1;
                destination[1] = 0;
                destination[2] = @truncate(index);
                producer.commit(3);
            }
            try producer.close();
        },
        .bulk => {
            const source = try std.heap.page_allocator.alloc(u8, chunk_bytes);
            @memset(source, 0x5a);
            var written: u64 = 0;
            while (written < bytes) : (written += chunk_bytes) {
                const destination = try producer.reserve(chunk_bytes);
                @memcpy(destination[0..chunk_bytes], source);
                producer.commit(chunk_bytes);
            }
            try producer.close();
        },
        .forever => while (true) {
            _ = try writeRandom(&producer, 1 << 20);
        },
        .silent => while (true) std.time.sleep(std.time.ns_per_s),
        .empty, .@"bad-header" => try producer.close(),
        .@"bad-mailbox", .@"bad-length", .@"bad-sequence" => {
            try producer.write("published");
            try producer.flush();
            const box: *mempipe.layout.Mailbox = @ptrCast(@alignCast(producer.memory.ptr + producer.geometry.mailbox_offset));
            switch (mode) {
                .@"bad-mailbox" => box.state = 0x77,
                .@"bad-length" => box.length = chunk_bytes + 1,
                else => box.sequence = 999,
            }
            while (true) std.time.sleep(std.time.ns_per_s); // the consumer must notice without our help
        },
        .@"no-handshake", .unsealed => unreachable,
    }
}

fn usage() error{Usage} {
    std.io.getStdErr().writeAll("usage: mempipe-producer SOCKET MODE [BYTES] [CHUNK_BYTES] [CHUNK_COUNT]\n") catch {};
    return error.Usage;
}

fn parseArg(args: *std.process.ArgIterator, default: u64) !u64 {
    const text = args.next() orelse return default;
    return std.fmt.parseInt(u64, text, 10);
}

/// Records are a u16 length then that many bytes from xorshift32, so the Bun
/// side can check them without sharing code: see test/mempipe.test.ts.
fn writeRandom(producer: *Producer, bytes: u64) !u32 {
    var state: u32 = 0x12345678;
    var fnv: u32 = 0x811c9dc5;
    var written: u64 = 0;
    while (written < bytes) {
        state = xorshift(state);
        const length: u16 = @intCast(@min(1 + state % 700, bytes - written));
        const destination = try producer.reserve(2 + @as(u32, length));
        std.mem.writeIntLittle(u16, destination[0..2], length);
        for (destination[2 .. 2 + @as(usize, length)]) |*byte| {
            state = xorshift(state);
            byte.* = @truncate(state);
            fnv = (fnv ^ byte.*) *% 16777619;
        }
        producer.commit(2 + @as(u32, length));
        written += length;
    }
    return fnv;
}

fn xorshift(x0: u32) u32 {
    var x = x0;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

fn sendUnsealed(socket_path: []const u8) !void {
    const fd = try std.os.memfd_create("unsealed", 0);
    try std.os.ftruncate(fd, 1 << 20);
    const sock = try mempipe.socket.connect(socket_path);
    try mempipe.socket.sendPipe(sock, fd, handshake);
    std.time.sleep(200 * std.time.ns_per_ms);
}
