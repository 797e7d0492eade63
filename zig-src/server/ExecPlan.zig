// SPDX-License-Identifier: GPL-2.0-or-later
//! Following a guest's execve into the new program. Under plain qemu-user a
//! guest's execve is the host kernel's: a guest binary fails with ENOEXEC
//! (or, with binfmt_misc, runs in a QEMU that traces nothing). At the
//! syscall's entry, before QEMU runs it, the server makes a plan: the target
//! is a program this QEMU runs (an ELF of the guest's machine and class, or
//! a `#!` script whose interpreter is one), executable, and every argument
//! reads. Then the front door ends the calling thread's stream and the plan
//! execs this same QEMU binary with the same options — the server's own
//! argument gains `image=N+1` — and `-0 ARGV0 PROGRAM ARGS...`, with the
//! guest's environment. The new image keeps the pid and connects as a new
//! process of the run. Where anything does not fit (another machine, a
//! host program, an unreadable argument, a server argument not found on
//! QEMU's command line) there is no plan and QEMU does what it always does.
const std = @import("std");
const linux = std.os.linux;
const guest = @import("guest.zig");
const guest_memory = @import("guest_memory.zig");

const ExecPlan = @This();

/// Linux's limits: a path, one argument or environment string
/// (MAX_ARG_STRLEN), and the bytes of a `#!` line it reads.
const path_bytes_max = 4096;
const string_bytes_max = 32 * 4096;
const header_bytes = 256;
/// Bounds on what is copied out of the guest (argv + envp) and read from
/// /proc/self/cmdline; beyond them the exec is left to QEMU.
const strings_bytes_max = 4 << 20;
const pointers_max = 1 << 17;
const cmdline_bytes_max = 1 << 20;
const at_fdcwd: i32 = -100;
const at_empty_path: u64 = 0x1000;

arena: std.heap.ArenaAllocator,
argv: [*:null]const ?[*:0]const u8,
envp: [*:null]const ?[*:0]const u8,

/// What the calling QEMU knows about itself.
pub const Caller = struct {
    arch: guest.Arch,
    /// The socket path in the server's argument (`sock=`), which finds that
    /// argument on the command line.
    socket_path: []const u8,
    /// Execs this pid has gone through before the running image.
    image: u32,
};

const Request = struct {
    path: u64,
    argv: u64,
    envp: u64,
    dirfd: i32 = at_fdcwd,
    flags: u64 = 0,
};

fn request(arch: guest.Arch, number: u64, args: [6]u64) ?Request {
    if (arch.exec.execve) |execve| {
        if (number == execve) return .{ .path = args[0], .argv = args[1], .envp = args[2] };
    }
    if (arch.exec.execveat) |execveat| {
        if (number == execveat) return .{
            .dirfd = @bitCast(@as(u32, @truncate(args[0]))),
            .path = args[1],
            .argv = args[2],
            .envp = args[3],
            .flags = args[4],
        };
    }
    return null;
}

/// The plan for this syscall entry, or null: not an exec, or one that is
/// not followed. Cold path: allocates.
pub fn forSyscall(caller: Caller, number: u64, args: [6]u64) ?ExecPlan {
    if (caller.arch.elf_machine == 0) return null;
    const wanted = request(caller.arch, number, args) orelse return null;
    var arena = std.heap.ArenaAllocator.init(std.heap.page_allocator);
    const built = build(arena.allocator(), caller, wanted) catch {
        arena.deinit();
        return null;
    };
    return .{ .arena = arena, .argv = built.argv, .envp = built.envp };
}

pub fn deinit(plan: *ExecPlan) void {
    plan.arena.deinit();
}

/// Replaces the process; returns only when the host execve failed (then
/// QEMU runs the guest's execve itself and the guest sees the error).
pub fn exec(plan: *const ExecPlan) void {
    // The new QEMU installs its own handlers; it must not start with the
    // signals QEMU blocks around a syscall still blocked.
    var empty = std.mem.zeroes(linux.sigset_t);
    var previous: linux.sigset_t = undefined;
    _ = linux.sigprocmask(linux.SIG.SETMASK, &empty, &previous);
    _ = linux.execve("/proc/self/exe", plan.argv, plan.envp);
    _ = linux.sigprocmask(linux.SIG.SETMASK, &previous, null);
}

const Built = struct {
    argv: [*:null]const ?[*:0]const u8,
    envp: [*:null]const ?[*:0]const u8,
};

