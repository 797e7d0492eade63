// SPDX-License-Identifier: MIT
//! Anonymous shared memory for a pipe. memfd_create names nothing in
//! /dev/shm, so nothing is left behind when either side is killed. The size
//! is sealed before the descriptor is handed over: a producer that could
//! still shrink the file could turn the consumer's reads into SIGBUS.
const std = @import("std");
const os = std.os;

const mfd_allow_sealing = 0x0002;
const f_add_seals = 1024 + 9;
const f_get_seals = 1024 + 10;
const f_seal_seal = 0x0001;
const f_seal_shrink = 0x0002;
const f_seal_grow = 0x0004;
const seals_required = f_seal_seal | f_seal_shrink | f_seal_grow;

pub const Error = error{ SystemResources, NotSealed, BadSize };

pub fn createSealed(bytes: u64) Error!os.fd_t {
    const fd = os.memfd_create("cannoli-mempipe", os.linux.MFD.CLOEXEC | mfd_allow_sealing) catch
        return error.SystemResources;
    errdefer os.close(fd);
    os.ftruncate(fd, bytes) catch return error.SystemResources;
    _ = os.fcntl(fd, f_add_seals, seals_required) catch return error.SystemResources;
    return fd;
}

/// Returns the size of a descriptor received from an untrusted peer, after
/// checking that it is sealed so the size cannot change afterwards.
pub fn sealedSize(fd: os.fd_t) Error!u64 {
    const seals = os.fcntl(fd, f_get_seals, 0) catch return error.NotSealed;
    if (seals & (f_seal_shrink | f_seal_grow) != (f_seal_shrink | f_seal_grow)) return error.NotSealed;
    const stat = os.fstat(fd) catch return error.SystemResources;
    if (stat.size < 0) return error.BadSize;
    return @intCast(stat.size);
}

pub fn mapShared(fd: os.fd_t, bytes: u64) Error![]align(std.mem.page_size) u8 {
    return os.mmap(null, bytes, os.PROT.READ | os.PROT.WRITE, os.MAP.SHARED, fd, 0) catch
        return error.SystemResources;
}
