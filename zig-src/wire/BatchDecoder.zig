// SPDX-License-Identifier: MIT
//! Decodes one chunk of trace records natively for the consumer: counts its
//! events and, when asked, expands it into the batch form's columns (one pc
//! per executed instruction, one row per memory access) in execution order.
//! Records are owned forward (records.zig), so one pass places everything as
//! it comes: an access names its instruction, whose pc and row follow from
//! the open block or exec record. It is the fast path of
//! src/wire/walk.ts, which stays the reference: a Bun test checks that
//! both give the same columns on random chunks and every test guest. The
//! chunk lives in memory the producer can still write, so every size, count,
//! block id and instruction index is checked on every pass, and every column
//! write against its capacity.
const std = @import("std");
const records = @import("records.zig");
const Kind = records.Kind;
const BlockTable = @import("BlockTable.zig");
const Block = BlockTable.Block;

const BatchDecoder = @This();

/// Words of the largest chunk decoded (mempipe's chunk_bytes_max / 4).
pub const chunk_words_max: u32 = 4 * 1024 * 1024;

pub const Error = error{ Corrupt, ColumnsTooSmall, OutOfMemory };

/// What the C ABI's calls return (decoder_c_api.zig).
pub const Status = enum(u32) { ok = 0, corrupt = 1, columns_too_small = 2, out_of_memory = 3, bad_argument = 4 };

/// A chunk's event counts, read by Bun (src/consumer_abi.generated.ts).
pub const Counts = extern struct {
    instructions: u32 = 0,
    reads: u32 = 0,
    writes: u32 = 0,
    syscalls: u32 = 0,
    /// syscall, sysret, mmap, munmap and regs records: events the columns do not carry.
    others: u32 = 0,
    /// 1 when the stream's `exit` record was in the chunk.
    exited: u32 = 0,
    /// Word offset of the first record that failed validation.
    corrupt_word: u32 = 0,
    /// Exec records that carry their instruction's size (records.zig): the
    /// columns do not, so a per-event tracer gets these chunks walked.
    sized_execs: u32 = 0,
    /// Runs (Columns.run_*): block_open records that ran an instruction, and exec records.
    runs: u32 = 0,
    /// Entries of the regs records: registers listed.
    register_entries: u32 = 0,
};

/// The columns a fill may write, as bits of `Columns.wanted`: a batch
/// handler pays only for the columns it reads (src/runtime/decode.ts learns
/// which from the chunks before).
pub const Column = enum(u5) {
    exec_pc,
    mem_pc,
    mem_addr,
    mem_size,
    mem_is_store,
    mem_value_lo,
    mem_value_hi,
    /// mem_value_upper_lo and mem_value_upper_hi.
    mem_value_upper,
    mem_exec_index,
    mem_flags,
    /// run_pcs_at, run_length, run_first_exec and run_block_id.
    runs,
    /// other_kind, other_word and other_exec: where the records the other
    /// columns do not carry (syscall, sysret, mmap, munmap, regs) sit.
    others,
    /// reg_exec, reg_index, reg_value_lo and reg_value_hi: the entries of
    /// the regs records (`--regs`), one row per register listed.
    registers,

    pub fn bit(column: Column) u64 {
        return @as(u64, 1) << @intFromEnum(column);
    }

    /// The columns with one row per memory access.
    pub const memory_bits = bit(.mem_pc) | bit(.mem_addr) | bit(.mem_size) | bit(.mem_is_store) |
        bit(.mem_value_lo) | bit(.mem_value_hi) | bit(.mem_value_upper) | bit(.mem_exec_index) | bit(.mem_flags);
    /// Those a layout entry alone decides (with the run's rows): no
    /// address or value in them.
    const memory_meta_bits = bit(.mem_pc) | bit(.mem_size) | bit(.mem_is_store) | bit(.mem_exec_index) | bit(.mem_flags);
};

/// The run_block_id of an instruction recorded alone (an exec record).
pub const no_block_id: u32 = std.math.maxInt(u32);

/// Where the columns go; written by Bun (src/consumer_abi.generated.ts).
/// Every pointer is valid for its capacity; a column that is not wanted is
/// never written, so its capacity may be smaller than the chunk needs.
pub const Columns = extern struct {
    /// `Column` bits: the columns to write; the others are left alone.
    wanted: u64,
    exec_pc: [*]f64,
    exec_capacity: u64,
    mem_capacity: u64,
    mem_pc: [*]f64,
    mem_addr: [*]f64,
    mem_size: [*]u8,
    mem_is_store: [*]u8,
    mem_value_lo: [*]u32,
    mem_value_hi: [*]u32,
    /// A 16-byte access's value bytes 8-11 and 12-15 (0 for the others).
    mem_value_upper_lo: [*]u32,
    mem_value_upper_hi: [*]u32,
    /// Row in exec_pc of the instruction that made each access.
    mem_exec_index: [*]u32,
    /// Each access's head from its lowest flag up (head >> mem_size_shift_bit:
    /// size, store, sign, big endian).
    mem_flags: [*]u8,
    /// The PCs of the chunk's block definitions and exec records, each
    /// definition once, in chunk order; always written. Its capacity must be
    /// at least the chunk's words plus `block_pcs_slack` (no record has more
    /// PCs than words).
    block_pcs: [*]f64,
    block_pcs_capacity: u64,
    /// One row per run: a block's executed instructions (block_open) or
    /// one instruction (exec). Its PCs are block_pcs[pcs_at..][0..length],
    /// its first row in exec_pc is first_exec.
    run_capacity: u64,
    run_pcs_at: [*]u32,
    run_length: [*]u32,
    run_first_exec: [*]u32,
    run_block_id: [*]u32,
    /// One row per syscall, sysret, mmap, munmap or regs record (Counts.others):
    /// its kind, its word offset in the chunk, and the instructions before it.
    other_capacity: u64,
    other_kind: [*]u8,
    other_word: [*]u32,
    other_exec: [*]u32,
    /// One row per register a regs record lists (Counts.register_entries):
    /// the instruction's row in exec_pc, the register's index in the
    /// handshake's list, and the value's first 8 bytes as two words.
    reg_capacity: u64,
    reg_exec: [*]u32,
    reg_index: [*]u32,
    reg_value_lo: [*]u32,
    reg_value_hi: [*]u32,

    fn wants(columns: *const Columns, column: Column) bool {
        return columns.wanted & column.bit() != 0;
    }
};

/// Room past a chunk's PCs in `block_pcs` for the fixed-size copies.
pub const block_pcs_slack = 2 * copy_insns_fixed;

/// Blocks of at most this many executed instructions are copied into the
/// column as one fixed-size vector (no loop, no mispredicted exit): four in
/// five blocks in busybox gzip.
const copy_insns_fixed = 8;

/// By a layout entry's flags: the bits of an 8-byte read its value keeps
/// and the bytes it takes (none without a value; 16-byte values are read
/// another way).
const run_value_steps = blk: {
    var steps: [records.layout_flags_mask + 1]struct { mask: u64, bytes: usize } = undefined;
    for (&steps, 0..) |*step, flags| {
        const bytes = records.valueBytes(records.layoutHead(flags));
        step.* = .{ .mask = if (bytes >= 8) std.math.maxInt(u64) else (@as(u64, 1) << (8 * bytes)) - 1, .bytes = bytes };
    }
    break :blk steps;
};

/// The current chunk's block definitions.
blocks: BlockTable,

pub fn init(allocator: std.mem.Allocator) BatchDecoder {
    return .{ .blocks = BlockTable.init(allocator) };
}

