// SPDX-License-Identifier: MIT
//! Decodes one chunk of trace records natively for the consumer: counts its
//! events and, when asked, expands it into the batch form's columns (one pc
//! per executed instruction, one row per memory access) in execution order.
//! It is the fast path of src/runtime/walk.ts, which stays the reference:
//! the ordering rules are records.zig's, and a Bun test checks that both give
//! the same columns for every test guest. The chunk lives in memory the
//! producer can still write, so every size, count and block id is checked
//! on every pass, and every column write against its capacity.
const std = @import("std");
const records = @import("records.zig");
const Kind = records.Kind;

const BatchDecoder = @This();

/// Words of the largest chunk decoded (mempipe's chunk_bytes_max / 4).
pub const chunk_words_max: u32 = 4 * 1024 * 1024;

pub const Error = error{ Corrupt, ColumnsTooSmall, OutOfMemory };

/// A chunk's event counts. Read by Bun as eight u32s (src/runtime/NativeDecoder.ts).
pub const Counts = extern struct {
    instructions: u32 = 0,
    reads: u32 = 0,
    writes: u32 = 0,
    syscalls: u32 = 0,
    /// syscall, sysret, mmap and munmap records: events the columns do not carry.
    others: u32 = 0,
    /// 1 when the stream's `exit` record was in the chunk.
    exited: u32 = 0,
    /// Word offset of the first record that failed validation.
    corrupt_word: u32 = 0,
    /// Exec records that carry their instruction's size (records.zig): the
    /// columns do not, so a per-event tracer gets these chunks walked.
    sized_execs: u32 = 0,
};

/// Where the columns go; written by Bun as twelve u64s (pointers, capacities).
pub const Columns = extern struct {
    exec_pc: [*]f64,
    exec_capacity: u64,
    mem_capacity: u64,
    mem_pc: [*]f64,
    mem_addr: [*]f64,
    mem_size: [*]u8,
    mem_is_store: [*]u8,
    mem_value_lo: [*]u32,
    mem_value_hi: [*]u32,
    mem_exec_index: [*]u32,
    /// Instructions before each access in the chunk (the per-event form
    /// interleaves by it: an access can precede the chunk's first instruction).
    mem_execs_before: [*]u32,
    /// Each access's head from its lowest flag up (head >> mem_size_shift_bit:
    /// size, store, sign, big endian).
    mem_flags: [*]u8,
};

const Slot = struct { stamp: u32, id: u32, block: Block };

/// A block as this chunk defines it: its length, and where its PCs are in
/// `def_pcs` (when filling columns).
const Block = struct { insns: u32, pcs_at: u32 };

const empty_slot = Slot{ .stamp = 0, .id = 0, .block = .{ .insns = 0, .pcs_at = 0 } };

/// Blocks of at most this many executed instructions are copied into the
/// column as one fixed-size vector (no loop, no mispredicted exit): four in
/// five blocks in busybox gzip.
const copy_insns_fixed = 8;

allocator: std.mem.Allocator,
/// Block id -> its definition in the current chunk: open addressing,
/// entries of older chunks told apart by `stamp`.
slots: []Slot = &.{},
/// Word offsets of records waiting for the block that owns them.
pending: []u32 = &.{},
/// The PCs of the chunk's block definitions, converted once per chunk to the
/// columns' f64 (a block is used hundreds of times per chunk).
def_pcs: []f64 = &.{},
stamp: u32 = 0,
/// Definitions in the table for the current chunk.
defined: u32 = 0,

pub fn init(allocator: std.mem.Allocator) BatchDecoder {
    return .{ .allocator = allocator };
}

pub fn deinit(self: *BatchDecoder) void {
    self.allocator.free(self.slots);
    self.allocator.free(self.pending);
    self.allocator.free(self.def_pcs);
    self.* = undefined;
}

/// Slots the definition table starts with: several times the distinct
/// blocks of a typical chunk (~50 in busybox gzip), and small enough to stay
/// in the L1 cache.
const slots_initial: u32 = 1024;

/// Grows the tables for a chunk of `word_count` words (once per size seen,
/// never per chunk).
fn reserve(self: *BatchDecoder, word_count: u32) Error!void {
    std.debug.assert(word_count <= chunk_words_max);
    if (self.slots.len == 0) {
        self.slots = try self.allocator.alloc(Slot, slots_initial);
        self.clearSlots();
    }
    if (self.pending.len < word_count) {
        self.allocator.free(self.pending);
        self.pending = &.{};
        self.pending = try self.allocator.alloc(u32, word_count);
    }
    // Definitions hold at most one pc per word; the fixed-size copies read
    // up to `2 * copy_insns_fixed` past the last one.
    if (self.def_pcs.len < word_count + 2 * copy_insns_fixed) {
        self.allocator.free(self.def_pcs);
        self.def_pcs = &.{};
        self.def_pcs = try self.allocator.alloc(f64, word_count + 2 * copy_insns_fixed);
        @memset(self.def_pcs, 0);
    }
}

