// SPDX-License-Identifier: MIT
//! The messages between the main thread (listener, ordered stage, recorder)
//! and the Workers.
import type { ThreadInfo, TracerArgs } from "../tracer";
import type { ChunkCounts } from "./decode";

/** What a Worker does with chunks: run the tracer, and for a recording also
 *  compress them (zstd at `level`; 0 stores them as they are). */
export type WorkerMode = { kind: "trace" } | { kind: "record"; level: number };

/** Chunks the Workers may have posted and the ordered stage not yet traced:
 *  at this many they stop claiming, so a slow trace() holds QEMU back (its
 *  ring fills and it waits) instead of decoded items piling up. */
export const inFlightChunksMax = 16;

export type ToWorker =
  /** `helper`: claims only while a producer waits for a free chunk (QEMU is
   *  idle then, and its core is free), so it never competes with QEMU. */
  /** `inFlight[0]`: chunks the Workers posted that the ordered stage has not
   *  traced yet (shared by all; see inFlightChunksMax). */
  | { type: "init"; tracer: string; tracerArgs: TracerArgs; mode: WorkerMode; helper: boolean; inFlight: Int32Array }
  /** A live stream (`consumer` is its mempipe) or a replayed one (`consumer` 0). */
  | { type: "stream"; id: number; consumer: number; thread: ThreadInfo }
  /** One recorded chunk (zstd), for replay. */
  | { type: "replay-chunk"; id: number; ticket: number; rawBytes: number; data: Uint8Array }
  | { type: "shutdown" };

export type FromWorker =
  | { type: "ready" }
  | { type: "chunk"; id: number; ticket: number; items: unknown[]; counts: ChunkCounts }
  | { type: "recorded"; id: number; ticket: number; rawBytes: number; data: Uint8Array }
  | { type: "stream-done"; id: number }
  | { type: "fatal"; message: string };
