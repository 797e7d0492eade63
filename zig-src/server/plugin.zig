// SPDX-License-Identifier: GPL-2.0-or-later
//! libcannoli_server.so as a QEMU TCG plugin: the front door that works with
//! an unmodified distribution QEMU, any version from 7.2 (Debian 12, plugin
//! API 1) to 10.x (Debian 13's 10.0, API 4). A constructor declares the API
//! version the running QEMU accepts; newer functions are weak references
//! resolved once at install (`qp.PluginApi`), and where a newer QEMU offers
//! a better mechanism it is used: per-vCPU counters for the block encoding
//! (thread-safe, so blocks stay on after the first clone), memory values from
//! QEMU instead of read back through guest memory's base (guest_memory.zig).
//!
//!   qemu-<arch> -plugin libcannoli_server.so,sock=PATH[,range=LO-HI][,mem=off][,once=on] guest
//!
//! At translation time it decides, per instruction, whether to record it
//! (never / always / once) and its memory accesses (yes / no); at run time
//! the callbacks append records to the executing guest thread's own pipe.
//! Streams open lazily on a thread's first event because QEMU announces a new
//! vCPU from the parent thread, before the child's host thread exists.
const std = @import("std");
const assert = std.debug.assert;
const linux = std.os.linux;
const qp = @import("qemu_plugin.zig");
const mempipe = @import("mempipe");
const records = @import("wire").records;
const hooks = @import("hooks");
const Config = @import("Config.zig");
const guest = @import("guest.zig");
const process = @import("process.zig");
const ThreadStream = @import("ThreadStream.zig").ThreadStream;
const ThreadStreamCounting = @import("ThreadStream.zig").Counting;
const handshake = @import("handshake.zig");
const Block = @import("Block.zig");
const VcpuCounter = @import("VcpuCounter.zig");
const ExecPlan = @import("ExecPlan.zig");
const RegisterSet = @import("RegisterSet.zig");
const RegisterValues = @import("ThreadStream.zig").RegisterValues;
const guest_memory = @import("guest_memory.zig");
const fatal = @import("ThreadStream.zig").fatal;

export var qemu_plugin_version: c_int = qp.QEMU_PLUGIN_VERSION;

/// Runs when QEMU dlopens the library, before it reads
/// `qemu_plugin_version`: QEMU 9.0+ refuses version 1, 7.2 anything above.
fn declareVersion() callconv(.C) void {
    qemu_plugin_version = qp.acceptedVersion();
}
export const cannoli_declare_version linksection(".init_array") = &declareVersion;

comptime {
    _ = @as(qp.qemu_plugin_install_t, &qemu_plugin_install);
    // The patched-QEMU front door (-cannoli) lives in the same library.
    _ = @import("patched.zig");
}

/// Longer than any guest instruction (x86's 15 bytes).
const insn_bytes_max = 16;
/// Bounds the vCPU index table (QEMU reuses indices of exited threads).
const vcpus_max = 4096;
/// Bounds the threads between losing their vCPU index and their exit hook.
const departing_max = 256;

const currentThread = @import("host_thread.zig").current;
const allocator = std.heap.c_allocator;

var config: Config = .{};
var arch: guest.Arch = undefined;
var api: qp.PluginApi = undefined;
/// How a block-encoded block learns how far it ran: 7.2-8.2's inline adds
/// into the block's own counters (one guest thread only), or 9.0+'s
/// per-vCPU counter (any number); `none`: no block encoding on this QEMU.
var block_counting: enum { none, block_counters, vcpu_counter } = .none;
var vcpu_counter: VcpuCounter = undefined;
/// Set at the first clone: from then on blocks are translated with
/// per-instruction callbacks (QEMU flushes and retranslates everything then),
/// because 7.2's inline counters are not thread-safe.
var multi_threaded: bool = false;
/// Gives every stream its own generation (see Block.defKey).
var stream_generations: u32 = 0;
var next_block_id: u32 = 0;
/// Set when the guest creates a thread (clone with CLONE_VM, clone3; also
/// at a second vCPU's init): from then on another thread may write a
/// location between an access and its callback.
var shares_memory: bool = false;
/// Set on the first memory callback: whether decoding meminfo inline agrees
/// with QEMU's accessors (it is QEMU-internal layout, not API).
var meminfo_inline: enum(u8) { unchecked, yes, no } = .unchecked;