const Program = struct {
    /// What QEMU runs (absolute).
    path: [:0]const u8,
    /// The guest's argv[0] and the arguments after it.
    argv0: [:0]const u8,
    args: []const [:0]const u8,
};

fn build(allocator: std.mem.Allocator, caller: Caller, wanted: Request) !Built {
    var strings = GuestStrings{ .allocator = allocator, .scratch = try allocator.alloc(u8, string_bytes_max) };
    const path = try strings.one(wanted.path);
    const guest_argv = try strings.array(wanted.argv, caller.arch);
    const guest_envp = try strings.array(wanted.envp, caller.arch);
    const absolute = try resolve(allocator, wanted, path);
    const program = try programFor(allocator, caller.arch, absolute, path, guest_argv);

    const cmdline = try readFileAlloc(allocator, "/proc/self/cmdline", cmdline_bytes_max);
    var qemu_argv = std.ArrayList(?[*:0]const u8).init(allocator);
    var entries = std.mem.splitScalar(u8, std.mem.trimRight(u8, cmdline, "\x00"), 0);
    var found = false;
    while (entries.next()) |entry| {
        if (isServerArgument(entry, caller.socket_path)) {
            try qemu_argv.append(try withImage(allocator, entry, caller.image + 1));
            found = true;
            break;
        }
        try qemu_argv.append(try allocator.dupeZ(u8, entry));
    }
    if (!found) return error.ServerArgumentNotFound;
    try qemu_argv.appendSlice(&.{ "-0", program.argv0, program.path });
    for (program.args) |arg| try qemu_argv.append(arg);
    return .{ .argv = try nullTerminated(&qemu_argv), .envp = try nullTerminated(try listOf(allocator, guest_envp)) };
}

fn listOf(allocator: std.mem.Allocator, strings: []const [:0]const u8) !*std.ArrayList(?[*:0]const u8) {
    const list = try allocator.create(std.ArrayList(?[*:0]const u8));
    list.* = std.ArrayList(?[*:0]const u8).init(allocator);
    for (strings) |string| try list.append(string);
    return list;
}

fn nullTerminated(list: *std.ArrayList(?[*:0]const u8)) ![*:null]const ?[*:0]const u8 {
    try list.append(null);
    return @ptrCast(list.items.ptr);
}

/// The exec's target as an absolute host path (the guest's cwd is QEMU's).
fn resolve(allocator: std.mem.Allocator, wanted: Request, path: [:0]const u8) ![:0]const u8 {
    if (path.len == 0) {
        if (wanted.flags & at_empty_path == 0) return error.EmptyPath;
        return fdPath(allocator, wanted.dirfd);
    }
    if (path[0] == '/') return path;
    const directory = if (wanted.dirfd == at_fdcwd) try cwd(allocator) else try fdPath(allocator, wanted.dirfd);
    return std.fmt.allocPrintZ(allocator, "{s}/{s}", .{ directory, path });
}

fn cwd(allocator: std.mem.Allocator) ![:0]const u8 {
    const buffer = try allocator.alloc(u8, path_bytes_max);
    const result = linux.getcwd(buffer.ptr, buffer.len);
    if (linux.getErrno(result) != .SUCCESS) return error.NoCwd;
    const text = std.mem.sliceTo(buffer, 0);
    return allocator.dupeZ(u8, text);
}

fn fdPath(allocator: std.mem.Allocator, fd: i32) ![:0]const u8 {
    if (fd < 0) return error.BadFd;
    var link_buffer: [32]u8 = undefined;
    const link = try std.fmt.bufPrintZ(&link_buffer, "/proc/self/fd/{d}", .{fd});
    const buffer = try allocator.alloc(u8, path_bytes_max);
    const result = linux.readlink(link.ptr, buffer.ptr, buffer.len);
    if (linux.getErrno(result) != .SUCCESS or result >= buffer.len) return error.BadFd;
    return allocator.dupeZ(u8, buffer[0..result]);
}

