// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU's TCG plugin API (include/qemu/qemu-plugin.h) as seen from Zig,
//! written by hand against QEMU 7.2 (plugin API version 1), the version
//! Debian 12 ships as qemu-user.
//!
//! Why by hand and not `@cImport`: the header is not installed anywhere on a
//! user's machine, and we must decide symbol by symbol which references are
//! hard. QEMU opens a plugin with `g_module_open(path, G_MODULE_BIND_LOCAL)`
//! (plugins/loader.c:188 in 7.2), i.e. RTLD_NOW: one undefined function the
//! running QEMU does not export and the whole load fails. Zig only emits a
//! reference for a declaration that is actually used, so declaring is free;
//! *using* one of the functions marked "gone in 9.0" below makes the library
//! unloadable by QEMU >= 9.0. Functions from newer versions (and the 7.2
//! ones that 9.0 removed) are also offered through `weak`, which resolves to
//! null when the running QEMU lacks them.
//!
//! The two symbols QEMU looks up in the plugin are not exported from here,
//! so that importing this file never adds exports by surprise. The plugin's
//! root file must provide them:
//!
//!     export var qemu_plugin_version: c_int = qp.QEMU_PLUGIN_VERSION;
//!     export fn qemu_plugin_install(id: qp.qemu_plugin_id_t,
//!         info: *const qp.qemu_info_t, argc: c_int, argv: ?[*][*:0]u8) c_int
//!     comptime { _ = @as(qp.qemu_plugin_install_t, &qemu_plugin_install); }
//!
//! Building: a Zig shared library linked against libc and nothing else.
//! lld leaves undefined symbols in a shared library by default, so the
//! `qemu_plugin_*` references stay for QEMU's dynamic symbol table to
//! satisfy at load time (`zig build-lib -dynamic -fPIC -lc`; in build.zig
//! `b.addSharedLibrary` + `linkLibC()`; never `-z defs`). Zig 0.11 also
//! exports its compiler_rt and libc helpers from a shared library; a version
//! script (`global: qemu_plugin_install; qemu_plugin_version; local: *;`)
//! keeps the dynamic symbol table to the two entry points.
//!
//! Names follow the C header so each declaration can be checked against it
//! by eye; enum fields drop the `QEMU_PLUGIN_` prefix.

const std = @import("std");

// ---------------------------------------------------------------------------
// Versioning and installation

/// API version this binding was written against. 7.2 and 8.x accept 0..1;
/// 9.0 raised the minimum to 2, so a library that must also load there has
/// to change the exported `qemu_plugin_version` before QEMU reads it (QEMU
/// reads it right after dlopen, so a constructor may set it — e.g. to 2 when
/// `weak.qemu_plugin_scoreboard_new() != null`).
pub const QEMU_PLUGIN_VERSION: c_int = 1;

/// Opaque per-plugin handle. Every plugin-level registration needs it, so a
/// plugin stores the one it got in `qemu_plugin_install`.
pub const qemu_plugin_id_t = u64;

/// What QEMU tells the plugin at install time. Only valid during the
/// install call: copy what you need. Layout is the C one exactly
/// (asserted below) because QEMU hands us a pointer to its own struct.
pub const qemu_info_t = extern struct {
    /// e.g. "mipsel", "aarch64", "x86_64" (TARGET_NAME); static storage.
    target_name: [*:0]const u8,
    version: extern struct {
        min: c_int,
        cur: c_int,
    },
    system_emulation: bool,
    /// An anonymous single-member union in C; same layout as its member.
    /// Zeroed in user mode.
    system: extern struct {
        smp_vcpus: c_int,
        max_vcpus: c_int,
    },
};

comptime {
    // x86_64/aarch64 hosts: pointer(8) + 2*int(8) + bool(1, padded to 4) + 2*int(8) = 32.
    if (@sizeOf(usize) == 8) {
        std.debug.assert(@offsetOf(qemu_info_t, "target_name") == 0);
        std.debug.assert(@offsetOf(qemu_info_t, "version") == 8);
        std.debug.assert(@offsetOf(qemu_info_t, "system_emulation") == 16);
        std.debug.assert(@offsetOf(qemu_info_t, "system") == 20);
        std.debug.assert(@sizeOf(qemu_info_t) == 32);
    }
}

/// Signature QEMU calls through (loader.c:68). `argv` holds `argc`
/// "name=value" strings, is not NULL-terminated, is NULL when `argc` is 0,
/// and stays valid for the plugin's lifetime. Return 0 to accept the load.
/// The install function runs before any vCPU exists and with QEMU's plugin
/// lock held: do not call `path_to_binary`/`start_code`/`end_code`/
/// `entry_code` here (they dereference `current_cpu`, still NULL).
pub const qemu_plugin_install_t = *const fn (
    id: qemu_plugin_id_t,
    info: *const qemu_info_t,
    argc: c_int,
    argv: ?[*][*:0]u8,
) callconv(.C) c_int;