export fn qemu_plugin_install(id: qp.qemu_plugin_id_t, info: *const qp.qemu_info_t, argc: c_int, argv: ?[*][*:0]u8) c_int {
    if (info.system_emulation) return refuse("system emulation is not supported; use qemu-user", .{});
    arch = guest.lookup(std.mem.span(info.target_name)) orelse
        return refuse("unsupported guest architecture {s}", .{info.target_name});
    var args: [Config.ranges_max + 16][]const u8 = undefined;
    const arg_count: usize = @intCast(argc);
    if (arg_count > args.len) return refuse("too many plugin arguments", .{});
    for (0..arg_count) |index| args[index] = std.mem.span(argv.?[index]);
    config = Config.parse(args[0..arg_count], std.os.getenv("CANNOLI_SOCKET")) catch |err|
        return refuse("bad plugin arguments ({s})", .{@errorName(err)});
    process.announceLoaded(config.socketPath(), "plugin", info.version.cur);
    api = qp.PluginApi.resolve(info.version.cur);
    if (config.regsSpec() != null and (api.get_registers == null or api.read_register == null))
        return refuse("registers need QEMU 9.0 or newer (its plugin API {d} has no register access)", .{info.version.cur});
    if (VcpuCounter.create(api, &shares_memory)) |counter| {
        vcpu_counter = counter;
        block_counting = .vcpu_counter;
    } else if (api.insn_exec_inline != null) {
        block_counting = .block_counters;
    }
    const drop_inherited = if (arch.pointer_bytes == 4) &Server(u32).dropInheritedStreams else &Server(u64).dropInheritedStreams;
    process.adopt(drop_inherited, config.owner_pid, config.image) catch return refuse("pthread_atfork failed", .{});
    exe_from_command_line = ExecPlan.commandLineGuest(config.socketPath(), &exe_buffer);
    if (arch.pointer_bytes == 4) Server(u32).register(id) else Server(u64).register(id);
    return 0;
}

fn refuse(comptime format: []const u8, args: anytype) c_int {
    process.refuse(format, args);
    return -1;
}

/// `--regs`: the registers recorded, chosen at the first stream's opening
/// (QEMU lists them only from a vCPU callback).
var register_set: RegisterSet = .{};
var register_set_chosen: bool = false;

