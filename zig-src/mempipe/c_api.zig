// SPDX-License-Identifier: MIT
//! The C ABI of the mempipe consumer, loaded by Bun through bun:ffi
//! (src/mempipe/native.ts declares the same signatures). Pointers cross as
//! plain addresses; every struct written for Bun is `extern` and checked
//! against its TypeScript reading in the Bun tests.
const std = @import("std");
const Listener = @import("Listener.zig");
const Consumer = @import("Consumer.zig");
const layout = @import("layout.zig");
const socket = @import("socket.zig");
const process_tree = @import("process_tree.zig");

const allocator = std.heap.c_allocator;

export fn cnl_listener_open(path: [*:0]const u8) ?*Listener {
    return Listener.init(allocator, std.mem.span(path)) catch null;
}

export fn cnl_listener_poll(listener: *Listener, timeout_ms: i32, event: *Listener.Event, payload: [*]u8, payload_capacity: u32) u32 {
    if (payload_capacity < socket.handshake_payload_bytes_max) return @intFromEnum(Listener.EventKind.none);
    return @intFromEnum(listener.poll(timeout_ms, event, payload[0..payload_capacity]));
}

/// Accepts streams only from this process's descendants from now on; the
/// process becomes their subreaper (see process_tree.becomeSubreaper).
export fn cnl_listener_allow_descendants(listener: *Listener) bool {
    if (!process_tree.becomeSubreaper()) return false;
    listener.allowDescendantsOf(std.os.linux.getpid());
    return true;
}

/// The caller refused the stream opened on `connection` (its handshake's
/// JSON): forget it before the caller destroys its consumer.
export fn cnl_listener_refuse(listener: *Listener, connection: u32) bool {
    if (connection >= listener.connections.len or listener.connections[connection].consumer == null) return false;
    listener.refuse(connection);
    return true;
}

export fn cnl_listener_close(listener: *Listener) void {
    listener.deinit();
}

export fn cnl_handshake_payload_bytes_max() u32 {
    return socket.handshake_payload_bytes_max;
}

pub const ClaimStatus = enum(u32) { claimed = 0, not_ready = 1, ended = 2, failed = 3 };

/// Filled by `cnl_consumer_claim`; read by Bun (src/consumer_abi.generated.ts).
pub const ClaimOut = extern struct {
    ticket: u64,
    offset: u64,
    length_and_failure: u64,
};

export fn cnl_consumer_claim(consumer: *Consumer, out: *ClaimOut) u32 {
    const result = consumer.claim();
    switch (result) {
        .claimed => |claimed| {
            out.* = .{ .ticket = claimed.ticket, .offset = claimed.offset, .length_and_failure = claimed.length };
            return @intFromEnum(ClaimStatus.claimed);
        },
        .not_ready => return @intFromEnum(ClaimStatus.not_ready),
        .ended => return @intFromEnum(ClaimStatus.ended),
        .failed => |failure| {
            out.length_and_failure = @as(u64, @intFromEnum(failure)) << 32;
            return @intFromEnum(ClaimStatus.failed);
        },
    }
}

/// The producer is gone (its thread ended after its socket was closed by
/// the guest): what it published drains, then the stream ends.
export fn cnl_consumer_mark_gone(consumer: *Consumer) void {
    consumer.markProducerGone();
}

export fn cnl_consumer_closed_clean(consumer: *Consumer) u32 {
    return @intFromBool(consumer.closedClean());
}

export fn cnl_consumer_release(consumer: *Consumer, ticket: u64) void {
    consumer.release(ticket);
}

export fn cnl_consumer_wants_help(consumer: *Consumer) u32 {
    return @intFromBool(consumer.wantsHelp());
}

export fn cnl_consumer_base(consumer: *Consumer) usize {
    return @intFromPtr(consumer.memory.ptr);
}

export fn cnl_consumer_mapped_bytes(consumer: *Consumer) u64 {
    return consumer.memory.len;
}

export fn cnl_consumer_chunk_bytes(consumer: *Consumer) u32 {
    return consumer.geometry.chunk_bytes;
}

/// Read by Bun (src/consumer_abi.generated.ts).
pub const SummaryOut = extern struct {
    chunks: u64,
    bytes: u64,
    clean: u64,
    dropped_chunks: u64,
    failure: u64,
};

export fn cnl_consumer_summary(consumer: *Consumer, out: *SummaryOut) void {
    const summary = consumer.summary();
    out.* = .{
        .chunks = summary.chunks,
        .bytes = summary.bytes,
        .clean = @intFromBool(summary.clean),
        .dropped_chunks = summary.dropped_chunks,
        .failure = @intFromEnum(summary.failure),
    };
}

export fn cnl_consumer_destroy(consumer: *Consumer) void {
    consumer.destroy();
}
