// SPDX-License-Identifier: MIT
//! Writes the TypeScript view of libcannoli_consumer.so's C ABI to stdout
//! (`zig build consumer-abi-ts > src/consumer_abi.generated.ts`): the status
//! and reason enums, and where each field of the structs Bun reads sits in
//! the typed array it reads them through. A Bun test regenerates and
//! compares, so a field added on one side cannot be read by index on the
//! other.
const std = @import("std");
const c_api = @import("mempipe/c_api.zig");
const Consumer = @import("mempipe/Consumer.zig");
const Listener = @import("mempipe/Listener.zig");
const decoder_abi = @import("wire/decoder_abi.zig");

pub fn main() !void {
    const out = std.io.getStdOut().writer();
    try out.writeAll("// SPDX-License-Identifier: MIT\n// Generated from zig-src by `zig build consumer-abi-ts`. Do not edit.\n");
    try printEnum(out, "ClaimStatus", c_api.ClaimStatus);
    try printEnum(out, "StreamFailure", Consumer.Failure);
    try printEnum(out, "ListenerEventKind", Listener.EventKind);
    try printEnum(out, "RejectReason", Listener.Reason);
    try printEnum(out, "DecodeStatus", decoder_abi.Status);
    try out.writeAll("/** wire.decoder_abi.Column: the bit `1 << n` of DecoderColumns.wanted. */\n");
    try printEnum(out, "DecoderColumn", decoder_abi.Column);
    try out.print("export const noBlockId = 0x{x};\nexport const blockPcsSlack = {d};\n", .{ decoder_abi.no_block_id, decoder_abi.block_pcs_slack });
    try printFields(out, "ClaimOut", c_api.ClaimOut, u64);
    try printFields(out, "SummaryOut", c_api.SummaryOut, u64);
    try printFields(out, "ListenerEvent", Listener.Event, u32);
    try printFields(out, "DecoderCounts", decoder_abi.Counts, u32);
    try printFields(out, "DecoderColumns", decoder_abi.Columns, u64);
}

fn printEnum(out: anytype, comptime name: []const u8, comptime E: type) !void {
    try out.print("export const {s} = {{\n", .{name});
    inline for (std.meta.fields(E)) |field| try out.print("  {s}: {d},\n", .{ field.name, field.value });
    try out.writeAll("} as const;\n");
}

/// Each field's index in a typed array of `Word` laid over the struct, and
/// the array's length (a field wider than a word takes several: its first).
fn printFields(out: anytype, comptime name: []const u8, comptime S: type, comptime Word: type) !void {
    comptime std.debug.assert(@sizeOf(S) % @sizeOf(Word) == 0);
    try out.print("/** {s}: index of each field in a {s} array over it. */\nexport const {s} = {{\n", .{ @typeName(S), if (Word == u64) "BigUint64" else "Uint32", name });
    inline for (std.meta.fields(S)) |field| {
        comptime std.debug.assert(@offsetOf(S, field.name) % @sizeOf(Word) == 0);
        try out.print("  {s}: {d},\n", .{ field.name, @offsetOf(S, field.name) / @sizeOf(Word) });
    }
    try out.print("  length: {d},\n}} as const;\n", .{@sizeOf(S) / @sizeOf(Word)});
}