pub fn deinit(self: *BatchDecoder) void {
    self.blocks.deinit();
    self.* = undefined;
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
    if (columns) |c| {
        if (c.block_pcs_capacity < words.len + block_pcs_slack) return error.ColumnsTooSmall;
    }
    try self.blocks.nextChunk();
    switch (addr_words) {
        inline 1, 2 => |aw| {
            var walker = Walker(aw){ .decoder = self, .words = words, .columns = columns, .counts = counts };
            if (columns == null) try walker.run(false) else try walker.run(true);
            if (columns) |c| {
                std.debug.assert(walker.exec == counts.instructions);
                std.debug.assert(walker.mem <= c.mem_capacity);
                std.debug.assert(walker.block_pcs_used <= words.len);
            }
        },
        else => unreachable,
    }
}

/// One pass over one chunk of a guest whose addresses take `addr_words`
/// words; mirrors RecordWalker.walk in src/wire/walk.ts.
fn Walker(comptime addr_words: u32) type {
    return struct {
        const Self = @This();
        const exec_words = records.recordWords(.exec, addr_words);
        const open_words = records.recordWords(.block_open, addr_words);

        decoder: *BatchDecoder,
        words: []const u32,
        /// Null in the counting pass.
        columns: ?*const Columns,
        counts: *Counts,
        /// Instructions, accesses and runs so far: the rows of each column.
        exec: u32 = 0,
        mem: u32 = 0,
        run_row: u32 = 0,
        other_row: u32 = 0,
        block_pcs_used: u32 = 0,
        /// The owner of the records that follow: the open block (or the
        /// instruction of an exec record, as a block of one). Its first
        /// `executed` instructions ran, from row `first_row`; accesses may
        /// name instructions from `next_insn` on (0 executed: no owner).
        /// Where the owner's PCs start in `block_pcs`.
        owner_pcs_at: u32 = 0,
        owner_is_exec: bool = false,
        executed: u32 = 0,
        next_insn: u32 = 0,
        first_row: u32 = 0,

        /// Both passes: `filling` writes the columns too. The record kinds
        /// are tested most frequent first, with branches rather than a
        /// table, so the CPU runs ahead of the load chain.
        fn run(w: *Self, comptime filling: bool) Error!void {
            const words = w.words;
            var at: u32 = 0;
            while (at < words.len) {
                const head = words[at];
                const kind = head & 0xff;
                if (kind == @intFromEnum(Kind.block_run)) {
                    const id = head >> records.count_shift;
                    const block = w.decoder.blocks.lookup(id) orelse return w.corrupt(at);
                    try w.open(block.pcs_at, block.insns, false, id, filling);
                    at = try w.layoutAccesses(block, at, at + 1, block.accesses, filling);
                } else if (kind == @intFromEnum(Kind.mem)) {
                    const size = records.memWords(head, addr_words);
                    if (size > words.len - at) return w.corrupt(at);
                    try w.access(at, head, w.rawAddr(at + 1), w.recordValue(head, at + 1 + addr_words), filling);
                    at += size;
                } else if (kind == @intFromEnum(Kind.block_open)) {
                    if (open_words > words.len - at) return w.corrupt(at);
                    const id = words[at + 1];
                    const block = w.decoder.blocks.lookup(id) orelse return w.corrupt(at);
                    const executed = (head >> records.count_shift) & records.block_insns_mask;
                    const written = (head >> records.block_accesses_shift) & records.block_accesses_mask;
                    if (executed > block.insns or written > block.accesses) return w.corrupt(at);
                    try w.open(block.pcs_at, executed, false, id, filling);
                    at = try w.layoutAccesses(block, at, at + open_words, written, filling);
                } else if (kind == @intFromEnum(Kind.exec)) {
                    if (exec_words > words.len - at) return w.corrupt(at);
                    w.counts.sized_execs += @intFromBool(head >> records.exec_insn_bytes_shift != 0);
                    const pcs_at = if (filling) w.putPcs(at + 1, 1) else 0;
                    try w.open(pcs_at, 1, true, no_block_id, filling);
                    at += exec_words;
                } else if (kind == @intFromEnum(Kind.block_def)) {
                    const size = try w.sizeAt(at);
                    try w.define(at, filling);
                    at += size;
                } else if (kind == @intFromEnum(Kind.regs)) {
                    // The exec record's instruction, before its accesses.
                    const size = try w.sizeAt(at);
                    if (!w.owner_is_exec or w.executed != 1 or w.next_insn != 0) return w.corrupt(at);
                    if (filling) try w.putOther(at);
                    try w.registerEntries(at, size, filling);
                    w.counts.others += 1;
                    at += size;
                } else {
                    const size = try w.sizeAt(at);
                    // After the owner's last instruction: no access follows.
                    w.next_insn = w.executed;
                    if (filling and head & 0xff != @intFromEnum(Kind.exit)) try w.putOther(at);
                    w.countOther(head);
                    at += size;
                }
            }
        }

        /// The access whose head is `head` (its mem record's, or its layout
        /// entry's), at `address`, of `value`: counted, checked against its
        /// owner (else the record at `at` is corrupt), and put in the
        /// columns.
        inline fn access(w: *Self, at: u32, head: u32, address: u64, value: u128, comptime filling: bool) Error!void {
            const insn = (head >> records.mem_insn_shift) & records.mem_insn_mask;
            if (insn < w.next_insn or insn >= w.executed) return w.corrupt(at);
            w.next_insn = insn;
            const store = (head >> records.mem_store_bit) & 1;
            w.counts.writes += store;
            w.counts.reads += 1 - store;
            if (filling) try w.putMem(head, insn, address, value);
        }

        /// The first `written` of the layout's accesses, without a head,
        /// packed from word `start` on, after the block_run or block_open
        /// at `at` (which checked that the layout has that many). Returns
        /// where the next record starts.
        inline fn layoutAccesses(w: *Self, block: *const Block, at: u32, start: u32, written: u32, comptime filling: bool) Error!u32 {
            if (written == 0) return start;
            const layout = w.words[block.layout_at..][0..written];
            // A whole run: the layout's sums count it, and its accesses need
            // no check one by one (define checked the layout).
            if (written == block.accesses and w.executed == block.insns) {
                if (block.data_words > w.words.len - start) return w.corrupt(at);
                w.counts.reads += block.reads;
                w.counts.writes += block.accesses - block.reads;
                w.next_insn = block.last_insn;
                if (filling and w.columns.?.wanted & Column.memory_bits != 0) try w.putRunAccesses(block, layout, start);
                return start + block.data_words;
            }
            const bytes = std.mem.sliceAsBytes(w.words);
            var data: usize = @as(usize, start) * 4;
            // The previous access's address, for derived ones (define saw
            // that the first is not).
            var address: u64 = 0;
            for (layout) |entry| {
                if (records.layoutAccessBytes(entry, addr_words) > bytes.len - data) return w.corrupt(at);
                const head = records.layoutHead(entry);
                address = layoutAddress(bytes, entry, address, &data);
                try w.access(at, head, address, packedValue(bytes, head, &data), filling);
            }
            return @intCast((data + 3) / 4);
        }

        /// The address of a layout access whose record starts at byte
        /// `data.*` (the caller checked it is in the chunk), after the
        /// access at `previous`: read, or derived. Moves `data.*` to its value.
        inline fn layoutAddress(bytes: []const u8, entry: u32, previous: u64, data: *usize) u64 {
            if (records.layoutDerived(entry)) {
                const wide = previous +% @as(u64, @bitCast(@as(i64, records.layoutDelta(entry))));
                return if (addr_words == 1) wide & 0xffff_ffff else wide;
            }
            defer data.* += addr_words * 4;
            if (addr_words == 1) return std.mem.readIntLittle(u32, bytes[data.*..][0..4]);
            return std.mem.readIntLittle(u64, bytes[data.*..][0..8]);
        }

        /// A packed value in its own size at byte `data.*`, which moves past it.
        inline fn packedValue(bytes: []const u8, head: u32, data: *usize) u128 {
            const at = data.*;
            const size = records.valueBytes(head);
            data.* = at + size;
            return switch (size) {
                0 => 0,
                1 => bytes[at],
                2 => std.mem.readIntLittle(u16, bytes[at..][0..2]),
                4 => std.mem.readIntLittle(u32, bytes[at..][0..4]),
                8 => std.mem.readIntLittle(u64, bytes[at..][0..8]),
                else => std.mem.readIntLittle(u128, bytes[at..][0..16]),
            };
        }

        /// A headed mem record's value, at word `at`.
        inline fn recordValue(w: *const Self, head: u32, at: u32) u128 {
            const value_words = records.memValueWords(head);
            if (value_words == 0) return 0;
            const lo: u64 = w.words[at];
            if (value_words == 1) return lo;
            const low = lo | @as(u64, w.words[at + 1]) << 32;
            if (value_words == 2) return low;
            return low | @as(u128, w.words[at + 2]) << 64 | @as(u128, w.words[at + 3]) << 96;
        }

        /// A block (or an exec record's instruction) ran its first
        /// `executed` instructions: the owner of what follows, and a run.
        inline fn open(w: *Self, pcs_at: u32, executed: u32, is_exec: bool, id: u32, comptime filling: bool) Error!void {
            w.owner_pcs_at = pcs_at;
            w.owner_is_exec = is_exec;
            w.executed = executed;
            w.next_insn = 0;
            w.first_row = w.exec;
            w.counts.instructions += executed;
            if (executed == 0) return;
            w.counts.runs += 1;
            if (!filling) {
                w.exec += executed;
                return;
            }
            const columns = w.columns.?;
            if (columns.wants(.exec_pc)) {
                if (executed > columns.exec_capacity - w.exec) return error.ColumnsTooSmall;
                copyPcs(columns, w.exec, columns.block_pcs[pcs_at..columns.block_pcs_capacity], executed);
            }
            if (columns.wants(.runs)) {
                if (w.run_row >= columns.run_capacity) return error.ColumnsTooSmall;
                const r = w.run_row;
                columns.run_pcs_at[r] = pcs_at;
                columns.run_length[r] = executed;
                columns.run_first_exec[r] = w.exec;
                columns.run_block_id[r] = id;
                w.run_row = r + 1;
            }
            w.exec += executed;
        }

        /// The access of `head` (its record's, or its layout entry's) by the
        /// owner's instruction `insn`, at `address`, of `value`: the wanted
        /// columns of its row.
        inline fn putMem(w: *Self, head: u32, insn: u32, address: u64, value: u128) Error!void {
            const columns = w.columns.?;
            // No memory column wanted: their storage need not have room.
            if (columns.wanted & Column.memory_bits == 0) return;
            const m = w.mem;
            if (m >= columns.mem_capacity) return error.ColumnsTooSmall;
            putMemData(columns, m, address, value);
            if (columns.wanted & Column.memory_meta_bits != 0) w.putMemMeta(m, head, insn);
            w.mem = m + 1;
        }

        /// Row `m`'s address and value columns, those wanted.
        inline fn putMemData(columns: *const Columns, m: usize, address: u64, value: u128) void {
            if (columns.wants(.mem_addr)) columns.mem_addr[m] = @floatFromInt(address);
            if (columns.wants(.mem_value_lo)) columns.mem_value_lo[m] = @truncate(value);
            if (columns.wants(.mem_value_hi)) columns.mem_value_hi[m] = @truncate(value >> 32);
            if (columns.wants(.mem_value_upper)) {
                columns.mem_value_upper_lo[m] = @truncate(value >> 64);
                columns.mem_value_upper_hi[m] = @truncate(value >> 96);
            }
        }

        /// Row `m`'s other columns, those wanted: what the access's head
        /// and the owner's instruction `insn` say.
        inline fn putMemMeta(w: *const Self, m: usize, head: u32, insn: u32) void {
            const columns = w.columns.?;
            if (columns.wants(.mem_pc)) columns.mem_pc[m] = columns.block_pcs[w.owner_pcs_at + insn];
            if (columns.wants(.mem_size)) columns.mem_size[m] = @as(u8, 1) << @intCast((head >> records.mem_size_shift_bit) & 7);
            if (columns.wants(.mem_is_store)) columns.mem_is_store[m] = @intCast((head >> records.mem_store_bit) & 1);
            if (columns.wants(.mem_exec_index)) columns.mem_exec_index[m] = w.first_row + insn;
            if (columns.wants(.mem_flags)) columns.mem_flags[m] = @truncate(head >> records.mem_size_shift_bit);
        }

        /// The accesses of a whole run of `block` (its `layout`), whose
        /// data starts at word `start` (the caller checked that it lies in
        /// the chunk): the wanted memory columns of their rows. Addresses
        /// and values in one pass over the data, the rest in one over the
        /// layout: a handler that reads addresses and values (most) pays
        /// for no branch on the others.
        inline fn putRunAccesses(w: *Self, block: *const Block, layout: []const u32, start: u32) Error!void {
            const columns = w.columns.?;
            const m = w.mem;
            if (layout.len > columns.mem_capacity - m) return error.ColumnsTooSmall;
            const bytes = std.mem.sliceAsBytes(w.words)[@as(usize, start) * 4 ..];
            if (!block.wide and bytes.len >= @as(usize, block.data_words) * 4 + run_read_slack) {
                putRunData(columns, m, layout, bytes);
            } else {
                var data: usize = 0;
                var address: u64 = 0;
                for (layout, m..) |entry, row| {
                    address = layoutAddress(bytes, entry, address, &data);
                    putMemData(columns, row, address, packedValue(bytes, records.layoutHead(entry), &data));
                }
            }
            if (columns.wanted & Column.memory_meta_bits != 0) {
                for (layout, m..) |entry, row| w.putMemMeta(row, records.layoutHead(entry), records.layoutInsn(entry));
            }
            w.mem = m + @as(u32, @intCast(layout.len));
        }

        /// Bytes putRunData may read past a run's data.
        const run_read_slack = 8;

        /// putRunAccesses' address and value columns where no value takes
        /// 16 bytes and `bytes` reaches `run_read_slack` past the data:
        /// every address and value is then one 8-byte read, masked, with
        /// no branch on the entry (a derived address or a value's size).
        inline fn putRunData(columns: *const Columns, m: usize, layout: []const u32, bytes: []const u8) void {
            const wanted: u4 = @intFromBool(columns.wants(.mem_addr)) |
                @as(u4, @intFromBool(columns.wants(.mem_value_lo))) << 1 |
                @as(u4, @intFromBool(columns.wants(.mem_value_hi))) << 2 |
                @as(u4, @intFromBool(columns.wants(.mem_value_upper))) << 3;
            switch (wanted) {
                inline else => |set| putRunDataOf(set, columns, m, layout, bytes),
            }
        }

        /// putRunData for one set of columns (bits: address, value_lo,
        /// value_hi, value_upper), so that the loop tests none.
        fn putRunDataOf(comptime set: u4, columns: *const Columns, m: usize, layout: []const u32, bytes: []const u8) void {
            // In locals: the compiler cannot tell that the column stores
            // leave `columns` alone, and would load these on every access.
            const addr_column = columns.mem_addr;
            const lo_column = columns.mem_value_lo;
            const hi_column = columns.mem_value_hi;
            const upper_lo_column = columns.mem_value_upper_lo;
            const upper_hi_column = columns.mem_value_upper_hi;
            var data: usize = 0;
            var address: u64 = 0;
            for (layout, m..) |entry, row| {
                // All ones for an address the data holds, zero for a derived one.
                const read: u64 = @as(u64, (entry >> records.layout_derived_bit) & 1) -% 1;
                const delta: u64 = @bitCast(@as(i64, records.layoutDelta(entry)));
                address = (std.mem.readIntLittle(u64, bytes[data..][0..8]) & read) | ((address +% delta) & ~read);
                if (addr_words == 1) address &= 0xffff_ffff;
                data += (addr_words * 4) & read;
                const value_step = run_value_steps[entry & records.layout_flags_mask];
                const value = std.mem.readIntLittle(u64, bytes[data..][0..8]) & value_step.mask;
                data += value_step.bytes;
                if (set & 1 != 0) addr_column[row] = @floatFromInt(address);
                if (set & 2 != 0) lo_column[row] = @truncate(value);
                if (set & 4 != 0) hi_column[row] = @truncate(value >> 32);
                if (set & 8 != 0) {
                    upper_lo_column[row] = 0;
                    upper_hi_column[row] = 0;
                }
            }
        }

        /// The record at `at` that the other columns do not carry, after
        /// the `exec` instructions so far.
        inline fn putOther(w: *Self, at: u32) Error!void {
            const columns = w.columns.?;
            if (!columns.wants(.others)) return;
            const o = w.other_row;
            if (o >= columns.other_capacity) return error.ColumnsTooSmall;
            columns.other_kind[o] = @truncate(w.words[at]);
            columns.other_word[o] = at;
            columns.other_exec[o] = w.exec;
            w.other_row = o + 1;
        }

        /// Walks the entries of the regs record at `at` (`size` words, in
        /// the chunk): each must lie inside it; counted, and put in the
        /// register columns when wanted. The instruction is the owner's.
        fn registerEntries(w: *Self, at: u32, size: u32, comptime filling: bool) Error!void {
            const end = at + size;
            var entry = at + 1;
            const wanted = filling and w.columns.?.wants(.registers);
            while (entry < end) {
                const value_words = w.words[entry] >> records.regs_value_words_shift;
                if (value_words == 0 or value_words > end - entry - 1) return w.corrupt(at);
                if (wanted) {
                    const columns = w.columns.?;
                    const r = w.counts.register_entries;
                    if (r >= columns.reg_capacity) return error.ColumnsTooSmall;
                    columns.reg_exec[r] = w.first_row;
                    columns.reg_index[r] = w.words[entry] & records.regs_index_mask;
                    columns.reg_value_lo[r] = w.words[entry + 1];
                    columns.reg_value_hi[r] = if (value_words > 1) w.words[entry + 2] else 0;
                }
                w.counts.register_entries += 1;
                entry += 1 + value_words;
            }
        }

        /// Copies a block's first `n` PCs from `pcs` to the column at row
        /// `exec`; the caller checked `n` fits. Blocks of up to 16 go as one
        /// fixed-size vector (no loop, no mispredicted exit), the copy past
        /// `n` landing in the column's free room; `pcs` reaches past the
        /// chunk's PCs by `block_pcs_slack`.
        inline fn copyPcs(columns: *const Columns, exec: u64, pcs: []const f64, n: u32) void {
            const room = columns.exec_capacity - exec;
            std.debug.assert(n <= room and pcs.len >= n + block_pcs_slack);
            const out = columns.exec_pc[exec..columns.exec_capacity];
            if (n <= copy_insns_fixed and room >= copy_insns_fixed) {
                out[0..copy_insns_fixed].* = pcs[0..copy_insns_fixed].*;
            } else if (n <= 2 * copy_insns_fixed and room >= 2 * copy_insns_fixed) {
                out[0 .. 2 * copy_insns_fixed].* = pcs[0 .. 2 * copy_insns_fixed].*;
            } else {
                @memcpy(out[0..n], pcs[0..n]);
            }
        }

        /// Appends the `n` PCs at word `at` to the block_pcs column (the
        /// caller checked they are in the chunk); returns where they start.
        fn putPcs(w: *Self, at: u32, n: u32) u32 {
            const columns = w.columns.?;
            const start = w.block_pcs_used;
            // A record holds fewer PCs than words, and the column has the
            // chunk's words plus the slack (checked in walk).
            std.debug.assert(start + n + block_pcs_slack <= columns.block_pcs_capacity);
            for (columns.block_pcs[start..][0..n], 0..) |*pc, i| pc.* = w.addr(at + @as(u32, @intCast(i)) * addr_words);
            w.block_pcs_used = start + n;
            return start;
        }

        /// Enters the block_def at `at` (sizeAt checked its length) in the
        /// table, with its PCs converted when columns are filled. A layout
        /// must name the block's instructions in order, with real sizes.
        fn define(w: *Self, at: u32, comptime filling: bool) Error!void {
            const insns = (w.words[at] >> records.count_shift) & records.block_insns_mask;
            const accesses = (w.words[at] >> records.block_accesses_shift) & records.block_accesses_mask;
            std.debug.assert(insns >= 1 and insns <= records.block_insns_max and accesses <= records.block_accesses_max);
            var block = Block{ .insns = insns, .pcs_at = 0, .layout_at = at + 2 + insns * addr_words, .accesses = @intCast(accesses) };
            var data_bytes: u32 = 0;
            for (w.words[block.layout_at..][0..accesses], 0..) |entry, index| {
                const insn = records.layoutInsn(entry);
                const head = records.layoutHead(entry);
                if (insn < block.last_insn or insn >= insns or entry & 7 > 4) return w.corrupt(at);
                // A derived address needs one before it, and a value (else
                // its record would be empty).
                if (records.layoutDerived(entry) and (index == 0 or records.memValueWords(head) == 0)) return w.corrupt(at);
                block.last_insn = @intCast(insn);
                block.reads += @intFromBool(head >> records.mem_store_bit & 1 == 0);
                data_bytes += records.layoutAccessBytes(entry, addr_words);
                if (records.valueBytes(head) == 16) block.wide = true;
            }
            block.data_words = @intCast((data_bytes + 3) / 4);
            if (filling) block.pcs_at = w.putPcs(at + 2, insns);
            try w.decoder.blocks.define(w.words[at + 1], block);
        }

        fn countOther(w: *Self, head: u32) void {
            switch (head & 0xff) {
                @intFromEnum(Kind.syscall) => {
                    w.counts.syscalls += 1;
                    w.counts.others += 1;
                },
                @intFromEnum(Kind.sysret), @intFromEnum(Kind.mmap), @intFromEnum(Kind.munmap) => w.counts.others += 1,
                @intFromEnum(Kind.exit) => w.counts.exited = 1,
                else => unreachable, // sizeAt refused anything else
            }
        }

        fn corrupt(w: *Self, at: u32) Error {
            w.counts.corrupt_word = at;
            return error.Corrupt;
        }

        fn addr(w: *const Self, at: u32) f64 {
            // One rounding either way: the same f64 as lo + hi * 2^32.
            return @floatFromInt(w.rawAddr(at));
        }

        inline fn rawAddr(w: *const Self, at: u32) u64 {
            if (addr_words == 1) return w.words[at];
            return @as(u64, w.words[at + 1]) << 32 | w.words[at];
        }

        /// Words in the record at `at` (not a memory access), validated
        /// against the chunk's end.
        fn sizeAt(w: *Self, at: u32) Error!u32 {
            const head = w.words[at];
            const kind = std.meta.intToEnum(Kind, head & 0xff) catch return w.corrupt(at);
            const size = switch (kind) {
                .mmap => blk: {
                    const path_bytes = head >> records.count_shift;
                    if (path_bytes > records.path_bytes_max) return w.corrupt(at);
                    break :blk records.recordWords(.mmap, addr_words) + records.pathWords(path_bytes);
                },
                .block_def => blk: {
                    const insns = (head >> records.count_shift) & records.block_insns_mask;
                    const accesses = (head >> records.block_accesses_shift) & records.block_accesses_mask;
                    if (insns < 1 or insns > records.block_insns_max or accesses > records.block_accesses_max) return w.corrupt(at);
                    break :blk records.recordWords(.block_def, addr_words) + insns * addr_words + records.layoutWords(accesses);
                },
                .regs => records.recordWords(.regs, addr_words) + (head >> records.count_shift),
                .syscall, .sysret, .munmap, .exit => records.recordWords(kind, addr_words),
                .exec, .mem, .block_open, .block_run => unreachable, // run() takes these
            };
            if (size > w.words.len - at) return w.corrupt(at);
            return size;
        }
    };
}