fn Server(comptime Addr: type) type {
    return struct {
        const Stream = ThreadStream(Addr);
        /// Each vCPU index's stream, or `no_stream`.
        var streams = [_]*Stream{&no_stream} ** vcpus_max;
        /// Where an index without a stream points: its owner is no thread,
        /// so the callbacks' one owner check sends it to streamForSlow.
        var no_stream: Stream = .{ .producer = undefined, .pid = 0, .tid = 0, .generation = 0, .owner = 0 };

        comptime {
            assert(std.math.isPowerOfTwo(vcpus_max));
        }

        fn register(id: qp.qemu_plugin_id_t) void {
            qp.qemu_plugin_register_vcpu_tb_trans_cb(id, onTranslate);
            qp.qemu_plugin_register_vcpu_init_cb(id, onVcpuInit);
            qp.qemu_plugin_register_vcpu_exit_cb(id, onVcpuExit);
            // Also with syscalls=off: mmap/munmap records come from them.
            qp.qemu_plugin_register_vcpu_syscall_cb(id, onSyscall);
            qp.qemu_plugin_register_vcpu_syscall_ret_cb(id, onSyscallReturn);
            qp.qemu_plugin_register_atexit_cb(id, onExit, null);
        }

        /// Streams whose vCPU index was handed to a new thread while their
        /// own thread was still exiting; found again by owner. Bounded: a
        /// thread stays here only between losing its index and its exit hook.
        var departing = [_]?*Stream{null} ** departing_max;
        var slow_path_lock = std.Thread.Mutex{};

        inline fn streamFor(vcpu_index: c_uint) *Stream {
            const stream = slotStream(vcpu_index);
            return if (isOwn(stream)) stream else streamForSlow(vcpu_index);
        }

        /// Where the calling thread's stream usually is (without a call:
        /// the callbacks' common cases rely on that); streamForSlow sorts
        /// out the rest. An index past the table lands on another thread's
        /// stream or on no_stream, which isOwn refuses, and so does
        /// streamForSlow.
        inline fn slotStream(vcpu_index: c_uint) *Stream {
            return @atomicLoad(*Stream, &streams[vcpu_index % vcpus_max], .Acquire);
        }

        inline fn isOwn(stream: *const Stream) bool {
            return stream.owner == currentThread();
        }

        fn streamForSlow(vcpu_index: c_uint) *Stream {
            @setCold(true);
            if (vcpu_index >= vcpus_max) fatal(error.TooManyThreads);
            slow_path_lock.lock();
            defer slow_path_lock.unlock();
            const self = currentThread();
            if (takeDeparting(self, false)) |stream| return stream;
            const previous = streams[vcpu_index];
            if (previous != &no_stream) {
                if (previous.owner == self) return previous;
                // The index's previous thread is still on its way out: keep its
                // stream where its remaining events will find it.
                for (&departing) |*slot| {
                    if (slot.* == null) {
                        slot.* = previous;
                        break;
                    }
                } else fatal(error.TooManyDepartingThreads);
            }
            return openStream(vcpu_index);
        }

        /// The calling thread's stream among the departing ones (removed from
        /// the list when `remove`). Caller holds slow_path_lock.
        fn takeDeparting(owner: usize, remove: bool) ?*Stream {
            for (&departing) |*slot| {
                const stream = slot.* orelse continue;
                if (stream.owner != owner) continue;
                if (remove) slot.* = null;
                return stream;
            }
            return null;
        }

        fn openStream(vcpu_index: c_uint) *Stream {
            process.watchOwner();
            const stream = allocator.create(Stream) catch fatal(error.OutOfMemory);
            stream.* = .{
                .producer = mempipe.Producer.create(.{ .chunk_bytes = config.chunk_bytes, .chunk_count = config.chunk_count }) catch |err| fatal(err),
                .pid = process.id,
                .tid = linux.gettid(),
                .owner = currentThread(),
                .generation = @atomicRmw(u32, &stream_generations, .Add, 1, .Monotonic) + 1,
                .syscall_records = config.trace_syscalls,
                .vcpu_index = vcpu_index,
                .vcpu_counter = if (block_counting == .vcpu_counter) &vcpu_counter else null,
            };
            if (config.regsSpec()) |spec| stream.register_values = openRegisterValues(spec);
            var buffer: [16 * 1024]u8 = undefined;
            const handshake_json = writeHandshake(&buffer, stream.pid, stream.tid) catch |err| fatal(err);
            stream.producer.connect(config.socketPath(), handshake_json) catch |err| fatal(err);
            @atomicStore(*Stream, &streams[vcpu_index], stream, .Release);
            return stream;
        }

        /// A thread's register state; the first one also chooses the set.
        /// Caller holds slow_path_lock.
        fn openRegisterValues(spec: []const u8) *RegisterValues {
            const values = allocator.create(RegisterValues) catch fatal(error.OutOfMemory);
            values.* = .{ .read_buffer = qp.g_byte_array_new() orelse fatal(error.OutOfMemory) };
            if (!register_set_chosen) {
                register_set = RegisterSet.select(api, spec, @ptrCast(@alignCast(values.read_buffer.?))) catch |err| fatal(err);
                register_set_chosen = true;
                // QEMU lists only registers its gdb XML describes (none on
                // MIPS, for one): say so rather than trace no registers, or
                // fewer than were asked for.
                if (register_set.count == 0 and register_set.offered.len == 0) {
                    process.refuse("QEMU offers plugins no {s} registers (--regs)", .{arch.name});
                    linux.exit_group(1);
                }
                if (register_set.count == 0 or register_set.unmatched != null) {
                    process.refuse("--regs: no {s} register matches {s} (QEMU offers plugins: {s})", .{ arch.name, register_set.unmatched orelse spec, register_set.offered.slice() });
                    linux.exit_group(1);
                }
            }
            return values;
        }

        fn dropInheritedStreams() void {
            for (&departing) |*slot| {
                if (slot.*) |stream| {
                    stream.producer.release();
                    allocator.destroy(stream);
                    slot.* = null;
                }
            }
            for (&streams) |*slot| {
                if (slot.* == &no_stream) continue;
                slot.*.producer.release();
                allocator.destroy(slot.*);
                slot.* = &no_stream;
            }
        }

        fn onVcpuInit(id: qp.qemu_plugin_id_t, vcpu_index: c_uint) callconv(.C) void {
            _ = id;
            // vCPU 0 is the first thread; any other means a clone happened.
            if (vcpu_index > 0) {
                @atomicStore(bool, &multi_threaded, true, .Release);
                @atomicStore(bool, &shares_memory, true, .Release);
            }
        }

        fn onTranslate(id: qp.qemu_plugin_id_t, tb: *qp.qemu_plugin_tb) callconv(.C) void {
            _ = id;
            // Registers are read before each recorded instruction, so no blocks then.
            const recording_registers = config.regsSpec() != null;
            if (config.blocks and !recording_registers and blockEncodingAvailable() and translateAsBlock(tb)) return;
            const count = qp.qemu_plugin_tb_n_insns(tb);
            for (0..count) |index| {
                const insn = qp.qemu_plugin_tb_get_insn(tb, index) orelse continue;
                const pc = qp.qemu_plugin_insn_vaddr(insn);
                noteGuestBase(insn, pc);
                var buffer: [insn_bytes_max]u8 = undefined;
                const bytes = api.insnBytes(insn, &buffer);
                const choice = hooks.hookInstruction(pc, bytes, config.instructionChoice(pc));
                switch (choice) {
                    .never => continue,
                    .always => if (recording_registers)
                        qp.qemu_plugin_register_vcpu_insn_exec_cb(insn, onExecRegisters, .r_regs, @ptrFromInt(pc))
                    else
                        qp.qemu_plugin_register_vcpu_insn_exec_cb(insn, onExec, .no_regs, @ptrFromInt(pc)),
                    .once => {
                        const slot = onceSlot(pc, @intCast(qp.qemu_plugin_insn_size(insn)));
                        // Already seen: a retranslation (or a block entered
                        // mid-way) runs at full speed.
                        if (@atomicLoad(u32, &slot.fired, .Acquire) != 0) continue;
                        qp.qemu_plugin_register_vcpu_insn_exec_cb(insn, onExecOnce, .no_regs, slot);
                    },
                }
                // "once" is for coverage: its memory accesses are not recorded.
                // After an exec record an access names instruction 0.
                if (choice == .always and hooks.hookMemory(pc, config.trace_mem)) {
                    qp.qemu_plugin_register_vcpu_mem_cb(insn, memCallback(), .no_regs, .rw, null);
                }
            }
        }

        fn blockEncodingAvailable() bool {
            return switch (block_counting) {
                .none => false,
                // 7.2's inline adds are not atomic: a second thread would
                // share the counters.
                .block_counters => !@atomicLoad(bool, &multi_threaded, .Acquire),
                .vcpu_counter => true,
            };
        }

        /// The block-level encoding: one callback per executed block plus an
        /// inline counter per instruction. Only when every instruction of the
        /// block is recorded `always`; anything else falls back to
        /// per-instruction callbacks.
        fn translateAsBlock(tb: *qp.qemu_plugin_tb) bool {
            const count = qp.qemu_plugin_tb_n_insns(tb);
            if (count == 0 or count > records.block_insns_max) return false;
            var pcs: [records.block_insns_max]u64 = undefined;
            var traced_mem: [records.block_insns_max]bool = undefined;
            for (0..count) |index| {
                const insn = qp.qemu_plugin_tb_get_insn(tb, index) orelse return false;
                const pc = qp.qemu_plugin_insn_vaddr(insn);
                noteGuestBase(insn, pc);
                var buffer: [insn_bytes_max]u8 = undefined;
                const bytes = api.insnBytes(insn, &buffer);
                if (hooks.hookInstruction(pc, bytes, config.instructionChoice(pc)) != .always) return false;
                pcs[index] = pc;
                traced_mem[index] = hooks.hookMemory(pc, config.trace_mem);
            }
            const block = Block.create(arena.allocator(), next_block_id, pcs[0..count]) catch fatal(error.OutOfMemory);
            next_block_id +%= 1;
            qp.qemu_plugin_register_vcpu_tb_exec_cb(tb, onBlock(), .no_regs, block);
            for (0..count) |index| {
                const insn = qp.qemu_plugin_tb_get_insn(tb, index).?;
                switch (block_counting) {
                    .block_counters => if (Block.counted(index, count)) api.insn_exec_inline.?(insn, .inline_add_u64, &block.counters[index], 1),
                    .vcpu_counter => vcpu_counter.countInstruction(api, insn, @intCast(index)),
                    .none => unreachable,
                }
                // The access names its instruction by index in the block.
                if (traced_mem[index]) qp.qemu_plugin_register_vcpu_mem_cb(insn, memCallback(), .no_regs, .rw, @ptrFromInt(index));
            }
            return true;
        }

        /// The block callback of the server's counting mode.
        fn onBlock() *const fn (c_uint, ?*anyopaque) callconv(.C) void {
            return switch (block_counting) {
                .block_counters => &OnBlock(.block_counters).call,
                .vcpu_counter => &OnBlock(.vcpu_counter).call,
                .none => unreachable,
            };
        }

        fn OnBlock(comptime counting: ThreadStreamCounting) type {
            return struct {
                noinline fn call(vcpu_index: c_uint, userdata: ?*anyopaque) callconv(.C) void {
                    const stream = slotStream(vcpu_index);
                    if (isOwn(stream) and stream.enterBlockFast(@ptrCast(@alignCast(userdata.?)), counting)) return;
                    @call(.always_tail, onBlockGeneral, .{ vcpu_index, userdata });
                }
            };
        }

        noinline fn onBlockGeneral(vcpu_index: c_uint, userdata: ?*anyopaque) callconv(.C) void {
            streamFor(vcpu_index).enterBlock(@ptrCast(@alignCast(userdata.?)));
        }

        fn onExec(vcpu_index: c_uint, userdata: ?*anyopaque) callconv(.C) void {
            streamFor(vcpu_index).exec(@intFromPtr(userdata), 0);
        }

        /// An instruction with its registers as they are before it runs.
        fn onExecRegisters(vcpu_index: c_uint, userdata: ?*anyopaque) callconv(.C) void {
            const stream = streamFor(vcpu_index);
            const pc = @intFromPtr(userdata);
            stream.exec(pc, 0);
            const values = stream.register_values.?;
            const read_buffer: *qp.GByteArray = @ptrCast(@alignCast(values.read_buffer.?));
            const slot = RegisterSet.value_bytes_max;
            var current: [RegisterSet.registers_max * slot]u8 = undefined;
            for (0..register_set.count) |index| {
                if (register_set.pc_index != null and register_set.pc_index.? == index) {
                    writeTargetOrder(current[index * slot ..][0..register_set.widths[index]], pc);
                    continue;
                }
                _ = qp.g_byte_array_set_size(read_buffer, 0);
                const read = api.read_register.?(register_set.handles[index], read_buffer);
                const width = register_set.widths[index];
                const destination = current[index * slot ..][0..width];
                if (read != width or read_buffer.len < width) fatal(error.RegisterReadFailed);
                @memcpy(destination, read_buffer.data.?[0..width]);
            }
            stream.regs(&register_set, values, &current);
        }

        fn onExecOnce(vcpu_index: c_uint, userdata: ?*anyopaque) callconv(.C) void {
            const slot: *OnceSlot = @ptrCast(@alignCast(userdata.?));
            if (@atomicLoad(u32, &slot.fired, .Monotonic) != 0) return;
            if (@atomicRmw(u32, &slot.fired, .Xchg, 1, .AcqRel) != 0) return;
            streamFor(vcpu_index).exec(slot.pc, slot.insn_bytes);
        }

        /// The memory callback: with values, an access that keeps to its
        /// block's layout is written before its meminfo is taken apart
        /// (most of them: ThreadStream.keepLayout); `onMemGeneral` does
        /// the rest, and all of them without values.
        fn memCallback() *const MemCallback {
            return if (config.trace_values) onMem else onMemGeneral;
        }
        const MemCallback = fn (c_uint, qp.qemu_plugin_meminfo_t, u64, ?*anyopaque) callconv(.C) void;

        noinline fn onMem(vcpu_index: c_uint, info: qp.qemu_plugin_meminfo_t, vaddr: u64, userdata: ?*anyopaque) callconv(.C) void {
            // With a second thread the value comes from QEMU where it can.
            if (@atomicLoad(bool, &shares_memory, .Monotonic)) return @call(.always_tail, onMemShared, .{ vcpu_index, info, vaddr, userdata });
            const stream = slotStream(vcpu_index);
            if (isOwn(stream)) {
                const addr = guestAddr(vaddr);
                if (stream.keepLayout(Block.memKey(info, accessInsn(userdata)), addr, guestHost(addr))) return;
            }
            @call(.always_tail, onMemGeneral, .{ vcpu_index, info, vaddr, userdata });
        }

        /// onMem once the guest has threads: another thread may have
        /// written the location since the access, so an access that keeps
        /// to its layout takes QEMU's own value (9.2+), as onMemSlow does.
        noinline fn onMemShared(vcpu_index: c_uint, info: qp.qemu_plugin_meminfo_t, vaddr: u64, userdata: ?*anyopaque) callconv(.C) void {
            const stream = slotStream(vcpu_index);
            if (api.mem_get_value != null and isOwn(stream)) {
                const key = Block.memKey(info, accessInsn(userdata));
                if (stream.expectsKey(key) and stream.keepLayoutValue(key, guestAddr(vaddr), valueFromQemu(api.mem_get_value.?(info)))) return;
            }
            @call(.always_tail, onMemGeneral, .{ vcpu_index, info, vaddr, userdata });
        }

        /// The common case with no call of its own, so that the callback
        /// saves no registers on its way: one guest thread (no other can
        /// write the location before the read-back, and none can appear but
        /// by this thread's clone), the meminfo layout checked, the stream
        /// this thread's.
        noinline fn onMemGeneral(vcpu_index: c_uint, info: qp.qemu_plugin_meminfo_t, vaddr: u64, userdata: ?*anyopaque) callconv(.C) void {
            if (meminfo_inline != .yes or @atomicLoad(bool, &shares_memory, .Acquire)) return onMemSlow(vcpu_index, info, vaddr, userdata);
            const stream = slotStream(vcpu_index);
            if (!isOwn(stream)) return onMemSlow(vcpu_index, info, vaddr, userdata);
            const flags = meminfo_flags[qp.meminfo.flagsIndex(info)];
            const addr = guestAddr(vaddr);
            const insn = accessInsn(userdata);
            const key = Block.memKey(info, insn);
            if (!config.trace_values) return stream.mem(flags, insn, key, addr, 0, false);
            const value = guest_memory.accessValueNarrow(flags, guestHost(addr)) orelse return onMemSlow(vcpu_index, info, vaddr, userdata);
            stream.mem(flags, insn, key, addr, value, true);
        }

        noinline fn onMemSlow(vcpu_index: c_uint, info: qp.qemu_plugin_meminfo_t, vaddr: u64, userdata: ?*anyopaque) void {
            @setCold(true);
            const flags = memFlags(info);
            const addr = guestAddr(vaddr);
            const insn = accessInsn(userdata);
            const key = Block.memKey(info, insn);
            if (!config.trace_values) return streamFor(vcpu_index).mem(flags, insn, key, addr, 0, false);
            // Read back while the guest has one thread: the same value for a
            // load or a store, at half the cost of QEMU's call on 10.0
            // (mipsel bench_mem, null PC + mem: 1.2-1.6 s against 2.5-3.0 s).
            // Once a second thread could write the location in between,
            // QEMU's own value (9.2+) wherever the running QEMU has it.
            // The read-back comes first and the flag after: the flag is set
            // at the clone that creates a thread, before that thread exists,
            // so if this read-back saw another thread's write, the flag load
            // after it sees the flag.
            const back = guest_memory.accessValue(flags, guestHost(addr));
            const value: u128 = if (api.mem_get_value != null and @atomicLoad(bool, &shares_memory, .Acquire))
                valueFromQemu(api.mem_get_value.?(info))
            else
                back;
            streamFor(vcpu_index).memAnySize(flags, insn, key, addr, value, true);
        }

        /// A memory callback's address as the guest's (QEMU passes a
        /// 32-bit guest's addresses in 64 bits).
        inline fn guestAddr(vaddr: u64) u64 {
            return if (Addr == u32) vaddr & 0xffff_ffff else vaddr;
        }

        /// The accessing instruction's index in its block, which the
        /// memory callback's userdata carries (0 after an exec record).
        inline fn accessInsn(userdata: ?*anyopaque) u32 {
            return @intCast(@intFromPtr(userdata));
        }

        fn onSyscall(id: qp.qemu_plugin_id_t, vcpu_index: c_uint, number: i64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64, a6: u64, a7: u64, a8: u64) callconv(.C) void {
            _ = id;
            _ = a7;
            _ = a8;
            // Before the syscall runs, so before the new thread can write:
            // 9.x+ QEMUs announce a new vCPU only after it has run code.
            if (arch.threads.createsThread(@bitCast(number), a1)) @atomicStore(bool, &shares_memory, true, .Release);
            const stream = streamFor(vcpu_index);
            const args = [records.syscall_args]u64{ a1, a2, a3, a4, a5, a6 };
            stream.syscall(@bitCast(number), args);
            followExec(vcpu_index, @bitCast(number), args);
        }

        /// A guest execve of a program this QEMU runs: the thread's stream
        /// ends here and the new image opens its own (see ExecPlan.zig). If
        /// the host exec fails, the thread's next event opens a new stream
        /// and QEMU's own execve reports the error to the guest.
        fn followExec(vcpu_index: c_uint, number: u64, args: [records.syscall_args]u64) void {
            var plan = ExecPlan.forSyscall(.{ .arch = arch, .socket_path = config.socketPath(), .image = process.image }, number, args) orelse return;
            defer plan.deinit();
            endStreamOf(vcpu_index);
            plan.exec();
        }

        fn onSyscallReturn(id: qp.qemu_plugin_id_t, vcpu_index: c_uint, number: i64, ret: i64) callconv(.C) void {
            _ = id;
            const stream = streamFor(vcpu_index);
            stream.syscallReturned(@bitCast(number), @bitCast(ret), arch.syscalls);
        }

        /// A guest thread ended (sys_exit): its stream ends cleanly.
        fn onVcpuExit(id: qp.qemu_plugin_id_t, vcpu_index: c_uint) callconv(.C) void {
            _ = id;
            endStreamOf(vcpu_index);
        }

        /// Ends the calling thread's stream, if it has one.
        fn endStreamOf(vcpu_index: c_uint) void {
            if (vcpu_index >= vcpus_max) return;
            slow_path_lock.lock();
            const self = currentThread();
            var stream = takeDeparting(self, true);
            if (stream == null) {
                const owned = streams[vcpu_index];
                if (owned != &no_stream and owned.owner == self) {
                    stream = owned;
                    @atomicStore(*Stream, &streams[vcpu_index], &no_stream, .Release);
                }
            }
            slow_path_lock.unlock();
            const ending = stream orelse return;
            ending.finish();
            allocator.destroy(ending);
        }

        /// The process is exiting (exit_group, or the last thread's exit):
        /// every stream still open ends cleanly.
        fn onExit(id: qp.qemu_plugin_id_t, userdata: ?*anyopaque) callconv(.C) void {
            _ = id;
            _ = userdata;
            for (&departing) |*slot| {
                const stream = slot.* orelse continue;
                slot.* = null;
                stream.finish();
                allocator.destroy(stream);
            }
            for (&streams) |*slot| {
                const stream = slot.*;
                if (stream == &no_stream) continue;
                slot.* = &no_stream;
                stream.finish();
                allocator.destroy(stream);
            }
        }
    };
}

