// SPDX-License-Identifier: MIT
//! Root of libcannoli_consumer.so, the native half of the consumer that Bun
//! loads through bun:ffi: the mempipe consumer and the chunk decoder.
comptime {
    _ = @import("mempipe/c_api.zig");
    _ = @import("wire/decoder_c_api.zig");
}
