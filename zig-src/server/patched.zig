// SPDX-License-Identifier: GPL-2.0-or-later
//! libcannoli_server.so's second front door: QEMU patched with
//! patches/qemu-7.2 (`-cannoli libcannoli_server.so,sock=PATH[,...]`).
//!
//! The patched QEMU asks this server, per translated instruction, whether to
//! record it (never / always / once) and its memory accesses, and then
//! writes the exec and memory records itself, from translated code, at the
//! guest thread's cursor (a `Cursor` inside QEMU's CPU state). The server
//! owns the cursor: it points into the thread's current mempipe chunk, and
//! QEMU calls `chunkFull` only when a record does not fit. Everything else
//! (handshake, syscall, mmap, exit records, the pipe itself) is the plugin
//! path's, so the consumer sees the same stream with `backend: "patched"`.
//!
//! The C side of this interface is include/qemu/cannoli.h in the patch.
const std = @import("std");
const assert = std.debug.assert;
const linux = std.os.linux;
const mempipe = @import("mempipe");
const records = @import("wire").records;
const hooks = @import("hooks");
const Hook = @import("hook_api").Hook;
const Config = @import("Config.zig");
const guest = @import("guest.zig");
const process = @import("process.zig");
const Block = @import("Block.zig");
const ThreadStream = @import("ThreadStream.zig").ThreadStream;
const handshake = @import("handshake.zig");
const ExecPlan = @import("ExecPlan.zig");
const guest_memory = @import("guest_memory.zig");
const fatal = @import("ThreadStream.zig").fatal;
const RegisterValues = @import("ThreadStream.zig").RegisterValues;
const RegisterSet = @import("RegisterSet.zig");

/// CANNOLI_ABI_VERSION in cannoli.h: both sides refuse any other.
/// 4: memory records without a pc, values in their own size (protocol 2),
/// hook_mem says whether values are recorded. 5: registers (QEMU's table in
/// Info, the `regs` callback). 7: static memory layouts (`block_new`
/// takes the block's layout, a u32 per access; its memory records lose
/// their head, derived ones their address too), and one-word block_run
/// records. 8: `fatal_signal`.
const abi_version = 8;
/// Bounds the table of live guest threads (fork and exit visit them all).
const threads_max = 4096;
/// Plugin-style arguments after the library path: filters plus ours.
const args_max = Config.ranges_max + 16;
/// Instruction bytes QEMU offers the hook (cannoli.h CANNOLI_INSN_BYTES_MAX).
const insn_bytes_max = 16;
const allocator = std.heap.c_allocator;

/// struct CannoliCursor: per guest thread, inside QEMU's CPU state.
/// Translated code writes at `cursor` while the record fits below `limit`.
/// `insn` and `helper_room` are QEMU's: while a helper of an instruction
/// whose memory is recorded runs, `helper_room` is non-zero (the bytes
/// that instruction reserved for its records) and `insn` is where its exec
/// record is, in the current chunk. `seq` and `block` are the block
/// encoding's: `seq` numbers the current chunk (a new value, process-wide,
/// for each chunk the cursor moves to), and `block` is where the running
/// block's `block_open` record is (0: none), set by translated code.
pub const Cursor = extern struct {
    cursor: usize,
    limit: usize,
    thread: ?*anyopaque,
    insn: usize = 0,
    helper_room: u32 = 0,
    seq: u32 = 0,
    block: usize = 0,
};

/// struct CannoliRegister: where a guest register lives in QEMU's
/// CPUArchState (host byte order), or one of the two QEMU computes.
pub const Register = extern struct {
    name: [*:0]const u8,
    offset: u32,
    bytes: u32,
};
/// The instruction's own address (QEMU moves its pc only at block boundaries).
const register_pc: u32 = std.math.maxInt(u32);
/// Flags that `Info.read_flags` computes.
const register_flags: u32 = std.math.maxInt(u32) - 1;
/// Bounds QEMU's table (far above any target's core registers).
const register_table_max = 256;
/// Offsets into CPUArchState beyond this are not believed.
const register_offset_max = 1 << 20;

pub const Info = extern struct {
    abi_version: u32,
    addr_bytes: u32,
    target_name: [*:0]const u8,
    args: [*:0]const u8,
    exe: [*:0]const u8,
    registers: [*]const Register,
    register_count: u32,
    read_flags: ?*const fn (env: *const anyopaque) callconv(.C) u64,
};

pub const Callbacks = extern struct {
    abi_version: u32,
    reserve_max: u32,
    hook_insn: *const fn (pc: u64, bytes: ?[*]const u8, len: u32, once_flag: *?*u32) callconv(.C) c_int,
    hook_mem: *const fn (pc: u64) callconv(.C) c_int,
    chunk_full: *const fn (cursor: *Cursor) callconv(.C) void,
    mem_helper: *const fn (cursor: *Cursor, flags: u32, vaddr: u64, host: [*]const u8) callconv(.C) void,
    syscall: *const fn (cursor: *Cursor, number: i64, args: *const [records.syscall_args]u64) callconv(.C) void,
    sysret: *const fn (cursor: *Cursor, number: i64, ret: i64) callconv(.C) void,
    thread_exit: *const fn (cursor: *Cursor) callconv(.C) void,
    process_exit: *const fn () callconv(.C) void,
    block_new: *const fn (pcs: [*]const u64, insns: u32, layout: ?[*]const u32, accesses: u32, id: *u32) callconv(.C) ?*u32,
    block_def: *const fn (cursor: *Cursor, defined: *u32) callconv(.C) void,
    block_cut: *const fn (cursor: *Cursor, pc: u64) callconv(.C) void,
    regs_bytes: u32,
    regs: ?*const fn (cursor: *Cursor, pc: u64, env: *const anyopaque) callconv(.C) void,
    fatal_signal: *const fn (cursor: *Cursor) callconv(.C) void,
};