// ---------------------------------------------------------------------------
// Opaque handles

/// Valid only during the translation callback that produced it.
pub const qemu_plugin_tb = opaque {};
/// Valid only during the translation callback that produced it.
pub const qemu_plugin_insn = opaque {};
/// System emulation only; always NULL in user mode.
pub const qemu_plugin_hwaddr = opaque {};
/// 9.0+: per-vCPU storage that inline ops can target thread-safely.
pub const qemu_plugin_scoreboard = opaque {};

/// Packs everything known about one memory access. Decode with the
/// `qemu_plugin_mem_*` accessors, or, on the hot path, with `meminfo`.
pub const qemu_plugin_meminfo_t = u32;

// ---------------------------------------------------------------------------
// Enums. C enums are `unsigned int` here (no negative enumerators); they are
// non-exhaustive so values from newer QEMUs can be represented.

/// Accepted and ignored by 7.2 (core.c:305, 320); 9.x uses R_REGS to allow
/// register reads inside the callback.
pub const qemu_plugin_cb_flags = enum(c_uint) {
    no_regs = 0,
    r_regs = 1,
    rw_regs = 2,
    _,
};

pub const qemu_plugin_mem_rw = enum(c_uint) {
    r = 1,
    w = 2,
    rw = 3,
    _,
};

/// 7.2 implements only `inline_add_u64`, as a plain, non-atomic
/// `*(u64*)ptr += imm`. Its code generator emits that add whatever `op`
/// says (accel/tcg/plugin-gen.c:441-458); only the helper path for memory
/// inline ops checks and asserts (plugins/core.c:439-445). Pass nothing
/// else on 7.2. `inline_store_u64` exists from 9.1, with scoreboards only.
pub const qemu_plugin_op = enum(c_uint) {
    inline_add_u64 = 0,
    inline_store_u64 = 1,
    _,
};

// ---------------------------------------------------------------------------
// Callback types. All run on the host thread of the vCPU concerned (in
// linux-user: the guest thread's own host thread), except where noted at
// the registration function.

pub const qemu_plugin_simple_cb_t = *const fn (id: qemu_plugin_id_t) callconv(.C) void;
pub const qemu_plugin_udata_cb_t = *const fn (id: qemu_plugin_id_t, userdata: ?*anyopaque) callconv(.C) void;
pub const qemu_plugin_vcpu_simple_cb_t = *const fn (id: qemu_plugin_id_t, vcpu_index: c_uint) callconv(.C) void;
/// Block and instruction execution callbacks. The plugin id is not passed,
/// so everything the callback needs must come through `userdata`.
pub const qemu_plugin_vcpu_udata_cb_t = *const fn (vcpu_index: c_uint, userdata: ?*anyopaque) callconv(.C) void;
pub const qemu_plugin_vcpu_tb_trans_cb_t = *const fn (id: qemu_plugin_id_t, tb: *qemu_plugin_tb) callconv(.C) void;
/// `vaddr` is the guest virtual address, zero-extended from target_ulong.
/// Fires after the access completed (never for an access that faulted).
pub const qemu_plugin_vcpu_mem_cb_t = *const fn (
    vcpu_index: c_uint,
    info: qemu_plugin_meminfo_t,
    vaddr: u64,
    userdata: ?*anyopaque,
) callconv(.C) void;
/// `num` is the guest's own syscall number (e.g. 4000+n on MIPS o32).
/// Arguments are abi_long, so on 32-bit guests they arrive *sign*-extended
/// to 64 bits: mask with 0xffffffff before using them as addresses.
pub const qemu_plugin_vcpu_syscall_cb_t = *const fn (
    id: qemu_plugin_id_t,
    vcpu_index: c_uint,
    num: i64,
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    a5: u64,
    a6: u64,
    a7: u64,
    a8: u64,
) callconv(.C) void;
/// `ret` is the guest-visible result (negative target errno), or QEMU's
/// internal -512 (ERESTARTSYS: the syscall will be issued again) / -513
/// (ESIGRETURN: sigreturn, registers were restored).
pub const qemu_plugin_vcpu_syscall_ret_cb_t = *const fn (
    id: qemu_plugin_id_t,
    vcpu_idx: c_uint,
    num: i64,
    ret: i64,
) callconv(.C) void;

// ---------------------------------------------------------------------------
// Plugin lifetime

/// Asynchronous: callbacks keep arriving until `cb` runs. Calling it from
/// `qemu_plugin_install` aborts QEMU; return non-zero from install instead.
pub extern fn qemu_plugin_uninstall(id: qemu_plugin_id_t, cb: ?qemu_plugin_simple_cb_t) void;
/// Unregisters all callbacks (flushing every translated block); `cb` runs
/// once that is done, in an exclusive section.
pub extern fn qemu_plugin_reset(id: qemu_plugin_id_t, cb: ?qemu_plugin_simple_cb_t) void;