fn clearSlots(self: *BatchDecoder) void {
    @memset(self.slots, empty_slot);
    self.stamp = 0;
}

fn nextStamp(self: *BatchDecoder) void {
    self.defined = 0;
    self.stamp +%= 1;
    if (self.stamp == 0) {
        self.clearSlots();
        self.stamp = 1;
    }
}

fn slotIndex(slots: []const Slot, id: u32) usize {
    const hash = id *% 0x9E3779B1;
    return hash & (slots.len - 1);
}

fn define(self: *BatchDecoder, id: u32, block: Block) Error!void {
    if (2 * (self.defined + 1) > self.slots.len) try self.grow();
    var index = slotIndex(self.slots, id);
    var probes: usize = 0;
    while (probes < self.slots.len) : (probes += 1) {
        const slot = &self.slots[index];
        if (slot.stamp != self.stamp or slot.id == id) {
            // A block defined twice in a chunk: the later definition wins, as in walk.ts.
            if (slot.stamp != self.stamp) self.defined += 1;
            slot.* = .{ .stamp = self.stamp, .id = id, .block = block };
            return;
        }
        index = (index + 1) & (self.slots.len - 1);
    }
    unreachable; // the table is kept at most half full
}

/// Doubles the table, keeping the current chunk's definitions.
fn grow(self: *BatchDecoder) Error!void {
    const old = self.slots;
    std.debug.assert(old.len < std.math.maxInt(u32) / 2);
    const slots = try self.allocator.alloc(Slot, old.len * 2);
    @memset(slots, empty_slot);
    for (old) |slot| {
        if (slot.stamp != self.stamp) continue;
        var index = slotIndex(slots, slot.id);
        while (slots[index].stamp == self.stamp) index = (index + 1) & (slots.len - 1);
        slots[index] = slot;
    }
    self.allocator.free(old);
    self.slots = slots;
}

fn definition(self: *const BatchDecoder, id: u32) ?Block {
    return lookup(self.slots, self.stamp, id);
}

inline fn lookup(slots: []const Slot, stamp: u32, id: u32) ?Block {
    var index = slotIndex(slots, id);
    var probes: usize = 0;
    while (probes < slots.len) : (probes += 1) {
        const slot = &slots[index];
        if (slot.stamp != stamp) return null;
        if (slot.id == id) return slot.block;
        index = (index + 1) & (slots.len - 1);
    }
    return null;
}

/// Counts the chunk's events (and validates it) without expanding blocks.
pub fn count(self: *BatchDecoder, words: []const u32, addr_words: u32, counts: *Counts) Error!void {
    try self.walk(words, addr_words, null, counts);
}

/// Counts the chunk's events and fills `columns` in execution order.
pub fn fill(self: *BatchDecoder, words: []const u32, addr_words: u32, columns: *const Columns, counts: *Counts) Error!void {
    try self.walk(words, addr_words, columns, counts);
}

fn walk(self: *BatchDecoder, words: []const u32, addr_words: u32, columns: ?*const Columns, counts: *Counts) Error!void {
    std.debug.assert(addr_words == 1 or addr_words == 2);
    counts.* = .{};
    if (words.len > chunk_words_max) return error.Corrupt;
    try self.reserve(@intCast(words.len));
    self.nextStamp();
    switch (addr_words) {
        inline 1, 2 => |aw| {
            var walker = Walker(aw){ .decoder = self, .words = words, .columns = columns, .counts = counts };
            if (columns == null) try walker.count() else try walker.fill();
            if (columns) |c| {
                std.debug.assert(walker.exec <= c.exec_capacity);
                std.debug.assert(walker.mem <= c.mem_capacity);
            }
        },
        else => unreachable,
    }
}

