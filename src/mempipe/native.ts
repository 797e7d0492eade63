// SPDX-License-Identifier: MIT
//! Bun FFI binding of libcannoli_consumer (zig-src/consumer.zig): the mempipe
//! consumer (zig-src/mempipe/c_api.zig) and the chunk decoder
//! (zig-src/wire/decoder_c_api.zig).
//! Every Worker and the main thread dlopen it themselves: the library keeps
//! its state behind the pointers it hands out, so they can be shared across
//! Workers as plain numbers.
import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { nativeLibraryPath } from "../native_paths";

const symbols = {
  cnl_listener_open: { args: [FFIType.cstring], returns: FFIType.ptr },
  cnl_listener_poll: {
    args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u32],
    returns: FFIType.u32,
  },
  cnl_listener_close: { args: [FFIType.ptr], returns: FFIType.void },
  cnl_listener_allow_descendants: { args: [FFIType.ptr], returns: FFIType.bool },
  cnl_handshake_payload_bytes_max: { args: [], returns: FFIType.u32 },
  cnl_consumer_claim: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.u32 },
  cnl_consumer_release: { args: [FFIType.ptr, FFIType.u64_fast], returns: FFIType.void },
  cnl_consumer_wants_help: { args: [FFIType.ptr], returns: FFIType.u32 },
  cnl_consumer_base: { args: [FFIType.ptr], returns: FFIType.ptr },
  cnl_consumer_mapped_bytes: { args: [FFIType.ptr], returns: FFIType.u64_fast },
  cnl_consumer_chunk_bytes: { args: [FFIType.ptr], returns: FFIType.u32 },
  cnl_consumer_summary: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.void },
  cnl_consumer_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  cnl_decoder_create: { args: [], returns: FFIType.ptr },
  cnl_decoder_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  cnl_decoder_count: { args: [FFIType.ptr, FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.ptr], returns: FFIType.u32 },
  cnl_decoder_fill: { args: [FFIType.ptr, FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.ptr, FFIType.ptr], returns: FFIType.u32 },
} as const;

export type ConsumerLibrary = ReturnType<typeof dlopen<typeof symbols>>["symbols"];

let library: ConsumerLibrary | undefined;

export function consumerLibrary(): ConsumerLibrary {
  library ??= dlopen(nativeLibraryPath("libcannoli_consumer.so"), symbols).symbols;
  return library;
}

export type { Pointer };

/** Mirrors Consumer.Failure in zig-src/mempipe/Consumer.zig. */
export const streamFailures = ["none", "bad mailbox state", "bad sequence number", "bad chunk length", "lost chunks"] as const;

/** Mirrors Listener.Reason in zig-src/mempipe/Listener.zig. */
export const rejectReasons = [
  "none",
  "connection closed before handshake",
  "bad handshake",
  "no memfd in handshake",
  "pipe memory is not sealed",
  "pipe header is invalid",
  "too many connections",
  "out of memory",
  "system error",
  "not the QEMU cannoli started, nor one of its descendants",
] as const;

/** Mirrors the ClaimStatus enum in c_api.zig. */
export const ClaimStatus = { claimed: 0, notReady: 1, ended: 2, failed: 3 } as const;

/** Mirrors Listener.EventKind. */
export const EventKind = { none: 0, pipeOpened: 1, producerGone: 2, rejected: 3 } as const;