// ---------------------------------------------------------------------------
// Plugin-level registrations. Passing null unregisters (core.c:176-196).

/// Fires from cpu_exec_realizefn (cpu.c:151), i.e. on the thread that
/// *creates* the vCPU: for a guest clone that is the parent's host thread,
/// before the child's host thread exists. Bind per-thread state lazily on
/// the first callback that runs on the new thread, not here. vCPU 0's init
/// runs on the main thread before the guest binary is loaded.
pub extern fn qemu_plugin_register_vcpu_init_cb(id: qemu_plugin_id_t, cb: ?qemu_plugin_vcpu_simple_cb_t) void;
/// Fires only when a guest thread exits while others remain (TARGET_NR_exit,
/// syscall.c:8624), on that thread. Never for the last thread, exit_group,
/// or a fatal signal.
pub extern fn qemu_plugin_register_vcpu_exit_cb(id: qemu_plugin_id_t, cb: ?qemu_plugin_vcpu_simple_cb_t) void;
/// Called under mmap_lock, which serialises all translation in linux-user;
/// blocking here also stalls every other thread's translation and mmap.
/// May be called again for the same guest PC (re-translation after a flush,
/// code-buffer overflow, one-instruction EXCP_ATOMIC blocks) and a result
/// may be thrown away; userdata allocated here is only safely freed in the
/// flush callback.
pub extern fn qemu_plugin_register_vcpu_tb_trans_cb(id: qemu_plugin_id_t, cb: ?qemu_plugin_vcpu_tb_trans_cb_t) void;
/// `num`/args as described at `qemu_plugin_vcpu_syscall_cb_t`. Fires for
/// exit and exit_group too (before QEMU acts on them).
pub extern fn qemu_plugin_register_vcpu_syscall_cb(id: qemu_plugin_id_t, cb: ?qemu_plugin_vcpu_syscall_cb_t) void;
/// Never fires for exit/exit_group (they do not return).
pub extern fn qemu_plugin_register_vcpu_syscall_ret_cb(id: qemu_plugin_id_t, cb: ?qemu_plugin_vcpu_syscall_ret_cb_t) void;
/// Runs once per QEMU process at guest exit_group / last-thread exit (after
/// every other callback was unregistered and the code cache flushed), and
/// in a forked child again when that child exits. Not run when the guest
/// dies of a signal (QEMU re-raises it on itself) or QEMU is killed. If QEMU
/// itself calls exit() (early errors), libc's atexit runs it too, with the
/// other callbacks still registered (plugins/core.c:577).
pub extern fn qemu_plugin_register_atexit_cb(id: qemu_plugin_id_t, cb: ?qemu_plugin_udata_cb_t, userdata: ?*anyopaque) void;
/// Runs after the whole code cache was dropped, in an exclusive section (no
/// vCPU is inside translated code), so every per-block userdata is dead.
pub extern fn qemu_plugin_register_flush_cb(id: qemu_plugin_id_t, cb: ?qemu_plugin_simple_cb_t) void;
pub extern fn qemu_plugin_register_vcpu_idle_cb(id: qemu_plugin_id_t, cb: ?qemu_plugin_vcpu_simple_cb_t) void;
pub extern fn qemu_plugin_register_vcpu_resume_cb(id: qemu_plugin_id_t, cb: ?qemu_plugin_vcpu_simple_cb_t) void;
/// Calls `cb` for each vCPU QEMU's plugin layer knows, on the calling
/// thread. After a guest fork the child's table still lists the parent's
/// other threads (fork drops them without an exit callback).
pub extern fn qemu_plugin_vcpu_for_each(id: qemu_plugin_id_t, cb: ?qemu_plugin_vcpu_simple_cb_t) void;

// ---------------------------------------------------------------------------
// Per-block / per-instruction instrumentation; only valid inside the
// translation callback, on the handles it was given.

