// SPDX-License-Identifier: MIT
//! Root of libcannoli_consumer.so, the native half of the consumer that Bun
//! loads through bun:ffi: the mempipe consumer, the chunk decoder, the
//! guard that ends a run stuck in a tracer after Ctrl-C, and the keeper of
//! the guest's stdio in blocking mode.
comptime {
    _ = @import("mempipe/c_api.zig");
    _ = @import("wire/decoder_c_api.zig");
    _ = @import("stop_guard.zig");
    _ = @import("stdio_blocking.zig");
}
