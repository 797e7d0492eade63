// SPDX-License-Identifier: MIT
//! The Unix-domain socket that hands a pipe's memfd to the consumer.
//! SOCK_SEQPACKET keeps the handshake one message, and the connection's
//! end (recv returning 0) is how the consumer learns that the producer is
//! gone, however it died. One connection per pipe.
const std = @import("std");
const os = std.os;
const linux = os.linux;
const assert = std.debug.assert;

pub const handshake_magic: u32 = std.mem.readIntLittle(u32, "CNLH");
pub const handshake_version: u32 = 1;
/// Bounds the handshake payload (JSON metadata) the consumer will accept.
pub const handshake_payload_bytes_max: u32 = 16 * 1024;

const FramePrefix = extern struct {
    magic: u32,
    version: u32,
    payload_bytes: u32,
};

const CmsgFd = extern struct {
    len: usize,
    level: i32,
    type: i32,
    fd: i32,
    _pad: i32 = 0,
};
const scm_rights = 1;
const cmsg_bytes_with_fd = @sizeOf(usize) + 2 * @sizeOf(i32) + @sizeOf(i32);

pub const SocketError = error{ PathTooLong, SystemResources, ConnectFailed, SendFailed };

fn unixAddress(path: []const u8) SocketError!os.sockaddr.un {
    var address = os.sockaddr.un{ .path = undefined };
    if (path.len >= address.path.len) return error.PathTooLong;
    @memset(&address.path, 0);
    @memcpy(address.path[0..path.len], path);
    return address;
}

pub fn connect(path: []const u8) SocketError!os.fd_t {
    const address = try unixAddress(path);
    const fd = os.socket(os.AF.UNIX, os.SOCK.SEQPACKET | os.SOCK.CLOEXEC, 0) catch
        return error.SystemResources;
    errdefer os.close(fd);
    os.connect(fd, @ptrCast(&address), @sizeOf(os.sockaddr.un)) catch return error.ConnectFailed;
    return fd;
}

/// Listening socket for the consumer; non-blocking so the consumer's event
/// loop can poll it.
pub fn listen(path: []const u8, backlog: u31) SocketError!os.fd_t {
    const address = try unixAddress(path);
    const fd = os.socket(os.AF.UNIX, os.SOCK.SEQPACKET | os.SOCK.CLOEXEC | os.SOCK.NONBLOCK, 0) catch
        return error.SystemResources;
    errdefer os.close(fd);
    os.bind(fd, @ptrCast(&address), @sizeOf(os.sockaddr.un)) catch return error.ConnectFailed;
    os.listen(fd, backlog) catch return error.ConnectFailed;
    return fd;
}

/// Sends the handshake payload together with the pipe's memfd.
pub fn sendPipe(sock: os.fd_t, memfd: os.fd_t, payload: []const u8) SocketError!void {
    assert(payload.len <= handshake_payload_bytes_max);
    const prefix = FramePrefix{
        .magic = handshake_magic,
        .version = handshake_version,
        .payload_bytes = @intCast(payload.len),
    };
    const iov = [_]os.iovec_const{
        .{ .iov_base = @ptrCast(&prefix), .iov_len = @sizeOf(FramePrefix) },
        .{ .iov_base = payload.ptr, .iov_len = payload.len },
    };
    var cmsg = CmsgFd{ .len = cmsg_bytes_with_fd, .level = os.SOL.SOCKET, .type = scm_rights, .fd = memfd };
    const msg = os.msghdr_const{
        .name = null,
        .namelen = 0,
        .iov = &iov,
        .iovlen = iov.len,
        .control = &cmsg,
        .controllen = @sizeOf(CmsgFd),
        .flags = 0,
    };
    const sent = os.sendmsg(sock, &msg, os.MSG.NOSIGNAL) catch return error.SendFailed;
    if (sent != @sizeOf(FramePrefix) + payload.len) return error.SendFailed;
}