/// The callback runs at block entry, before the block's first instruction.
pub extern fn qemu_plugin_register_vcpu_tb_exec_cb(
    tb: *qemu_plugin_tb,
    cb: qemu_plugin_vcpu_udata_cb_t,
    flags: qemu_plugin_cb_flags,
    userdata: ?*anyopaque,
) void;
/// Emits `*(u64*)ptr += imm` into the block prologue: no call, but not
/// atomic either, so concurrent guest threads lose increments on a shared
/// address. Gone in 9.0 (see `weak`).
pub extern fn qemu_plugin_register_vcpu_tb_exec_inline(
    tb: *qemu_plugin_tb,
    op: qemu_plugin_op,
    ptr: *anyopaque,
    imm: u64,
) void;
/// The callback runs before the instruction executes (it is emitted before
/// the instruction's own code), so it also fires for an instruction that
/// then faults.
pub extern fn qemu_plugin_register_vcpu_insn_exec_cb(
    insn: *qemu_plugin_insn,
    cb: qemu_plugin_vcpu_udata_cb_t,
    flags: qemu_plugin_cb_flags,
    userdata: ?*anyopaque,
) void;
/// Same placement as the insn callback, same non-atomicity as the tb
/// inline op. Gone in 9.0.
pub extern fn qemu_plugin_register_vcpu_insn_exec_inline(
    insn: *qemu_plugin_insn,
    op: qemu_plugin_op,
    ptr: *anyopaque,
    imm: u64,
) void;
/// One call per memory access of the instruction, after the access. In 7.2
/// the `rw` filter is off by one for inline-generated accesses
/// (accel/tcg/plugin-gen.c:507 tests `cb->rw & (w + 1)` with `w` already
/// the rw enum): `.r` selects the stores and `.w` everything. Register `.rw`
/// and classify with `qemu_plugin_mem_is_store` / `meminfo.isStore`.
pub extern fn qemu_plugin_register_vcpu_mem_cb(
    insn: *qemu_plugin_insn,
    cb: qemu_plugin_vcpu_mem_cb_t,
    flags: qemu_plugin_cb_flags,
    rw: qemu_plugin_mem_rw,
    userdata: ?*anyopaque,
) void;
/// Gone in 9.0.
pub extern fn qemu_plugin_register_vcpu_mem_inline(
    insn: *qemu_plugin_insn,
    rw: qemu_plugin_mem_rw,
    op: qemu_plugin_op,
    ptr: *anyopaque,
    imm: u64,
) void;

// ---------------------------------------------------------------------------
// Translation-time queries

/// x86 guests on 7.2: when a later instruction of the block crosses a page
/// boundary, the translator backs it out and ends the block before it
/// (target/i386/tcg/translate.c:3042-3057), but the plugin's count is not
/// trimmed: the last instruction is a phantom whose callbacks were removed
/// and never fire; it is re-translated as the next block's first. Summing
/// `n_insns` per executed block overcounts (measured: 124 of 107657 for
/// /bin/true). Fixed-width ISAs (MIPS, AArch64, RISC-V, ARM) end the block
/// before such an instruction instead, so counts are exact there.
pub extern fn qemu_plugin_tb_n_insns(tb: *const qemu_plugin_tb) usize;
pub extern fn qemu_plugin_tb_vaddr(tb: *const qemu_plugin_tb) u64;
/// Null when `idx >= n_insns`.
pub extern fn qemu_plugin_tb_get_insn(tb: *const qemu_plugin_tb, idx: usize) ?*qemu_plugin_insn;
/// 7.2 signature: a pointer to `insn_size` raw instruction bytes, in guest
/// memory order, valid during the translation callback only. 9.1 (API 3)
/// changed the same symbol to `(insn, dest, len) -> size_t` copying into
/// `dest`; check `info.version.cur < 3` before calling this declaration,
/// or read the bytes at `insn_haddr` instead (user mode).
pub extern fn qemu_plugin_insn_data(insn: *const qemu_plugin_insn) *const anyopaque;
pub extern fn qemu_plugin_insn_size(insn: *const qemu_plugin_insn) usize;
pub extern fn qemu_plugin_insn_vaddr(insn: *const qemu_plugin_insn) u64;
/// In linux-user this is g2h(vaddr) = vaddr + guest_base for every target
/// and never null, so `haddr - vaddr` recovers guest_base
/// (accel/tcg/plugin-gen.c:902-912, accel/tcg/user-exec.c:199-210). Null is
/// possible only in system mode (code not in RAM).
pub extern fn qemu_plugin_insn_haddr(insn: *const qemu_plugin_insn) ?*anyopaque;
/// g_malloc'd; free with `g_free`. Slow (runs the disassembler).
pub extern fn qemu_plugin_insn_disas(insn: *const qemu_plugin_insn) ?[*:0]u8;
/// Static string owned by QEMU, or null when no symbol is known.
pub extern fn qemu_plugin_insn_symbol(insn: *const qemu_plugin_insn) ?[*:0]const u8;

// ---------------------------------------------------------------------------
// Memory-access queries (usable inside a memory callback)

pub extern fn qemu_plugin_mem_size_shift(info: qemu_plugin_meminfo_t) c_uint;
pub extern fn qemu_plugin_mem_is_sign_extended(info: qemu_plugin_meminfo_t) bool;
pub extern fn qemu_plugin_mem_is_big_endian(info: qemu_plugin_meminfo_t) bool;
pub extern fn qemu_plugin_mem_is_store(info: qemu_plugin_meminfo_t) bool;
/// Always null in user mode.
pub extern fn qemu_plugin_get_hwaddr(info: qemu_plugin_meminfo_t, vaddr: u64) ?*qemu_plugin_hwaddr;

