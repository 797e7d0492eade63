// SPDX-License-Identifier: GPL-2.0-or-later
//! One guest thread's trace stream: a mempipe producer plus typed record
//! writers for the wire format (zig-src/wire/records.zig). Generic over the
//! guest's address type so 32-bit guests write 4-byte fields and the record
//! sizes are compile-time constants on the hot path.
const std = @import("std");
const assert = std.debug.assert;
const mempipe = @import("mempipe");
const records = @import("wire").records;
const Block = @import("Block.zig");
const VcpuCounter = @import("VcpuCounter.zig");
const guest = @import("guest.zig");
const RegisterSet = @import("RegisterSet.zig");

/// A thread's last recorded register values (`--regs`), each register in a
/// `value_bytes_max` slot, and the chunk its last regs record went to.
pub const RegisterValues = struct {
    bytes: [RegisterSet.registers_max * RegisterSet.value_bytes_max]u8 = undefined,
    /// No record yet: the first one, in any chunk, is a full snapshot.
    chunk: u64 = std.math.maxInt(u64),
    /// QEMU's GByteArray the plugin front door reads registers through.
    read_buffer: ?*anyopaque = null,
    /// The patched front door's registers (at most 8 bytes each), as numbers.
    narrow: [RegisterSet.registers_max]u64 = undefined,
};