fn noteGuestBase(insn: *qp.qemu_plugin_insn, pc: u64) void {
    if (guest_memory.baseKnown()) return;
    if (qp.qemu_plugin_insn_haddr(insn)) |haddr| {
        guest_memory.noteBase(@intFromPtr(haddr), pc);
    }
}

const OnceSlot = struct {
    pc: u64,
    /// Coverage needs where the instruction ends (variable-width ISAs).
    insn_bytes: u8,
    fired: u32 = 0,
};

/// Translation-time objects (blocks, once-slots) live as long as QEMU:
/// translated code points at them. Translation is serialised by QEMU's
/// mmap_lock in linux-user, so neither this arena nor the map below needs a
/// lock of its own.
var arena = std.heap.ArenaAllocator.init(std.heap.c_allocator);

/// One slot per guest PC, shared by every block that contains it: QEMU may
/// translate the same instruction into several blocks (a jump into the middle
/// of a block, a cache flush), and "once" means once per PC.
var once_slots = std.AutoHashMap(u64, *OnceSlot).init(std.heap.c_allocator);

fn onceSlot(pc: u64, insn_bytes: u8) *OnceSlot {
    assert(insn_bytes <= insn_bytes_max);
    const entry = once_slots.getOrPut(pc) catch fatal(error.OutOfMemory);
    if (!entry.found_existing) {
        const slot = arena.allocator().create(OnceSlot) catch fatal(error.OutOfMemory);
        slot.* = .{ .pc = pc, .insn_bytes = insn_bytes };
        entry.value_ptr.* = slot;
    }
    return entry.value_ptr.*;
}