/// One pass over one chunk of a guest whose addresses take `addr_words`
/// words; mirrors RecordWalker.walk in src/runtime/walk.ts.
fn Walker(comptime addr_words: u32) type {
    return struct {
        const Self = @This();

        decoder: *BatchDecoder,
        words: []const u32,
        /// Null in the counting pass.
        columns: ?*const Columns,
        counts: *Counts,
        exec: u64 = 0,
        mem: u64 = 0,
        def_pcs_used: u32 = 0,
        pending_count: u32 = 0,
        /// How many of the pending records are memory accesses.
        pending_mems: u32 = 0,
        /// Pending records follow an exec record (they are that
        /// instruction's), not a block or fence record (the next block's).
        after_exec: bool = false,
        /// A block_open record whose block still collects the records after it.
        open: ?Block = null,
        open_executed: u32 = 0,
        /// Instructions of the open block already in the column: its
        /// accesses are placed as they come while each one's pc is at or
        /// after the last one placed (the patched backend writes them so);
        /// the first that is not, and everything after it, waits in
        /// `pending` for the block's end, as in walk.ts.
        open_emitted: u32 = 0,

        /// Counts and fills the columns in execution order (`count` is the
        /// pass without columns).
        fn fill(w: *Self) Error!void {
            const words = w.words;
            var at: u32 = 0;
            while (at < words.len) {
                if (w.pending_count == 0 and w.runStartsAt(at)) {
                    at = try w.fillRun(at);
                    if (at == words.len) break;
                }
                const size = try w.sizeAt(at);
                const head = words[at];
                const kind = head & 0xff;
                if (kind == @intFromEnum(Kind.block) or kind == @intFromEnum(Kind.block_open)) {
                    try w.closeOpen();
                    const block = try w.blockOf(at);
                    const executed = head >> records.count_shift;
                    w.counts.instructions += executed;
                    if (kind == @intFromEnum(Kind.block)) {
                        if (w.after_exec) try w.flush();
                        w.after_exec = false;
                        try w.expand(block, executed);
                    } else {
                        try w.flush();
                        w.after_exec = false;
                        w.open = block;
                        w.open_executed = executed;
                        w.open_emitted = 0;
                    }
                } else if (kind == @intFromEnum(Kind.block_def)) {
                    try w.define(at);
                } else if (kind == @intFromEnum(Kind.exec)) {
                    try w.closeOpen();
                    try w.flush();
                    w.counts.instructions += 1;
                    w.counts.sized_execs += @intFromBool(head >> records.exec_insn_bytes_shift != 0);
                    try w.emitExec(w.addr(at + 1));
                    w.after_exec = true;
                } else if (kind == @intFromEnum(Kind.fence)) {
                    try w.closeOpen();
                    try w.flush();
                    w.after_exec = false;
                } else {
                    w.countOther(head);
                    std.debug.assert(w.pending_count < w.decoder.pending.len);
                    w.decoder.pending[w.pending_count] = at;
                    w.pending_count += 1;
                    w.pending_mems += @intFromBool(kind == @intFromEnum(Kind.mem));
                }
                at += size;
            }
            try w.closeOpen();
            try w.flush();
        }

        /// Whether `fillRun` takes the record at `at` (calling it for nothing
        /// costs a state copy).
        fn runStartsAt(w: *const Self, at: u32) bool {
            return switch (w.words[at] & 0xff) {
                @intFromEnum(Kind.block), @intFromEnum(Kind.block_open), @intFromEnum(Kind.exec), @intFromEnum(Kind.mem) => true,
                else => false,
            };
        }

        /// Expands the block records from `start` that own no other record
        /// (a block_open is whole when a block record follows it), with
        /// nothing open or pending; returns where they end.
        inline fn blockRun(w: *Self, columns: *const Columns, start: u32, exec_in_out: *u64) Error!struct { at: u32, instructions: u32 } {
            const words = w.words;
            const slots = w.decoder.slots;
            const stamp = w.decoder.stamp;
            const def_pcs = w.decoder.def_pcs;
            var exec = exec_in_out.*;
            defer exec_in_out.* = exec;
            var instructions: u32 = 0;
            var at = start;
            while (words.len - at >= 2) {
                const head = words[at];
                const kind = head & 0xff;
                if (kind != @intFromEnum(Kind.block) and kind != @intFromEnum(Kind.block_open)) break;
                if (kind == @intFromEnum(Kind.block_open) and words.len - at > 2) {
                    const next_kind = words[at + 2] & 0xff;
                    if (next_kind != @intFromEnum(Kind.block) and next_kind != @intFromEnum(Kind.block_open)) break;
                }
                const block = lookup(slots, stamp, words[at + 1]) orelse return w.corrupt(at);
                const executed = head >> records.count_shift;
                if (executed > block.insns) return w.corrupt(at);
                if (executed > columns.exec_capacity - exec) return error.ColumnsTooSmall;
                copyPcs(columns, exec, def_pcs[block.pcs_at..], executed);
                exec += executed;
                instructions += executed;
                at += 2;
            }
            return .{ .at = at, .instructions = instructions };
        }

        /// Copies a block's first `n` PCs from `pcs` to the column at row
        /// `exec`; the caller checked `n` fits. Blocks of up to 16 go as one
        /// fixed-size vector (no loop, no mispredicted exit), the copy past
        /// `n` landing in the column's free room or the definitions' slack.
        inline fn copyPcs(columns: *const Columns, exec: u64, pcs: []const f64, n: u32) void {
            const room = columns.exec_capacity - exec;
            std.debug.assert(n <= room);
            const out = columns.exec_pc[exec..columns.exec_capacity];
            if (n <= copy_insns_fixed and room >= copy_insns_fixed) {
                out[0..copy_insns_fixed].* = pcs[0..copy_insns_fixed].*;
            } else if (n <= 2 * copy_insns_fixed and room >= 2 * copy_insns_fixed) {
                out[0 .. 2 * copy_insns_fixed].* = pcs[0 .. 2 * copy_insns_fixed].*;
            } else {
                @memcpy(out[0..n], pcs[0..n]);
            }
        }

        /// The records that make up nearly every chunk (blocks, exec
        /// records, accesses: placed as they come, or, before a closing
        /// block record, held until it), from `start` with nothing pending, in a tight loop whose state lives
        /// in locals (column stores could alias the walker's fields; this
        /// halves the cost per block). Returns where it met a record it
        /// leaves to the general loop in `fill`, which gives the same
        /// columns record by record.
        fn fillRun(w: *Self, start: u32) Error!u32 {
            std.debug.assert(w.pending_count == 0);
            comptime std.debug.assert(records.recordWords(.block, addr_words) == 2);
            comptime std.debug.assert(records.recordWords(.block_open, addr_words) == 2);
            const exec_words = comptime records.recordWords(.exec, addr_words);
            const mem_words = comptime records.recordWords(.mem, addr_words);
            const words = w.words;
            // A copy: stores into the columns could alias `w.columns.*`,
            // and every column pointer would be reloaded after each store.
            const columns_copy = w.columns.?.*;
            const columns = &columns_copy;
            const slots = w.decoder.slots;
            const stamp = w.decoder.stamp;
            const def_pcs = w.decoder.def_pcs;
            var exec = w.exec;
            var mem = w.mem;
            var counts = w.counts.*;
            var open = w.open;
            var open_executed = w.open_executed;
            var open_emitted = w.open_emitted;
            var after_exec = w.after_exec;
            // Accesses waiting for the block record that owns them (no other
            // record waits here).
            const pending = w.decoder.pending;
            var pending_count: u32 = 0;
            var at = start;
            defer {
                w.pending_count = pending_count;
                w.pending_mems = pending_count;
                w.exec = exec;
                w.mem = mem;
                w.counts.* = counts;
                w.open = open;
                w.open_executed = open_executed;
                w.open_emitted = open_emitted;
                w.after_exec = after_exec;
            }
            while (at < words.len) {
                const head = words[at];
                const kind = head & 0xff;
                if (kind == @intFromEnum(Kind.mem)) {
                    if (mem_words > words.len - at) break;
                    const store = (head >> records.mem_store_bit) & 1;
                    if (!after_exec and open == null) {
                        std.debug.assert(pending_count < pending.len);
                        pending[pending_count] = at;
                        pending_count += 1;
                        counts.writes += store;
                        counts.reads += 1 - store;
                        at += mem_words;
                        continue;
                    }
                    if (!after_exec) {
                        // Only inside an open block, after the last
                        // instruction emitted or a later one.
                        const block = open.?;
                        const pcs = def_pcs[block.pcs_at..][0..open_executed];
                        const pc = w.addr(at + 1);
                        var index = open_emitted -| 1;
                        while (index < pcs.len and pcs[index] != pc) index += 1;
                        if (index == pcs.len) break;
                        const emitted = index + 1 - open_emitted;
                        if (emitted > columns.exec_capacity - exec) return error.ColumnsTooSmall;
                        copyPcs(columns, exec, def_pcs[block.pcs_at + open_emitted ..], emitted);
                        exec += emitted;
                        open_emitted = index + 1;
                    }
                    if (mem >= columns.mem_capacity) return error.ColumnsTooSmall;
                    w.putRow(columns, at, mem, exec);
                    mem += 1;
                    counts.writes += store;
                    counts.reads += 1 - store;
                    at += mem_words;
                    continue;
                }
                const is_block = kind == @intFromEnum(Kind.block) or kind == @intFromEnum(Kind.block_open);
                if (!is_block and kind != @intFromEnum(Kind.exec)) break;
                if ((if (is_block) 2 else exec_words) > words.len - at) break;
                // Waiting accesses happened before a block_open or an exec
                // record: the general loop writes them first.
                if (pending_count != 0 and kind != @intFromEnum(Kind.block)) break;
                // Both close the open block: the rest of its instructions.
                if (open) |block| {
                    std.debug.assert(open_emitted <= open_executed);
                    const rest = open_executed - open_emitted;
                    if (rest > columns.exec_capacity - exec) return error.ColumnsTooSmall;
                    copyPcs(columns, exec, def_pcs[block.pcs_at + open_emitted ..], rest);
                    exec += rest;
                    open = null;
                }
                if (kind == @intFromEnum(Kind.exec)) {
                    if (exec >= columns.exec_capacity) return error.ColumnsTooSmall;
                    columns.exec_pc[exec] = w.addr(at + 1);
                    exec += 1;
                    counts.instructions += 1;
                    counts.sized_execs += @intFromBool(head >> records.exec_insn_bytes_shift != 0);
                    after_exec = true;
                    at += exec_words;
                    continue;
                }
                if (pending_count == 0) {
                    // A PC-only stream is nearly all this: blocks that own
                    // no record, in the tightest loop.
                    const run = try blockRun(w, columns, at, &exec);
                    if (run.at != at) {
                        counts.instructions += run.instructions;
                        after_exec = false;
                        at = run.at;
                        continue;
                    }
                }
                // What the block run leaves: a block_open that owns the
                // records after it, or a block record with accesses waiting.
                const block = lookup(slots, stamp, words[at + 1]) orelse return w.corrupt(at);
                const executed = head >> records.count_shift;
                if (executed > block.insns) return w.corrupt(at);
                counts.instructions += executed;
                after_exec = false;
                at += 2;
                if (kind == @intFromEnum(Kind.block_open)) {
                    std.debug.assert(pending_count == 0);
                    open = block;
                    open_executed = executed;
                    open_emitted = 0;
                    continue;
                }
                std.debug.assert(pending_count != 0);
                if (executed > columns.exec_capacity - exec) return error.ColumnsTooSmall;
                if (pending_count > columns.mem_capacity - mem) return error.ColumnsTooSmall;
                const rows = w.interleave(columns, def_pcs[block.pcs_at..][0..executed], pending[0..pending_count], true, exec, mem);
                exec = rows.exec;
                mem = rows.mem;
                var p = rows.pending;
                // From the first access that no instruction claims, after the block.
                while (p < pending_count) : (p += 1) {
                    w.putRow(columns, pending[p], mem, exec);
                    mem += 1;
                }
                pending_count = 0;
            }
            return at;
        }

        fn countOther(w: *Self, head: u32) void {
            switch (head & 0xff) {
                @intFromEnum(Kind.mem) => if ((head >> records.mem_store_bit) & 1 == 1) {
                    w.counts.writes += 1;
                } else {
                    w.counts.reads += 1;
                },
                @intFromEnum(Kind.syscall) => {
                    w.counts.syscalls += 1;
                    w.counts.others += 1;
                },
                @intFromEnum(Kind.sysret), @intFromEnum(Kind.mmap), @intFromEnum(Kind.munmap) => w.counts.others += 1,
                @intFromEnum(Kind.exit) => w.counts.exited = 1,
                else => {},
            }
        }

        fn corrupt(w: *Self, at: u32) Error {
            w.counts.corrupt_word = at;
            return error.Corrupt;
        }

        fn addr(w: *const Self, at: u32) f64 {
            if (addr_words == 1) return @floatFromInt(w.words[at]);
            // One rounding either way: the same f64 as lo + hi * 2^32.
            const wide = @as(u64, w.words[at + 1]) << 32 | w.words[at];
            return @floatFromInt(wide);
        }

        /// Words in the record at `at`, validated against the chunk's end.
        fn sizeAt(w: *Self, at: u32) Error!u32 {
            const head = w.words[at];
            const fixed = fixed_words[head & 0xff];
            if (fixed != 0 and fixed <= w.words.len - at) return fixed;
            const kind = std.meta.intToEnum(Kind, head & 0xff) catch return w.corrupt(at);
            const size = switch (kind) {
                .mmap => blk: {
                    const path_bytes = head >> records.count_shift;
                    if (path_bytes > records.path_bytes_max) return w.corrupt(at);
                    break :blk records.recordWords(.mmap, addr_words) + records.pathWords(path_bytes);
                },
                .block_def => blk: {
                    const insns = head >> records.count_shift;
                    if (insns < 1 or insns > records.block_insns_max) return w.corrupt(at);
                    break :blk records.recordWords(.block_def, addr_words) + insns * addr_words;
                },
                else => fixed,
            };
            if (size > w.words.len - at) return w.corrupt(at);
            return size;
        }

        /// Words per record by kind byte; 0 for a kind whose size is in its
        /// head (mmap, block_def) or that does not exist.
        const fixed_words: [256]u8 = blk: {
            var table = [_]u8{0} ** 256;
            for (std.meta.tags(Kind)) |kind| {
                if (kind == .mmap or kind == .block_def) continue;
                table[@intFromEnum(kind)] = records.recordWords(kind, addr_words);
            }
            break :blk table;
        };

        /// Counts (and validates) without ordering anything: the pass for
        /// tracers that need only totals.
        fn count(w: *Self) Error!void {
            const words = w.words;
            const exec_words = comptime records.recordWords(.exec, addr_words);
            const mem_words = comptime records.recordWords(.mem, addr_words);
            const block_words = comptime records.recordWords(.block, addr_words);
            comptime std.debug.assert(block_words == records.recordWords(.block_open, addr_words));
            // Totals in locals: stores through `w.counts` could alias
            // `words`, and the loop would reload around each one.
            var instructions: u32 = 0;
            var reads: u32 = 0;
            var writes: u32 = 0;
            defer {
                w.counts.instructions += instructions;
                w.counts.reads += reads;
                w.counts.writes += writes;
            }
            var at: u32 = 0;
            while (at < words.len) {
                const head = words[at];
                const kind = head & 0xff;
                // The next record's offset hangs on this one's kind. Branches
                // (not a select or a table load) let the CPU predict the kind
                // and run ahead, so records are not walked at the latency of
                // a load-add chain (~3 ns each before).
                if (kind == @intFromEnum(Kind.mem) and mem_words <= words.len - at) {
                    const store = (head >> records.mem_store_bit) & 1;
                    writes += store;
                    reads += 1 - store;
                    at += mem_words;
                } else if ((kind == @intFromEnum(Kind.block_open) or kind == @intFromEnum(Kind.block)) and block_words <= words.len - at) {
                    _ = try w.blockOf(at);
                    instructions += head >> records.count_shift;
                    at += block_words;
                } else if (kind == @intFromEnum(Kind.exec) and exec_words <= words.len - at) {
                    instructions += 1;
                    w.counts.sized_execs += @intFromBool(head >> records.exec_insn_bytes_shift != 0);
                    at += exec_words;
                } else {
                    const size = try w.sizeAt(at);
                    if (kind == @intFromEnum(Kind.block_def)) try w.define(at) else w.countOther(head);
                    at += size;
                }
            }
        }

        /// Enters the block_def at `at` (sizeAt checked its length) in the
        /// table, with its PCs converted when columns are filled.
        fn define(w: *Self, at: u32) Error!void {
            const insns = w.words[at] >> records.count_shift;
            std.debug.assert(insns >= 1 and insns <= records.block_insns_max);
            const block = Block{ .insns = insns, .pcs_at = w.def_pcs_used };
            if (w.columns != null) {
                const def_pcs = w.decoder.def_pcs;
                // Each definition takes more words than it has PCs.
                std.debug.assert(w.def_pcs_used + insns + 2 * copy_insns_fixed <= def_pcs.len);
                for (def_pcs[w.def_pcs_used..][0..insns], 0..) |*pc, i| pc.* = w.addr(at + 2 + @as(u32, @intCast(i)) * addr_words);
                w.def_pcs_used += insns;
            }
            try w.decoder.define(w.words[at + 1], block);
        }

        /// The definition of the block record at `at`, checked against its count.
        fn blockOf(w: *Self, at: u32) Error!Block {
            const block = w.decoder.definition(w.words[at + 1]) orelse return w.corrupt(at);
            if (w.words[at] >> records.count_shift > block.insns) return w.corrupt(at);
            return block;
        }

        fn emitExec(w: *Self, pc: f64) Error!void {
            const columns = w.columns.?; // only fill() emits
            if (w.exec >= columns.exec_capacity) return error.ColumnsTooSmall;
            columns.exec_pc[w.exec] = pc;
            w.exec += 1;
        }

        fn emitMem(w: *Self, at: u32) Error!void {
            const columns = w.columns.?;
            if (w.mem >= columns.mem_capacity) return error.ColumnsTooSmall;
            w.putMem(columns, at);
        }

        /// Writes the access at `at` as the next row; the caller checked room.
        fn putMem(w: *Self, columns: *const Columns, at: u32) void {
            w.putRow(columns, at, w.mem, w.exec);
            w.mem += 1;
        }

        /// Writes the access at `at` as row `row`, after `exec` instructions.
        inline fn putRow(w: *const Self, columns: *const Columns, at: u32, row: u64, exec: u64) void {
            std.debug.assert(row < columns.mem_capacity);
            const head = w.words[at];
            columns.mem_pc[row] = w.addr(at + 1);
            columns.mem_addr[row] = w.addr(at + 1 + addr_words);
            columns.mem_size[row] = @as(u8, 1) << @intCast((head >> records.mem_size_shift_bit) & 7);
            columns.mem_is_store[row] = @intCast((head >> records.mem_store_bit) & 1);
            columns.mem_value_lo[row] = w.words[at + 1 + 2 * addr_words];
            columns.mem_value_hi[row] = w.words[at + 2 + 2 * addr_words];
            columns.mem_exec_index[row] = @intCast(if (exec == 0) 0 else exec - 1);
            columns.mem_execs_before[row] = @intCast(exec);
            columns.mem_flags[row] = @truncate(head >> records.mem_size_shift_bit);
        }

        fn clearPending(w: *Self) void {
            w.pending_count = 0;
            w.pending_mems = 0;
        }

        fn pendingKind(w: *const Self, p: u32) u32 {
            return w.words[w.decoder.pending[p]] & 0xff;
        }

        /// Records that no block owns, in order.
        fn flush(w: *Self) Error!void {
            try w.flushFrom(0);
        }

        /// The pending records from the `first`th on, in order.
        fn flushFrom(w: *Self, first: u32) Error!void {
            var p = first;
            while (p < w.pending_count) : (p += 1) {
                if (w.pendingKind(p) == @intFromEnum(Kind.mem)) try w.emitMem(w.decoder.pending[p]);
            }
            w.clearPending();
        }

        fn closeOpen(w: *Self) Error!void {
            var block = w.open orelse return;
            w.open = null;
            std.debug.assert(w.open_emitted <= w.open_executed);
            block.pcs_at += w.open_emitted;
            try w.expand(block, w.open_executed - w.open_emitted);
        }

        /// A block's first `executed` instructions, each followed by the
        /// pending memory records with its pc; then the rest of the pending
        /// records.
        inline fn expand(w: *Self, block: Block, executed: u32) Error!void {
            std.debug.assert(executed <= block.insns);
            const columns = w.columns.?;
            if (w.pending_count != 0) return w.expandWithPending(columns, block, executed);
            // The common case, a block with nothing recorded inside it.
            if (executed > columns.exec_capacity - w.exec) return error.ColumnsTooSmall;
            copyPcs(columns, w.exec, w.decoder.def_pcs[block.pcs_at..], executed);
            w.exec += executed;
        }

        fn expandWithPending(w: *Self, columns: *const Columns, block: Block, executed: u32) Error!void {
            const pcs = w.decoder.def_pcs[block.pcs_at..];
            // Instructions and accesses both fit, or nothing is written.
            if (executed > columns.exec_capacity - w.exec) return error.ColumnsTooSmall;
            if (w.pending_mems > columns.mem_capacity - w.mem) return error.ColumnsTooSmall;
            const rows = w.interleave(columns, pcs[0..executed], w.decoder.pending[0..w.pending_count], false, w.exec, w.mem);
            w.exec = rows.exec;
            w.mem = rows.mem;
            const p = rows.pending;
            // The rest (syscalls, accesses no instruction claimed) follow the block.
            try w.flushFrom(p);
        }

        /// Writes `pcs` from row `exec_start`, each followed by the pending
        /// accesses with its pc, in order, from row `mem_start`; returns the
        /// rows reached and how many pending records it took (it stops at
        /// the first one that no instruction claims, or that is not an
        /// access). The caller checked the room in both columns.
        /// `accesses_only`: every pending record is an access (`fillRun`'s),
        /// which saves a kind check per access.
        inline fn interleave(w: *const Self, columns: *const Columns, pcs: []const f64, pending: []const u32, comptime accesses_only: bool, exec_start: u64, mem_start: u64) struct { exec: u64, mem: u64, pending: u32 } {
            var exec = exec_start;
            var mem = mem_start;
            var p: u32 = 0;
            var next_pc = w.pendingPc(pending, p, accesses_only);
            for (pcs) |pc| {
                columns.exec_pc[exec] = pc;
                exec += 1;
                while (next_pc == pc) {
                    w.putRow(columns, pending[p], mem, exec);
                    mem += 1;
                    p += 1;
                    next_pc = w.pendingPc(pending, p, accesses_only);
                }
            }
            return .{ .exec = exec, .mem = mem, .pending = p };
        }

        /// The pc of the `p`th pending record; NaN (which no pc equals) past
        /// the last one or when it is not an access.
        inline fn pendingPc(w: *const Self, pending: []const u32, p: u32, comptime accesses_only: bool) f64 {
            if (p == pending.len) return std.math.nan(f64);
            if (!accesses_only and w.words[pending[p]] & 0xff != @intFromEnum(Kind.mem)) return std.math.nan(f64);
            return w.addr(pending[p] + 1);
        }
    };
}