pub const Received = struct {
    memfd: os.fd_t,
    payload: []u8,
};

pub const ReceiveError = error{ WouldBlock, Closed, BadHandshake, NoFd, SystemResources };

/// Receives one handshake. Everything in it comes from an untrusted peer:
/// the prefix, its length and the ancillary data are all checked.
pub fn receivePipe(sock: os.fd_t, buffer: []u8) ReceiveError!Received {
    assert(buffer.len >= handshake_payload_bytes_max);
    var prefix: FramePrefix = undefined;
    var iov = [_]os.iovec{
        .{ .iov_base = @ptrCast(&prefix), .iov_len = @sizeOf(FramePrefix) },
        .{ .iov_base = buffer.ptr, .iov_len = handshake_payload_bytes_max },
    };
    var cmsg_buffer: [64]u8 align(@alignOf(usize)) = undefined;
    var msg = os.msghdr{
        .name = null,
        .namelen = 0,
        .iov = &iov,
        .iovlen = iov.len,
        .control = &cmsg_buffer,
        .controllen = cmsg_buffer.len,
        .flags = 0,
    };
    const rc = linux.recvmsg(sock, &msg, os.MSG.DONTWAIT | os.MSG.CMSG_CLOEXEC);
    switch (linux.getErrno(rc)) {
        .SUCCESS => {},
        .AGAIN => return error.WouldBlock,
        .INTR => return error.WouldBlock,
        .CONNRESET => return error.Closed,
        else => return error.SystemResources,
    }
    if (rc == 0) return error.Closed;
    // Close any descriptors that came along before judging the message, so
    // a bad handshake cannot leak a file descriptor into the consumer.
    const memfd = takeFd(&msg);
    errdefer if (memfd) |fd| os.close(fd);
    if (msg.flags & (os.MSG.TRUNC | os.MSG.CTRUNC) != 0) return error.BadHandshake;
    if (rc < @sizeOf(FramePrefix)) return error.BadHandshake;
    if (prefix.magic != handshake_magic or prefix.version != handshake_version) return error.BadHandshake;
    if (prefix.payload_bytes > handshake_payload_bytes_max) return error.BadHandshake;
    if (rc != @sizeOf(FramePrefix) + prefix.payload_bytes) return error.BadHandshake;
    const fd = memfd orelse return error.NoFd;
    return .{ .memfd = fd, .payload = buffer[0..prefix.payload_bytes] };
}

fn takeFd(msg: *const os.msghdr) ?os.fd_t {
    if (msg.controllen < cmsg_bytes_with_fd) return null;
    const cmsg: *align(1) const CmsgFd = @ptrCast(msg.control.?);
    if (cmsg.level != os.SOL.SOCKET or cmsg.type != scm_rights) return null;
    if (cmsg.len < cmsg_bytes_with_fd) return null;
    // Only one descriptor is ever sent; any extras are closed.
    const fd_count = (cmsg.len - (cmsg_bytes_with_fd - @sizeOf(i32))) / @sizeOf(i32);
    const fds: [*]align(1) const i32 = @ptrCast(&cmsg.fd);
    var index: usize = 1;
    while (index < fd_count and index < 8) : (index += 1) os.close(fds[index]);
    return cmsg.fd;
}

/// True once the peer has closed its end; used by a producer that has waited
/// a long time for free chunks to tell a slow consumer from a dead one.
pub fn peerClosed(sock: os.fd_t) bool {
    var fds = [_]os.pollfd{.{ .fd = sock, .events = os.POLL.IN | poll_rdhup, .revents = 0 }};
    const ready = os.poll(&fds, 0) catch return false;
    if (ready == 0) return false;
    return fds[0].revents & (os.POLL.HUP | poll_rdhup | os.POLL.ERR) != 0;
}

/// POLLRDHUP; std 0.11 only defines it for epoll.
const poll_rdhup: i16 = 0x2000;
