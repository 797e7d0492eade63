//! The wire package: what travels inside mempipe chunks.
pub const records = @import("records.zig");

test {
    _ = records;
}