// ---------------------------------------------------------------- tests

const testing = std.testing;

/// Column storage for tests: room for `execs` instructions and `mems` accesses.
fn TestColumns(comptime execs: usize, comptime mems: usize) type {
    return struct {
        exec_pc: [execs]f64 = undefined,
        mem_pc: [mems]f64 = undefined,
        mem_addr: [mems]f64 = undefined,
        mem_size: [mems]u8 = undefined,
        mem_is_store: [mems]u8 = undefined,
        mem_value_lo: [mems]u32 = undefined,
        mem_value_hi: [mems]u32 = undefined,
        mem_exec_index: [mems]u32 = undefined,
        mem_execs_before: [mems]u32 = undefined,
        mem_flags: [mems]u8 = undefined,

        fn columns(self: *@This()) Columns {
            return .{
                .exec_pc = &self.exec_pc,
                .exec_capacity = execs,
                .mem_capacity = mems,
                .mem_pc = &self.mem_pc,
                .mem_addr = &self.mem_addr,
                .mem_size = &self.mem_size,
                .mem_is_store = &self.mem_is_store,
                .mem_value_lo = &self.mem_value_lo,
                .mem_value_hi = &self.mem_value_hi,
                .mem_exec_index = &self.mem_exec_index,
                .mem_execs_before = &self.mem_execs_before,
                .mem_flags = &self.mem_flags,
            };
        }
    };
}