/// What QEMU must run for this target: the ELF itself, or a script's
/// interpreter with the kernel's argument order (interpreter, its one
/// optional argument, the script path as the guest gave it, argv[1..]).
fn programFor(allocator: std.mem.Allocator, arch: guest.Arch, absolute: [:0]const u8, as_given: [:0]const u8, guest_argv: []const [:0]const u8) !Program {
    var header: [header_bytes]u8 = undefined;
    const head = try readHeader(absolute, &header);
    const rest = if (guest_argv.len > 0) guest_argv[1..] else guest_argv[0..0];
    if (runsOn(arch, head)) {
        return .{ .path = absolute, .argv0 = if (guest_argv.len > 0) guest_argv[0] else as_given, .args = rest };
    }
    const shebang = parseShebang(head) orelse return error.NotAGuestProgram;
    const interpreter = try allocator.dupeZ(u8, shebang.interpreter);
    const interpreter_absolute = try resolve(allocator, .{ .path = 0, .argv = 0, .envp = 0 }, interpreter);
    var interpreter_header: [header_bytes]u8 = undefined;
    if (!runsOn(arch, try readHeader(interpreter_absolute, &interpreter_header))) return error.NotAGuestProgram;
    var args = std.ArrayList([:0]const u8).init(allocator);
    if (shebang.argument) |argument| try args.append(try allocator.dupeZ(u8, argument));
    try args.append(as_given);
    try args.appendSlice(rest);
    return .{ .path = interpreter_absolute, .argv0 = interpreter, .args = args.items };
}

/// The first bytes of an executable file (access X_OK as the kernel checks).
fn readHeader(path: [:0]const u8, buffer: *[header_bytes]u8) ![]const u8 {
    if (linux.getErrno(linux.faccessat(linux.AT.FDCWD, path.ptr, std.os.X_OK, 0)) != .SUCCESS) return error.NotExecutable;
    const file = try std.fs.cwd().openFileZ(path, .{});
    defer file.close();
    if ((try file.stat()).kind != .file) return error.NotARegularFile;
    return buffer[0..try file.readAll(buffer)];
}

/// An ELF executable of the guest's machine, word size and byte order.
fn runsOn(arch: guest.Arch, head: []const u8) bool {
    if (head.len < 20 or !std.mem.eql(u8, head[0..4], "\x7fELF")) return false;
    const class: u8 = if (arch.pointer_bytes == 8) 2 else 1;
    const data: u8 = if (arch.big_endian) 2 else 1;
    if (head[4] != class or head[5] != data) return false;
    const machine_bytes = head[18..20];
    const machine = if (arch.big_endian) std.mem.readIntBig(u16, machine_bytes) else std.mem.readIntLittle(u16, machine_bytes);
    return machine == arch.elf_machine;
}

const Shebang = struct { interpreter: []const u8, argument: ?[]const u8 };

/// `#!interpreter [one argument]` as Linux reads it: the line must end
/// within the bytes read, and everything after the interpreter (trimmed) is
/// a single argument.
fn parseShebang(head: []const u8) ?Shebang {
    if (!std.mem.startsWith(u8, head, "#!")) return null;
    const end = std.mem.indexOfScalar(u8, head, '\n') orelse return null;
    const line = std.mem.trim(u8, head[2..end], " \t");
    if (line.len == 0) return null;
    const split = std.mem.indexOfAny(u8, line, " \t") orelse line.len;
    const argument = std.mem.trim(u8, line[split..], " \t");
    return .{ .interpreter = line[0..split], .argument = if (argument.len > 0) argument else null };
}

/// The server's own argument: `...,sock=<socket_path>[,...]` (plugin and
/// patched front doors alike).
fn isServerArgument(entry: []const u8, socket_path: []const u8) bool {
    var fields = std.mem.splitScalar(u8, entry, ',');
    _ = fields.next(); // the library path
    while (fields.next()) |field| {
        if (std.mem.startsWith(u8, field, "sock=") and std.mem.eql(u8, field["sock=".len..], socket_path)) return true;
    }
    return false;
}

/// The server argument with `image=` set to `image`.
fn withImage(allocator: std.mem.Allocator, entry: []const u8, image: u32) ![:0]const u8 {
    var out = std.ArrayList(u8).init(allocator);
    var fields = std.mem.splitScalar(u8, entry, ',');
    var first = true;
    while (fields.next()) |field| {
        if (std.mem.startsWith(u8, field, "image=")) continue;
        if (!first) try out.append(',');
        try out.appendSlice(field);
        first = false;
    }
    try out.writer().print(",image={d}", .{image});
    return out.toOwnedSliceSentinel(0);
}

