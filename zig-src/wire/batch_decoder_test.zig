// SPDX-License-Identifier: MIT
//! BatchDecoder.zig's tests: hand-built chunks, filled and counted, against
//! what records.zig says they hold (the random-chunk equivalence with the
//! TypeScript walker is a Bun test, test/wire.test.ts).
const std = @import("std");
const records = @import("records.zig");
const Kind = records.Kind;
const BatchDecoder = @import("BatchDecoder.zig");
const abi = @import("decoder_abi.zig");
const Columns = abi.Columns;
const Column = abi.Column;
const Counts = abi.Counts;
const TestColumns = abi.TestColumns;
const block_pcs_slack = abi.block_pcs_slack;
const no_block_id = abi.no_block_id;
const BlockTable = @import("BlockTable.zig");

const testing = std.testing;

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
