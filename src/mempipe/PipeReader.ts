// SPDX-License-Identifier: MIT
//! Reads one mempipe in place from any thread (main or Worker): claims
//! published chunks, exposes their bytes as a view on the shared mapping (no
//! copy), and hands them back. Several readers of the same pipe in different
//! Workers share its chunks by ticket.
import { ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import { ClaimStatus, consumerLibrary, streamFailures } from "./native";

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

export class StreamCorruptError extends Error {}

export class PipeReader {
  readonly consumer: Pointer;
  readonly #memory: Uint8Array;
  readonly #out = new BigUint64Array(5);

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
        const offset = Number(this.#out[1]!);
        const length = Number(this.#out[2]! & 0xffffffffn);
        return { ticket: Number(this.#out[0]!), bytes: this.#memory.subarray(offset, offset + length) };
      }
      case ClaimStatus.notReady:
        return "not-ready";
      case ClaimStatus.ended:
        return "ended";
      default: {
        const failure = Number(this.#out[2]! >> 32n);
        throw new StreamCorruptError(`cannoli: corrupted stream: ${streamFailures[failure] ?? `failure ${failure}`}`);
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
    const failure = Number(this.#out[4]!);
    return {
      chunks: Number(this.#out[0]!),
      bytes: Number(this.#out[1]!),
      clean: this.#out[2]! === 1n,
      droppedChunks: Number(this.#out[3]!),
      failure: failure === 0 ? null : (streamFailures[failure] ?? `failure ${failure}`),
    };
  }
}

/** Unmaps the pipe. Only once no reader in any thread will touch it again. */
export function destroyPipe(consumer: Pointer): void {
  consumerLibrary().cnl_consumer_destroy(consumer);
}