/// cannoli.h's CANNOLI_HOOK_* values.
fn hookCode(hook: Hook) c_int {
    return switch (hook) {
        .never => 0,
        .always => 1,
        .once => 2,
    };
}

var config: Config = .{};
var arch: guest.Arch = undefined;
var exe_path: []const u8 = "";
var stream_generations: u32 = 0;
var callbacks: Callbacks = undefined;
/// `--regs`: the registers recorded, and each one's entry in QEMU's table.
var register_set: RegisterSet = .{};
var register_table: [RegisterSet.registers_max]Register = undefined;
var read_flags: ?*const fn (env: *const anyopaque) callconv(.C) u64 = null;
/// The chosen registers' leading run of 8-byte registers at consecutive
/// offsets (a multiple of `register_lanes`), and where it starts.
var register_run: u32 = 0;
var register_run_offset: u32 = 0;
const register_lanes = 4;

export fn cannoli_patched_init(info: *const Info) callconv(.C) ?*const Callbacks {
    if (info.abi_version != abi_version) return refuse("QEMU speaks cannoli ABI {d}, this server {d}", .{ info.abi_version, abi_version });
    arch = guest.lookup(std.mem.span(info.target_name)) orelse
        return refuse("unsupported guest architecture {s}", .{info.target_name});
    // The record layout follows the guest's address width; QEMU writes it.
    if (info.addr_bytes != arch.pointer_bytes) return refuse("QEMU writes {d}-byte addresses for {s}, expected {d}", .{ info.addr_bytes, arch.name, arch.pointer_bytes });
    var args: [args_max][]const u8 = undefined;
    var arg_count: usize = 0;
    var split = std.mem.tokenizeScalar(u8, std.mem.span(info.args), ',');
    while (split.next()) |arg| {
        if (arg_count == args.len) return refuse("too many -cannoli arguments", .{});
        args[arg_count] = arg;
        arg_count += 1;
    }
    config = Config.parse(args[0..arg_count], std.os.getenv("CANNOLI_SOCKET")) catch |err|
        return refuse("bad -cannoli arguments ({s})", .{@errorName(err)});
    process.announceLoaded(config.socketPath(), "patched", 0);
    exe_path = std.mem.span(info.exe);
    const drop_inherited = if (arch.pointer_bytes == 4) &Server(u32).dropInheritedThreads else &Server(u64).dropInheritedThreads;
    process.adopt(drop_inherited, config.owner_pid, config.image) catch return refuse("pthread_atfork failed", .{});
    if (config.regsSpec()) |spec| {
        if (!chooseRegisters(info, spec)) return null;
        // Registers follow each instruction's exec record: no block records.
        config.blocks = false;
    }
    callbacks = if (arch.pointer_bytes == 4) Server(u32).callbacks() else Server(u64).callbacks();
    return &callbacks;
}

/// `--regs`: the registers of QEMU's table that `spec` selects, each checked
/// (the table is QEMU's memory, and its offsets are read at every instruction).
fn chooseRegisters(info: *const Info, spec: []const u8) bool {
    if (info.register_count == 0 or info.register_count > register_table_max) {
        _ = refuse("QEMU lists {d} registers", .{info.register_count});
        return false;
    }
    // Values are written as they lie in QEMU's memory: the guest's order
    // only on a little-endian guest (every guest the patch builds).
    if (arch.big_endian) {
        _ = refuse("registers of big-endian guests are not recorded by the patched backend", .{});
        return false;
    }
    const table = info.registers[0..info.register_count];
    var names: [register_table_max][*:0]const u8 = undefined;
    var widths: [register_table_max]u32 = undefined;
    for (table, 0..) |entry, index| {
        const computed = entry.offset == register_pc or entry.offset == register_flags;
        if (entry.bytes != 4 and entry.bytes != 8) {
            _ = refuse("QEMU's register {s} is {d} bytes", .{ entry.name, entry.bytes });
            return false;
        }
        if (!computed and entry.offset > register_offset_max) {
            _ = refuse("QEMU's register {s} lies at offset {d}", .{ entry.name, entry.offset });
            return false;
        }
        if (entry.offset == register_flags and info.read_flags == null) {
            _ = refuse("QEMU computes register {s} without a reader", .{entry.name});
            return false;
        }
        names[index] = entry.name;
        widths[index] = entry.bytes;
    }
    var chosen: [RegisterSet.registers_max]u32 = undefined;
    register_set = RegisterSet.selectFromTable(spec, names[0..table.len], widths[0..table.len], &chosen);
    if (register_set.count == 0 or register_set.unmatched != null) {
        _ = refuse("--regs: no {s} register matches {s} (the patched QEMU has: {s})", .{ arch.name, register_set.unmatched orelse spec, register_set.offered.slice() });
        return false;
    }
    for (0..register_set.count) |index| register_table[index] = table[chosen[index]];
    read_flags = info.read_flags;
    const first = register_table[0];
    var run: u32 = 0;
    while (run < register_set.count and register_table[run].bytes == 8 and register_table[run].offset == first.offset +% run * 8 and register_table[run].offset <= register_offset_max) run += 1;
    register_run = run - run % register_lanes;
    register_run_offset = first.offset;
    return true;
}

