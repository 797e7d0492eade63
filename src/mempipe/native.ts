// SPDX-License-Identifier: MIT
//! Bun FFI binding of libcannoli_consumer (zig-src/consumer.zig): the mempipe
//! consumer (zig-src/mempipe/c_api.zig) and the chunk decoder
//! (zig-src/wire/decoder_c_api.zig).
//! Every Worker and the main thread dlopen it themselves: the library keeps
//! its state behind the pointers it hands out, so they can be shared across
//! Workers as plain numbers.
import { RejectReason, StreamFailure } from "../consumer_abi.generated";
import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { nativePath } from "../native_paths";

const symbols = {
  cnl_listener_open: { args: [FFIType.cstring], returns: FFIType.ptr },
  cnl_listener_poll: {
    args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u32],
    returns: FFIType.u32,
  },
  cnl_listener_close: { args: [FFIType.ptr], returns: FFIType.void },
  cnl_listener_refuse: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.bool },
  cnl_listener_allow_descendants: { args: [FFIType.ptr], returns: FFIType.bool },
  cnl_handshake_payload_bytes_max: { args: [], returns: FFIType.u32 },
  cnl_consumer_claim: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.u32 },
  cnl_consumer_release: { args: [FFIType.ptr, FFIType.u64_fast], returns: FFIType.void },
  cnl_consumer_mark_gone: { args: [FFIType.ptr], returns: FFIType.void },
  cnl_stop_guard_arm: { args: [FFIType.u32], returns: FFIType.u32 },
  cnl_stdio_blocking: { args: [], returns: FFIType.u32 },
  cnl_consumer_closed_clean: { args: [FFIType.ptr], returns: FFIType.u32 },
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
  library ??= dlopen(nativePath("libcannoli_consumer.so"), symbols).symbols;
  return library;
}

export type { Pointer };

/** What each Consumer.Failure means, for the one-line error. */
export const streamFailureText: Record<keyof typeof StreamFailure, string> = {
  none: "none",
  bad_state: "bad mailbox state",
  bad_sequence: "bad sequence number",
  bad_length: "bad chunk length",
  lost_chunks: "lost chunks",
};

/** What each Listener.Reason means, for the one-line notice. */
export const rejectReasonText: Record<keyof typeof RejectReason, string> = {
  none: "none",
  closed_before_handshake: "connection closed before handshake",
  bad_handshake: "bad handshake",
  no_memfd: "no memfd in handshake",
  pipe_not_sealed: "pipe memory is not sealed",
  pipe_bad_header: "pipe header is invalid",
  too_many_connections: "too many connections",
  out_of_memory: "out of memory",
  system: "system error",
  not_traced_process: "not the QEMU cannoli started, nor one of its descendants",
};

/** The text for enum value `value` of `names` (generated), or a fallback. */
export function describe<Name extends string>(names: Readonly<Record<Name, number>>, texts: Readonly<Record<Name, string>>, value: number, what: string): string {
  for (const name of Object.keys(names) as Name[]) if (names[name] === value) return texts[name];
  return `${what} ${value}`;
}