/// The guest program QEMU was started with: the entry after the server's
/// argument, past a `-0 ARGV0` (a plan puts that between them). Written
/// into `out`; null when the argument is not on the command line.
pub fn commandLineGuest(socket_path: []const u8, out: []u8) ?[]const u8 {
    var arena = std.heap.ArenaAllocator.init(std.heap.page_allocator);
    defer arena.deinit();
    const cmdline = readFileAlloc(arena.allocator(), "/proc/self/cmdline", cmdline_bytes_max) catch return null;
    var entries = std.mem.splitScalar(u8, cmdline, 0);
    while (entries.next()) |entry| {
        if (!isServerArgument(entry, socket_path)) continue;
        var program = entries.next() orelse return null;
        if (std.mem.eql(u8, program, "-0")) {
            _ = entries.next();
            program = entries.next() orelse return null;
        }
        if (program.len > out.len) return null;
        @memcpy(out[0..program.len], program);
        return out[0..program.len];
    }
    return null;
}

/// Copies guest strings out, each read through one scratch buffer of
/// Linux's per-string limit and kept at its own length, all of them within
/// `strings_bytes_max`.
const GuestStrings = struct {
    allocator: std.mem.Allocator,
    scratch: []u8,
    budget: usize = strings_bytes_max,

    fn one(self: *GuestStrings, address: u64) ![:0]const u8 {
        const room = @min(self.budget, self.scratch.len);
        const text = guest_memory.readString(address, self.scratch[0..room]) orelse return error.UnreadableArgument;
        self.budget -= text.len + 1;
        return self.allocator.dupeZ(u8, text);
    }

    /// A guest `char *const[]` (null: no entries, as Linux allows).
    fn array(self: *GuestStrings, address: u64, arch: guest.Arch) ![]const [:0]const u8 {
        var list = std.ArrayList([:0]const u8).init(self.allocator);
        if (address == 0) return list.items;
        var index: u64 = 0;
        while (index < pointers_max) : (index += 1) {
            const pointer = guest_memory.readPointer(address + index * arch.pointer_bytes, arch.pointer_bytes, arch.big_endian) orelse return error.UnreadableArgument;
            if (pointer == 0) return list.items;
            try list.append(try self.one(pointer));
        }
        return error.TooManyArguments;
    }
};

fn readFileAlloc(allocator: std.mem.Allocator, path: []const u8, bytes_max: usize) ![]u8 {
    const file = try std.fs.openFileAbsolute(path, .{});
    defer file.close();
    return file.readToEndAlloc(allocator, bytes_max);
}

test "shebang lines parse as Linux reads them" {
    const plain = parseShebang("#!/bin/busybox sh\necho\n").?;
    try std.testing.expectEqualStrings("/bin/busybox", plain.interpreter);
    try std.testing.expectEqualStrings("sh", plain.argument.?);
    const spaced = parseShebang("#! /usr/bin/env  python3 -u \n").?;
    try std.testing.expectEqualStrings("/usr/bin/env", spaced.interpreter);
    try std.testing.expectEqualStrings("python3 -u", spaced.argument.?);
    try std.testing.expect(parseShebang("#!/bin/sh\n").?.argument == null);
    try std.testing.expect(parseShebang("#!\n") == null);
    try std.testing.expect(parseShebang("#!/bin/sh") == null);
    try std.testing.expect(parseShebang("\x7fELF") == null);
}

test "the server argument is found by its socket and gains the image" {
    const entry = "/lib/libcannoli_server.so,sock=/run/c/s,image=2,owner=7";
    try std.testing.expect(isServerArgument(entry, "/run/c/s"));
    try std.testing.expect(!isServerArgument(entry, "/run/c"));
    try std.testing.expect(!isServerArgument("/run/c/s", "/run/c/s"));
    const next = try withImage(std.testing.allocator, entry, 3);
    defer std.testing.allocator.free(next);
    try std.testing.expectEqualStrings("/lib/libcannoli_server.so,sock=/run/c/s,owner=7,image=3", next);
}

test "only ELF executables of the guest's machine, class and byte order run" {
    var head = [_]u8{0} ** 64;
    @memcpy(head[0..4], "\x7fELF");
    head[4] = 2;
    head[5] = 1;
    std.mem.writeIntLittle(u16, head[18..20], 183);
    try std.testing.expect(runsOn(guest.lookup("aarch64").?, &head));
    try std.testing.expect(!runsOn(guest.lookup("x86_64").?, &head));
    try std.testing.expect(!runsOn(guest.lookup("aarch64_be").?, &head));
    head[4] = 1;
    try std.testing.expect(!runsOn(guest.lookup("aarch64").?, &head));
}