/// A memory access's mem head flags (size shift, store, sign and big
/// endian, in their record places).
inline fn memFlags(info: qp.qemu_plugin_meminfo_t) u32 {
    if (meminfo_inline == .yes) return meminfo_flags[qp.meminfo.flagsIndex(info)];
    return memFlagsSlow(info);
}

/// The flags of every meminfo, by `qp.meminfo.flagsIndex`: one load per
/// access instead of taking the meminfo apart and putting it together again.
const meminfo_flags = table: {
    var table: [qp.meminfo.flags_indexes]u32 = undefined;
    for (&table, 0..) |*flags, index| {
        const info = qp.meminfo.fromFlagsIndex(index);
        flags.* = flagsOf(qp.meminfo.sizeShift(info), qp.meminfo.isStore(info), qp.meminfo.isSignExtended(info), qp.meminfo.isByteSwapped(info));
    }
    break :table table;
};

inline fn flagsOf(size_shift: u32, store: bool, sign: bool, big_endian: bool) u32 {
    return size_shift << records.mem_size_shift_bit |
        @as(u32, @intFromBool(store)) << records.mem_store_bit |
        @as(u32, @intFromBool(sign)) << records.mem_sign_bit |
        @as(u32, @intFromBool(big_endian)) << records.mem_big_endian_bit;
}