// ---------------------------------------------------------------- tests

const testing = std.testing;

/// Column storage for tests: room for `execs` instructions, `mems`
/// accesses and chunks of up to `words` words, every column wanted.
pub fn TestColumns(comptime execs: usize, comptime mems: usize) type {
    const words = 64;
    return struct {
        exec_pc: [execs]f64 = undefined,
        mem_pc: [mems]f64 = undefined,
        mem_addr: [mems]f64 = undefined,
        mem_size: [mems]u8 = undefined,
        mem_is_store: [mems]u8 = undefined,
        mem_value_lo: [mems]u32 = undefined,
        mem_value_hi: [mems]u32 = undefined,
        mem_value_upper_lo: [mems]u32 = undefined,
        mem_value_upper_hi: [mems]u32 = undefined,
        mem_exec_index: [mems]u32 = undefined,
        mem_flags: [mems]u8 = undefined,
        block_pcs: [words + block_pcs_slack]f64 = .{0} ** (words + block_pcs_slack),
        run_pcs_at: [words / 2]u32 = undefined,
        run_length: [words / 2]u32 = undefined,
        run_first_exec: [words / 2]u32 = undefined,
        run_block_id: [words / 2]u32 = undefined,
        other_kind: [words / 2]u8 = undefined,
        other_word: [words / 2]u32 = undefined,
        other_exec: [words / 2]u32 = undefined,
        reg_exec: [words / 2]u32 = undefined,
        reg_index: [words / 2]u32 = undefined,
        reg_value_lo: [words / 2]u32 = undefined,
        reg_value_hi: [words / 2]u32 = undefined,

        pub fn columns(self: *@This()) Columns {
            return .{
                .wanted = std.math.maxInt(u64),
                .exec_pc = &self.exec_pc,
                .exec_capacity = execs,
                .mem_capacity = mems,
                .mem_pc = &self.mem_pc,
                .mem_addr = &self.mem_addr,
                .mem_size = &self.mem_size,
                .mem_is_store = &self.mem_is_store,
                .mem_value_lo = &self.mem_value_lo,
                .mem_value_hi = &self.mem_value_hi,
                .mem_value_upper_lo = &self.mem_value_upper_lo,
                .mem_value_upper_hi = &self.mem_value_upper_hi,
                .mem_exec_index = &self.mem_exec_index,
                .mem_flags = &self.mem_flags,
                .block_pcs = &self.block_pcs,
                .block_pcs_capacity = self.block_pcs.len,
                .run_capacity = words / 2,
                .run_pcs_at = &self.run_pcs_at,
                .run_length = &self.run_length,
                .run_first_exec = &self.run_first_exec,
                .run_block_id = &self.run_block_id,
                .other_capacity = words / 2,
                .other_kind = &self.other_kind,
                .other_word = &self.other_word,
                .other_exec = &self.other_exec,
                .reg_capacity = words / 2,
                .reg_exec = &self.reg_exec,
                .reg_index = &self.reg_index,
                .reg_value_lo = &self.reg_value_lo,
                .reg_value_hi = &self.reg_value_hi,
            };
        }
    };
}

