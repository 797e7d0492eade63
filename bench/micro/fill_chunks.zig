// SPDX-License-Identifier: MIT
//! The native fill alone, for counting its instructions with callgrind:
//! this machine's speed drifts too much between minutes for wall time to
//! tell a few percent apart, an instruction count does not drift. Reads
//! length-prefixed chunks (bench/micro/dump_chunks.ts) and fills the
//! columns `wanted` names (BatchDecoder.Column bits) from each, or only
//! counts them (`count`: the pass a tracer without columns gets), 64-bit guest:
//!   zig build fill-chunks -Doptimize=ReleaseFast -Dcpu=x86_64_v3
//!   valgrind --tool=callgrind zig-out/bin/fill-chunks CHUNKS.bin 0x25
//! (0x25: exec_pc, mem_addr, mem_value_lo, what bench/tracers/exec_batch.ts reads;
//! 0x424: the runs, mem_addr and mem_value_lo, what bench/tracers/runs_batch.ts reads.)
const std = @import("std");
const BatchDecoder = @import("wire").BatchDecoder;

/// Rows per column: more than any 1 MiB chunk has.
const rows_max = 1 << 20;

pub fn main() !void {
    const allocator = std.heap.page_allocator;
    var args = try std.process.argsWithAllocator(allocator);
    _ = args.next();
    const path = args.next() orelse return usage();
    const wanted_arg = args.next() orelse return usage();
    const count_only = std.mem.eql(u8, wanted_arg, "count");
    const wanted = if (count_only) 0 else std.fmt.parseInt(u64, wanted_arg, 0) catch return usage();
    const file = try std.fs.cwd().readFileAlloc(allocator, path, 1 << 32);
    var decoder = BatchDecoder.init(allocator);
    defer decoder.deinit();
    const f64s = try allocator.alloc(f64, 3 * rows_max);
    const u32s = try allocator.alloc(u32, 5 * rows_max);
    const u8s = try allocator.alloc(u8, 4 * rows_max);
    const run_rows = try allocator.alloc(u32, 4 * rows_max);
    const rows = f64s.ptr;
    const columns = BatchDecoder.Columns{
        .wanted = wanted,
        .exec_pc = rows,
        .exec_capacity = rows_max,
        .mem_capacity = rows_max,
        .mem_pc = rows + rows_max,
        .mem_addr = rows + 2 * rows_max,
        .mem_size = u8s.ptr,
        .mem_is_store = u8s.ptr + rows_max,
        .mem_value_lo = u32s.ptr,
        .mem_value_hi = u32s.ptr + rows_max,
        .mem_value_upper_lo = u32s.ptr + 2 * rows_max,
        .mem_value_upper_hi = u32s.ptr + 3 * rows_max,
        .mem_exec_index = u32s.ptr + 4 * rows_max,
        .mem_flags = u8s.ptr + 2 * rows_max,
        .block_pcs = (try allocator.alloc(f64, rows_max)).ptr,
        .block_pcs_capacity = rows_max,
        .run_capacity = rows_max,
        .run_pcs_at = run_rows.ptr,
        .run_length = run_rows.ptr + rows_max,
        .run_first_exec = run_rows.ptr + 2 * rows_max,
        .run_block_id = run_rows.ptr + 3 * rows_max,
        // Others and registers: not wanted here.
        .other_capacity = 0,
        .other_kind = u8s.ptr,
        .other_word = u32s.ptr,
        .other_exec = u32s.ptr,
        .reg_capacity = 0,
        .reg_exec = u32s.ptr,
        .reg_index = u32s.ptr,
        .reg_value_lo = u32s.ptr,
        .reg_value_hi = u32s.ptr,
    };
    var at: usize = 0;
    var chunks: u64 = 0;
    var instructions: u64 = 0;
    var accesses: u64 = 0;
    var runs: u64 = 0;
    while (at + 4 <= file.len) : (chunks += 1) {
        const bytes = std.mem.readIntLittle(u32, file[at..][0..4]);
        at += 4;
        if (bytes % 4 != 0 or bytes > file.len - at) return error.BadChunkFile;
        const words: []const u32 = @alignCast(std.mem.bytesAsSlice(u32, file[at..][0..bytes]));
        at += bytes;
        var counts: BatchDecoder.Counts = .{};
        if (count_only) try decoder.count(words, 2, &counts) else try decoder.fill(words, 2, &columns, &counts);
        instructions += counts.instructions;
        accesses += counts.reads + counts.writes;
        runs += counts.runs;
    }
    try std.io.getStdOut().writer().print("{d} chunks, {d} instructions, {d} accesses, {d} runs\n", .{ chunks, instructions, accesses, runs });
}

fn usage() void {
    std.debug.print("usage: fill-chunks CHUNKS.bin WANTED|count (WANTED: BatchDecoder.Column bits)\n", .{});
    std.process.exit(2);
}