const head_block_def: u32 = @intFromEnum(Kind.block_def);
const head_block: u32 = @intFromEnum(Kind.block);
const head_mem: u32 = @intFromEnum(Kind.mem);

test "a block expands into its pcs with its memory accesses after their instruction" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    // 32-bit guest: block 7 = pcs 0x100, 0x104, 0x108; a load at 0x104; the block ran 3.
    const words = [_]u32{
        head_block_def | 3 << 8, 7,     0x100,  0x104,  0x108,
        head_mem | 2 << 8,       0x104, 0x2000, 0xdead, 0,
        head_block | 3 << 8,     7,
    };
    var out = TestColumns(4, 1){};
    const columns = out.columns();
    var counts: Counts = .{};
    try decoder.fill(&words, 1, &columns, &counts);
    try testing.expectEqual(@as(u32, 3), counts.instructions);
    try testing.expectEqual(@as(u32, 1), counts.reads);
    try testing.expectEqualSlices(f64, &.{ 0x100, 0x104, 0x108 }, out.exec_pc[0..3]);
    try testing.expectEqual(@as(f64, 0x2000), out.mem_addr[0]);
    try testing.expectEqual(@as(u8, 4), out.mem_size[0]);
    try testing.expectEqual(@as(u32, 1), out.mem_exec_index[0]);
    try testing.expectEqual(@as(u32, 2), out.mem_execs_before[0]);
    try testing.expectEqual(@as(u8, 2), out.mem_flags[0]);
    try testing.expectEqual(@as(u32, 0xdead), out.mem_value_lo[0]);
}