/// Fills `columns` from `words` and checks that the counting pass alone
/// agrees on the counts, which it returns.
fn fillAndCount(decoder: *BatchDecoder, words: []const u32, addr_words: u32, columns: *const Columns) !Counts {
    var counts: Counts = .{};
    try decoder.fill(words, addr_words, columns, &counts);
    var counted: Counts = .{};
    try decoder.count(words, addr_words, &counted);
    try testing.expectEqual(counts, counted);
    return counts;
}

const head_block_def: u32 = @intFromEnum(Kind.block_def);
const head_open: u32 = @intFromEnum(Kind.block_open);
const head_run: u32 = @intFromEnum(Kind.block_run);
const head_exec: u32 = @intFromEnum(Kind.exec);
const head_syscall: u32 = @intFromEnum(Kind.syscall);

fn memHead(size_shift: u32, store: bool, insn: u32) u32 {
    return records.memHead(size_shift << records.mem_size_shift_bit | @as(u32, @intFromBool(store)) << records.mem_store_bit, insn, true);
}

test "a block's accesses go after the instruction they name" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    // 32-bit guest: block 7 = pcs 0x100, 0x104, 0x108; a 4-byte load by
    // instruction 1 and an 8-byte store by instruction 2; the block ran 3.
    const words = [_]u32{
        head_block_def | 3 << 8, 7,                    0x100,
        0x104,                   0x108,                head_open | 3 << 8,
        7,                       memHead(2, false, 1), 0x2000,
        0xdead,                  memHead(3, true, 2),  0x3000,
        0x1111,                  0x2222,
    };
    var out = TestColumns(4, 2){};
    const columns = out.columns();
    const counts = try fillAndCount(&decoder, &words, 1, &columns);
    try testing.expectEqual(@as(u32, 3), counts.instructions);
    try testing.expectEqual(@as(u32, 1), counts.reads);
    try testing.expectEqual(@as(u32, 1), counts.writes);
    try testing.expectEqualSlices(f64, &.{ 0x100, 0x104, 0x108 }, out.exec_pc[0..3]);
    try testing.expectEqualSlices(f64, &.{ 0x104, 0x108 }, &out.mem_pc);
    try testing.expectEqualSlices(f64, &.{ 0x2000, 0x3000 }, &out.mem_addr);
    try testing.expectEqualSlices(u8, &.{ 4, 8 }, &out.mem_size);
    try testing.expectEqualSlices(u32, &.{ 1, 2 }, &out.mem_exec_index);
    try testing.expectEqualSlices(u32, &.{ 0xdead, 0x1111 }, &out.mem_value_lo);
    try testing.expectEqual(@as(u32, 0x2222), out.mem_value_hi[1]);
    try testing.expectEqual(@as(u32, 1), counts.runs);
    try testing.expectEqual(@as(u32, 7), out.run_block_id[0]);
    try testing.expectEqual(@as(u32, 3), out.run_length[0]);
    try testing.expectEqualSlices(f64, &.{ 0x100, 0x104, 0x108 }, out.block_pcs[out.run_pcs_at[0]..][0..3]);
}