/// Inline decoding of a meminfo, because one out-of-line accessor call per
/// access is measurable on the hot path. Layout as built by 7.2:
/// `meminfo = MemOpIdx | rw << 16` (include/qemu/plugin.h:46), `MemOpIdx =
/// MemOp << 4 | mmu_idx` (include/exec/memopidx.h:30), MemOp bits from
/// include/exec/memop.h (MO_SIZE 0x7, MO_SIGN 0x8, MO_BSWAP 0x10). Internal
/// to QEMU, not API: check it against the accessors once per process.
pub const meminfo = struct {
    pub inline fn sizeShift(info: qemu_plugin_meminfo_t) u3 {
        return @truncate(info >> 4);
    }
    pub inline fn isSignExtended(info: qemu_plugin_meminfo_t) bool {
        return info & (0x08 << 4) != 0;
    }
    /// MO_BSWAP means "opposite of host order"; on a little-endian host
    /// that is big-endian, which is what `qemu_plugin_mem_is_big_endian`
    /// reports.
    pub inline fn isByteSwapped(info: qemu_plugin_meminfo_t) bool {
        return info & (0x10 << 4) != 0;
    }
    pub inline fn isStore(info: qemu_plugin_meminfo_t) bool {
        return (info >> 16) & @intFromEnum(qemu_plugin_mem_rw.w) != 0;
    }
    pub inline fn rw(info: qemu_plugin_meminfo_t) qemu_plugin_mem_rw {
        return @enumFromInt((info >> 16) & 3);
    }
    /// The bits above, packed: size (3), sign, byte swap, then store.
    pub const flags_indexes = 64;
    pub inline fn flagsIndex(info: qemu_plugin_meminfo_t) u32 {
        return (info >> 4) & 0x1f | ((info >> 17) & 1) << 5;
    }
    pub fn fromFlagsIndex(index: u32) qemu_plugin_meminfo_t {
        return (index & 0x1f) << 4 | (index >> 5) << 17;
    }
};

// ---------------------------------------------------------------------------
// Miscellaneous

/// Goes through qemu_log_mask(CPU_LOG_PLUGIN): printed only when QEMU runs
/// with `-d plugin` (to stderr, or to `-D file`); silent otherwise.
pub extern fn qemu_plugin_outs(string: [*:0]const u8) void;
/// Parses the value half of a "name=value" argument as on/yes/true/off/
/// no/false; false when it is none of them.
pub extern fn qemu_plugin_bool_parse(name: [*:0]const u8, val: [*:0]const u8, ret: *bool) bool;
// qemu_plugin_path_to_binary: see `weak` (10.0's linux-user binaries do
// not export it).
/// Main executable's text start/end and entry point (guest addresses);
/// same `current_cpu` caveat as `qemu_plugin_path_to_binary`, and, like it,
/// missing from QEMU 10.0's linux-user binaries: unused, keep it that way.
pub extern fn qemu_plugin_start_code() u64;
pub extern fn qemu_plugin_end_code() u64;
pub extern fn qemu_plugin_entry_code() u64;
/// -1 in user mode, where vCPUs are guest threads and come and go. Gone in
/// 9.0 (replaced by `weak.qemu_plugin_num_vcpus()`).
pub extern fn qemu_plugin_n_vcpus() c_int;
/// -1 in user mode. Gone in 9.0.
pub extern fn qemu_plugin_n_max_vcpus() c_int;

/// Frees strings QEMU hands out (`insn_disas`, `path_to_binary`). glib is
/// always loaded in a QEMU process, so this resolves there.
pub extern fn g_free(mem: ?*anyopaque) void;

// ---------------------------------------------------------------------------
// Newer API, and the 7.2 functions that 9.0 removed, as weak references:
// each `weak.*()` returns null when the running QEMU does not export the
// function, so using them never prevents the library from loading.
// Signatures are those of QEMU 10.2's header, unchanged since the version
// noted. Resolve once (e.g. in install) and keep the pointer.

/// 9.0+: entry `offset` bytes into each vCPU's element of a scoreboard.
/// Passed by value.
pub const qemu_plugin_u64 = extern struct {
    score: ?*qemu_plugin_scoreboard,
    offset: usize,
};

pub const qemu_plugin_mem_value_type = enum(c_uint) {
    u8 = 0,
    u16 = 1,
    u32 = 2,
    u64 = 3,
    u128 = 4,
    _,
};

/// 9.2+: the value a memory callback's access loaded or stored.
pub const qemu_plugin_mem_value = extern struct {
    type: qemu_plugin_mem_value_type,
    data: extern union {
        u8: u8,
        u16: u16,
        u32: u32,
        u64: u64,
        u128: extern struct { low: u64, high: u64 },
    },
};

/// glib's GByteArray, as filled by `qemu_plugin_read_memory_vaddr`.
pub const GByteArray = extern struct {
    data: ?[*]u8,
    len: c_uint,
};

