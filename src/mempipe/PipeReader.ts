// SPDX-License-Identifier: MIT
//! Reads one mempipe in place from any thread (main or Worker): claims
//! published chunks, exposes their bytes as a view on the shared mapping (no
//! copy), and hands them back. Several readers of the same pipe in different
//! Workers share its chunks by ticket.
import { ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import { ClaimOut, ClaimStatus, StreamFailure, SummaryOut } from "../consumer_abi.generated";
import { consumerLibrary, describe, streamFailureText } from "./native";
import { StreamCorruptError } from "../wire/StreamCorruptError";

export interface Chunk {
  /** Sequence number of the chunk in its stream (0, 1, 2, ...). */
  ticket: number;
  /** The chunk's bytes, in place in shared memory: valid until `release`. */
  bytes: Uint8Array;
}

export type ClaimResult = Chunk | "not-ready" | "ended";

export interface StreamSummary {
  chunks: number;
  bytes: number;
  /** True when the producer closed the stream itself; false when it died. */
  clean: boolean;
  droppedChunks: number;
  /** Why the stream was cut off, or null when it was not. */
  failure: string | null;
}

export class PipeReader {
  readonly consumer: Pointer;
  readonly #memory: Uint8Array;
  readonly #out = new BigUint64Array(Math.max(ClaimOut.length, SummaryOut.length));

  constructor(consumer: Pointer) {
    const lib = consumerLibrary();
    this.consumer = consumer;
    const base = lib.cnl_consumer_base(consumer);
    if (base === null) throw new Error("cannoli: pipe has no mapping");
    const bytes = lib.cnl_consumer_mapped_bytes(consumer) as number;
    this.#memory = new Uint8Array(toArrayBuffer(base, 0, bytes));
  }

  /** Takes the next published chunk without blocking. Throws StreamCorruptError
   *  when the producer's shared memory fails validation. */
  claim(): ClaimResult {
    const status = consumerLibrary().cnl_consumer_claim(this.consumer, ptr(this.#out));
    switch (status) {
      case ClaimStatus.claimed: {
        const offset = Number(this.#out[ClaimOut.offset]!);
        const length = Number(this.#out[ClaimOut.length_and_failure]! & 0xffffffffn);
        return { ticket: Number(this.#out[ClaimOut.ticket]!), bytes: this.#memory.subarray(offset, offset + length) };
      }
      case ClaimStatus.not_ready:
        return "not-ready";
      case ClaimStatus.ended:
        return "ended";
      default: {
        const failure = Number(this.#out[ClaimOut.length_and_failure]! >> 32n);
        throw new StreamCorruptError(`cannoli: corrupted stream: ${describe(StreamFailure, streamFailureText, failure, "failure")}`);
      }
    }
  }

  /** True while the producer sleeps waiting for a free chunk (or is gone):
   *  when a helper Worker, which must not take a core QEMU could use, claims. */
  wantsHelp(): boolean {
    return consumerLibrary().cnl_consumer_wants_help(this.consumer) !== 0;
  }

  release(ticket: number): void {
    consumerLibrary().cnl_consumer_release(this.consumer, ticket);
  }

  summary(): StreamSummary {
    consumerLibrary().cnl_consumer_summary(this.consumer, ptr(this.#out));
    const out = this.#out;
    const failure = Number(out[SummaryOut.failure]!);
    return {
      chunks: Number(out[SummaryOut.chunks]!),
      bytes: Number(out[SummaryOut.bytes]!),
      clean: out[SummaryOut.clean]! === 1n,
      droppedChunks: Number(out[SummaryOut.dropped_chunks]!),
      failure: failure === StreamFailure.none ? null : describe(StreamFailure, streamFailureText, failure, "failure"),
    };
  }
}

/** Unmaps the pipe. Only once no reader in any thread will touch it again. */
export function destroyPipe(consumer: Pointer): void {
  consumerLibrary().cnl_consumer_destroy(consumer);
}