pub fn ThreadStream(comptime Addr: type) type {
    comptime assert(Addr == u32 or Addr == u64);
    return struct {
        const Self = @This();
        const addr_words: u32 = @sizeOf(Addr) / 4;

        producer: mempipe.Producer,
        pid: i32,
        tid: i32,
        /// The host thread that writes this stream (pthread_self), checked on
        /// every event: QEMU may hand a vCPU index to a new thread while the
        /// thread that last had it is still exiting.
        owner: usize = 0,
        /// The syscall in flight, kept for the records its return produces
        /// (mmap's arguments matter only once the kernel said where).
        pending_syscall: u64 = 0,
        pending_args: [records.syscall_args]u64 = .{0} ** records.syscall_args,
        /// The block being executed (block-level encoding), closed when the
        /// next block starts; its records, from its block_open on, form one
        /// group in the pipe, and its block_open sits `open_in_group` bytes
        /// into the group (after the block's definition when the group
        /// carries it).
        open_block: ?*Block = null,
        open_mark: u64 = 0,
        open_in_group: u32 = 0,
        /// Distinguishes this stream's chunks from any other's in Block.def_key.
        generation: u32,
        /// Whether syscall and sysret records are written (`syscalls=off`
        /// drops them but keeps mmap/munmap: symbolizing and coverage
        /// place libraries with those).
        syscall_records: bool = true,
        /// QEMU 9.0+: the open block's count lives in this vCPU's element of
        /// a per-vCPU counter instead of in the block's own counters.
        vcpu_index: u32 = 0,
        vcpu_counter: ?*const VcpuCounter = null,
        /// `--regs`: the registers last recorded for this thread.
        register_values: ?*RegisterValues = null,

        inline fn reserve(self: *Self, comptime kind: records.Kind) [*]u32 {
            return self.reserveBytes(comptime records.recordWords(kind, addr_words) * 4);
        }

        inline fn commit(self: *Self, comptime kind: records.Kind) void {
            self.producer.commit(comptime records.recordWords(kind, addr_words) * 4);
        }

        /// Room for `bytes` in the current chunk. When the chunk fills inside
        /// an open block, the pipe carries the block's group to the next
        /// chunk, which must then define the block too.
        inline fn reserveBytes(self: *Self, bytes: u32) [*]u32 {
            const sequence = self.producer.sequence;
            const destination = self.producer.reserve(bytes) catch |err| fatal(err);
            if (self.producer.sequence != sequence and self.open_block != null) return self.regroup(bytes);
            return @ptrCast(@alignCast(destination));
        }

        /// The open block's group was carried to the start of a new chunk:
        /// put the block's definition in front of it unless it came along.
        fn regroup(self: *Self, bytes: u32) [*]u32 {
            @setCold(true);
            const block = self.open_block.?;
            const producer = &self.producer;
            assert(producer.group_start == 0);
            if (self.open_in_group == 0) {
                const def_bytes = defBytes(block);
                const carried = producer.cursor;
                if (carried + def_bytes + bytes > producer.geometry.chunk_bytes) fatal(error.GroupTooLarge);
                std.mem.copyBackwards(u8, producer.chunk[def_bytes .. def_bytes + carried], producer.chunk[0..carried]);
                writeDef(@ptrCast(@alignCast(producer.chunk)), block);
                producer.commit(def_bytes);
                self.open_in_group = def_bytes;
            }
            @atomicStore(u64, &block.def_key, Block.defKey(self.generation, producer.sequence), .Monotonic);
            return @ptrCast(@alignCast(producer.chunk + producer.cursor));
        }

        inline fn defBytes(block: *const Block) u32 {
            return defBytesFor(block.insns, 0);
        }

        /// Bytes of the block_def record of a block of `insns` instructions
        /// whose layout lists `accesses` (0: none).
        pub inline fn defBytesFor(insns: u32, accesses: u32) u32 {
            return ((comptime records.recordWords(.block_def, addr_words)) + insns * addr_words + records.layoutWords(accesses)) * 4;
        }

        fn writeDef(words: [*]u32, block: *const Block) void {
            writeDefOf(words, block.id, block.pcs[0..block.insns], &.{});
        }

        /// The block_def record of block `id` at `words` (both front doors;
        /// only the patched one knows layouts).
        pub fn writeDefOf(words: [*]u32, id: u32, pcs: []const u64, layout: []const u32) void {
            assert(pcs.len >= 1 and pcs.len <= records.block_insns_max);
            assert(layout.len <= records.block_accesses_max);
            words[0] = @intFromEnum(records.Kind.block_def) | @as(u32, @intCast(pcs.len)) << records.count_shift |
                @as(u32, @intCast(layout.len)) << records.block_accesses_shift;
            words[1] = id;
            for (pcs, 0..) |pc, index| putAddr(words + 2 + index * addr_words, pc);
            @memcpy((words + 2 + pcs.len * addr_words)[0..layout.len], layout);
        }

        pub inline fn putAddr(words: [*]u32, value: u64) void {
            words[0] = @truncate(value);
            if (addr_words == 2) words[1] = @truncate(value >> 32);
        }

        /// `insn_bytes`: the instruction's size, or 0 (not given).
        pub inline fn exec(self: *Self, pc: u64, insn_bytes: u8) void {
            if (self.open_block != null) self.closeBlock();
            // The instruction's records (it and its memory accesses) stay in
            // one chunk, like a block's.
            self.producer.beginGroup();
            const words = self.reserve(.exec);
            words[0] = @intFromEnum(records.Kind.exec) | @as(u32, insn_bytes) << records.exec_insn_bytes_shift;
            putAddr(words + 1, pc);
            self.commit(.exec);
        }

        /// `flags`: size shift, store, sign and big-endian bits, already in
        /// their record positions; `insn`: the instruction's index in the
        /// open block (0 after an exec record).
        pub inline fn mem(self: *Self, flags: u32, insn: u32, addr: u64, value: u64, with_value: bool) void {
            const head = records.memHead(flags, insn, with_value);
            const bytes = records.memWords(head, addr_words) * 4;
            const words = self.reserveBytes(bytes);
            words[0] = head;
            putAddr(words + 1, addr);
            if (with_value) {
                words[1 + addr_words] = @truncate(value);
                if (bytes > (2 + addr_words) * 4) words[2 + addr_words] = @truncate(value >> 32);
            }
            self.producer.commit(bytes);
        }

        pub fn syscall(self: *Self, number: u64, args: [records.syscall_args]u64) void {
            self.pending_syscall = number;
            self.pending_args = args;
            if (!self.syscall_records) return;
            const words = self.reserve(.syscall);
            words[0] = @intFromEnum(records.Kind.syscall);
            putAddr(words + 1, number);
            for (args, 0..) |arg, index| putAddr(words + 1 + (1 + index) * addr_words, arg);
            self.commit(.syscall);
        }

        fn sysret(self: *Self, number: u64, ret: u64) void {
            const words = self.reserve(.sysret);
            words[0] = @intFromEnum(records.Kind.sysret);
            putAddr(words + 1, number);
            putAddr(words + 1 + addr_words, ret);
            self.commit(.sysret);
        }

        /// A syscall returned: its sysret record, then, for a successful
        /// mmap/mmap2/munmap (the one whose arguments were kept at entry),
        /// the mapping record. -4095..-1 are errors (and QEMU's restarts).
        pub fn syscallReturned(self: *Self, number: u64, ret: u64, calls: guest.MapSyscalls) void {
            if (self.syscall_records) self.sysret(number, ret);
            const signed: i64 = @bitCast(ret);
            if (signed < 0 and signed >= -4095) return;
            if (self.pending_syscall != number) return;
            const args = self.pending_args;
            const addr: u64 = if (Addr == u32) ret & 0xffff_ffff else ret;
            const fd: i32 = @truncate(@as(i64, @bitCast(args[4])));
            if (calls.mmap == number) {
                self.mmapWithPath(addr, args, args[5], fd);
            } else if (calls.mmap2 == number) {
                self.mmapWithPath(addr, args, args[5] *% 4096, fd);
            } else if (calls.munmap == number) {
                self.munmap(args[0], args[1]);
            }
        }

        fn mmapWithPath(self: *Self, addr: u64, args: [records.syscall_args]u64, offset: u64, fd: i32) void {
            // Guest file descriptors are host descriptors in linux-user, so
            // the mapped file's path is the host's view of that descriptor.
            var path_buffer: [records.path_bytes_max]u8 = undefined;
            var link_buffer: [32]u8 = undefined;
            const path: []const u8 = if (fd >= 0) blk: {
                const link = std.fmt.bufPrintZ(&link_buffer, "/proc/self/fd/{d}", .{fd}) catch break :blk "";
                break :blk std.os.readlinkZ(link, &path_buffer) catch "";
            } else "";
            self.mmap(addr, args[1], offset, @truncate(args[2]), @truncate(args[3]), fd, path);
        }

        pub fn mmap(self: *Self, addr: u64, length: u64, offset: u64, prot: u32, flags: u32, fd: i32, path: []const u8) void {
            const path_bytes: u32 = @intCast(@min(path.len, records.path_bytes_max));
            const fixed_words = comptime records.recordWords(.mmap, addr_words);
            const bytes = (fixed_words + records.pathWords(path_bytes)) * 4;
            const words = self.reserveBytes(bytes);
            const destination: [*]u8 = @ptrCast(words);
            words[0] = @intFromEnum(records.Kind.mmap) | path_bytes << records.mmap_path_shift;
            putAddr(words + 1, addr);
            putAddr(words + 1 + addr_words, length);
            putAddr(words + 1 + 2 * addr_words, offset);
            words[1 + 3 * addr_words] = prot;
            words[2 + 3 * addr_words] = flags;
            words[3 + 3 * addr_words] = @bitCast(fd);
            const path_destination = destination + fixed_words * 4;
            @memset(path_destination[0 .. records.pathWords(path_bytes) * 4], 0);
            @memcpy(path_destination[0..path_bytes], path[0..path_bytes]);
            self.producer.commit(bytes);
        }

        pub fn munmap(self: *Self, addr: u64, length: u64) void {
            const words = self.reserve(.munmap);
            words[0] = @intFromEnum(records.Kind.munmap);
            putAddr(words + 1, addr);
            putAddr(words + 1 + addr_words, length);
            self.commit(.munmap);
        }

        /// A block starts: the previous one is closed, and this one's
        /// block_open (preceded by its definition when this chunk does not
        /// carry it yet) opens a group that the pipe keeps in one chunk with
        /// the block's other records. It says the whole block ran; closing
        /// rewrites the count if it did not.
        pub inline fn enterBlock(self: *Self, block: *Block) void {
            if (self.open_block != null) {
                self.closeBlock();
            } else if (self.vcpu_counter) |counter| {
                // Nothing open, yet the vCPU's count may be stale: a forked
                // child inherits its parent's last block.
                _ = counter.take(self.vcpu_index, records.block_insns_max);
            }
            if (self.vcpu_counter == null) self.open_mark = block.entryMark();
            self.producer.beginGroup();
            const open_bytes = comptime records.recordWords(.block_open, addr_words) * 4;
            const def_bytes = defBytes(block);
            // Reserving both first settles which chunk the block starts in.
            var words: [*]u32 = @ptrCast(@alignCast(self.producer.reserve(def_bytes + open_bytes) catch |err| fatal(err)));
            const key = Block.defKey(self.generation, self.producer.sequence);
            var bytes: u32 = open_bytes;
            self.open_in_group = 0;
            // Guest threads share blocks on QEMU 9.0+: another stream may
            // overwrite the key at any time, which only makes this one
            // define the block again; it never sees its own key unless it
            // wrote the definition into this chunk.
            if (@atomicLoad(u64, &block.def_key, .Monotonic) != key) {
                @atomicStore(u64, &block.def_key, key, .Monotonic);
                writeDef(words, block);
                words += def_bytes / 4;
                bytes += def_bytes;
                self.open_in_group = def_bytes;
            }
            words[0] = @intFromEnum(records.Kind.block_open) | block.insns << records.count_shift;
            words[1] = block.id;
            self.producer.commit(bytes);
            self.open_block = block;
        }

        /// Settles the open block's count: how far it really ran (a fault
        /// or a signal may have cut it short), rewritten in its block_open,
        /// which is still in the unpublished chunk.
        pub fn closeBlock(self: *Self) void {
            const block = self.open_block.?;
            self.open_block = null;
            const executed = if (self.vcpu_counter) |counter|
                counter.take(self.vcpu_index, block.insns)
            else
                block.executed(self.open_mark);
            assert(executed <= block.insns);
            if (executed != block.insns) {
                const at = self.producer.group_start + self.open_in_group;
                assert(at + 8 <= self.producer.cursor);
                const words: [*]u32 = @ptrCast(@alignCast(self.producer.chunk + at));
                assert(words[0] & 0xff == @intFromEnum(records.Kind.block_open) and words[1] == block.id);
                words[0] = @intFromEnum(records.Kind.block_open) | executed << records.count_shift;
            }
            self.producer.endGroup();
        }

        /// The registers of the instruction just recorded by `exec`, as
        /// `current` holds them (each in a `value_bytes_max` slot): those
        /// that changed since `last`, or all of them in a chunk's first
        /// record (so every chunk decodes alone).
        pub fn regs(self: *Self, set: *const RegisterSet, last: *RegisterValues, current: []const u8) void {
            assert(self.open_block == null);
            const slot = RegisterSet.value_bytes_max;
            const bytes_max = set.recordBytesMax();
            const words = self.reserveBytes(bytes_max);
            const full = last.chunk != self.producer.sequence;
            var w: u32 = 1;
            for (0..set.count) |index| {
                const width = set.widths[index];
                const now = current[index * slot ..][0..width];
                const before = last.bytes[index * slot ..][0..width];
                if (!full and std.mem.eql(u8, now, before)) continue;
                const value_words = RegisterSet.valueWords(width);
                words[w] = @as(u32, @intCast(index)) | value_words << records.regs_value_words_shift;
                const destination: [*]u8 = @ptrCast(words + w + 1);
                @memset(destination[0 .. value_words * 4], 0);
                @memcpy(destination[0..width], now);
                @memcpy(before, now);
                w += 1 + value_words;
            }
            self.commitRegs(words, w, last);
        }

        /// `regs` for registers of at most 8 bytes on a little-endian guest
        /// (the patched front door, at every instruction): `current` holds
        /// their values as numbers, and bit i of `changed` says register i
        /// differs from `last.narrow` (the caller compared them, in bulk).
        pub fn regsNarrow(self: *Self, set: *const RegisterSet, last: *RegisterValues, current: *const [RegisterSet.registers_max]u64, changed: RegisterSet.Mask) void {
            assert(self.open_block == null);
            const full = last.chunk != self.producer.sequence;
            var pending = if (full) set.all() else changed;
            if (pending == 0) return;
            const words = self.reserveBytes(set.recordBytesMax());
            var w: u32 = 1;
            while (pending != 0) : (pending &= pending - 1) {
                const index: u32 = @ctz(pending);
                const value = current[index];
                last.narrow[index] = value;
                const value_words = RegisterSet.valueWords(set.widths[index]);
                assert(value_words == 1 or value_words == 2);
                words[w] = index | value_words << records.regs_value_words_shift;
                words[w + 1] = @truncate(value);
                if (value_words == 2) words[w + 2] = @truncate(value >> 32);
                w += 1 + value_words;
            }
            self.commitRegs(words, w, last);
        }

        /// Ends a regs record of `w` words (none when nothing changed).
        inline fn commitRegs(self: *Self, words: [*]u32, w: u32, last: *RegisterValues) void {
            if (w == 1) return;
            words[0] = @intFromEnum(records.Kind.regs) | (w - 1) << records.count_shift;
            self.producer.commit(w * 4);
            last.chunk = self.producer.sequence;
        }

        /// Ends the stream cleanly: an exit record, then the producer's close.
        pub fn finish(self: *Self) void {
            if (self.open_block != null) self.closeBlock();
            const words = self.reserve(.exit);
            words[0] = @intFromEnum(records.Kind.exit);
            self.commit(.exit);
            self.producer.close() catch |err| fatal(err);
        }
    };
}

/// The consumer is the only place a trace can go; without it QEMU must stop
/// rather than run untraced or block forever.
pub fn fatal(err: anyerror) noreturn {
    var buffer: [160]u8 = undefined;
    const message = std.fmt.bufPrint(&buffer, "cannoli-server: trace stream failed ({s}); stopping QEMU\n", .{@errorName(err)}) catch "cannoli-server: trace stream failed\n";
    _ = std.os.linux.write(2, message.ptr, message.len);
    std.os.linux.exit_group(125);
}