/// Referencing one function both through its strong declaration above and
/// through `weak` makes the whole library's reference weak (the linker
/// merges them): the load no longer fails when it is missing, and the strong
/// call jumps through null instead. Pick one form per function.
pub const weak = struct {
    /// Zig 0.11 treats the result of `@extern` as comptime-known and folds
    /// `p == null` / `if (p)` on it to "non-null" even for an unresolved
    /// weak symbol (measured: the pointer prints as null, the test says
    /// otherwise). Laundering it through a volatile load forces the check
    /// to happen at run time, where the dynamic linker's 0 is seen.
    pub fn lookup(comptime T: type, comptime name: []const u8) ?*const T {
        var p: ?*const T = @extern(?*const T, .{ .name = name, .linkage = .Weak });
        return @as(*volatile ?*const T, &p).*;
    }

    // Present in 7.2 and 8.x, removed in 9.0. Use these instead of the
    // strong declarations above when the library must load on 9.x too.
    pub fn qemu_plugin_register_vcpu_tb_exec_inline() ?*const fn (*qemu_plugin_tb, qemu_plugin_op, *anyopaque, u64) callconv(.C) void {
        return lookup(fn (*qemu_plugin_tb, qemu_plugin_op, *anyopaque, u64) callconv(.C) void, "qemu_plugin_register_vcpu_tb_exec_inline");
    }
    pub fn qemu_plugin_register_vcpu_insn_exec_inline() ?*const fn (*qemu_plugin_insn, qemu_plugin_op, *anyopaque, u64) callconv(.C) void {
        return lookup(fn (*qemu_plugin_insn, qemu_plugin_op, *anyopaque, u64) callconv(.C) void, "qemu_plugin_register_vcpu_insn_exec_inline");
    }
    pub fn qemu_plugin_register_vcpu_mem_inline() ?*const fn (*qemu_plugin_insn, qemu_plugin_mem_rw, qemu_plugin_op, *anyopaque, u64) callconv(.C) void {
        return lookup(fn (*qemu_plugin_insn, qemu_plugin_mem_rw, qemu_plugin_op, *anyopaque, u64) callconv(.C) void, "qemu_plugin_register_vcpu_mem_inline");
    }
    pub fn qemu_plugin_n_vcpus() ?*const fn () callconv(.C) c_int {
        return lookup(fn () callconv(.C) c_int, "qemu_plugin_n_vcpus");
    }

    // 9.0 (API 2): scoreboards and thread-safe inline ops.
    pub fn qemu_plugin_num_vcpus() ?*const fn () callconv(.C) c_int {
        return lookup(fn () callconv(.C) c_int, "qemu_plugin_num_vcpus");
    }
    pub fn qemu_plugin_scoreboard_new() ?*const fn (element_size: usize) callconv(.C) ?*qemu_plugin_scoreboard {
        return lookup(fn (usize) callconv(.C) ?*qemu_plugin_scoreboard, "qemu_plugin_scoreboard_new");
    }
    pub fn qemu_plugin_scoreboard_free() ?*const fn (score: *qemu_plugin_scoreboard) callconv(.C) void {
        return lookup(fn (*qemu_plugin_scoreboard) callconv(.C) void, "qemu_plugin_scoreboard_free");
    }
    /// The returned address moves when QEMU grows the scoreboard for a new
    /// vCPU: do not cache it across callbacks.
    pub fn qemu_plugin_scoreboard_find() ?*const fn (score: *qemu_plugin_scoreboard, vcpu_index: c_uint) callconv(.C) ?*anyopaque {
        return lookup(fn (*qemu_plugin_scoreboard, c_uint) callconv(.C) ?*anyopaque, "qemu_plugin_scoreboard_find");
    }
    pub fn qemu_plugin_u64_sum() ?*const fn (entry: qemu_plugin_u64) callconv(.C) u64 {
        return lookup(fn (qemu_plugin_u64) callconv(.C) u64, "qemu_plugin_u64_sum");
    }
    pub fn qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu() ?*const fn (tb: *qemu_plugin_tb, op: qemu_plugin_op, entry: qemu_plugin_u64, imm: u64) callconv(.C) void {
        return lookup(fn (*qemu_plugin_tb, qemu_plugin_op, qemu_plugin_u64, u64) callconv(.C) void, "qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu");
    }
    pub fn qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu() ?*const fn (insn: *qemu_plugin_insn, op: qemu_plugin_op, entry: qemu_plugin_u64, imm: u64) callconv(.C) void {
        return lookup(fn (*qemu_plugin_insn, qemu_plugin_op, qemu_plugin_u64, u64) callconv(.C) void, "qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu");
    }
    pub fn qemu_plugin_register_vcpu_mem_inline_per_vcpu() ?*const fn (insn: *qemu_plugin_insn, rw: qemu_plugin_mem_rw, op: qemu_plugin_op, entry: qemu_plugin_u64, imm: u64) callconv(.C) void {
        return lookup(fn (*qemu_plugin_insn, qemu_plugin_mem_rw, qemu_plugin_op, qemu_plugin_u64, u64) callconv(.C) void, "qemu_plugin_register_vcpu_mem_inline_per_vcpu");
    }

    /// g_malloc'd copy of the guest executable's path (free with `g_free`).
    /// Dereferences `current_cpu`: call it from a translation or execution
    /// callback, never from install or the first vcpu_init. Declared by
    /// every header since 4.2, yet QEMU 10.0's qemu-<arch> binaries leave it
    /// out of their dynamic symbols (its user-mode object is dropped at
    /// link time), so a hard reference makes the library unloadable there.
    pub fn qemu_plugin_path_to_binary() ?*const fn () callconv(.C) ?[*:0]u8 {
        return lookup(fn () callconv(.C) ?[*:0]u8, "qemu_plugin_path_to_binary");
    }

    // 9.2: memory values and guest-memory reads.
    pub fn qemu_plugin_mem_get_value() ?*const fn (info: qemu_plugin_meminfo_t) callconv(.C) qemu_plugin_mem_value {
        return lookup(fn (qemu_plugin_meminfo_t) callconv(.C) qemu_plugin_mem_value, "qemu_plugin_mem_get_value");
    }
    pub fn qemu_plugin_read_memory_vaddr() ?*const fn (addr: u64, data: *GByteArray, len: usize) callconv(.C) bool {
        return lookup(fn (u64, *GByteArray, usize) callconv(.C) bool, "qemu_plugin_read_memory_vaddr");
    }

    // 9.0: registers, from a vCPU callback (get_registers: any; read_register:
    // one registered with QEMU_PLUGIN_CB_R_REGS).
    pub fn qemu_plugin_get_registers() ?*const fn () callconv(.C) ?*GArray {
        return lookup(fn () callconv(.C) ?*GArray, "qemu_plugin_get_registers");
    }
    pub fn qemu_plugin_read_register() ?*const fn (handle: *qemu_plugin_register, buf: *GByteArray) callconv(.C) c_int {
        return lookup(fn (*qemu_plugin_register, *GByteArray) callconv(.C) c_int, "qemu_plugin_read_register");
    }
};

