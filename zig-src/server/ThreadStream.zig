// SPDX-License-Identifier: GPL-2.0-or-later
//! One guest thread's trace stream: a mempipe producer plus typed record
//! writers for the wire format (zig-src/wire/records.zig). Generic over the
//! guest's address type so 32-bit guests write 4-byte fields and the record
//! sizes are compile-time constants on the hot path.
const std = @import("std");
const assert = std.debug.assert;
const mempipe = @import("mempipe");
const wire = @import("wire");
const records = wire.records;
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

/// The most accesses a learned layout lists: a run that makes more keeps
/// heads on all of them, in every run of its block.
pub const learn_accesses_max = 256;

/// What a stream expects when no layout is active: no mem head is 0.
const no_heads = [_]u32{0};

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
        /// This vCPU's element of the counter, while it cannot move.
        vcpu_counter_element: ?*u64 = null,
        /// `--regs`: the registers last recorded for this thread.
        register_values: ?*RegisterValues = null,
        /// The open block's layout when it opened (its definitions in this
        /// chunk carry it).
        open_layout: ?*const Block.Layout = null,
        /// The open block's layout while its run keeps to it: the mem
        /// heads it expects (`no_heads` when none), the next one, and the
        /// bytes of the accesses written without heads after its
        /// block_open, in room enterBlock reserved and not yet committed.
        layout_active: bool = false,
        layout_heads: [*]const u32 = &no_heads,
        layout_next: u32 = 0,
        layout_bytes: u32 = 0,
        /// The open block has no layout yet: its accesses are noted, and a
        /// whole run of it publishes them as the block's layout.
        learning: bool = false,
        learned_count: u32 = 0,
        learned: [learn_accesses_max]u32 = undefined,

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
            // A record inside a block (a syscall ends it): its layout's
            // accesses so far come before it.
            if (self.layout_active) self.settleLayout();
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
            // The layout the block opened with (another thread may have
            // published one since): the one its block_open's accesses follow.
            const layout = self.open_layout;
            if (self.open_in_group == 0) {
                const def_bytes = defBytes(block, layout);
                const carried = producer.cursor;
                if (carried + def_bytes + bytes > producer.geometry.chunk_bytes) fatal(error.GroupTooLarge);
                std.mem.copyBackwards(u8, producer.chunk[def_bytes .. def_bytes + carried], producer.chunk[0..carried]);
                writeDef(@ptrCast(@alignCast(producer.chunk)), block, layout);
                producer.commit(def_bytes);
                self.open_in_group = def_bytes;
            }
            @atomicStore(u64, &block.def_key, Block.defKey(self.generation, producer.sequence, layout != null), .Monotonic);
            return @ptrCast(@alignCast(producer.chunk + producer.cursor));
        }

        inline fn defBytes(block: *const Block, layout: ?*const Block.Layout) u32 {
            return defBytesFor(block.insns, if (layout) |l| @intCast(l.entries.len) else 0);
        }

        /// Bytes of the block_def record of a block of `insns` instructions
        /// whose layout lists `accesses` (0: none).
        pub inline fn defBytesFor(insns: u32, accesses: u32) u32 {
            return ((comptime records.recordWords(.block_def, addr_words)) + insns * addr_words + records.layoutWords(accesses)) * 4;
        }

        fn writeDef(words: [*]u32, block: *const Block, layout: ?*const Block.Layout) void {
            writeDefOf(words, block.id, block.pcs[0..block.insns], if (layout) |l| l.entries else &.{});
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
            // The layout's heads end in 0, so one compare tells both that a
            // layout is active and that this access keeps to it.
            if (self.layout_heads[self.layout_next] == head) return self.layoutAccess(addr, value);
            // The run departs from its block's layout (a conditional
            // access, a varying count): heads from here on.
            if (self.layout_active) self.settleLayout();
            if (self.learning) self.learnAccess(head);
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
                _ = counter.take(self.vcpu_index, records.block_insns_max, &self.vcpu_counter_element);
            }
            if (self.vcpu_counter == null) self.open_mark = block.entryMark();
            self.producer.beginGroup();
            const layout = block.layout();
            const def_bytes = defBytes(block, layout);
            // The accesses of a run that keeps to the layout go right after
            // the block_open, padded to a word.
            // Values are stored 8 bytes wide whatever their size, and the
            // padding 4 wide: 8 bytes of slack.
            const layout_room = if (layout) |l| l.data_bytes + 8 else 0;
            // Reserving all first settles which chunk the block starts in.
            var words: [*]u32 = @ptrCast(@alignCast(self.producer.reserve(def_bytes + open_bytes + layout_room) catch |err| fatal(err)));
            const key = Block.defKey(self.generation, self.producer.sequence, layout != null);
            var bytes: u32 = open_bytes;
            self.open_in_group = 0;
            // Guest threads share blocks on QEMU 9.0+: another stream may
            // overwrite the key at any time, which only makes this one
            // define the block again; it never sees its own key unless it
            // wrote the definition into this chunk.
            if (@atomicLoad(u64, &block.def_key, .Monotonic) != key) {
                @atomicStore(u64, &block.def_key, key, .Monotonic);
                writeDef(words, block, layout);
                words += def_bytes / 4;
                bytes += def_bytes;
                self.open_in_group = def_bytes;
            }
            // None of the layout's accesses yet: settleLayout says how many.
            words[0] = @intFromEnum(records.Kind.block_open) | block.insns << records.count_shift;
            words[1] = block.id;
            self.producer.commit(bytes);
            self.open_block = block;
            self.open_layout = layout;
            self.layout_active = layout != null and layout.?.entries.len != 0;
            self.layout_heads = if (self.layout_active) layout.?.heads else &no_heads;
            self.layout_next = 0;
            self.layout_bytes = 0;
            self.learning = layout == null and !@atomicLoad(bool, &block.unlearnable, .Monotonic);
            self.learned_count = 0;
        }

        const open_bytes = records.recordWords(.block_open, addr_words) * 4;

        /// Writes an access the open block's layout told (its next entry),
        /// without a head, in the room enterBlock reserved: the value 8
        /// bytes wide, the next access overwriting what is not its own.
        inline fn layoutAccess(self: *Self, addr: u64, value: u64) void {
            const bytes = self.producer.chunk + self.producer.cursor + self.layout_bytes;
            std.mem.writeIntLittle(Addr, bytes[0..@sizeOf(Addr)], @as(Addr, @truncate(addr)));
            std.mem.writeIntLittle(u64, bytes[@sizeOf(Addr)..][0..8], value);
            self.layout_bytes += self.open_layout.?.access_bytes[self.layout_next];
            self.layout_next += 1;
            assert(self.layout_bytes <= self.open_layout.?.data_bytes);
        }

        /// Ends the open block's headless accesses: pads them to a word,
        /// says in its block_open how many there are, and commits them.
        /// A producer killed at any point leaves a chunk that decodes: its
        /// salvaged length (open_bytes) first excludes the block_open, and
        /// takes the accesses only once the block_open counts them.
        fn settleLayout(self: *Self) void {
            const written = self.layout_next;
            self.layout_active = false;
            self.layout_heads = &no_heads;
            self.layout_next = 0;
            if (written == 0) return;
            const producer = &self.producer;
            const padded = (self.layout_bytes + 3) & ~@as(u32, 3);
            // Zero to three bytes: one unaligned store (enterBlock's
            // reservation has the room), not a call to memset.
            std.mem.writeIntLittle(u32, (producer.chunk + producer.cursor + self.layout_bytes)[0..4], 0);
            const open_at = producer.group_start + self.open_in_group;
            assert(open_at + open_bytes == producer.cursor);
            const head: *volatile u32 = @ptrCast(@alignCast(producer.chunk + open_at));
            assert(head.* & 0xff == @intFromEnum(records.Kind.block_open));
            assert(written <= records.block_accesses_mask);
            producer.salvageUpTo(open_at);
            head.* |= written << records.block_accesses_shift;
            producer.commitRewritten(padded);
        }

        /// Notes an access of a block that has no layout yet.
        inline fn learnAccess(self: *Self, head: u32) void {
            if (self.learned_count == learn_accesses_max) {
                self.learning = false;
                @atomicStore(bool, &self.open_block.?.unlearnable, true, .Monotonic);
                return;
            }
            self.learned[self.learned_count] = records.layoutEntry(head);
            self.learned_count += 1;
        }

        /// The open block ran whole without a layout: what it accessed is
        /// its layout from now on (unless another thread's came first).
        fn publishLayout(self: *Self, block: *Block) void {
            @setCold(true);
            const entries = self.learned[0..self.learned_count];
            const n = entries.len;
            // One allocation (never freed, like the block): entries, heads
            // and the 0 after them, access sizes.
            const storage = std.heap.c_allocator.alignedAlloc(u8, @alignOf(u32), (2 * n + 1) * 4 + n) catch return;
            const words: [*]u32 = @ptrCast(storage.ptr);
            const access_bytes = storage.ptr + (2 * n + 1) * 4;
            var data_bytes: u32 = 0;
            for (entries, 0..) |entry, index| {
                words[index] = entry;
                words[n + index] = records.layoutHead(entry);
                const bytes = records.layoutAccessBytes(entry, addr_words);
                access_bytes[index] = @intCast(bytes);
                data_bytes += bytes;
            }
            words[2 * n] = 0;
            const layout = std.heap.c_allocator.create(Block.Layout) catch {
                std.heap.c_allocator.free(storage);
                return;
            };
            layout.* = .{ .entries = words[0..n], .heads = words + n, .access_bytes = access_bytes, .data_bytes = data_bytes };
            if (block.learn(layout)) return;
            std.heap.c_allocator.free(storage);
            std.heap.c_allocator.destroy(layout);
        }

        /// Settles the open block's count: how far it really ran (a fault
        /// or a signal may have cut it short), rewritten in its block_open,
        /// which is still in the unpublished chunk.
        pub fn closeBlock(self: *Self) void {
            const block = self.open_block.?;
            if (self.layout_active) self.settleLayout();
            self.open_block = null;
            const executed = if (self.vcpu_counter) |counter|
                counter.take(self.vcpu_index, block.insns, &self.vcpu_counter_element)
            else
                block.executed(self.open_mark);
            assert(executed <= block.insns);
            if (self.learning) {
                self.learning = false;
                if (executed == block.insns) self.publishLayout(block);
            }
            if (executed != block.insns) {
                const at = self.producer.group_start + self.open_in_group;
                assert(at + open_bytes <= self.producer.cursor);
                const words: [*]u32 = @ptrCast(@alignCast(self.producer.chunk + at));
                assert(words[0] & 0xff == @intFromEnum(records.Kind.block_open) and words[1] == block.id);
                const count_bits = records.block_insns_mask << records.count_shift;
                words[0] = words[0] & ~count_bits | executed << records.count_shift;
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

test "a block's layout is learned from its first whole run; later runs keep to it, depart from it, or are cut" {
    var arena = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena.deinit();
    const block = try Block.create(arena.allocator(), 7, &.{ 0x10, 0x14, 0x18 });
    var stream = ThreadStream(u64){
        .producer = try mempipe.Producer.create(.{ .chunk_bytes = 4096, .chunk_count = 2 }),
        .pid = 1,
        .tid = 1,
        .generation = 1,
    };
    defer stream.producer.release();
    const load4: u32 = 2 << records.mem_size_shift_bit;
    const store8: u32 = 3 << records.mem_size_shift_bit | 1 << records.mem_store_bit;
    // Translated code adds to a block's counters as its instructions start.
    const ran = struct {
        fn instructions(b: *Block, n: usize) void {
            for (0..n) |index| b.counters[index] += 1;
        }
    }.instructions;

    // 1: learns (heads), 2: keeps to the layout, 3: departs at its second
    // access (instruction 1 loads, where the layout has 2's store next),
    // 4: cut by a fault after its first instruction.
    stream.enterBlock(block);
    stream.mem(load4, 0, 0x1000, 0xa1, true);
    stream.mem(store8, 2, 0x2000, 0x1122334455667788, true);
    ran(block, 3);
    stream.enterBlock(block);
    try std.testing.expectEqual(@as(usize, 2), block.layout().?.entries.len);
    stream.mem(load4, 0, 0x1004, 0xa2, true);
    stream.mem(store8, 2, 0x2008, 0x99, true);
    ran(block, 3);
    stream.enterBlock(block);
    stream.mem(load4, 0, 0x1008, 0xa3, true);
    stream.mem(load4, 1, 0x3000, 0xb3, true);
    stream.mem(store8, 2, 0x2010, 0x77, true);
    ran(block, 3);
    stream.enterBlock(block);
    stream.mem(load4, 0, 0x100c, 0xa4, true);
    ran(block, 1);
    stream.closeBlock();

    const words: []const u32 = @as([*]const u32, @ptrCast(@alignCast(stream.producer.chunk)))[0 .. stream.producer.cursor / 4];
    const open: u32 = @intFromEnum(records.Kind.block_open);
    const def: u32 = @intFromEnum(records.Kind.block_def);
    const entries = [_]u32{ records.layoutEntry(records.memHead(load4, 0, true)), records.layoutEntry(records.memHead(store8, 2, true)) };
    const pcs = [_]u32{ 0x10, 0, 0x14, 0, 0x18, 0 };
    // Run 1: defined without a layout, accesses with heads.
    const run1 = [_]u32{ def | 3 << 8, 7 } ++ pcs ++ [_]u32{ open | 3 << 8, 7 } ++
        [_]u32{ records.memHead(load4, 0, true), 0x1000, 0, 0xa1 } ++
        [_]u32{ records.memHead(store8, 2, true), 0x2000, 0, 0x55667788, 0x11223344 };
    // Run 2: defined again, with the layout; its two accesses headless
    // (address, 4-byte value, address, 8-byte value: 28 bytes).
    const run2 = [_]u32{ def | 3 << 8 | 2 << records.block_accesses_shift, 7 } ++ pcs ++ entries ++
        [_]u32{ open | 3 << 8 | 2 << records.block_accesses_shift, 7 } ++
        [_]u32{ 0x1004, 0, 0xa2, 0x2008, 0, 0x99, 0 };
    // Run 3: the first access headless, then heads.
    const run3 = [_]u32{ open | 3 << 8 | 1 << records.block_accesses_shift, 7, 0x1008, 0, 0xa3 } ++
        [_]u32{ records.memHead(load4, 1, true), 0x3000, 0, 0xb3 } ++
        [_]u32{ records.memHead(store8, 2, true), 0x2010, 0, 0x77, 0 };
    // Run 4: one instruction ran, one access written.
    const run4 = [_]u32{ open | 1 << 8 | 1 << records.block_accesses_shift, 7, 0x100c, 0, 0xa4 };
    const expected = run1 ++ run2 ++ run3 ++ run4;
    try std.testing.expectEqualSlices(u32, &expected, words);

    var decoder = wire.BatchDecoder.init(std.testing.allocator);
    defer decoder.deinit();
    var counts: wire.BatchDecoder.Counts = .{};
    try decoder.count(words, 2, &counts);
    try std.testing.expectEqual(@as(u32, 10), counts.instructions);
    try std.testing.expectEqual(@as(u32, 5), counts.reads);
    try std.testing.expectEqual(@as(u32, 3), counts.writes);
    try std.testing.expectEqual(@as(u32, 4), counts.runs);
}