/// A layout entry: `size_shift`, `store`, by instruction `insn`.
fn layoutEntry(size_shift: u32, store: bool, insn: u32) u32 {
    return size_shift | @as(u32, @intFromBool(store)) << 3 | insn << records.layout_insn_shift;
}

/// The same entry, its address the previous one's plus `delta`.
fn derivedEntry(size_shift: u32, store: bool, insn: u32, delta: i32) u32 {
    return records.derivedEntry(layoutEntry(size_shift, store, insn), delta).?;
}

/// A test chunk: words, and packed bytes padded to whole words.
const TestChunk = struct {
    words: std.ArrayList(u32) = std.ArrayList(u32).init(testing.allocator),
    pending: std.ArrayList(u8) = std.ArrayList(u8).init(testing.allocator),

    fn deinit(self: *TestChunk) void {
        self.words.deinit();
        self.pending.deinit();
    }

    fn word(self: *TestChunk, value: u32) !void {
        try self.flush();
        try self.words.append(value);
    }

    fn int(self: *TestChunk, comptime T: type, value: T) !void {
        var buffer: [@sizeOf(T)]u8 = undefined;
        std.mem.writeIntLittle(T, &buffer, value);
        try self.pending.appendSlice(&buffer);
    }

    fn flush(self: *TestChunk) !void {
        while (self.pending.items.len % 4 != 0) try self.pending.append(0);
        var at: usize = 0;
        while (at < self.pending.items.len) : (at += 4) try self.words.append(std.mem.readIntLittle(u32, self.pending.items[at..][0..4]));
        self.pending.clearRetainingCapacity();
    }
};

