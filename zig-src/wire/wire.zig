// SPDX-License-Identifier: MIT
//! The wire package: what travels inside mempipe chunks.
pub const records = @import("records.zig");
pub const BatchDecoder = @import("BatchDecoder.zig");
pub const decoder_abi = @import("decoder_abi.zig");
pub const BlockTable = @import("BlockTable.zig");

test {
    _ = records;
    _ = BatchDecoder;
    _ = decoder_abi;
    _ = @import("run_fill.zig");
    _ = BlockTable;
}
