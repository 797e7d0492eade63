// SPDX-License-Identifier: GPL-2.0-or-later
//! What the server needs to know about the guest architecture, from QEMU's
//! target name: address width (4-byte fields for 32-bit guests), byte
//! order, the ELF machine its programs carry, and the syscall numbers the
//! server reacts to (checked against the kernel's tables by
//! test/exec.test.ts through src/syscalls/names.generated.ts).
const std = @import("std");

pub const Arch = struct {
    name: []const u8,
    pointer_bytes: u8,
    big_endian: bool,
    /// Guest syscall numbers turned into mmap/munmap records (null: none).
    syscalls: MapSyscalls = .{},
    /// clone and clone3: a new guest thread may be on its way.
    threads: ThreadSyscalls = .{},
    /// execve and execveat: followed into the new program (exec_follow.zig).
    exec: ExecSyscalls = .{},
    /// ELF e_machine of the programs this QEMU runs (0: exec not followed).
    elf_machine: u16 = 0,
};

pub const ExecSyscalls = struct {
    execve: ?u64 = null,
    execveat: ?u64 = null,
};

const generic_exec = ExecSyscalls{ .execve = 221, .execveat = 281 };

/// The syscalls that create guest threads (clone with CLONE_VM, clone3).
pub const ThreadSyscalls = struct {
    clone: ?u64 = null,
    clone3: ?u64 = null,

    /// Whether this syscall entry may create a thread sharing memory.
    pub fn createsThread(self: ThreadSyscalls, number: u64, flags: u64) bool {
        const clone_vm = 0x100;
        if (self.clone3 != null and number == self.clone3.?) return true;
        return self.clone != null and number == self.clone.? and flags & clone_vm != 0;
    }
};

const generic_threads = ThreadSyscalls{ .clone = 220, .clone3 = 435 };

/// mmap takes its offset in bytes, mmap2 in 4096-byte pages.
pub const MapSyscalls = struct {
    mmap: ?u64 = null,
    mmap2: ?u64 = null,
    munmap: ?u64 = null,
};

const generic = MapSyscalls{ .mmap = 222, .munmap = 215 };
const mips_o32 = MapSyscalls{ .mmap = 4090, .mmap2 = 4210, .munmap = 4091 };
const arm_eabi = MapSyscalls{ .mmap2 = 192, .munmap = 91 };