test "a block with a layout: its accesses follow its block_run or block_open without a head, packed" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    // 64-bit guest: block 7 = pcs 0x100, 0x104; a byte load by instruction
    // 0, an 8-byte store by instruction 1 and a 4-byte store 8 bytes below
    // it, derived (no address). It runs whole (block_run), then is cut
    // after its first access (block_open: 2 ran, 1 written).
    var chunk = TestChunk{};
    defer chunk.deinit();
    for ([_]u32{ head_block_def | 2 << 8 | 3 << records.block_accesses_shift, 7, 0x100, 0, 0x104, 0 }) |word| try chunk.word(word);
    for ([_]u32{ layoutEntry(0, false, 0), layoutEntry(3, true, 1), derivedEntry(2, true, 1, -8) }) |entry| try chunk.word(entry);
    try chunk.word(head_run | 7 << 8);
    try chunk.int(u64, 0x2000);
    try chunk.int(u8, 0xab);
    try chunk.int(u64, 0x3000);
    try chunk.int(u64, 0x22_0000_0011);
    try chunk.int(u32, 0x33);
    try chunk.word(head_open | 2 << 8 | 1 << records.block_accesses_shift);
    try chunk.word(7);
    try chunk.int(u64, 0x4000);
    try chunk.int(u8, 0xcd);
    try chunk.flush();
    // 9 + 16 + 4 bytes of the whole run take 8 words, the cut run's 9 take 3.
    try testing.expectEqual(@as(usize, 9 + 1 + 8 + 2 + 3), chunk.words.items.len);
    var out = TestColumns(4, 4){};
    const columns = out.columns();
    const counts = try fillAndCount(&decoder, chunk.words.items, 2, &columns);
    try testing.expectEqual(@as(u32, 4), counts.instructions);
    try testing.expectEqual(@as(u32, 2), counts.reads);
    try testing.expectEqual(@as(u32, 2), counts.writes);
    try testing.expectEqualSlices(f64, &.{ 0x100, 0x104, 0x104, 0x100 }, &out.mem_pc);
    try testing.expectEqualSlices(f64, &.{ 0x2000, 0x3000, 0x2ff8, 0x4000 }, &out.mem_addr);
    try testing.expectEqualSlices(u8, &.{ 1, 8, 4, 1 }, &out.mem_size);
    try testing.expectEqualSlices(u32, &.{ 0xab, 0x11, 0x33, 0xcd }, &out.mem_value_lo);
    try testing.expectEqualSlices(u32, &.{ 0, 0x22, 0, 0 }, &out.mem_value_hi);
    try testing.expectEqualSlices(u32, &.{ 0, 1, 1, 2 }, &out.mem_exec_index);
}

test "a 16-byte access carries its 16 value bytes, packed or in its record" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    // 32-bit guest: block 5 = pc 0x100, a 16-byte load (QEMU 10's aarch64
    // ldp). It runs whole (block_run), then departs: a second 16-byte
    // store, headed.
    var chunk = TestChunk{};
    defer chunk.deinit();
    for ([_]u32{ head_block_def | 1 << 8 | 1 << records.block_accesses_shift, 5, 0x100, layoutEntry(4, false, 0) }) |word| try chunk.word(word);
    try chunk.word(head_run | 5 << 8);
    try chunk.int(u32, 0x2000);
    try chunk.int(u128, 0x44444444_33333333_22222222_11111111);
    try chunk.word(head_open | 1 << 8 | 1 << records.block_accesses_shift);
    try chunk.word(5);
    try chunk.int(u32, 0x3000);
    try chunk.int(u128, 0x88888888_77777777_66666666_55555555);
    for ([_]u32{ memHead(4, true, 0), 0x4000, 0xa, 0xb, 0xc, 0xd }) |word| try chunk.word(word);
    try testing.expectEqual(@as(usize, 4 + 1 + 5 + 2 + 5 + 6), chunk.words.items.len);
    var out = TestColumns(2, 3){};
    const columns = out.columns();
    const counts = try fillAndCount(&decoder, chunk.words.items, 1, &columns);
    try testing.expectEqual(@as(u32, 2), counts.reads);
    try testing.expectEqual(@as(u32, 1), counts.writes);
    try testing.expectEqualSlices(f64, &.{ 0x2000, 0x3000, 0x4000 }, &out.mem_addr);
    try testing.expectEqualSlices(u8, &.{ 16, 16, 16 }, &out.mem_size);
    try testing.expectEqualSlices(u32, &.{ 0x11111111, 0x55555555, 0xa }, &out.mem_value_lo);
    try testing.expectEqualSlices(u32, &.{ 0x22222222, 0x66666666, 0xb }, &out.mem_value_hi);
    try testing.expectEqualSlices(u32, &.{ 0x33333333, 0x77777777, 0xc }, &out.mem_value_upper_lo);
    try testing.expectEqualSlices(u32, &.{ 0x44444444, 0x88888888, 0xd }, &out.mem_value_upper_hi);
}

test "a derived address wraps at the guest's address width" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    const words = [_]u32{
        head_block_def | 1 << 8 | 2 << records.block_accesses_shift, 3,           0x10, layoutEntry(2, false, 0), derivedEntry(2, false, 0, 8),
        head_run | 3 << 8,                                           0xffff_fffc, 1,    2,
    };
    var out = TestColumns(1, 2){};
    const columns = out.columns();
    var counts: Counts = .{};
    try decoder.fill(&words, 1, &columns, &counts);
    try testing.expectEqualSlices(f64, &.{ 0xffff_fffc, 4 }, &out.mem_addr);
}