fn refuse(comptime format: []const u8, args: anytype) ?*const Callbacks {
    process.refuse(format, args);
    return null;
}

fn Server(comptime Addr: type) type {
    return struct {
        const Stream = ThreadStream(Addr);
        const addr_words: u32 = @sizeOf(Addr) / 4;

        /// One guest thread's stream and the QEMU cursor that writes into it.
        const Thread = struct {
            stream: Stream,
            cursor: *Cursor,
            /// Set at process exit: the pipe is closed, records are dropped.
            finished: bool = false,
            /// The producer's chunk that `cursor.seq` numbers.
            sequence: u64 = std.math.maxInt(u64),
            /// `--regs`: the values last recorded.
            register_values: RegisterValues = .{},
            /// Who may touch the stream outside translated code: its own
            /// thread in a syscall, sysret or thread-exit callback (`busy`),
            /// or another thread's fatal signal (`flushing`), one at a time.
            outside: std.atomic.Atomic(u32) = std.atomic.Atomic(u32).init(outside_idle),
        };

        const outside_idle = 0;
        const outside_busy = 1;
        const outside_flushing = 2;

        /// Set by a fatal signal before it visits the other threads: a
        /// thread that exits after that keeps its memory (see onThreadExit).
        var fatal_flushing: bool = false;

        /// The callbacks QEMU makes outside translated code (syscall, sysret,
        /// thread exit) may meet another thread's fatal signal: they wait
        /// for it to be done with their stream.
        fn holdOutside(thread: *Thread) void {
            while (thread.outside.compareAndSwap(outside_idle, outside_busy, .Acquire, .Monotonic) != null) std.atomic.spinLoopHint();
        }

        fn releaseOutside(thread: *Thread) void {
            thread.outside.store(outside_idle, .Release);
        }

        /// Live threads, for fork and process exit. Lock-free: a fork may
        /// happen while another thread registers, and the child must not
        /// find a lock held by a thread it no longer has.
        var threads = [_]?*Thread{null} ** threads_max;

        fn callbacks() Callbacks {
            return .{
                .abi_version = abi_version,
                // Any record set of one instruction fits an empty chunk.
                .reserve_max = config.chunk_bytes,
                .hook_insn = hookInsn,
                .hook_mem = hookMem,
                .chunk_full = chunkFull,
                .mem_helper = onHelperMem,
                .syscall = onSyscall,
                .sysret = onSyscallReturn,
                .thread_exit = onThreadExit,
                .process_exit = onProcessExit,
                .block_new = blockNew,
                .block_def = onBlockDef,
                .block_cut = onBlockCut,
                .regs_bytes = if (register_set.count > 0) register_set.recordBytesMax() else 0,
                .regs = if (register_set.count > 0) onRegisters else null,
                .fatal_signal = onFatalSignal,
            };
        }

        /// The registers before the instruction at `pc`, right after its
        /// exec record (`env` is QEMU's CPUArchState, its registers written
        /// back for the call). The instruction's room check included
        /// `regs_bytes`, so the record lands in the exec record's chunk.
        fn onRegisters(cursor: *Cursor, pc: u64, env: *const anyopaque) callconv(.C) void {
            const thread = threadFor(cursor);
            if (thread.finished) return;
            syncIn(thread);
            const room = thread.stream.producer.geometry.chunk_bytes - thread.stream.producer.cursor;
            if (room < register_set.recordBytesMax()) fatal(error.CursorCorrupt);
            const base: [*]const u8 = @ptrCast(env);
            const last = &thread.register_values;
            var current: [RegisterSet.registers_max]u64 = undefined;
            var changed: RegisterSet.Mask = 0;
            // The run of 8-byte registers side by side in CPUArchState (the
            // general-purpose ones), compared a vector at a time.
            const Lanes = @Vector(register_lanes, u64);
            var index: u32 = 0;
            while (index + register_lanes <= register_run) : (index += register_lanes) {
                const now: Lanes = @as(*align(1) const [register_lanes]u64, @ptrCast(base + register_run_offset + index * 8)).*;
                const before: Lanes = last.narrow[index..][0..register_lanes].*;
                current[index..][0..register_lanes].* = now;
                const differs: @Vector(register_lanes, bool) = now != before;
                const bits: std.meta.Int(.unsigned, register_lanes) = @bitCast(differs);
                changed |= @as(RegisterSet.Mask, bits) << @intCast(index);
            }
            for (register_table[index..register_set.count], current[index..register_set.count], index..) |entry, *value, at| {
                value.* = switch (entry.offset) {
                    register_pc => if (Addr == u32) pc & 0xffff_ffff else pc,
                    register_flags => read_flags.?(env),
                    else => if (entry.bytes == 8)
                        std.mem.readIntLittle(u64, base[entry.offset..][0..8])
                    else
                        std.mem.readIntLittle(u32, base[entry.offset..][0..4]),
                };
                if (value.* != last.narrow[at]) changed |= @as(RegisterSet.Mask, 1) << @intCast(at);
            }
            thread.stream.regsNarrow(&register_set, last, &current, changed);
            syncOut(thread);
        }

        /// A translated block recorded as a whole (QEMU asks only while the
        /// guest has one thread, for blocks whose every instruction is
        /// recorded "always" and has no memory recorded inside a helper;
        /// other blocks keep per-instruction records): QEMU writes its
        /// `block_open` record, and asks for its definition (`onBlockDef`)
        /// when `defined` is not the current chunk's seq. `layout`: the
        /// block's accesses, when every one of them is made on every run of
        /// the block (their records then come without a head). Blocks live
        /// as long as QEMU; a retranslation with the same PCs and layout
        /// reuses its block. Translation is serialised by QEMU's mmap_lock.
        fn blockNew(pcs_ptr: [*]const u64, insns: u32, layout_ptr: ?[*]const u32, accesses: u32, id: *u32) callconv(.C) ?*u32 {
            assert(insns >= 1 and insns <= records.block_insns_max);
            assert(accesses <= records.block_accesses_max and (accesses == 0) == (layout_ptr == null));
            // --no-blocks: per-instruction records, as on the plugin path.
            if (!config.blocks) return null;
            // Blocks whose memory is recorded are block records too: with
            // the native decoder they are faster than per-instruction records
            // (arm64 gzip 2 MiB, PC + memory, null tracer: ~1.3 s against
            // ~2 s; batch tracer 2.3 s against 2.85 s); the TS walker was
            // slower on them (1.7 s against 1.3 s).
            const pcs = pcs_ptr[0..insns];
            const layout: []const u32 = if (layout_ptr) |l| l[0..accesses] else &.{};
            for (layout, 0..) |entry, index| {
                assert(records.layoutInsn(entry) < insns);
                assert(!records.layoutDerived(entry) or (index > 0 and records.memValueWords(records.layoutHead(entry)) > 0));
            }
            var key_buffer: [block_key_bytes_max]u8 = undefined;
            const key = blockKey(&key_buffer, pcs, layout);
            if (patched_blocks.get(key)) |block| {
                id.* = block.id;
                return &block.defined;
            }
            // A block_run's id takes 24 bits: past that, per-instruction records.
            if (patched_by_id.items.len >= records.block_run_id_max) return null;
            const arena = patched_arena.allocator();
            const block = arena.create(PatchedBlock) catch fatal(error.OutOfMemory);
            var data_bytes: u32 = 0;
            for (layout) |entry| data_bytes += layoutAccessBytes(entry);
            // QEMU pads a whole run's packed records to whole words.
            data_bytes = std.mem.alignForward(u32, data_bytes, 4);
            block.* = .{
                .id = @intCast(patched_by_id.items.len + 1),
                .pcs = arena.dupe(u64, pcs) catch fatal(error.OutOfMemory),
                .layout = arena.dupe(u32, layout) catch fatal(error.OutOfMemory),
                .data_bytes = data_bytes,
            };
            patched_by_id.append(allocator, block) catch fatal(error.OutOfMemory);
            const stored_key = arena.dupe(u8, key) catch fatal(error.OutOfMemory);
            patched_blocks.put(allocator, stored_key, block) catch fatal(error.OutOfMemory);
            id.* = block.id;
            return &block.defined;
        }

        /// The block's definition, at the cursor: the translated code checked
        /// the room for it, its record and its memory records.
        fn onBlockDef(cursor: *Cursor, defined: *u32) callconv(.C) void {
            const block = @fieldParentPtr(PatchedBlock, "defined", defined);
            const bytes = Stream.defBytesFor(@intCast(block.pcs.len), @intCast(block.layout.len));
            if (cursor.cursor % 4 != 0 or cursor.limit -% cursor.cursor < bytes or cursor.limit -% cursor.cursor > config.chunk_bytes) fatal(error.CursorCorrupt);
            Stream.writeDefOf(@ptrFromInt(cursor.cursor), block.id, block.pcs, block.layout);
            cursor.cursor += bytes;
            defined.* = cursor.seq;
        }

        /// A longjmp out of translated code while a block was open: a fault
        /// or an exception at `pc` (QEMU restored it) ended the block there.
        /// Its block_run claimed every instruction; it becomes a block_open
        /// that keeps those up to and including the one at `pc` (a pc
        /// outside the block, an exception raised with the next pc as
        /// aarch64's svc, keeps them all) and, for a layout, the accesses
        /// written (an instruction may fault after some of its own). The
        /// longer record takes the word the block's room check left: the
        /// accesses after it move one word on.
        fn onBlockCut(cursor: *Cursor, pc: u64) callconv(.C) void {
            const at = cursor.block;
            cursor.block = 0;
            const thread = threadOf(cursor) orelse return;
            if (thread.finished) return;
            const start = @intFromPtr(thread.stream.producer.chunk);
            if (at < start or at % 4 != 0 or at + 4 > cursor.cursor) fatal(error.CursorCorrupt);
            const words: [*]u32 = @ptrFromInt(at);
            if (words[0] & 0xff != @intFromEnum(records.Kind.block_run)) fatal(error.CursorCorrupt);
            const id = words[0] >> records.count_shift;
            if (id == 0 or id > patched_by_id.items.len) fatal(error.CursorCorrupt);
            const block = patched_by_id.items[id - 1];
            const data_bytes = cursor.cursor - (at + 4);
            const guest_pc: u64 = if (Addr == u32) pc & 0xffff_ffff else pc;
            const executed = for (block.pcs, 0..) |block_pc, index| {
                if (block_pc == guest_pc) break @as(u32, @intCast(index + 1));
            } else @as(u32, @intCast(block.pcs.len));
            // Headed accesses need no count; without one to cut, the block
            // ran whole.
            if (block.layout.len == 0 and executed == block.pcs.len) return;
            // More than the layout's accesses: the block ran whole and other
            // records (a syscall's) followed before the landing.
            if (data_bytes > block.data_bytes and block.layout.len > 0) return;
            const written = if (block.layout.len == 0) 0 else writtenAccesses(block.layout, data_bytes);
            // A cut run's packed records end anywhere: pad them to a word.
            const pad = std.mem.alignForward(usize, data_bytes, 4) - data_bytes;
            if (cursor.limit - cursor.cursor < 4 + pad) fatal(error.CursorCorrupt);
            const data: [*]u8 = @ptrFromInt(at + 4);
            std.mem.copyBackwards(u8, data[4 .. 4 + data_bytes], data[0..data_bytes]);
            @memset(data[4 + data_bytes ..][0..pad], 0);
            words[0] = records.blockOpenHead(executed, written);
            words[1] = id;
            cursor.cursor += 4 + pad;
        }

        /// How many of a layout's accesses fill `bytes` (the records after
        /// a cut block's block_run): they must fill them exactly, or all of
        /// them with the whole run's padding.
        fn writtenAccesses(layout: []const u32, bytes: usize) u32 {
            var used: usize = 0;
            for (layout, 0..) |entry, index| {
                if (used == bytes) return @intCast(index);
                used += layoutAccessBytes(entry);
            }
            if (used != bytes and std.mem.alignForward(usize, used, 4) != bytes) fatal(error.CursorCorrupt);
            return @intCast(layout.len);
        }

        fn layoutAccessBytes(entry: u32) u32 {
            return records.layoutAccessBytes(entry, addr_words);
        }

        fn hookInsn(pc: u64, bytes_ptr: ?[*]const u8, len: u32, once_flag: *?*u32) callconv(.C) c_int {
            assert(len <= insn_bytes_max);
            const available: []const u8 = if (bytes_ptr) |p| p[0..len] else &.{};
            // QEMU shows the guest's own bytes (g2h), which places guest memory.
            if (bytes_ptr) |p| guest_memory.noteBase(@intFromPtr(p), pc);
            const choice = hooks.hookInstruction(pc, insnBytes(available), config.instructionChoice(pc));
            if (choice == .once) {
                const slot = onceSlot(pc);
                // Already seen: a retranslation runs at full speed.
                if (@atomicLoad(u32, slot, .Acquire) != 0) return hookCode(.never);
                once_flag.* = slot;
            }
            return hookCode(choice);
        }

        /// Asked only for instructions recorded `always` ("once" is for
        /// coverage: no memory records), as on the plugin path.
        /// cannoli.h's CANNOLI_MEM_*: not recorded, with values, addresses only.
        fn hookMem(pc: u64) callconv(.C) c_int {
            if (!hooks.hookMemory(pc, config.trace_mem)) return 0;
            return if (config.trace_values) 1 else 2;
        }

        /// The translated code found no room (or no stream yet).
        fn chunkFull(cursor: *Cursor) callconv(.C) void {
            const thread = threadFor(cursor);
            if (thread.finished) {
                // After process exit: overwrite the unpublished chunk.
                cursor.cursor = @intFromPtr(thread.stream.producer.chunk);
                return;
            }
            syncIn(thread);
            thread.stream.producer.flush() catch |err| fatal(err);
            syncOut(thread);
            assert(cursor.limit - cursor.cursor >= config.chunk_bytes);
        }

        /// A guest access made inside a helper, after it succeeded, for an
        /// instruction whose memory is recorded: its mem record goes at the
        /// cursor, after the instruction's records so far. The
        /// instruction's later inline records were only checked for at its
        /// start, so `helper_room` bytes must stay free after this record;
        /// when they do not, the instruction's records (from `insn` on) move
        /// to the next chunk, as a group, and `insn` follows them.
        fn onHelperMem(cursor: *Cursor, flags: u32, vaddr: u64, host: [*]const u8) callconv(.C) void {
            const thread = threadFor(cursor);
            if (thread.finished) return;
            syncIn(thread);
            const producer = &thread.stream.producer;
            const insn_offset = cursor.insn -% @intFromPtr(producer.chunk);
            // QEMU's memory again: an exec record, whole, before the cursor.
            if (insn_offset % 4 != 0 or insn_offset >= producer.cursor or producer.cursor - insn_offset < exec_bytes) fatal(error.CursorCorrupt);
            const insn: [*]const u32 = @ptrCast(@alignCast(producer.chunk + insn_offset));
            if (insn[0] & 0xff != @intFromEnum(records.Kind.exec)) fatal(error.CursorCorrupt);
            // Helpers make the 16-byte accesses (aarch64 casp, x86 cmpxchg16b).
            const value = guest_memory.accessValue(flags, host);
            producer.group_start = @intCast(insn_offset);
            // An instruction never reserves more than a chunk (reserve_max);
            // one that cannot fit with this record fails in reserve.
            const room = @min(cursor.helper_room, producer.geometry.chunk_bytes - mem_bytes);
            _ = producer.reserve(mem_bytes + room) catch |err| fatal(err);
            const group_start = producer.group_start;
            // After its exec record: instruction 0.
            thread.stream.memAnySize(flags, 0, Block.Step.no_key, if (Addr == u32) vaddr & 0xffff_ffff else vaddr, value, config.trace_values);
            producer.endGroup();
            syncOut(thread);
            cursor.insn = @intFromPtr(producer.chunk) + group_start;
        }

        const exec_bytes = records.recordWords(.exec, @sizeOf(Addr) / 4) * 4;
        const mem_bytes = records.recordWords(.mem, @sizeOf(Addr) / 4) * 4;

        fn onSyscall(cursor: *Cursor, number: i64, args: *const [records.syscall_args]u64) callconv(.C) void {
            const thread = threadFor(cursor);
            if (thread.finished) return;
            holdOutside(thread);
            syncIn(thread);
            thread.stream.syscall(@bitCast(number), args.*);
            syncOut(thread);
            releaseOutside(thread);
            followExec(cursor, @bitCast(number), args.*);
        }

        /// A guest execve of a program this QEMU runs: the thread's stream
        /// ends as at a thread exit and the new image opens its own (see
        /// ExecPlan.zig). If the host exec fails, the thread's next record
        /// opens a new stream and QEMU's own execve reports the error.
        fn followExec(cursor: *Cursor, number: u64, args: [records.syscall_args]u64) void {
            var plan = ExecPlan.forSyscall(.{ .arch = arch, .socket_path = config.socketPath(), .image = process.image }, number, args) orelse return;
            defer plan.deinit();
            onThreadExit(cursor);
            plan.exec();
        }

        fn onSyscallReturn(cursor: *Cursor, number: i64, ret: i64) callconv(.C) void {
            const thread = threadFor(cursor);
            if (thread.finished) return;
            holdOutside(thread);
            defer releaseOutside(thread);
            syncIn(thread);
            defer syncOut(thread);
            const stream = &thread.stream;
            stream.syscallReturned(@bitCast(number), @bitCast(ret), arch.syscalls);
        }

        /// A guest thread ended (sys_exit): its stream ends cleanly.
        fn onThreadExit(cursor: *Cursor) callconv(.C) void {
            const thread = threadOf(cursor) orelse return;
            unregister(thread);
            holdOutside(thread);
            if (!thread.finished) {
                syncIn(thread);
                thread.stream.finish();
            }
            cursor.* = .{ .cursor = 0, .limit = 0, .thread = null };
            releaseOutside(thread);
            // A fatal signal that found the thread registered may still
            // hold its address (both sides are sequentially consistent:
            // either it saw the slot empty or this sees its flag).
            if (@atomicLoad(bool, &fatal_flushing, .SeqCst)) return;
            allocator.destroy(thread);
        }

        /// exit/exit_group: every stream ends cleanly. Other threads may
        /// still run a few instructions until QEMU exits, so the memory
        /// stays mapped and their later records go nowhere.
        fn onProcessExit() callconv(.C) void {
            for (&threads) |*slot| {
                const thread = @atomicLoad(?*Thread, slot, .Acquire) orelse continue;
                if (thread.finished) continue;
                syncIn(thread);
                thread.finished = true;
                const stream = &thread.stream;
                const words = stream.producer.reserve(4) catch |err| fatal(err);
                const head: *u32 = @ptrCast(@alignCast(words));
                head.* = @intFromEnum(records.Kind.exit);
                stream.producer.commit(4);
                stream.producer.flush() catch |err| fatal(err);
                @atomicStore(u32, &stream.producer.header().producer_status, @intFromEnum(mempipe.layout.ProducerStatus.closed_clean), .Release);
                stream.producer.hangUp();
                syncOut(thread);
            }
        }

        /// A guest thread dies of a signal, and no callback follows: the
        /// consumer salvages each open chunk up to its salvage length, which
        /// only server callbacks move, so the records the JIT wrote since
        /// each thread's last one (the crash's own instructions, and what
        /// the other threads did meanwhile) would be lost. QEMU calls this
        /// with every other thread out of translated code (start_exclusive),
        /// where their cursors hold; a block the fault cut short was
        /// rewritten at the landing, before. A thread inside a syscall,
        /// sysret or thread-exit callback keeps its last callback's length.
        fn onFatalSignal(cursor: *Cursor) callconv(.C) void {
            @atomicStore(bool, &fatal_flushing, true, .SeqCst);
            for (&threads) |*slot| {
                const thread = @atomicLoad(?*Thread, slot, .SeqCst) orelse continue;
                if (thread.cursor == cursor) {
                    salvageToCursor(thread);
                } else if (thread.outside.compareAndSwap(outside_idle, outside_flushing, .Acquire, .Monotonic) == null) {
                    salvageToCursor(thread);
                    thread.outside.store(outside_idle, .Release);
                }
            }
        }

        /// What the JIT wrote at the thread's cursor becomes salvageable.
        fn salvageToCursor(thread: *Thread) void {
            if (thread.finished) return;
            syncIn(thread);
            thread.stream.producer.salvageUpTo(thread.stream.producer.cursor);
        }

        /// The JIT's cursor is the producer's write position.
        inline fn syncIn(thread: *Thread) void {
            const start = @intFromPtr(thread.stream.producer.chunk);
            const offset = thread.cursor.cursor -% start;
            // The cursor lives in QEMU's memory: check before trusting it.
            if (offset > thread.stream.producer.geometry.chunk_bytes or offset % 4 != 0) fatal(error.CursorCorrupt);
            thread.stream.producer.cursor = @intCast(offset);
        }

        inline fn syncOut(thread: *Thread) void {
            const start = @intFromPtr(thread.stream.producer.chunk);
            thread.cursor.cursor = start + thread.stream.producer.cursor;
            thread.cursor.limit = start + thread.stream.producer.geometry.chunk_bytes;
            if (thread.sequence != thread.stream.producer.sequence) {
                // A new chunk: it defines no block yet, and the block open
                // in the previous one (published) is no longer rewritten.
                thread.sequence = thread.stream.producer.sequence;
                thread.cursor.seq = nextSeq();
                thread.cursor.block = 0;
            }
        }

        inline fn threadOf(cursor: *Cursor) ?*Thread {
            return @ptrCast(@alignCast(cursor.thread));
        }

        /// A thread's stream opens on its first event, on that thread (so
        /// the handshake carries its tid).
        inline fn threadFor(cursor: *Cursor) *Thread {
            return threadOf(cursor) orelse openThread(cursor);
        }

        fn openThread(cursor: *Cursor) *Thread {
            @setCold(true);
            process.watchOwner();
            const thread = allocator.create(Thread) catch fatal(error.OutOfMemory);
            thread.* = .{
                .stream = .{
                    .producer = mempipe.Producer.create(.{ .chunk_bytes = config.chunk_bytes, .chunk_count = config.chunk_count }) catch |err| fatal(err),
                    .pid = process.id,
                    .tid = linux.gettid(),
                    .generation = @atomicRmw(u32, &stream_generations, .Add, 1, .Monotonic) + 1,
                    .syscall_records = config.trace_syscalls,
                },
                .cursor = cursor,
            };
            var buffer: [4096]u8 = undefined;
            const handshake_json = writeHandshake(&buffer, thread.stream.pid, thread.stream.tid) catch |err| fatal(err);
            thread.stream.producer.connect(config.socketPath(), handshake_json) catch |err| fatal(err);
            cursor.thread = thread;
            syncOut(thread);
            // Registered with its cursor set: a fatal signal on another
            // thread may read it from here on.
            register(thread);
            return thread;
        }

        fn register(thread: *Thread) void {
            for (&threads) |*slot| {
                if (@cmpxchgStrong(?*Thread, slot, null, thread, .AcqRel, .Monotonic) == null) return;
            }
            fatal(error.TooManyThreads);
        }

        fn unregister(thread: *Thread) void {
            for (&threads) |*slot| {
                // Sequentially consistent: onThreadExit then reads
                // fatal_flushing, which onFatalSignal sets before it reads
                // the slots.
                if (@cmpxchgStrong(?*Thread, slot, thread, null, .SeqCst, .Monotonic) == null) return;
            }
            unreachable;
        }

        /// A guest fork forks QEMU: the child must neither write to the
        /// parent's pipes nor close them cleanly. It drops them and points
        /// every cursor nowhere, so its first record opens its own stream.
        fn dropInheritedThreads() void {
            for (&threads) |*slot| {
                const thread = slot.* orelse continue;
                slot.* = null;
                thread.cursor.* = .{ .cursor = 0, .limit = 0, .thread = null };
                if (!thread.finished) thread.stream.producer.release();
                allocator.destroy(thread);
            }
        }
    };
}