fn memFlagsSlow(info: qp.qemu_plugin_meminfo_t) u32 {
    @setCold(true);
    const flags = flagsOf(
        qp.qemu_plugin_mem_size_shift(info),
        qp.qemu_plugin_mem_is_store(info),
        qp.qemu_plugin_mem_is_sign_extended(info),
        qp.qemu_plugin_mem_is_big_endian(info),
    );
    if (meminfo_inline == .unchecked) {
        meminfo_inline = if (flags == meminfo_flags[qp.meminfo.flagsIndex(info)]) .yes else .no;
    }
    return flags;
}

/// 9.2+: the value QEMU itself loaded or stored (immune to another guest
/// thread writing the location before the callback runs).
inline fn valueFromQemu(value: qp.qemu_plugin_mem_value) u128 {
    return switch (value.type) {
        .u8 => value.data.u8,
        .u16 => value.data.u16,
        .u32 => value.data.u32,
        .u64 => value.data.u64,
        else => @as(u128, value.data.u128.high) << 64 | value.data.u128.low,
    };
}

/// Where QEMU holds guest address `addr`. The memory callback runs after
/// the access succeeded, so the guest page is mapped and holds the value
/// just loaded or stored (for an atomic read-modify-write: the value it
/// stored): reading it back gives the access's value.
inline fn guestHost(addr: u64) [*]const u8 {
    return @ptrFromInt(guest_memory.base +% @as(usize, @intCast(addr)));
}

