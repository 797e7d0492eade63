// SPDX-License-Identifier: MIT
//! Writes the TypeScript view of records.zig to stdout
//! (`zig build wire-ts > src/wire/records.generated.ts`).
const std = @import("std");
const records = @import("records.zig");

pub fn main() !void {
    const out = std.io.getStdOut().writer();
    try out.writeAll("// SPDX-License-Identifier: MIT\n// Generated from zig-src/wire/records.zig by `zig build wire-ts`. Do not edit.\n");
    try out.print("export const protocolVersion = {d};\n", .{records.protocol_version});
    try out.writeAll("export const Kind = {\n");
    inline for (std.meta.fields(records.Kind)) |field| try out.print("  {s}: {d},\n", .{ field.name, field.value });
    try out.writeAll("} as const;\n");
    try out.print("export const memSizeShiftBit = {d};\n", .{records.mem_size_shift_bit});
    try out.print("export const memStoreBit = {d};\n", .{records.mem_store_bit});
    try out.print("export const memSignBit = {d};\n", .{records.mem_sign_bit});
    try out.print("export const memBigEndianBit = {d};\n", .{records.mem_big_endian_bit});
    try out.print("export const memNoValueBit = {d};\n", .{records.mem_no_value_bit});
    try out.print("export const memInsnShift = {d};\n", .{records.mem_insn_shift});
    try out.print("export const memInsnMask = {d};\n", .{records.mem_insn_mask});
    try out.print("export const syscallArgs = {d};\n", .{records.syscall_args});
    try out.print("export const mmapPathShift = {d};\n", .{records.mmap_path_shift});
    try out.print("export const execInsnBytesShift = {d};\n", .{records.exec_insn_bytes_shift});
    try out.print("export const regsValueWordsShift = {d};\n", .{records.regs_value_words_shift});
    try out.print("export const regsIndexMask = {d};\n", .{records.regs_index_mask});
    try out.print("export const pathBytesMax = {d};\n", .{records.path_bytes_max});
    try out.print("export const countShift = {d};\n", .{records.count_shift});
    try out.print("export const blockInsnsMax = {d};\n", .{records.block_insns_max});
    try out.print("export const blockInsnsMask = {d};\n", .{records.block_insns_mask});
    try out.print("export const blockAccessesShift = {d};\n", .{records.block_accesses_shift});
    try out.print("export const blockAccessesMask = {d};\n", .{records.block_accesses_mask});
    try out.print("export const blockAccessesMax = {d};\n", .{records.block_accesses_max});
    try out.print("export const blockRunIdMax = {d};\n", .{records.block_run_id_max});
    try out.print("export const layoutFlagsMask = {d};\n", .{records.layout_flags_mask});
    try out.print("export const layoutInsnShift = {d};\n", .{records.layout_insn_shift});
    try out.print("export const layoutInsnMask = {d};\n", .{records.layout_insn_mask});
    try out.print("export const layoutDerivedBit = {d};\n", .{records.layout_derived_bit});
    try out.print("export const layoutDeltaShift = {d};\n", .{records.layout_delta_shift});
    inline for (.{ 1, 2 }) |addr_words| {
        try out.print("export const recordWords{d} = {{\n", .{addr_words});
        inline for (std.meta.fields(records.Kind)) |field| {
            try out.print("  {s}: {d},\n", .{ field.name, records.recordWords(@enumFromInt(field.value), addr_words) });
        }
        try out.writeAll("} as const;\n");
    }
}