/// The instruction's own bytes out of the ones QEMU offers (which may run
/// into the next instruction), for the hook file.
fn insnBytes(available: []const u8) []const u8 {
    const size: usize = if (std.mem.startsWith(u8, arch.name, "riscv"))
        // RISC-V: 2-byte compressed unless the low two bits are 0b11.
        (if (available.len > 0 and available[0] & 3 != 3) 2 else 4)
    else if (std.mem.eql(u8, arch.name, "x86_64") or std.mem.eql(u8, arch.name, "i386") or std.mem.eql(u8, arch.name, "s390x"))
        // Variable length: the hook sees what QEMU offered.
        available.len
    else
        4;
    return available[0..@min(size, available.len)];
}

/// A block of the block encoding (see `blockNew`): `defined` is the seq of
/// the last chunk that carries its definition (0: none), read and written
/// by translated code.
const PatchedBlock = struct {
    defined: u32 = 0,
    id: u32,
    pcs: []const u64,
    layout: []const u32,
    /// What a whole run's accesses take after its block_run.
    data_bytes: u32,
};
/// A block's key: its PCs, then its layout (the same PCs may be translated
/// anew with other accesses, e.g. after the guest rewrote its code).
const block_key_bytes_max = records.block_insns_max * 8 + records.block_accesses_max * 4;