/// QEMU 10.0's linux-user binaries do not export
/// qemu_plugin_path_to_binary: the guest path then comes from QEMU's command
/// line (read once at install), else the consumer, which launched the
/// guest, fills it in.
var exe_buffer: [4096]u8 = undefined;
var exe_from_command_line: ?[]const u8 = null;

/// `value` as a register of `destination.len` bytes holds it in guest byte order.
fn writeTargetOrder(destination: []u8, value: u64) void {
    for (destination, 0..) |*byte, i| {
        const shift = if (arch.big_endian) destination.len - 1 - i else i;
        byte.* = if (shift < 8) @truncate(value >> @intCast(shift * 8)) else 0;
    }
}

fn writeHandshake(buffer: []u8, pid: i32, tid: i32) ![]const u8 {
    const exe_c = if (api.path_to_binary) |pathToBinary| pathToBinary() else null;
    defer if (exe_c) |p| qp.g_free(p);
    const exe: []const u8 = if (exe_c) |p| std.mem.span(p) else exe_from_command_line orelse "";
    var registers: [RegisterSet.registers_max]handshake.Register = undefined;
    for (0..register_set.count) |index| registers[index] = .{ .name = std.mem.span(register_set.names[index]), .bytes = register_set.widths[index] };
    return handshake.write(buffer, "plugin", arch, pid, tid, exe, process.image, registers[0..register_set.count]);
}