test "a whole run fills the same rows with room after it as at the chunk's end, for any set of columns" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    // Block 9 = pcs 0x100, 0x104, 0x108: a byte load and a 2-byte store by
    // instruction 0, a 4-byte load without its value and an 8-byte load by
    // 1, a 4-byte store 4 bytes below that, derived, by 2. It runs whole
    // twice: the first run has the second after it (room for the 8-byte
    // reads of putRunData), the second ends the chunk (the careful path).
    const no_value = records.layoutEntry(records.memHead(2 << records.mem_size_shift_bit, 1, false));
    const layout = [_]u32{ layoutEntry(0, false, 0), layoutEntry(1, true, 0), no_value, layoutEntry(3, false, 1), derivedEntry(2, true, 2, -4) };
    const addrs = [_]f64{ 0x1000, 0x2002, 0x3004, 0x4008, 0x4004 } ** 2;
    const sizes = [_]u8{ 1, 2, 4, 8, 4 } ** 2;
    const stores = [_]u8{ 0, 1, 0, 0, 1 } ** 2;
    const lows = [_]u32{ 0xab, 0xcdef, 0, 0x5566_7788, 0x99aa_bbcc } ** 2;
    const highs = [_]u32{ 0, 0, 0, 0x1122_3344, 0 } ** 2;
    const pcs = [_]f64{ 0x100, 0x100, 0x104, 0x104, 0x108 } ** 2;
    const rows = [_]u32{ 0, 0, 1, 1, 2, 3, 3, 4, 4, 5 };
    const zeros_f64 = [_]f64{0} ** 10;
    const zeros_u32 = [_]u32{0} ** 10;
    const zeros_u8 = [_]u8{0} ** 10;
    for ([_]u32{ 1, 2 }) |addr_words| {
        var chunk = TestChunk{};
        defer chunk.deinit();
        try chunk.word(head_block_def | 3 << 8 | @as(u32, layout.len) << records.block_accesses_shift);
        try chunk.word(9);
        for ([_]u32{ 0x100, 0x104, 0x108 }) |pc| {
            try chunk.word(pc);
            if (addr_words == 2) try chunk.word(0);
        }
        for (layout) |entry| try chunk.word(entry);
        for (0..2) |_| {
            try chunk.word(head_run | 9 << 8);
            for ([_]u64{ 0x1000, 0x2002, 0x3004, 0x4008 }, 0..) |addr, index| {
                if (addr_words == 1) try chunk.int(u32, @as(u32, @intCast(addr))) else try chunk.int(u64, addr);
                switch (index) {
                    0 => try chunk.int(u8, 0xab),
                    1 => try chunk.int(u16, 0xcdef),
                    2 => {},
                    else => try chunk.int(u64, 0x1122_3344_5566_7788),
                }
            }
            try chunk.int(u32, 0x99aa_bbcc);
        }
        try chunk.flush();
        // Each set of the four data columns, with and without the others.
        for (0..32) |choice| {
            var out = std.mem.zeroes(TestColumns(6, 10));
            var columns = out.columns();
            const data_columns = [_]Column{ .mem_addr, .mem_value_lo, .mem_value_hi, .mem_value_upper };
            columns.wanted = if (choice & 16 != 0) Column.memory_meta_bits else 0;
            for (data_columns, 0..) |column, bit| {
                if (choice >> @intCast(bit) & 1 != 0) columns.wanted |= column.bit();
            }
            var counts: Counts = .{};
            try decoder.fill(chunk.words.items, addr_words, &columns, &counts);
            try testing.expectEqual(@as(u32, 6), counts.reads);
            try testing.expectEqual(@as(u32, 4), counts.writes);
            const meta = choice & 16 != 0;
            try testing.expectEqualSlices(f64, if (choice & 1 != 0) &addrs else &zeros_f64, &out.mem_addr);
            try testing.expectEqualSlices(u32, if (choice & 2 != 0) &lows else &zeros_u32, &out.mem_value_lo);
            try testing.expectEqualSlices(u32, if (choice & 4 != 0) &highs else &zeros_u32, &out.mem_value_hi);
            try testing.expectEqualSlices(u32, &zeros_u32, &out.mem_value_upper_lo);
            try testing.expectEqualSlices(u32, &zeros_u32, &out.mem_value_upper_hi);
            try testing.expectEqualSlices(f64, if (meta) &pcs else &zeros_f64, &out.mem_pc);
            try testing.expectEqualSlices(u8, if (meta) &sizes else &zeros_u8, &out.mem_size);
            try testing.expectEqualSlices(u8, if (meta) &stores else &zeros_u8, &out.mem_is_store);
            try testing.expectEqualSlices(u32, if (meta) &rows else &zeros_u32, &out.mem_exec_index);
        }
    }
}

test "a layout out of order, past its block, or whose accesses do not fit is corrupt" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    var counts: Counts = .{};
    const def2 = head_block_def | 2 << 8 | 2 << records.block_accesses_shift;
    const backwards = [_]u32{ def2, 1, 0x10, 0x14, layoutEntry(0, false, 1), layoutEntry(0, false, 0) };
    try testing.expectError(error.Corrupt, decoder.count(&backwards, 1, &counts));
    const past = [_]u32{ def2, 1, 0x10, 0x14, layoutEntry(0, false, 0), layoutEntry(0, false, 2) };
    try testing.expectError(error.Corrupt, decoder.count(&past, 1, &counts));
    const bad_size = [_]u32{ def2, 1, 0x10, 0x14, layoutEntry(5, false, 0), layoutEntry(0, false, 1) };
    try testing.expectError(error.Corrupt, decoder.count(&bad_size, 1, &counts));
    const derived_first = [_]u32{ def2, 1, 0x10, 0x14, derivedEntry(2, false, 0, 4), layoutEntry(2, false, 1) };
    try testing.expectError(error.Corrupt, decoder.count(&derived_first, 1, &counts));
    const no_value = layoutEntry(2, false, 1) | 1 << (records.mem_no_value_bit - records.mem_size_shift_bit);
    const derived_empty = [_]u32{ def2, 1, 0x10, 0x14, layoutEntry(2, false, 0), no_value | 1 << records.layout_derived_bit };
    try testing.expectError(error.Corrupt, decoder.count(&derived_empty, 1, &counts));
    const layout = [_]u32{ layoutEntry(2, false, 0), layoutEntry(2, false, 1) };
    const short = [_]u32{ def2, 1, 0x10, 0x14 } ++ layout ++ [_]u32{ head_run | 1 << 8, 0x20, 5, 0x24 };
    try testing.expectError(error.Corrupt, decoder.count(&short, 1, &counts));
    try testing.expectEqual(@as(u32, 6), counts.corrupt_word);
    const written = 2 << records.block_accesses_shift;
    // The second access's instruction did not run.
    const not_run = [_]u32{ def2, 1, 0x10, 0x14 } ++ layout ++ [_]u32{ head_open | 1 << 8 | written, 1, 0x20, 5, 0x24, 6 };
    try testing.expectError(error.Corrupt, decoder.count(&not_run, 1, &counts));
    const too_many = [_]u32{ def2, 1, 0x10, 0x14 } ++ layout ++ [_]u32{ head_open | 2 << 8 | 3 << records.block_accesses_shift, 1 };
    try testing.expectError(error.Corrupt, decoder.count(&too_many, 1, &counts));
    const no_layout = [_]u32{ head_block_def | 1 << 8, 1, 0x10, head_open | 1 << 8 | 1 << records.block_accesses_shift, 1 };
    try testing.expectError(error.Corrupt, decoder.count(&no_layout, 1, &counts));
    const undefined_run = [_]u32{head_run | 9 << 8};
    try testing.expectError(error.Corrupt, decoder.count(&undefined_run, 1, &counts));
    const cut_early = [_]u32{ def2, 1, 0x10, 0x14 } ++ layout ++ [_]u32{ head_open | 1 << 8 | 1 << records.block_accesses_shift, 1, 0x20, 5 };
    try decoder.count(&cut_early, 1, &counts);
    try testing.expectEqual(@as(u32, 1), counts.reads);
}

test "an access after an exec record is that instruction's; without a value it has none" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    const words = [_]u32{ head_exec, 0x40, records.memHead(1 << records.mem_size_shift_bit, 0, false), 0x900 };
    var out = TestColumns(1, 1){};
    const columns = out.columns();
    var counts: Counts = .{};
    try decoder.fill(&words, 1, &columns, &counts);
    try testing.expectEqual(@as(f64, 0x40), out.mem_pc[0]);
    try testing.expectEqual(@as(u32, 0), out.mem_exec_index[0]);
    try testing.expectEqual(@as(u32, 0), out.mem_value_lo[0]);
    try testing.expectEqual(@as(u8, 2), out.mem_size[0]);
}

test "accesses naming no instruction, one that did not run, or one already passed are corrupt" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    var counts: Counts = .{};
    const orphan = [_]u32{ memHead(0, false, 0), 0x10, 0 };
    try testing.expectError(error.Corrupt, decoder.count(&orphan, 1, &counts));
    const not_run = [_]u32{ head_block_def | 2 << 8, 1, 0x10, 0x14, head_open | 1 << 8, 1, memHead(0, false, 1), 0x10, 0 };
    try testing.expectError(error.Corrupt, decoder.count(&not_run, 1, &counts));
    try testing.expectEqual(@as(u32, 6), counts.corrupt_word);
    const backwards = [_]u32{ head_block_def | 2 << 8, 1, 0x10, 0x14, head_open | 2 << 8, 1, memHead(0, false, 1), 0x10, 0, memHead(0, false, 0), 0x10, 0 };
    try testing.expectError(error.Corrupt, decoder.count(&backwards, 1, &counts));
    const after_syscall = [_]u32{ head_exec, 0x40, head_syscall, 0, 0, 0, 0, 0, 0, 0, memHead(0, false, 0), 0x10, 0 };
    try testing.expectError(error.Corrupt, decoder.count(&after_syscall, 1, &counts));
    const after_exec = [_]u32{ head_exec, 0x40, memHead(0, false, 1), 0x10, 0 };
    try testing.expectError(error.Corrupt, decoder.count(&after_exec, 1, &counts));
}