const table = [_]Arch{
    .{ .name = "aarch64", .pointer_bytes = 8, .big_endian = false, .syscalls = generic, .threads = generic_threads, .exec = generic_exec, .elf_machine = 183 },
    .{ .name = "aarch64_be", .pointer_bytes = 8, .big_endian = true, .syscalls = generic, .threads = generic_threads, .exec = generic_exec, .elf_machine = 183 },
    .{ .name = "x86_64", .pointer_bytes = 8, .big_endian = false, .syscalls = .{ .mmap = 9, .munmap = 11 }, .threads = .{ .clone = 56, .clone3 = 435 }, .exec = .{ .execve = 59, .execveat = 322 }, .elf_machine = 62 },
    .{ .name = "riscv64", .pointer_bytes = 8, .big_endian = false, .syscalls = generic, .threads = generic_threads, .exec = generic_exec, .elf_machine = 243 },
    .{ .name = "mips64el", .pointer_bytes = 8, .big_endian = false, .syscalls = .{ .mmap = 5009, .munmap = 5011 }, .threads = .{ .clone = 5055, .clone3 = 5435 }, .exec = .{ .execve = 5057, .execveat = 5316 }, .elf_machine = 8 },
    .{ .name = "mips64", .pointer_bytes = 8, .big_endian = true, .syscalls = .{ .mmap = 5009, .munmap = 5011 }, .threads = .{ .clone = 5055, .clone3 = 5435 }, .exec = .{ .execve = 5057, .execveat = 5316 }, .elf_machine = 8 },
    .{ .name = "ppc64le", .pointer_bytes = 8, .big_endian = false },
    .{ .name = "ppc64", .pointer_bytes = 8, .big_endian = true },
    .{ .name = "s390x", .pointer_bytes = 8, .big_endian = true },
    .{ .name = "loongarch64", .pointer_bytes = 8, .big_endian = false, .syscalls = generic, .threads = generic_threads, .exec = generic_exec, .elf_machine = 258 },
    .{ .name = "sparc64", .pointer_bytes = 8, .big_endian = true },
    .{ .name = "alpha", .pointer_bytes = 8, .big_endian = false },
    .{ .name = "mipsel", .pointer_bytes = 4, .big_endian = false, .syscalls = mips_o32, .threads = .{ .clone = 4120, .clone3 = 4435 }, .exec = .{ .execve = 4011, .execveat = 4356 }, .elf_machine = 8 },
    .{ .name = "mips", .pointer_bytes = 4, .big_endian = true, .syscalls = mips_o32, .threads = .{ .clone = 4120, .clone3 = 4435 }, .exec = .{ .execve = 4011, .execveat = 4356 }, .elf_machine = 8 },
    .{ .name = "mipsn32el", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "mipsn32", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "arm", .pointer_bytes = 4, .big_endian = false, .syscalls = arm_eabi, .threads = .{ .clone = 120, .clone3 = 435 }, .exec = .{ .execve = 11, .execveat = 387 }, .elf_machine = 40 },
    .{ .name = "armeb", .pointer_bytes = 4, .big_endian = true, .syscalls = arm_eabi, .threads = .{ .clone = 120, .clone3 = 435 }, .exec = .{ .execve = 11, .execveat = 387 }, .elf_machine = 40 },
    .{ .name = "i386", .pointer_bytes = 4, .big_endian = false, .syscalls = .{ .mmap2 = 192, .munmap = 91 }, .threads = .{ .clone = 120, .clone3 = 435 }, .exec = .{ .execve = 11, .execveat = 358 }, .elf_machine = 3 },
    .{ .name = "riscv32", .pointer_bytes = 4, .big_endian = false, .syscalls = generic, .threads = generic_threads, .exec = generic_exec, .elf_machine = 243 },
    .{ .name = "ppc", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "m68k", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "sh4", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "sh4eb", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "hppa", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "or1k", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "microblaze", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "microblazeel", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "xtensa", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "xtensaeb", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "sparc", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "sparc32plus", .pointer_bytes = 4, .big_endian = true },
    .{ .name = "nios2", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "cris", .pointer_bytes = 4, .big_endian = false },
    .{ .name = "hexagon", .pointer_bytes = 4, .big_endian = false },
};

pub fn lookup(target_name: []const u8) ?Arch {
    for (table) |arch| {
        if (std.mem.eql(u8, arch.name, target_name)) return arch;
    }
    return null;
}

test "thread-creating syscalls: clone with CLONE_VM, clone3; not fork's clone" {
    const aarch64 = lookup("aarch64").?.threads;
    try std.testing.expect(aarch64.createsThread(220, 0x3d0f00));
    try std.testing.expect(!aarch64.createsThread(220, 0x11)); // fork: SIGCHLD only
    try std.testing.expect(aarch64.createsThread(435, 0));
    try std.testing.expect(lookup("mipsel").?.threads.createsThread(4120, 0x100));
    try std.testing.expect(!lookup("ppc").?.threads.createsThread(120, 0x100));
}

test "exec is followed where the syscall numbers and the machine are known" {
    const aarch64 = lookup("aarch64").?;
    try std.testing.expectEqual(@as(?u64, 221), aarch64.exec.execve);
    try std.testing.expectEqual(@as(u16, 183), aarch64.elf_machine);
    try std.testing.expectEqual(@as(?u64, null), lookup("ppc").?.exec.execve);
}

test "32-bit guests get 4-byte fields" {
    try std.testing.expectEqual(@as(u8, 4), lookup("mipsel").?.pointer_bytes);
    try std.testing.expectEqual(@as(u8, 8), lookup("aarch64").?.pointer_bytes);
    try std.testing.expect(lookup("mips").?.big_endian);
    try std.testing.expect(lookup("vax") == null);
}