/// 9.0+: an opaque register handle.
pub const qemu_plugin_register = opaque {};

/// 9.0+: one entry of `qemu_plugin_get_registers`'s array.
pub const qemu_plugin_reg_descriptor = extern struct {
    handle: *qemu_plugin_register,
    name: [*:0]const u8,
    feature: ?[*:0]const u8,
};

/// glib's GArray header (elements follow `data`).
pub const GArray = extern struct {
    data: ?[*]u8,
    len: c_uint,
};

pub extern fn g_array_free(array: *GArray, free_segment: c_int) ?[*]u8;
pub extern fn g_byte_array_new() ?*GByteArray;
pub extern fn g_byte_array_set_size(array: *GByteArray, length: c_uint) ?*GByteArray;

/// The API version a plugin declares to the running QEMU, through its
/// exported `qemu_plugin_version`, which QEMU reads right after dlopen (a
/// constructor can set it first). 7.2 to 8.2 accept 0..1; 9.0 raised the
/// minimum to 2 (and is the first with scoreboards, so their presence tells
/// which side of that line this QEMU is on). Nothing QEMU does depends on the
/// declared version beyond that check: what the plugin may call is what the
/// running QEMU exports (see `PluginApi`).
pub fn acceptedVersion() c_int {
    return if (weak.qemu_plugin_scoreboard_new() != null) 2 else 1;
}

