// SPDX-License-Identifier: MIT
//! The messages between the main thread (listener, ordered stage, recorder)
//! and the Workers.
import type { ThreadInfo, TracerArgs } from "../tracer";
import type { ChunkCounts } from "./decode";

/** What a Worker does with chunks: run the tracer, or compress them for a recording. */
export type WorkerMode = "trace" | "record";

export type ToWorker =
  /** `helper`: claims only while a producer waits for a free chunk (QEMU is
   *  idle then, and its core is free), so it never competes with QEMU. */
  | { type: "init"; tracer: string; tracerArgs: TracerArgs; mode: WorkerMode; helper: boolean }
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
