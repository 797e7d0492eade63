// SPDX-License-Identifier: MIT
//! The consumer's side of the hand-over socket: accepts one connection per
//! pipe, receives its handshake and memfd, maps it as a `Consumer`, and
//! reports when a producer's connection closes. Driven by polling from the
//! consumer's event loop; every call returns at most one event.
const std = @import("std");
const os = std.os;
const assert = std.debug.assert;
const process_tree = @import("process_tree.zig");
const socket = @import("socket.zig");
const Consumer = @import("Consumer.zig");

const Listener = @This();

/// Bounds the number of live pipes (guest threads across all processes).
pub const connections_max = 4096;

pub const EventKind = enum(u32) {
    none = 0,
    /// A producer connected and its pipe is mapped; payload holds its handshake.
    pipe_opened = 1,
    /// A producer's connection closed; its consumer will drain and end.
    producer_gone = 2,
    /// A connection was refused (bad handshake, bad pipe); `reason` says why.
    rejected = 3,
    /// A producer's connection closed while its stream is still open: the
    /// guest closed the descriptor (it shares QEMU's table), or the producer
    /// died. The caller marks the consumer gone once the producer's thread
    /// is gone or the stream says it closed (`Consumer.closedClean`).
    hung_up = 4,
};

pub const Reason = enum(u32) {
    none = 0,
    closed_before_handshake,
    bad_handshake,
    no_memfd,
    pipe_not_sealed,
    pipe_bad_header,
    too_many_connections,
    out_of_memory,
    system,
    /// The peer is not the QEMU the consumer started nor a descendant of it.
    not_traced_process,
};

/// Read by Bun through FFI (src/consumer_abi.generated.ts).
pub const Event = extern struct {
    kind: u32,
    connection: u32,
    consumer: u64,
    payload_bytes: u32,
    reason: u32,
};

const Connection = struct {
    fd: os.fd_t = -1,
    consumer: ?*Consumer = null,
};

allocator: std.mem.Allocator,
listen_fd: os.fd_t,
connections: []Connection,
/// The poll set holds only live descriptors (slot 0: the listening socket):
/// poll(2) refuses an nfds above RLIMIT_NOFILE (EINVAL), and 1024 is the
/// usual soft limit in a user's shell.
pollfds: []os.pollfd,
/// The connection index behind each poll slot from 1 on.
poll_connection: []u32,
/// Rotates where scanning starts so one busy connection cannot starve others.
scan_start: usize = 0,
/// Connections are accepted only from this process and its descendants
/// (the QEMU the consumer started); 0 accepts any (in-process tests).
allowed_root: i32 = 0,

pub fn init(allocator: std.mem.Allocator, path: []const u8) !*Listener {
    const listen_fd = try socket.listen(path, 128);
    errdefer os.close(listen_fd);
    const self = try allocator.create(Listener);
    errdefer allocator.destroy(self);
    const connections = try allocator.alloc(Connection, connections_max);
    errdefer allocator.free(connections);
    @memset(connections, .{});
    const pollfds = try allocator.alloc(os.pollfd, connections_max + 1);
    errdefer allocator.free(pollfds);
    const poll_connection = try allocator.alloc(u32, connections_max + 1);
    self.* = .{ .allocator = allocator, .listen_fd = listen_fd, .connections = connections, .pollfds = pollfds, .poll_connection = poll_connection };
    return self;
}

/// Closes the socket and every connection. Consumers already handed out by
/// `pipe_opened` belong to the caller and are not touched.
pub fn deinit(self: *Listener) void {
    for (self.connections) |*connection| {
        if (connection.fd != -1) os.close(connection.fd);
        if (connection.consumer) |consumer| consumer.markProducerGone();
    }
    os.close(self.listen_fd);
    self.allocator.free(self.pollfds);
    self.allocator.free(self.poll_connection);
    self.allocator.free(self.connections);
    self.allocator.destroy(self);
}