fn blockKey(buffer: *[block_key_bytes_max]u8, pcs: []const u64, layout: []const u32) []const u8 {
    const pc_bytes = std.mem.sliceAsBytes(pcs);
    const layout_bytes = std.mem.sliceAsBytes(layout);
    @memcpy(buffer[0..pc_bytes.len], pc_bytes);
    @memcpy(buffer[pc_bytes.len..][0..layout_bytes.len], layout_bytes);
    return buffer[0 .. pc_bytes.len + layout_bytes.len];
}
var patched_arena = std.heap.ArenaAllocator.init(std.heap.c_allocator);
var patched_blocks: std.StringHashMapUnmanaged(*PatchedBlock) = .{};
var patched_by_id: std.ArrayListUnmanaged(*PatchedBlock) = .{};

/// Chunk numbers for `Cursor.seq`, never reused in a process (a fork's
/// child continues from its parent's count): a block's `defined` word
/// cannot mistake another chunk for the one carrying its definition.
var seq_counter: u32 = 0;

fn nextSeq() u32 {
    const seq = @atomicRmw(u32, &seq_counter, .Add, 1, .Monotonic) +% 1;
    // 0 means "defined nowhere".
    return if (seq == 0) nextSeq() else seq;
}

/// "once" flags, one per guest PC and shared by every translation of it;
/// the translated code tests it and, while it is clear, claims it with an
/// atomic exchange (QEMU's cannoli_once helper). They live as long as QEMU, and
/// translation is serialised by QEMU's mmap_lock, so no lock here.
var once_arena = std.heap.ArenaAllocator.init(std.heap.c_allocator);
var once_slots = std.AutoHashMap(u64, *u32).init(std.heap.c_allocator);

