// SPDX-License-Identifier: MIT
//! The wire package: what travels inside mempipe chunks.
pub const records = @import("records.zig");
pub const BatchDecoder = @import("BatchDecoder.zig");
pub const BlockTable = @import("BlockTable.zig");

test {
    _ = records;
    _ = BatchDecoder;
    _ = BlockTable;
}
