// SPDX-License-Identifier: MIT
//! The C ABI of BatchDecoder, loaded by Bun's Workers through bun:ffi
//! (src/mempipe/native.ts declares the same signatures).
const std = @import("std");
const BatchDecoder = @import("BatchDecoder.zig");

const allocator = std.heap.c_allocator;

const DecodeStatus = BatchDecoder.Status;

export fn cnl_decoder_create() ?*BatchDecoder {
    const decoder = allocator.create(BatchDecoder) catch return null;
    decoder.* = BatchDecoder.init(allocator);
    return decoder;
}

export fn cnl_decoder_destroy(decoder: *BatchDecoder) void {
    decoder.deinit();
    allocator.destroy(decoder);
}

fn status(result: BatchDecoder.Error!void) u32 {
    result catch |err| return @intFromEnum(switch (err) {
        error.Corrupt => DecodeStatus.corrupt,
        error.ColumnsTooSmall => DecodeStatus.columns_too_small,
        error.OutOfMemory => DecodeStatus.out_of_memory,
    });
    return @intFromEnum(DecodeStatus.ok);
}

fn validArguments(word_count: u32, addr_words: u32) bool {
    return (addr_words == 1 or addr_words == 2) and word_count <= BatchDecoder.chunk_words_max;
}

export fn cnl_decoder_count(decoder: *BatchDecoder, words: [*]const u32, word_count: u32, addr_words: u32, counts: *BatchDecoder.Counts) u32 {
    if (!validArguments(word_count, addr_words)) return @intFromEnum(DecodeStatus.bad_argument);
    return status(decoder.count(words[0..word_count], addr_words, counts));
}

export fn cnl_decoder_fill(
    decoder: *BatchDecoder,
    words: [*]const u32,
    word_count: u32,
    addr_words: u32,
    columns: *const BatchDecoder.Columns,
    counts: *BatchDecoder.Counts,
) u32 {
    if (!validArguments(word_count, addr_words)) return @intFromEnum(DecodeStatus.bad_argument);
    return status(decoder.fill(words[0..word_count], addr_words, columns, counts));
}