test "a block used without its definition, or past its length, is corrupt" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    var counts: Counts = .{};
    const undefined_block = [_]u32{ head_open | 1 << 8, 9 };
    try testing.expectError(error.Corrupt, decoder.count(&undefined_block, 1, &counts));
    try testing.expectEqual(@as(u32, 0), counts.corrupt_word);
    const too_long = [_]u32{ head_block_def | 1 << 8, 9, 0x10, head_open | 2 << 8, 9 };
    try testing.expectError(error.Corrupt, decoder.count(&too_long, 1, &counts));
    try testing.expectEqual(@as(u32, 3), counts.corrupt_word);
    const truncated = [_]u32{ head_block_def | 4 << 8, 9, 0x10 };
    try testing.expectError(error.Corrupt, decoder.count(&truncated, 1, &counts));
    const unknown = [_]u32{0xff};
    try testing.expectError(error.Corrupt, decoder.count(&unknown, 1, &counts));
    const retired = [_]u32{ 9, 1 };
    try testing.expectError(error.Corrupt, decoder.count(&retired, 1, &counts));
}

test "definitions do not leak from one chunk into the next" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    var counts: Counts = .{};
    const first = [_]u32{ head_block_def | 1 << 8, 5, 0x10, head_open | 1 << 8, 5 };
    try decoder.count(&first, 1, &counts);
    try testing.expectEqual(@as(u32, 1), counts.instructions);
    const second = [_]u32{ head_open | 1 << 8, 5 };
    try testing.expectError(error.Corrupt, decoder.count(&second, 1, &counts));
}

test "a chunk with more definitions than the table's first size" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    const blocks = 3 * BlockTable.slots_initial;
    const words = try testing.allocator.alloc(u32, blocks * 5);
    defer testing.allocator.free(words);
    for (0..blocks) |b| {
        const id: u32 = @intCast(b * 7919);
        words[b * 5 ..][0..5].* = .{ head_block_def | 1 << 8, id, @intCast(b), head_open | 1 << 8, id };
    }
    var counts: Counts = .{};
    try decoder.count(words, 1, &counts);
    try testing.expectEqual(@as(u32, blocks), counts.instructions);
    try testing.expect(decoder.blocks.slots.len >= 2 * blocks);
}

test "runs: blocks that ran and lone instructions, and only the wanted columns" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    // Block 4 (two instructions) ran twice, once cut after its first; a
    // lone exec; a block that ran nothing is no run.
    const words = [_]u32{
        head_block_def | 2 << 8, 4,     0x10,      0x14,
        head_open | 2 << 8,      4,     head_exec, 0x80,
        head_open | 1 << 8,      4,     head_open, 4,
        memHead(2, true, 0),     0x500, 1,
    };
    var out = TestColumns(8, 2){};
    var columns = out.columns();
    columns.wanted = Column.runs.bit() | Column.mem_pc.bit();
    @memset(&out.exec_pc, -1);
    @memset(&out.mem_addr, -1);
    var counts: Counts = .{};
    // The last access names the block that ran nothing: corrupt.
    try testing.expectError(error.Corrupt, decoder.fill(&words, 1, &columns, &counts));
    try decoder.fill(words[0 .. words.len - 3], 1, &columns, &counts);
    try testing.expectEqual(@as(u32, 4), counts.instructions);
    try testing.expectEqual(@as(u32, 3), counts.runs);
    try testing.expectEqualSlices(u32, &.{ 2, 1, 1 }, out.run_length[0..3]);
    try testing.expectEqualSlices(u32, &.{ 0, 2, 3 }, out.run_first_exec[0..3]);
    try testing.expectEqualSlices(u32, &.{ 4, no_block_id, 4 }, out.run_block_id[0..3]);
    try testing.expectEqual(@as(f64, 0x80), out.block_pcs[out.run_pcs_at[1]]);
    try testing.expectEqual(out.run_pcs_at[0], out.run_pcs_at[2]);
    // Unwanted columns are not touched.
    try testing.expectEqual(@as(f64, -1), out.exec_pc[0]);
}

test "others: where each syscall-like record sits, after how many instructions" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    const head_sysret: u32 = @intFromEnum(Kind.sysret);
    const head_exit: u32 = @intFromEnum(Kind.exit);
    const words = [_]u32{
        head_sysret,             93,                 0,
        head_block_def | 2 << 8, 4,                  0x10,
        0x14,                    head_open | 2 << 8, 4,
        head_syscall,            64,                 1,
        2,                       3,                  4,
        5,                       6,                  head_exit,
    };
    var out = TestColumns(4, 0){};
    var columns = out.columns();
    columns.wanted = Column.others.bit();
    var counts: Counts = .{};
    try decoder.fill(&words, 1, &columns, &counts);
    try testing.expectEqual(@as(u32, 2), counts.others);
    try testing.expectEqualSlices(u8, &.{ @intFromEnum(Kind.sysret), @intFromEnum(Kind.syscall) }, out.other_kind[0..2]);
    try testing.expectEqualSlices(u32, &.{ 0, 9 }, out.other_word[0..2]);
    try testing.expectEqualSlices(u32, &.{ 0, 2 }, out.other_exec[0..2]);
}

test "registers: one row per entry of a regs record, at its instruction" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    const head_regs: u32 = @intFromEnum(Kind.regs);
    const shift = records.regs_value_words_shift;
    // Two instructions; the second's record lists register 3 (8 bytes) and 0 (4).
    const words = [_]u32{
        head_exec,          0x40,
        head_exec,          0x44,
        head_regs | 5 << 8, 3 | 2 << shift,
        0x1111,             0x2222,
        0 | 1 << shift,     0x33,
    };
    var out = TestColumns(4, 0){};
    var columns = out.columns();
    columns.wanted = Column.registers.bit();
    var counts: Counts = .{};
    try decoder.fill(&words, 1, &columns, &counts);
    try testing.expectEqual(@as(u32, 2), counts.register_entries);
    try testing.expectEqualSlices(u32, &.{ 1, 1 }, out.reg_exec[0..2]);
    try testing.expectEqualSlices(u32, &.{ 3, 0 }, out.reg_index[0..2]);
    try testing.expectEqualSlices(u32, &.{ 0x1111, 0x33 }, out.reg_value_lo[0..2]);
    try testing.expectEqualSlices(u32, &.{ 0x2222, 0 }, out.reg_value_hi[0..2]);
    // An entry running past its record is corrupt.
    var bad = words;
    bad[8] = 0 | 2 << shift;
    try testing.expectError(error.Corrupt, decoder.count(&bad, 1, &counts));
}

test "block_pcs shorter than the chunk plus its slack is refused" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    const words = [_]u32{ head_exec, 0x40 };
    var out = TestColumns(1, 0){};
    var columns = out.columns();
    columns.block_pcs_capacity = words.len + block_pcs_slack - 1;
    var counts: Counts = .{};
    try testing.expectError(error.ColumnsTooSmall, decoder.fill(&words, 1, &columns, &counts));
}

test "columns that are too small are refused, not overrun" {
    var decoder = BatchDecoder.init(testing.allocator);
    defer decoder.deinit();
    const words = [_]u32{ head_block_def | 2 << 8, 1, 0x10, 0, 0x14, 0, head_open | 2 << 8, 1 };
    var out = TestColumns(1, 0){};
    const columns = out.columns();
    var counts: Counts = .{};
    try testing.expectError(error.ColumnsTooSmall, decoder.fill(&words, 2, &columns, &counts));
}
