// SPDX-License-Identifier: GPL-2.0-or-later
//! One guest thread's trace stream: a mempipe producer plus typed record
//! writers for the wire format (zig-src/wire/records.zig). Generic over the
//! guest's address type so 32-bit guests write 4-byte fields and the record
//! sizes are compile-time constants on the hot path.
//!
//! The plugin backend's block encoding lives here too: a block opens with
//! its record, its accesses follow headless while the run keeps to the
//! layout the block learned (Block.zig), and what did not happen (a
//! departure from the layout, a cut) is rewritten while the block is still
//! in the unpublished chunk.
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

/// What a stream expects when no layout is active: no access.
const no_steps = [_]Block.Step{Block.Step.end};

/// How the plugin backend tells how far a block ran (plugin.zig): QEMU
/// 7.2-8.2's per-block inline counters, or QEMU 9.0+'s per-vCPU one.
pub const Counting = enum { block_counters, vcpu_counter };

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
        /// The open block's layout while its run keeps to it: the step it
        /// expects next (`no_steps` when none: see layoutActive), and where
        /// the next access without a head goes, in room enterBlock reserved
        /// and not yet committed.
        layout_step: [*]const Block.Step = &no_steps,
        layout_end: [*]u8 = undefined,
        /// Where in the chunk the accesses begin (after the uncommitted
        /// record), and the previous one's address, for derived ones.
        layout_at: u32 = 0,
        layout_addr: Addr = 0,
        /// The open block's record is a one-word block_run.
        open_is_run: bool = false,
        /// The open block has no layout yet: its accesses are noted, and a
        /// whole run of it publishes them as the block's layout.
        learning: bool = false,
        learned_count: u32 = 0,
        learned: [learn_accesses_max]Learned = undefined,

        const Learned = struct { entry: u32, key: u64, addr: Addr };

        /// Whether the open block's accesses go without heads for now.
        inline fn layoutActive(self: *const Self) bool {
            return self.layout_step != &no_steps;
        }

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
            if (self.layoutActive()) self.settleLayout();
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
        /// `key`: the plugin callback's Block.memKey of the access, which a
        /// layout learned from it keeps for keepLayout (Step.no_key: none).
        pub inline fn mem(self: *Self, flags: u32, insn: u32, key: u64, addr: u64, value: u64, with_value: bool) void {
            const head = records.memHead(flags, insn, with_value);
            // The layout's steps end in a 0 head, so one compare tells both
            // that a layout is active and that this access keeps to it.
            if (self.layout_step[0].head == head and self.layoutAccess(addr, value)) return;
            self.headedMem(head, key, addr, value, with_value);
        }

        /// The plugin's memory callback's common case, taken before the
        /// access's meminfo is taken apart: an access with the key of the
        /// open layout's next step, whose value one or two 8-byte reads at
        /// `host` get without leaving its page. False when it is not that
        /// case, with nothing written: `mem` then decides.
        pub inline fn keepLayout(self: *Self, key: u64, addr: u64, host: [*]const u8) bool {
            const step = &self.layout_step[0];
            if (step.key != key) return false;
            const offset = @intFromPtr(host) % std.mem.page_size;
            if (step.flags & (Block.Step.wide | Block.Step.big_endian) == 0) {
                if (offset > std.mem.page_size - 8) return false;
                return self.layoutAccess(addr, std.mem.readIntLittle(u64, host[0..8]) & step.value_mask);
            }
            return self.keepLayoutOther(step, addr, host, offset);
        }

        /// Whether the open layout's next step is the access of `key`.
        pub inline fn expectsKey(self: *const Self, key: u64) bool {
            return self.layout_step[0].key == key;
        }

        /// keepLayout with the access's value given (QEMU's own, once the
        /// guest has threads), of any size.
        pub inline fn keepLayoutValue(self: *Self, key: u64, addr: u64, value: u128) bool {
            const step = &self.layout_step[0];
            if (step.key != key) return false;
            return if (step.flags & Block.Step.wide != 0) self.layoutAccessWide(addr, value) else self.layoutAccess(addr, @truncate(value));
        }

        /// keepLayout for a big-endian value, or a 16-byte one (little
        /// endian: QEMU 9.0+'s ldp/stp of two X registers, SSE moves).
        fn keepLayoutOther(self: *Self, step: *const Block.Step, addr: u64, host: [*]const u8, offset: usize) bool {
            if (step.flags & Block.Step.wide == 0) {
                if (offset > std.mem.page_size - 8) return false;
                return self.layoutAccess(addr, std.mem.readIntBig(u64, host[0..8]) >> @intCast(step.swap_shift));
            }
            if (step.flags & Block.Step.big_endian != 0 or offset > std.mem.page_size - 16) return false;
            return self.layoutAccessWide(addr, std.mem.readIntLittle(u128, host[0..16]));
        }

        /// A memory record with its head: no layout, or the run departs
        /// from its block's (a conditional access, a varying count, another
        /// distance), which it does from here on. Out of line, so that the
        /// callback's path for an access that keeps to its layout stays
        /// small (fewer registers saved on every call).
        noinline fn headedMem(self: *Self, head: u32, key: u64, addr: u64, value: u128, with_value: bool) void {
            if (self.layoutActive()) self.settleLayout();
            if (self.learning) self.learnAccess(head, key, addr);
            const bytes = records.memWords(head, addr_words) * 4;
            const words = self.reserveBytes(bytes);
            words[0] = head;
            putAddr(words + 1, addr);
            if (with_value) {
                const value_words = records.memValueWords(head);
                for (0..value_words) |index| words[1 + addr_words + index] = @truncate(value >> @intCast(index * 32));
            }
            self.producer.commit(bytes);
        }

        /// `mem` for an access of any size, 16 bytes included: the paths
        /// that can meet one (helpers, QEMU's own values, a 16-byte
        /// read-back), so that `mem`'s value stays one register wide.
        pub fn memAnySize(self: *Self, flags: u32, insn: u32, key: u64, addr: u64, value: u128, with_value: bool) void {
            if ((flags >> records.mem_size_shift_bit) & 7 != 4) return self.mem(flags, insn, key, addr, @truncate(value), with_value);
            const head = records.memHead(flags, insn, with_value);
            // Without values the layout's entry takes the address alone.
            if (self.layout_step[0].head == head and (if (with_value) self.layoutAccessWide(addr, value) else self.layoutAccess(addr, @truncate(value)))) return;
            self.headedMem(head, key, addr, value, with_value);
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

        /// The plugin's block callback's common case, in one pass without
        /// a call: the open block ran whole, opened with a block_run, and
        /// kept to its layout to its end; the next one has a layout that
        /// this chunk's definition of it carries, and the chunk has room
        /// for it. What enterBlock would write, or false, with nothing
        /// changed, when it is not that case.
        pub inline fn enterBlockFast(self: *Self, block: *Block, comptime counting: Counting) bool {
            // The mode is the server's, fixed at install: the fast path
            // tests for neither.
            assert((self.vcpu_counter != null) == (counting == .vcpu_counter));
            const open = self.open_block orelse return false;
            if (self.learning or !self.open_is_run) return false;
            var element: *volatile u64 = undefined;
            switch (counting) {
                .vcpu_counter => {
                    element = self.vcpu_counter.?.cachedElement(self.vcpu_counter_element) orelse return false;
                    if (element.* != open.insns) return false;
                },
                .block_counters => if (open.entryMark() == self.open_mark) return false,
            }
            const open_layout = self.open_layout.?;
            const producer = &self.producer;
            var end = producer.cursor;
            if (open_layout.entries.len != 0) {
                if (self.layout_step != open_layout.steps_end) return false;
                end = self.layout_at + open_layout.padded_bytes;
            }
            const layout = block.layout() orelse return false;
            if (layout.run_head == 0 or end + layout.room_bytes > producer.geometry.chunk_bytes) return false;
            if (@atomicLoad(u64, &block.def_key, .Monotonic) != Block.defKey(self.generation, producer.sequence, true)) return false;

            // The open block's accesses, padded, and the next one's record
            // are committed together, as settleLayout and openWithLayout do.
            if (open_layout.entries.len != 0) std.mem.writeIntLittle(u32, self.layout_end[0..4], 0);
            if (counting == .vcpu_counter) element.* = 0;
            @as([*]u32, @ptrCast(@alignCast(producer.chunk + end)))[0] = layout.run_head;
            producer.commitAndGroup(if (layout.entries.len == 0) end + run_bytes else end, end);
            self.open_block = block;
            if (counting == .block_counters) self.open_mark = block.entryMark();
            self.open_in_group = 0;
            self.open_layout = layout;
            self.layout_at = end + run_bytes;
            self.layout_end = producer.chunk + self.layout_at;
            self.layout_step = if (layout.entries.len != 0) layout.steps else &no_steps;
            return true;
        }

        /// A block starts: the previous one is closed, and this one's
        /// record (after its definition when this chunk does not carry it
        /// yet) opens a group that the pipe keeps in one chunk with the
        /// block's other records. A block with a layout opens with a
        /// one-word block_run (its id permitting): it ran whole, with all
        /// its layout's accesses. Otherwise a block_open says it ran whole.
        /// What did not happen is rewritten when the run departs from the
        /// layout (settleLayout) or ends short (closeBlock).
        pub inline fn enterBlock(self: *Self, block: *Block) void {
            if (self.open_block != null) {
                // Inline here: once per executed block.
                @call(.always_inline, closeBlock, .{self});
            } else if (self.vcpu_counter) |counter| {
                // Nothing open, yet the vCPU's count may be stale: a forked
                // child inherits its parent's last block.
                _ = counter.take(self.vcpu_index, records.block_insns_max, &self.vcpu_counter_element);
            }
            if (self.vcpu_counter == null) self.open_mark = block.entryMark();
            assert(!self.layoutActive());
            self.producer.beginGroup();
            self.open_block = block;
            if (block.layout()) |layout| return self.openWithLayout(block, layout);
            self.openLearning(block);
        }

        /// The record of a block with a layout (what enterBlock needs of it
        /// was worked out when the layout was learned). A record whose
        /// accesses are still to come is committed with them
        /// (settleLayout): a producer killed before that leaves a chunk
        /// that ends before the block.
        inline fn openWithLayout(self: *Self, block: *Block, layout: *const Block.Layout) void {
            // Reserving all first settles which chunk the block starts in.
            var words: [*]u32 = @ptrCast(@alignCast(self.producer.reserve(layout.room_bytes) catch |err| fatal(err)));
            const bytes = self.defineOnce(block, layout, words);
            words += bytes / 4;
            const is_run = layout.run_head != 0;
            const record_bytes: u32 = if (is_run) run_bytes else open_bytes;
            if (is_run) {
                words[0] = layout.run_head;
            } else {
                words[0] = records.blockOpenHead(block.insns, 0);
                words[1] = block.id;
            }
            self.open_is_run = is_run;
            self.open_layout = layout;
            self.learning = false;
            if (layout.entries.len == 0) return self.producer.commit(bytes + record_bytes);
            self.producer.commit(bytes);
            self.layout_step = layout.steps;
            self.layout_at = self.producer.cursor + record_bytes;
            self.layout_end = self.producer.chunk + self.layout_at;
        }

        /// The block_open of a block without a layout yet: this run's
        /// accesses are noted, and a whole run publishes them as its layout.
        fn openLearning(self: *Self, block: *Block) void {
            const def_bytes = defBytes(block, null);
            var words: [*]u32 = @ptrCast(@alignCast(self.producer.reserve(def_bytes + open_bytes) catch |err| fatal(err)));
            const bytes = self.defineOnce(block, null, words);
            words += bytes / 4;
            words[0] = records.blockOpenHead(block.insns, 0);
            words[1] = block.id;
            self.producer.commit(bytes + open_bytes);
            self.open_is_run = false;
            self.open_layout = null;
            self.learning = !@atomicLoad(bool, &block.unlearnable, .Monotonic);
            self.learned_count = 0;
        }

        /// Writes the block's definition at `words` unless this chunk
        /// already carries it (with this layout); returns its bytes (0 when
        /// not written). Guest threads share blocks on QEMU 9.0+: another
        /// stream may overwrite the key at any time, which only makes this
        /// one define the block again; it never sees its own key unless it
        /// wrote the definition into this chunk.
        inline fn defineOnce(self: *Self, block: *Block, layout: ?*const Block.Layout, words: [*]u32) u32 {
            const key = Block.defKey(self.generation, self.producer.sequence, layout != null);
            self.open_in_group = 0;
            if (@atomicLoad(u64, &block.def_key, .Monotonic) == key) return 0;
            @atomicStore(u64, &block.def_key, key, .Monotonic);
            writeDef(words, block, layout);
            const def_bytes = defBytes(block, layout);
            self.open_in_group = def_bytes;
            return def_bytes;
        }

        const open_bytes = records.recordWords(.block_open, addr_words) * 4;
        const run_bytes = records.recordWords(.block_run, addr_words) * 4;

        /// Writes an access the open block's layout told (its next entry),
        /// without a head, in the room enterBlock reserved: the value 8
        /// bytes wide, the next access overwriting what is not its own.
        /// False (nothing written) when the entry derives the address and
        /// this one is not the one derived.
        inline fn layoutAccess(self: *Self, addr: u64, value: u64) bool {
            const step = &self.layout_step[0];
            var bytes = self.layout_end;
            if (step.flags & Block.Step.derived != 0) {
                if (addr != self.layout_addr +% @as(Addr, @truncate(step.delta))) return false;
            } else {
                std.mem.writeIntLittle(Addr, bytes[0..@sizeOf(Addr)], @as(Addr, @truncate(addr)));
                bytes += @sizeOf(Addr);
            }
            std.mem.writeIntLittle(u64, bytes[0..8], value);
            self.layout_addr = @truncate(addr);
            self.layout_end = bytes + step.value_bytes;
            self.layout_step = self.layout_step + 1;
            assert(self.layoutBytes() <= self.open_layout.?.data_bytes);
            return true;
        }

        /// layoutAccess for a 16-byte value: it writes the low 8 bytes
        /// last, and the high 8 follow.
        inline fn layoutAccessWide(self: *Self, addr: u64, value: u128) bool {
            if (!self.layoutAccess(addr, @truncate(value))) return false;
            std.mem.writeIntLittle(u64, (self.layout_end - 8)[0..8], @as(u64, @truncate(value >> 64)));
            return true;
        }

        /// Bytes of the accesses written without heads so far.
        inline fn layoutBytes(self: *const Self) u32 {
            return @intCast(@intFromPtr(self.layout_end) - @intFromPtr(self.producer.chunk + self.layout_at));
        }

        /// Ends the open block's headless accesses: its record says how
        /// many there are (a block_run that did not get all of them becomes
        /// a block_open, the accesses moving one word on), they are padded
        /// to a word, and the record and they are committed at once.
        fn settleLayout(self: *Self) void {
            const written: u32 = @intCast((@intFromPtr(self.layout_step) - @intFromPtr(self.open_layout.?.steps)) / @sizeOf(Block.Step));
            const layout_bytes = self.layoutBytes();
            self.layout_step = &no_steps;
            const producer = &self.producer;
            const open_at = producer.group_start + self.open_in_group;
            assert(open_at == producer.cursor);
            assert(self.layout_at == open_at + if (self.open_is_run) run_bytes else open_bytes);
            const words: [*]u32 = @ptrCast(@alignCast(producer.chunk + open_at));
            const block = self.open_block.?;
            var data = self.layout_at;
            if (self.open_is_run and written != self.open_layout.?.entries.len) {
                const from = producer.chunk + data;
                std.mem.copyBackwards(u8, (from + 4)[0..layout_bytes], from[0..layout_bytes]);
                words[1] = block.id;
                self.open_is_run = false;
                data += 4;
            }
            if (!self.open_is_run) words[0] = records.blockOpenHead(block.insns, written);
            // Zero to three bytes: one unaligned store (enterBlock's
            // reservation has the room), not a call to memset.
            std.mem.writeIntLittle(u32, (producer.chunk + data + layout_bytes)[0..4], 0);
            const padded = (layout_bytes + 3) & ~@as(u32, 3);
            producer.commit(data - open_at + padded);
        }

        /// Notes an access of a block that has no layout yet.
        inline fn learnAccess(self: *Self, head: u32, key: u64, addr: u64) void {
            if (self.learned_count == learn_accesses_max) {
                self.learning = false;
                @atomicStore(bool, &self.open_block.?.unlearnable, true, .Monotonic);
                return;
            }
            self.learned[self.learned_count] = .{ .entry = records.layoutEntry(head), .key = key, .addr = @truncate(addr) };
            self.learned_count += 1;
        }

        /// The open block ran whole without a layout: what it accessed is
        /// its layout from now on (unless another thread's came first). An
        /// access of the same instruction as the one before, at a small
        /// distance from it, is taken to be at that distance in every run
        /// (aarch64 ldp/stp, x86 read-modify-write): its address is derived,
        /// and a run where it is not departs from the layout there.
        fn publishLayout(self: *Self, block: *Block) void {
            @setCold(true);
            const learned = self.learned[0..self.learned_count];
            const n = learned.len;
            // One allocation (never freed, like the block): the steps and
            // the end after them, then the entries.
            const storage = std.heap.c_allocator.alignedAlloc(u8, @alignOf(Block.Step), (n + 1) * @sizeOf(Block.Step) + n * 4) catch return;
            const steps: [*]Block.Step = @ptrCast(storage.ptr);
            const words: [*]u32 = @ptrCast(@alignCast(storage.ptr + (n + 1) * @sizeOf(Block.Step)));
            var data_bytes: u32 = 0;
            for (learned, 0..) |access, index| {
                var entry = access.entry;
                const head = records.layoutHead(entry);
                if (index > 0 and records.valueBytes(head) > 0 and records.layoutInsn(learned[index - 1].entry) == records.layoutInsn(entry)) {
                    const delta: i64 = @as(std.meta.Int(.signed, @bitSizeOf(Addr)), @bitCast(access.addr -% learned[index - 1].addr));
                    entry = records.derivedEntry(entry, delta) orelse entry;
                }
                words[index] = entry;
                steps[index] = Block.Step.of(entry, access.key);
                data_bytes += records.layoutAccessBytes(entry, addr_words);
            }
            steps[n] = Block.Step.end;
            const layout = std.heap.c_allocator.create(Block.Layout) catch {
                std.heap.c_allocator.free(storage);
                return;
            };
            const def_bytes = defBytesFor(block.insns, @intCast(n));
            layout.* = .{
                .entries = words[0..n],
                .steps = steps,
                .steps_end = steps + n,
                .data_bytes = data_bytes,
                .padded_bytes = (data_bytes + 3) & ~@as(u32, 3),
                // The accesses of a run that keeps to the layout follow the
                // record, padded to a word. Values are stored 8 bytes wide
                // whatever their size, the padding 4 wide, and a block_run
                // may become a block_open: 12 bytes of slack.
                .room_bytes = def_bytes + open_bytes + data_bytes + 12,
                .run_head = if (block.id <= records.block_run_id_max) records.blockRunHead(block.id) else 0,
            };
            if (block.learn(layout)) return;
            std.heap.c_allocator.free(storage);
            std.heap.c_allocator.destroy(layout);
        }

        /// Settles the open block: its accesses, and how far it really ran
        /// (a fault or a signal may have cut it short), rewritten in its
        /// record, which is still in the unpublished chunk.
        pub fn closeBlock(self: *Self) void {
            const block = self.open_block.?;
            if (self.layoutActive()) self.settleLayout();
            const executed = if (self.vcpu_counter) |counter|
                counter.take(self.vcpu_index, block.insns, &self.vcpu_counter_element)
            else
                block.executed(self.open_mark);
            assert(executed <= block.insns);
            if (self.learning) {
                self.learning = false;
                if (executed == block.insns) self.publishLayout(block);
            }
            if (executed != block.insns) self.cutBlock(block, executed);
            self.open_block = null;
            self.producer.endGroup();
        }

        /// The open block ran only its first `executed` instructions: its
        /// block_open says so, and a block_run becomes one (with all its
        /// layout's accesses), what follows it in the group moving one
        /// word on. A producer killed meanwhile leaves a chunk that ends
        /// before the block.
        fn cutBlock(self: *Self, block: *const Block, executed: u32) void {
            @setCold(true);
            const producer = &self.producer;
            const count_bits = records.block_insns_mask << records.count_shift;
            if (!self.open_is_run) {
                const at = producer.group_start + self.open_in_group;
                assert(at + open_bytes <= producer.cursor);
                const words: [*]u32 = @ptrCast(@alignCast(producer.chunk + at));
                assert(words[0] & 0xff == @intFromEnum(records.Kind.block_open) and words[1] == block.id);
                words[0] = words[0] & ~count_bits | executed << records.count_shift;
                return;
            }
            // The room first: it may carry the group to the next chunk.
            _ = self.reserveBytes(open_bytes - run_bytes);
            const at = producer.group_start + self.open_in_group;
            const words: [*]volatile u32 = @ptrCast(@alignCast(producer.chunk + at));
            assert(words[0] == records.blockRunHead(block.id));
            producer.salvageUpTo(at);
            const tail = producer.chunk + at + run_bytes;
            const tail_bytes = producer.cursor - at - run_bytes;
            std.mem.copyBackwards(u8, (tail + 4)[0..tail_bytes], tail[0..tail_bytes]);
            const written: u32 = @intCast(self.open_layout.?.entries.len);
            words[1] = block.id;
            words[0] = records.blockOpenHead(executed, written);
            producer.commitRewritten(open_bytes - run_bytes);
            self.open_is_run = false;
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

/// A stream of one 4 KiB chunk at a time for the tests (release its producer).
fn testStream(comptime Addr: type) !ThreadStream(Addr) {
    return .{
        .producer = try mempipe.Producer.create(.{ .chunk_bytes = 4096, .chunk_count = 2 }),
        .pid = 1,
        .tid = 1,
        .generation = 1,
    };
}

test "a block's layout is learned from its first whole run; later runs keep to it, depart from it, or are cut" {
    var arena = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena.deinit();
    // 7: a load by its first instruction, a store by its third. 8: one
    // load, then an instruction without any. 9: one instruction loading
    // two neighbours (aarch64 ldp).
    const block = try Block.create(arena.allocator(), 7, &.{ 0x10, 0x14, 0x18 });
    const tail = try Block.create(arena.allocator(), 8, &.{ 0x40, 0x44 });
    const pair = try Block.create(arena.allocator(), 9, &.{0x50});
    var stream = try testStream(u64);
    defer stream.producer.release();
    const load4: u32 = 2 << records.mem_size_shift_bit;
    const load8: u32 = 3 << records.mem_size_shift_bit;
    const store8: u32 = 3 << records.mem_size_shift_bit | 1 << records.mem_store_bit;
    const Access = struct { flags: u32, insn: u32, addr: u64, value: u64 };
    const Run = struct {
        /// One run of `block`: its accesses, then the counters of its
        /// first `ran` instructions move, as translated code moves them.
        fn of(s: *ThreadStream(u64), b: *Block, accesses: []const Access, ran: usize) void {
            s.enterBlock(b);
            for (accesses) |a| s.mem(a.flags, a.insn, Block.Step.no_key, a.addr, a.value, true);
            for (0..ran) |index| b.counters[index] += 1;
        }
    };

    // 1: learns (heads), 2: keeps to the layout, 3: departs at its second
    // access (instruction 1 loads, where the layout has 2's store next),
    // 4: cut by a fault after its first instruction.
    Run.of(&stream, block, &.{ .{ .flags = load4, .insn = 0, .addr = 0x1000, .value = 0xa1 }, .{ .flags = store8, .insn = 2, .addr = 0x2000, .value = 0x1122334455667788 } }, 3);
    Run.of(&stream, block, &.{ .{ .flags = load4, .insn = 0, .addr = 0x1004, .value = 0xa2 }, .{ .flags = store8, .insn = 2, .addr = 0x2008, .value = 0x99 } }, 3);
    try std.testing.expectEqual(@as(usize, 2), block.layout().?.entries.len);
    Run.of(&stream, block, &.{
        .{ .flags = load4, .insn = 0, .addr = 0x1008, .value = 0xa3 },
        .{ .flags = load4, .insn = 1, .addr = 0x3000, .value = 0xb3 },
        .{ .flags = store8, .insn = 2, .addr = 0x2010, .value = 0x77 },
    }, 3);
    Run.of(&stream, block, &.{.{ .flags = load4, .insn = 0, .addr = 0x100c, .value = 0xa4 }}, 1);
    // 5: learns; 6: makes all its accesses, then is cut before its last
    // instruction: its block_run becomes a block_open one word longer.
    Run.of(&stream, tail, &.{.{ .flags = load4, .insn = 0, .addr = 0x4000, .value = 0xc1 }}, 2);
    Run.of(&stream, tail, &.{.{ .flags = load4, .insn = 0, .addr = 0x4004, .value = 0xc2 }}, 1);
    // 7: learns that the second load is 8 bytes after the first; 8: keeps
    // to it (no address); 9: departs at the second (16 bytes after).
    Run.of(&stream, pair, &.{ .{ .flags = load8, .insn = 0, .addr = 0x5000, .value = 0xd1 }, .{ .flags = load8, .insn = 0, .addr = 0x5008, .value = 0xd2 } }, 1);
    Run.of(&stream, pair, &.{ .{ .flags = load8, .insn = 0, .addr = 0x6000, .value = 0xe1 }, .{ .flags = load8, .insn = 0, .addr = 0x6008, .value = 0xe2 } }, 1);
    Run.of(&stream, pair, &.{ .{ .flags = load8, .insn = 0, .addr = 0x7000, .value = 0xf1 }, .{ .flags = load8, .insn = 0, .addr = 0x7010, .value = 0xf2 } }, 1);
    stream.closeBlock();

    const words: []const u32 = @as([*]const u32, @ptrCast(@alignCast(stream.producer.chunk)))[0 .. stream.producer.cursor / 4];
    const open: u32 = @intFromEnum(records.Kind.block_open);
    const run: u32 = @intFromEnum(records.Kind.block_run);
    const def: u32 = @intFromEnum(records.Kind.block_def);
    const entries = [_]u32{ records.layoutEntry(records.memHead(load4, 0, true)), records.layoutEntry(records.memHead(store8, 2, true)) };
    const pcs = [_]u32{ 0x10, 0, 0x14, 0, 0x18, 0 };
    const accesses_2 = 2 << records.block_accesses_shift;
    const accesses_1 = 1 << records.block_accesses_shift;
    const block_runs = [_]u32{ def | 3 << 8, 7 } ++ pcs ++ [_]u32{ open | 3 << 8, 7 } ++
        [_]u32{ records.memHead(load4, 0, true), 0x1000, 0, 0xa1 } ++
        [_]u32{ records.memHead(store8, 2, true), 0x2000, 0, 0x55667788, 0x11223344 } ++
        // Defined again, with the layout; two accesses without heads
        // (address, 4-byte value, address, 8-byte value: 28 bytes).
        [_]u32{ def | 3 << 8 | accesses_2, 7 } ++ pcs ++ entries ++ [_]u32{run | 7 << 8} ++
        [_]u32{ 0x1004, 0, 0xa2, 0x2008, 0, 0x99, 0 } ++
        [_]u32{ open | 3 << 8 | accesses_1, 7, 0x1008, 0, 0xa3 } ++
        [_]u32{ records.memHead(load4, 1, true), 0x3000, 0, 0xb3 } ++
        [_]u32{ records.memHead(store8, 2, true), 0x2010, 0, 0x77, 0 } ++
        [_]u32{ open | 1 << 8 | accesses_1, 7, 0x100c, 0, 0xa4 };
    const tail_entry = records.layoutEntry(records.memHead(load4, 0, true));
    const tail_runs = [_]u32{ def | 2 << 8, 8, 0x40, 0, 0x44, 0, open | 2 << 8, 8 } ++
        [_]u32{ records.memHead(load4, 0, true), 0x4000, 0, 0xc1 } ++
        [_]u32{ def | 2 << 8 | accesses_1, 8, 0x40, 0, 0x44, 0, tail_entry } ++
        [_]u32{ open | 1 << 8 | accesses_1, 8, 0x4004, 0, 0xc2 };
    const first = records.layoutEntry(records.memHead(load8, 0, true));
    const plus8 = first | 1 << records.layout_derived_bit | 8 << records.layout_delta_shift;
    const pair_runs = [_]u32{ def | 1 << 8, 9, 0x50, 0, open | 1 << 8, 9 } ++
        [_]u32{ records.memHead(load8, 0, true), 0x5000, 0, 0xd1, 0 } ++
        [_]u32{ records.memHead(load8, 0, true), 0x5008, 0, 0xd2, 0 } ++
        // The second access: its value alone (address, value, value: 24 bytes).
        [_]u32{ def | 1 << 8 | accesses_2, 9, 0x50, 0, first, plus8, run | 9 << 8, 0x6000, 0, 0xe1, 0, 0xe2, 0 } ++
        [_]u32{ open | 1 << 8 | accesses_1, 9, 0x7000, 0, 0xf1, 0 } ++
        [_]u32{ records.memHead(load8, 0, true), 0x7010, 0, 0xf2, 0 };
    const expected = block_runs ++ tail_runs ++ pair_runs;
    try std.testing.expectEqualSlices(u32, &expected, words);

    var decoder = wire.BatchDecoder.init(std.testing.allocator);
    defer decoder.deinit();
    var counts: wire.BatchDecoder.Counts = .{};
    try decoder.count(words, 2, &counts);
    try std.testing.expectEqual(@as(u32, 10 + 3 + 3), counts.instructions);
    try std.testing.expectEqual(@as(u32, 5 + 2 + 6), counts.reads);
    try std.testing.expectEqual(@as(u32, 3), counts.writes);
    try std.testing.expectEqual(@as(u32, 9), counts.runs);
}

test "a 16-byte access keeps all its value bytes: learned, kept to, departed from" {
    var arena = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena.deinit();
    // One instruction loading 16 bytes (QEMU 10's aarch64 ldp).
    const block = try Block.create(arena.allocator(), 3, &.{0x60});
    var stream = try testStream(u32);
    defer stream.producer.release();
    const load16: u32 = 4 << records.mem_size_shift_bit;
    const store16: u32 = load16 | 1 << records.mem_store_bit;
    const values = [_]u128{ 0x1f1e1d1c_1b1a1918_17161514_13121110, 0x2f2e2d2c_2b2a2928_27262524_23222120, 0x3f3e3d3c_3b3a3938_37363534_33323130, 0x4f4e4d4c_4b4a4948_47464544_43424140 };
    // Learns, keeps to it, then departs with a second access.
    for (values[0..3], 0..) |value, index| {
        stream.enterBlock(block);
        stream.memAnySize(load16, 0, Block.Step.no_key, 0x8000 + index * 0x100, value, true);
        if (index == 2) stream.memAnySize(store16, 0, Block.Step.no_key, 0x9000, values[3], true);
        block.counters[0] += 1;
    }
    stream.closeBlock();
    const words: []const u32 = @as([*]const u32, @ptrCast(@alignCast(stream.producer.chunk)))[0 .. stream.producer.cursor / 4];
    const value_words = 4;
    // Defined, opened, headed; defined with its layout, block_run, address
    // and value; block_run, address and value, then the departing store
    // headed (a block_run that made all its layout's accesses stays one).
    try std.testing.expectEqual(@as(usize, (3 + 2 + 1 + 1 + value_words) + (4 + 1 + 1 + value_words) + (1 + 1 + value_words) + (2 + value_words)), words.len);

    var decoder = wire.BatchDecoder.init(std.testing.allocator);
    defer decoder.deinit();
    var out = wire.decoder_abi.TestColumns(4, 4){};
    const columns = out.columns();
    var counts: wire.BatchDecoder.Counts = .{};
    try decoder.fill(words, 1, &columns, &counts);
    try std.testing.expectEqual(@as(u32, 3), counts.reads);
    try std.testing.expectEqual(@as(u32, 1), counts.writes);
    for (values, 0..) |value, index| {
        try std.testing.expectEqual(@as(u32, @truncate(value)), out.mem_value_lo[index]);
        try std.testing.expectEqual(@as(u32, @truncate(value >> 32)), out.mem_value_hi[index]);
        try std.testing.expectEqual(@as(u32, @truncate(value >> 64)), out.mem_value_upper_lo[index]);
        try std.testing.expectEqual(@as(u32, @truncate(value >> 96)), out.mem_value_upper_hi[index]);
    }
    try std.testing.expectEqualSlices(f64, &.{ 0x8000, 0x8100, 0x8200, 0x9000 }, out.mem_addr[0..4]);
}

test "keepLayout and keepLayoutValue write what mem writes, and leave to it what they cannot" {
    const guest_memory = @import("guest_memory.zig");
    var arena = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena.deinit();
    // Guest memory: two host pages, the guest address is the offset.
    const memory = try std.testing.allocator.alignedAlloc(u8, std.mem.page_size, 2 * std.mem.page_size);
    defer std.testing.allocator.free(memory);
    for (memory, 0..) |*byte, index| byte.* = @truncate(index *% 131 +% 7);
    const flags = struct {
        fn of(size_shift: u32, store: bool, big_endian: bool) u32 {
            return size_shift << records.mem_size_shift_bit | @as(u32, @intFromBool(store)) << records.mem_store_bit |
                @as(u32, @intFromBool(big_endian)) << records.mem_big_endian_bit;
        }
    };
    const Access = struct { flags: u32, insn: u32, info: u32, addr: u64 };
    const page_end = std.mem.page_size - 4;
    // Every size in both byte orders, a derived pair, a 16-byte access, a
    // 4-byte one at the end of a page (mem's), then the same
    // accesses with another meminfo at the third (the same head: mem
    // keeps it to the layout).
    const first = [_]Access{
        .{ .flags = flags.of(0, false, false), .insn = 0, .info = 0x10, .addr = 0x101 },
        .{ .flags = flags.of(1, true, false), .insn = 1, .info = 0x21, .addr = 0x203 },
        .{ .flags = flags.of(2, false, true), .insn = 1, .info = 0x32, .addr = 0x305 },
        .{ .flags = flags.of(3, false, false), .insn = 2, .info = 0x43, .addr = 0x400 },
        .{ .flags = flags.of(3, false, false), .insn = 2, .info = 0x43, .addr = 0x408 },
        .{ .flags = flags.of(3, true, true), .insn = 3, .info = 0x54, .addr = 0x511 },
        .{ .flags = flags.of(4, true, false), .insn = 4, .info = 0x65, .addr = 0x600 },
        .{ .flags = flags.of(2, false, false), .insn = 5, .info = 0x76, .addr = page_end },
    };
    var departing = first;
    departing[2].info = 0x99;
    var moved = first;
    for (&moved) |*access| access.addr += if (access.addr == page_end) 0 else std.mem.page_size - 0x700;
    const block = try Block.create(arena.allocator(), 3, &.{ 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24 });
    const all_runs = [_][]const Access{ &first, &first, &moved, &departing, &first };

    // mem alone; keepLayout first; keepLayoutValue first (with the value
    // QEMU would give).
    var streams = [3]ThreadStream(u64){ try testStream(u64), try testStream(u64), try testStream(u64) };
    defer for (&streams) |*s| s.producer.release();
    // Each defines the block in its own chunk.
    streams[1].generation = 2;
    streams[2].generation = 3;
    var kept = [3]usize{ 0, 0, 0 };
    for (all_runs) |run| {
        for (&streams, 0..) |*s, which| {
            s.enterBlock(block);
            for (run) |a| {
                const host = memory.ptr + a.addr;
                const key = Block.memKey(a.info, a.insn);
                const value = guest_memory.accessValue(a.flags, host);
                const keeps = switch (which) {
                    0 => false,
                    1 => s.keepLayout(key, a.addr, host),
                    else => s.keepLayoutValue(key, a.addr, value),
                };
                if (keeps) {
                    kept[which] += 1;
                    continue;
                }
                s.memAnySize(a.flags, a.insn, key, a.addr, value, true);
            }
            for (0..block.insns) |index| block.counters[index] += @intFromBool(which == streams.len - 1);
        }
    }
    for (&streams) |*s| s.closeBlock();
    // Runs 2 to 5 keep to the layout through keepLayout with their first
    // seven accesses, but for run 4's third; keepLayoutValue keeps the one
    // at the page's end too.
    try std.testing.expectEqual(@as(usize, 4 * 7 - 1), kept[1]);
    try std.testing.expectEqual(@as(usize, 4 * 8 - 1), kept[2]);
    for (streams[1..]) |*s| try std.testing.expectEqualSlices(u8, streams[0].producer.chunk[0..streams[0].producer.cursor], s.producer.chunk[0..s.producer.cursor]);
}

test "enterBlockFast writes what enterBlock writes, and leaves to it what it cannot" {
    var arena = std.heap.ArenaAllocator.init(std.testing.allocator);
    defer arena.deinit();
    const load4: u32 = 2 << records.mem_size_shift_bit;
    const load8: u32 = 3 << records.mem_size_shift_bit;
    const Access = struct { flags: u32, insn: u32, addr: u64 };
    // Each stream its own copy of the blocks (their counters are its own):
    // a load then an instruction without one; none; a load in a block
    // whose id is too large for a block_run; an ldp-like pair.
    const Blocks = struct {
        blocks: [4]*Block,
        fn init(allocator: std.mem.Allocator) !@This() {
            return .{ .blocks = .{
                try Block.create(allocator, 1, &.{ 0x10, 0x14 }),
                try Block.create(allocator, 2, &.{0x20}),
                try Block.create(allocator, records.block_run_id_max + 1, &.{0x30}),
                try Block.create(allocator, 4, &.{0x40}),
            } };
        }
    };
    const Run = struct { block: usize, accesses: []const Access = &.{}, ran: ?usize = null };
    const a = Access{ .flags = load4, .insn = 0, .addr = 0x1000 };
    const pair = [_]Access{ .{ .flags = load8, .insn = 0, .addr = 0x2000 }, .{ .flags = load8, .insn = 0, .addr = 0x2008 } };
    const runs = [_]Run{
        .{ .block = 0, .accesses = &.{a} },           .{ .block = 0, .accesses = &.{a} },      .{ .block = 0, .accesses = &.{a} },
        .{ .block = 1 },                              .{ .block = 1 },                         .{ .block = 0, .accesses = &.{a} },
        .{ .block = 2, .accesses = &.{a} },           .{ .block = 2, .accesses = &.{a} },      .{ .block = 0, .accesses = &.{a} },
        // Cut after its first instruction; then one that departs.
        .{ .block = 0, .accesses = &.{a}, .ran = 1 }, .{ .block = 0, .accesses = &.{ a, a } }, .{ .block = 3, .accesses = &pair },
        .{ .block = 3, .accesses = &pair },           .{ .block = 3, .accesses = &pair },      .{ .block = 1 },
        .{ .block = 0, .accesses = &.{a} },
    };
    var sets = [2]Blocks{ try Blocks.init(arena.allocator()), try Blocks.init(arena.allocator()) };
    var streams = [2]ThreadStream(u64){ try testStream(u64), try testStream(u64) };
    defer for (&streams) |*s| s.producer.release();
    // Padding that is not written shows.
    for (&streams) |*s| @memset(s.producer.chunk[0..4096], 0xaa);
    var fast: usize = 0;
    for (runs, 0..) |run, index| {
        for (&streams, &sets, 0..) |*s, set, which| {
            const block = set.blocks[run.block];
            if (which == 0 or !s.enterBlockFast(block, .block_counters)) s.enterBlock(block) else fast += 1;
            for (run.accesses, 0..) |access, n| s.mem(access.flags, access.insn, Block.Step.no_key, access.addr + index * 0x10, n, true);
            for (0..run.ran orelse block.insns) |i| block.counters[i] += 1;
        }
    }
    for (&streams) |*s| s.closeBlock();
    // Runs 3, 6, 10, 14, 15 and 16: a whole run that kept to its layout
    // and opened with a block_run, then a block with a layout that the
    // chunk defines already.
    try std.testing.expectEqual(@as(usize, 6), fast);
    try std.testing.expectEqualSlices(u8, streams[0].producer.chunk[0..streams[0].producer.cursor], streams[1].producer.chunk[0..streams[1].producer.cursor]);
}