fn onceSlot(pc: u64) *u32 {
    const entry = once_slots.getOrPut(pc) catch fatal(error.OutOfMemory);
    if (!entry.found_existing) {
        const slot = once_arena.allocator().create(u32) catch fatal(error.OutOfMemory);
        slot.* = 0;
        entry.value_ptr.* = slot;
    }
    return entry.value_ptr.*;
}

fn writeHandshake(buffer: []u8, pid: i32, tid: i32) ![]const u8 {
    var registers: [RegisterSet.registers_max]handshake.Register = undefined;
    for (0..register_set.count) |index| registers[index] = .{ .name = std.mem.span(register_set.names[index]), .bytes = register_set.widths[index] };
    return handshake.write(buffer, "patched", arch, pid, tid, exe_path, process.image, registers[0..register_set.count]);
}

test "the C structs keep cannoli.h's layout" {
    try std.testing.expectEqual(@as(usize, 48), @sizeOf(Cursor));
    try std.testing.expectEqual(@as(usize, 36), @offsetOf(Cursor, "seq"));
    try std.testing.expectEqual(@as(usize, 40), @offsetOf(Cursor, "block"));
    try std.testing.expectEqual(@as(usize, 8), @offsetOf(Cursor, "limit"));
    try std.testing.expectEqual(@as(usize, 24), @offsetOf(Cursor, "insn"));
    try std.testing.expectEqual(@as(usize, 32), @offsetOf(Cursor, "helper_room"));
    try std.testing.expectEqual(@as(usize, 56), @sizeOf(Info));
    try std.testing.expectEqual(@as(usize, 32), @offsetOf(Info, "registers"));
    try std.testing.expectEqual(@as(usize, 48), @offsetOf(Info, "read_flags"));
    try std.testing.expectEqual(@as(usize, 16), @sizeOf(Register));
    try std.testing.expectEqual(@as(usize, 8), @offsetOf(Callbacks, "hook_insn"));
    // Eleven function pointers after the two u32s, then regs_bytes and regs.
    try std.testing.expectEqual(@as(usize, 8 + 11 * 8), @offsetOf(Callbacks, "regs_bytes"));
    try std.testing.expectEqual(@as(usize, 8 + 12 * 8), @offsetOf(Callbacks, "regs"));
    try std.testing.expectEqual(@as(usize, 8 + 13 * 8), @offsetOf(Callbacks, "fatal_signal"));
}
