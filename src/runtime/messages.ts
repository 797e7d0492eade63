//! The messages between the main thread (listener, ordered stage) and the
//! decoding Workers.
import type { ThreadInfo } from "../tracer";
import type { ChunkCounts } from "./decode";

export type ToWorker =
  | { type: "init"; tracer: string }
  | { type: "stream"; id: number; consumer: number; thread: ThreadInfo }
  | { type: "shutdown" };

export type FromWorker =
  | { type: "ready" }
  | { type: "chunk"; id: number; ticket: number; items: unknown[]; counts: ChunkCounts }
  | { type: "stream-done"; id: number }
  | { type: "fatal"; message: string };
