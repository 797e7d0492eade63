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
const abi = @import("decoder_abi.zig");
const run_fill = @import("run_fill.zig");

const BatchDecoder = @This();

pub const Status = abi.Status;
pub const Counts = abi.Counts;
pub const Column = abi.Column;
pub const Columns = abi.Columns;
pub const no_block_id = abi.no_block_id;
pub const block_pcs_slack = abi.block_pcs_slack;

/// Words of the largest chunk decoded (mempipe's chunk_bytes_max / 4).
pub const chunk_words_max: u32 = 4 * 1024 * 1024;

pub const Error = error{ Corrupt, ColumnsTooSmall, OutOfMemory };

/// The current chunk's block definitions.
blocks: BlockTable,
/// The current chunk's layout entries as the branch-free fill reads them,
/// each block's from its `steps_at` (filled only when columns are).
run_steps: std.ArrayListUnmanaged(run_fill.RunStep) = .{},

pub fn init(allocator: std.mem.Allocator) BatchDecoder {
    return .{ .blocks = BlockTable.init(allocator) };
}

pub fn deinit(self: *BatchDecoder) void {
    self.run_steps.deinit(self.blocks.allocator);
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
    self.run_steps.clearRetainingCapacity();
    switch (addr_words) {
        inline 1, 2 => |aw| {
            var walker = Walker(aw){ .decoder = self, .words = words, .columns = columns, .counts = counts };
            // Three instantiations: a fill without memory columns (an exec or
            // runs handler) keeps its registers for the instructions.
            if (columns) |c| {
                walker.put_run_data = run_fill.putRunDataFor(aw, c);
                walker.put_run_meta = run_fill.putRunMetaFor(c);
                if (c.wanted & Column.memory_bits != 0) try walker.run(.fill_memory) else try walker.run(.fill);
                std.debug.assert(walker.exec == counts.instructions);
                std.debug.assert(walker.mem <= c.mem_capacity);
                std.debug.assert(walker.block_pcs_used <= words.len);
            } else try walker.run(.count);
        },
        else => unreachable,
    }
}

