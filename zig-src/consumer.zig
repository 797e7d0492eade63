// SPDX-License-Identifier: MIT
//! Root of libcannoli_consumer.so, the native half of the consumer that Bun
//! loads through bun:ffi: the mempipe consumer, the chunk decoder, and the
//! guard that ends a run stuck in a tracer after Ctrl-C.
comptime {
    _ = @import("mempipe/c_api.zig");
    _ = @import("wire/decoder_c_api.zig");
    _ = @import("stop_guard.zig");
}