/// What the running QEMU's plugin API offers beyond what every version from
/// 7.2 has, resolved once at install (`weak` lookups are not free).
pub const PluginApi = struct {
    /// `info.version.cur`: 1 on 7.2-8.2, 2 on 9.0, 3 on 9.1, 4 on 9.2-10.0.
    version: c_int,
    /// 7.2-8.2: inline add to a fixed address (not thread-safe).
    insn_exec_inline: ?*const fn (*qemu_plugin_insn, qemu_plugin_op, *anyopaque, u64) callconv(.C) void,
    /// 9.0+: per-vCPU scoreboards and inline ops on them (thread-safe).
    scoreboard_new: ?*const fn (usize) callconv(.C) ?*qemu_plugin_scoreboard,
    scoreboard_find: ?*const fn (*qemu_plugin_scoreboard, c_uint) callconv(.C) ?*anyopaque,
    insn_exec_inline_per_vcpu: ?*const fn (*qemu_plugin_insn, qemu_plugin_op, qemu_plugin_u64, u64) callconv(.C) void,
    /// Declared by every version, missing from 10.0's linux-user binaries.
    path_to_binary: ?*const fn () callconv(.C) ?[*:0]u8,
    /// 9.2+ (API 4): the value a memory access loaded or stored.
    mem_get_value: ?*const fn (qemu_plugin_meminfo_t) callconv(.C) qemu_plugin_mem_value,
    /// 9.0+: the guest's registers.
    get_registers: ?*const fn () callconv(.C) ?*GArray,
    read_register: ?*const fn (*qemu_plugin_register, *GByteArray) callconv(.C) c_int,

    pub fn resolve(version_cur: c_int) PluginApi {
        return .{
            .version = version_cur,
            .path_to_binary = weak.qemu_plugin_path_to_binary(),
            .insn_exec_inline = weak.qemu_plugin_register_vcpu_insn_exec_inline(),
            .scoreboard_new = weak.qemu_plugin_scoreboard_new(),
            .scoreboard_find = weak.qemu_plugin_scoreboard_find(),
            .insn_exec_inline_per_vcpu = weak.qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(),
            // The symbol exists from API 4; a QEMU that exports it reports 4+.
            .mem_get_value = if (version_cur >= 4) weak.qemu_plugin_mem_get_value() else null,
            .get_registers = weak.qemu_plugin_get_registers(),
            .read_register = weak.qemu_plugin_read_register(),
        };
    }

    /// Raw instruction bytes: the 7.2 pointer-returning
    /// `qemu_plugin_insn_data` for API < 3, the copying form of the same
    /// symbol for API >= 3 (9.1+). Returns the bytes written to `dest`.
    pub fn insnBytes(self: PluginApi, insn: *const qemu_plugin_insn, dest: []u8) []const u8 {
        return dest[0..insnBytesRaw(self.version, insn, dest)];
    }
};

/// Raw instruction bytes whatever the API version: the 7.2 pointer-returning
/// `qemu_plugin_insn_data` for API < 3, the copying form of the same symbol
/// for API >= 3 (9.1+). Returns the number of bytes written to `dest`.
fn insnBytesRaw(api_cur: c_int, insn: *const qemu_plugin_insn, dest: []u8) usize {
    const sym: *const anyopaque = @ptrCast(&qemu_plugin_insn_data);
    if (api_cur >= 3) {
        const copy: *const fn (*const qemu_plugin_insn, *anyopaque, usize) callconv(.C) usize = @ptrCast(sym);
        return copy(insn, dest.ptr, dest.len);
    }
    const n = @min(qemu_plugin_insn_size(insn), dest.len);
    const src: [*]const u8 = @ptrCast(qemu_plugin_insn_data(insn));
    @memcpy(dest[0..n], src[0..n]);
    return n;
}

test "qemu_info_t matches the C layout" {
    try std.testing.expectEqual(@as(usize, 8), @offsetOf(qemu_info_t, "version"));
    try std.testing.expectEqual(@as(usize, 16), @offsetOf(qemu_info_t, "system_emulation"));
    try std.testing.expectEqual(@as(usize, 20), @offsetOf(qemu_info_t, "system"));
    try std.testing.expectEqual(@as(usize, 32), @sizeOf(qemu_info_t));
}

test "meminfo decoding follows the 7.2 layout" {
    // MO_32 | MO_SIGN | MO_BSWAP, mmu_idx 1, store: ((2|8|0x10) << 4 | 1) | 2 << 16
    const info: qemu_plugin_meminfo_t = ((2 | 0x08 | 0x10) << 4 | 1) | 2 << 16;
    try std.testing.expectEqual(@as(u3, 2), meminfo.sizeShift(info));
    try std.testing.expect(meminfo.isSignExtended(info));
    try std.testing.expect(meminfo.isByteSwapped(info));
    try std.testing.expect(meminfo.isStore(info));
    try std.testing.expectEqual(qemu_plugin_mem_rw.w, meminfo.rw(info));
    // The packed index keeps every bit the flags are made of, and only those.
    const packed_info = meminfo.fromFlagsIndex(meminfo.flagsIndex(info));
    try std.testing.expectEqual(info & ~@as(qemu_plugin_meminfo_t, 0xf), packed_info);
    for (0..meminfo.flags_indexes) |index| try std.testing.expectEqual(@as(u32, @intCast(index)), meminfo.flagsIndex(meminfo.fromFlagsIndex(@intCast(index))));
}

test "weak references resolve to null when absent, to the function when present" {
    try std.testing.expect(weak.lookup(fn () callconv(.C) void, "qemu_plugin_no_such_function") == null);
    try std.testing.expect(weak.qemu_plugin_num_vcpus() == null);
    // Outside QEMU nothing defines the plugin API; a libc function stands in
    // for "present" when the test links libc.
    if (@import("builtin").link_libc) {
        const abs = weak.lookup(fn (c_int) callconv(.C) c_int, "abs") orelse return error.TestUnexpectedResult;
        try std.testing.expectEqual(@as(c_int, 4), abs(-4));
    }
}