/// What a Walker pass writes: nothing (the counting pass), the columns
/// but none of the memory ones, or the memory columns too.
const Pass = enum { count, fill, fill_memory };

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
        /// Fills a whole run's address and value columns (chosen once).
        put_run_data: run_fill.PutRunData = undefined,
        /// Fills a whole run's other memory columns (chosen once; null: none wanted).
        put_run_meta: ?run_fill.PutRunMeta = null,

        /// Every pass: `pass` says which columns it writes. block_run
        /// records, most of a chunk's, go to blockRuns' own loop.
        fn run(w: *Self, comptime pass: Pass) Error!void {
            const words = w.words;
            var at: u32 = 0;
            while (at < words.len) {
                const head = words[at];
                const kind = head & 0xff;
                if (kind == @intFromEnum(Kind.block_run)) {
                    at = try w.blockRuns(at, pass);
                } else if (kind == @intFromEnum(Kind.mem)) {
                    const size = records.memWords(head, addr_words);
                    if (size > words.len - at) return w.corrupt(at);
                    try w.access(at, head, w.rawAddr(at + 1), w.recordValue(head, at + 1 + addr_words), pass);
                    at += size;
                } else if (kind == @intFromEnum(Kind.block_open)) {
                    if (open_words > words.len - at) return w.corrupt(at);
                    const id = words[at + 1];
                    const block = w.decoder.blocks.lookup(id) orelse return w.corrupt(at);
                    const executed = (head >> records.count_shift) & records.block_insns_mask;
                    const written = (head >> records.block_accesses_shift) & records.block_accesses_mask;
                    if (executed > block.insns or written > block.accesses) return w.corrupt(at);
                    try w.open(block.pcs_at, executed, false, id, pass);
                    at = try w.layoutAccesses(block, at, at + open_words, written, pass);
                } else if (kind == @intFromEnum(Kind.exec)) {
                    if (exec_words > words.len - at) return w.corrupt(at);
                    w.counts.sized_execs += @intFromBool(head >> records.exec_insn_bytes_shift != 0);
                    const pcs_at = if (pass != .count) w.putPcs(at + 1, 1) else 0;
                    try w.open(pcs_at, 1, true, no_block_id, pass);
                    at += exec_words;
                } else if (kind == @intFromEnum(Kind.block_def)) {
                    const size = try w.sizeAt(at);
                    try w.define(at, pass);
                    at += size;
                } else if (kind == @intFromEnum(Kind.regs)) {
                    // The exec record's instruction, before its accesses.
                    const size = try w.sizeAt(at);
                    if (!w.owner_is_exec or w.executed != 1 or w.next_insn != 0) return w.corrupt(at);
                    if (pass != .count) try w.putOther(at);
                    try w.registerEntries(at, size, pass);
                    w.counts.others += 1;
                    at += size;
                } else {
                    const size = try w.sizeAt(at);
                    // After the owner's last instruction: no access follows.
                    w.next_insn = w.executed;
                    if (pass != .count and head & 0xff != @intFromEnum(Kind.exit)) try w.putOther(at);
                    w.countOther(head);
                    at += size;
                }
            }
        }

        /// The block_run records from `at` on (the first is one): what
        /// open and layoutAccesses do for each, in a loop of its own with
        /// the counts and rows in registers. Most of a chunk's records are
        /// these, and in the walker's one big loop they paid for its
        /// register pressure (spills on every run). Returns where the first
        /// record that is not a block_run starts.
        noinline fn blockRuns(w: *Self, start: u32, comptime pass: Pass) Error!u32 {
            const words = w.words;
            const blocks = &w.decoder.blocks;
            var at = start;
            var instructions: u32 = 0;
            var runs: u32 = 0;
            var accesses: u32 = 0;
            var reads: u32 = 0;
            var exec = w.exec;
            var first_row = exec;
            var last: *const Block = undefined;
            while (at < words.len) {
                const head = words[at];
                if (head & 0xff != @intFromEnum(Kind.block_run)) break;
                const id = head >> records.count_shift;
                const block = blocks.lookup(id) orelse return w.corrupt(at);
                // A block has at least one instruction (define checked it).
                const insns: u32 = block.insns;
                std.debug.assert(insns >= 1);
                instructions += insns;
                runs += 1;
                if (pass != .count) try w.putRun(block.pcs_at, insns, exec, id);
                first_row = exec;
                exec += insns;
                if (block.accesses != 0) {
                    // A whole run: the layout's sums count it, and its
                    // accesses need no check one by one (define checked it).
                    if (block.data_words > words.len - (at + 1)) return w.corrupt(at);
                    accesses += block.accesses;
                    reads += block.reads;
                    if (pass == .fill_memory) {
                        w.owner_pcs_at = block.pcs_at;
                        w.first_row = first_row;
                        try w.putRunAccesses(block, words[block.layout_at..][0..block.accesses], at + 1);
                    }
                    at += block.data_words;
                }
                at += 1;
                last = block;
            }
            std.debug.assert(runs >= 1);
            w.counts.instructions += instructions;
            w.counts.runs += runs;
            w.counts.reads += reads;
            w.counts.writes += accesses - reads;
            w.exec = exec;
            // The last run owns what follows.
            w.owner_pcs_at = last.pcs_at;
            w.owner_is_exec = false;
            w.executed = last.insns;
            w.next_insn = if (last.accesses != 0) last.last_insn else 0;
            w.first_row = first_row;
            return at;
        }

        /// The access whose head is `head` (its mem record's, or its layout
        /// entry's), at `address`, of `value`: counted, checked against its
        /// owner (else the record at `at` is corrupt), and put in the
        /// columns.
        inline fn access(w: *Self, at: u32, head: u32, address: u64, value: u128, comptime pass: Pass) Error!void {
            const insn = (head >> records.mem_insn_shift) & records.mem_insn_mask;
            if (insn < w.next_insn or insn >= w.executed) return w.corrupt(at);
            w.next_insn = insn;
            const store = (head >> records.mem_store_bit) & 1;
            w.counts.writes += store;
            w.counts.reads += 1 - store;
            if (pass == .fill_memory) try w.putMem(head, insn, address, value);
        }

        /// The first `written` of the layout's accesses, without a head,
        /// packed from word `start` on, after the block_run or block_open
        /// at `at` (which checked that the layout has that many). Returns
        /// where the next record starts.
        inline fn layoutAccesses(w: *Self, block: *const Block, at: u32, start: u32, written: u32, comptime pass: Pass) Error!u32 {
            if (written == 0) return start;
            const layout = w.words[block.layout_at..][0..written];
            // A whole run: the layout's sums count it, and its accesses need
            // no check one by one (define checked the layout).
            if (written == block.accesses and w.executed == block.insns) {
                if (block.data_words > w.words.len - start) return w.corrupt(at);
                w.counts.reads += block.reads;
                w.counts.writes += block.accesses - block.reads;
                w.next_insn = block.last_insn;
                if (pass == .fill_memory) try w.putRunAccesses(block, layout, start);
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
                try w.access(at, head, address, packedValue(bytes, head, &data), pass);
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
        inline fn open(w: *Self, pcs_at: u32, executed: u32, is_exec: bool, id: u32, comptime pass: Pass) Error!void {
            w.owner_pcs_at = pcs_at;
            w.owner_is_exec = is_exec;
            w.executed = executed;
            w.next_insn = 0;
            w.first_row = w.exec;
            w.counts.instructions += executed;
            if (executed == 0) return;
            w.counts.runs += 1;
            if (pass != .count) try w.putRun(pcs_at, executed, w.exec, id);
            w.exec += executed;
        }

        /// A run of `executed` instructions from block_pcs[pcs_at] on, from
        /// row `exec`: its rows of exec_pc and of the run columns, those wanted.
        inline fn putRun(w: *Self, pcs_at: u32, executed: u32, exec: u32, id: u32) Error!void {
            const columns = w.columns.?;
            if (columns.wants(.exec_pc)) {
                if (executed > columns.exec_capacity - exec) return error.ColumnsTooSmall;
                run_fill.copyPcs(columns, exec, columns.block_pcs[pcs_at..columns.block_pcs_capacity], executed);
            }
            if (columns.wants(.runs)) {
                if (w.run_row >= columns.run_capacity) return error.ColumnsTooSmall;
                const r = w.run_row;
                columns.run_pcs_at[r] = pcs_at;
                columns.run_length[r] = executed;
                columns.run_first_exec[r] = exec;
                columns.run_block_id[r] = id;
                w.run_row = r + 1;
            }
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
            if (columns.wants(.mem_size)) columns.mem_size[m] = abi.memSize(head);
            if (columns.wants(.mem_is_store)) columns.mem_is_store[m] = abi.memIsStore(head);
            if (columns.wants(.mem_exec_index)) columns.mem_exec_index[m] = w.first_row + insn;
            if (columns.wants(.mem_flags)) columns.mem_flags[m] = abi.memFlags(head);
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
            if (!block.wide and bytes.len >= @as(usize, block.data_words) * 4 + run_fill.run_read_slack) {
                w.put_run_data(columns, m, w.decoder.run_steps.items[block.steps_at..][0..layout.len], bytes);
            } else {
                var data: usize = 0;
                var address: u64 = 0;
                for (layout, m..) |entry, row| {
                    address = layoutAddress(bytes, entry, address, &data);
                    putMemData(columns, row, address, packedValue(bytes, records.layoutHead(entry), &data));
                }
            }
            if (w.put_run_meta) |put| put(columns, m, layout, columns.block_pcs + w.owner_pcs_at, w.first_row);
            w.mem = m + @as(u32, @intCast(layout.len));
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
        fn registerEntries(w: *Self, at: u32, size: u32, comptime pass: Pass) Error!void {
            const end = at + size;
            var entry = at + 1;
            const wanted = pass != .count and w.columns.?.wants(.registers);
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
        fn define(w: *Self, at: u32, comptime pass: Pass) Error!void {
            const insns = (w.words[at] >> records.count_shift) & records.block_insns_mask;
            const accesses = (w.words[at] >> records.block_accesses_shift) & records.block_accesses_mask;
            std.debug.assert(insns >= 1 and insns <= records.block_insns_max and accesses <= records.block_accesses_max);
            var block = Block{ .insns = @intCast(insns), .pcs_at = 0, .layout_at = at + 2 + insns * addr_words, .accesses = @intCast(accesses) };
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
            if (pass != .count) block.pcs_at = w.putPcs(at + 2, insns);
            if (pass == .fill_memory) {
                const steps = &w.decoder.run_steps;
                block.steps_at = @intCast(steps.items.len);
                try steps.ensureUnusedCapacity(w.decoder.blocks.allocator, accesses);
                for (w.words[block.layout_at..][0..accesses]) |entry| steps.appendAssumeCapacity(run_fill.RunStep.of(addr_words, entry));
            }
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

test {
    _ = @import("batch_decoder_test.zig");
}