test "a block used without its definition, or past its length, is corrupt" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    var counts: Counts = .{};
    const undefined_block = [_]u32{ head_block | 1 << 8, 9 };
    try testing.expectError(error.Corrupt, decoder.count(&undefined_block, 1, &counts));
    try testing.expectEqual(@as(u32, 0), counts.corrupt_word);
    const too_long = [_]u32{ head_block_def | 1 << 8, 9, 0x10, head_block | 2 << 8, 9 };
    try testing.expectError(error.Corrupt, decoder.count(&too_long, 1, &counts));
    try testing.expectEqual(@as(u32, 3), counts.corrupt_word);
    const truncated = [_]u32{ head_block_def | 4 << 8, 9, 0x10 };
    try testing.expectError(error.Corrupt, decoder.count(&truncated, 1, &counts));
    const unknown = [_]u32{0xff};
    try testing.expectError(error.Corrupt, decoder.count(&unknown, 1, &counts));
}

test "definitions do not leak from one chunk into the next" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    var counts: Counts = .{};
    const first = [_]u32{ head_block_def | 1 << 8, 5, 0x10, head_block | 1 << 8, 5 };
    try decoder.count(&first, 1, &counts);
    try testing.expectEqual(@as(u32, 1), counts.instructions);
    const second = [_]u32{ head_block | 1 << 8, 5 };
    try testing.expectError(error.Corrupt, decoder.count(&second, 1, &counts));
}

test "a chunk with more definitions than the table's first size" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    const blocks = 3 * slots_initial;
    const words = try testing.allocator.alloc(u32, blocks * 5);
    defer testing.allocator.free(words);
    for (0..blocks) |b| {
        const id: u32 = @intCast(b * 7919);
        words[b * 5 ..][0..5].* = .{ head_block_def | 1 << 8, id, @intCast(b), head_block | 1 << 8, id };
    }
    var counts: Counts = .{};
    try decoder.count(words, 1, &counts);
    try testing.expectEqual(@as(u32, blocks), counts.instructions);
    try testing.expect(decoder.slots.len >= 2 * blocks);
}

test "columns that are too small are refused, not overrun" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    const words = [_]u32{ head_block_def | 2 << 8, 1, 0x10, 0, 0x14, 0, head_block | 2 << 8, 1 };
    var out = TestColumns(1, 0){};
    const columns = out.columns();
    var counts: Counts = .{};
    try testing.expectError(error.ColumnsTooSmall, decoder.fill(&words, 2, &columns, &counts));
}