pub fn poll(self: *Listener, timeout_ms: i32, event: *Event, payload: []u8) EventKind {
    event.* = std.mem.zeroes(Event);
    // The listening socket goes first in the poll set; its slot maps to no
    // connection.
    self.pollfds[0] = .{ .fd = self.listen_fd, .events = os.POLL.IN, .revents = 0 };
    var slots: usize = 1;
    for (self.connections, 0..) |connection, index| {
        if (connection.fd == -1) continue;
        self.pollfds[slots] = .{ .fd = connection.fd, .events = os.POLL.IN, .revents = 0 };
        self.poll_connection[slots] = @intCast(index);
        slots += 1;
    }
    assert(slots <= self.pollfds.len);
    const ready = os.poll(self.pollfds[0..slots], timeout_ms) catch return .none;
    if (ready == 0) return .none;
    if (self.pollfds[0].revents != 0) {
        if (self.accept(event)) |kind| return kind;
    }
    const live = slots - 1;
    var scanned: usize = 0;
    while (scanned < live) : (scanned += 1) {
        const slot = 1 + (self.scan_start + scanned) % live;
        if (self.pollfds[slot].revents == 0) continue;
        const kind = self.service(self.poll_connection[slot], event, payload);
        if (kind != .none) {
            self.scan_start = slot;
            return kind;
        }
    }
    return .none;
}

/// From now on, accept streams only from `pid` and its descendants.
pub fn allowDescendantsOf(self: *Listener, pid: i32) void {
    assert(pid > 0);
    self.allowed_root = pid;
}

fn accept(self: *Listener, event: *Event) ?EventKind {
    const fd = os.accept(self.listen_fd, null, null, os.SOCK.NONBLOCK | os.SOCK.CLOEXEC) catch return null;
    if (self.allowed_root != 0) {
        const peer = process_tree.peerPid(fd);
        // A peer that is already gone cannot be checked: a guest's short-
        // lived fork can connect, write its stream and exit before the
        // consumer accepts. Its stream is kept (losing a real trace is
        // worse); a stranger that exits that fast gets through, too.
        if (peer == null or process_tree.relation(peer.?, self.allowed_root) == .stranger) {
            os.close(fd);
            event.kind = @intFromEnum(EventKind.rejected);
            event.reason = @intFromEnum(Reason.not_traced_process);
            return .rejected;
        }
    }
    for (self.connections) |*connection| {
        if (connection.fd == -1) {
            connection.* = .{ .fd = fd };
            return null;
        }
    }
    os.close(fd);
    event.kind = @intFromEnum(EventKind.rejected);
    event.reason = @intFromEnum(Reason.too_many_connections);
    return .rejected;
}

fn service(self: *Listener, index: u32, event: *Event, payload: []u8) EventKind {
    const connection = &self.connections[index];
    event.connection = index;
    if (connection.consumer) |consumer| {
        // After the handshake the producer never sends again: readable means
        // closed (or a protocol violation, treated the same way).
        var scratch: [64]u8 = undefined;
        _ = os.recv(connection.fd, &scratch, os.MSG.DONTWAIT) catch |err| switch (err) {
            error.WouldBlock => return .none,
            else => {},
        };
        self.close(index);
        event.consumer = @intFromPtr(consumer);
        if (!consumer.closedClean()) {
            event.kind = @intFromEnum(EventKind.hung_up);
            return .hung_up;
        }
        consumer.markProducerGone();
        event.kind = @intFromEnum(EventKind.producer_gone);
        return .producer_gone;
    }
    const reason: Reason = blk: {
        const handshake = socket.receivePipe(connection.fd, payload) catch |err| switch (err) {
            error.WouldBlock => return .none,
            error.Closed => break :blk .closed_before_handshake,
            error.BadHandshake => break :blk .bad_handshake,
            error.NoFd => break :blk .no_memfd,
            error.SystemResources => break :blk .system,
        };
        const consumer = Consumer.open(self.allocator, handshake.memfd) catch |err| {
            os.close(handshake.memfd);
            break :blk switch (err) {
                error.NotSealed => .pipe_not_sealed,
                error.OutOfMemory => .out_of_memory,
                error.SystemResources => .system,
                else => .pipe_bad_header,
            };
        };
        connection.consumer = consumer;
        event.kind = @intFromEnum(EventKind.pipe_opened);
        event.consumer = @intFromPtr(consumer);
        event.payload_bytes = @intCast(handshake.payload.len);
        return .pipe_opened;
    };
    self.close(index);
    event.kind = @intFromEnum(EventKind.rejected);
    event.reason = @intFromEnum(reason);
    return .rejected;
}

/// Drops the opened connection `index` whose handshake the caller refused:
/// the Listener forgets its consumer (which the caller then destroys) and
/// closes its socket, so no later event names the consumer.
pub fn refuse(self: *Listener, index: u32) void {
    assert(index < self.connections.len);
    assert(self.connections[index].consumer != null);
    self.close(index);
}

fn close(self: *Listener, index: u32) void {
    const connection = &self.connections[index];
    assert(connection.fd != -1);
    os.close(connection.fd);
    connection.* = .{};
}
