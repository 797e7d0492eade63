// SPDX-License-Identifier: MIT
//! A Worker. Live: serves every open stream, claiming published chunks in
//! place, decoding them and running the tracer's parallel handlers (posting
//! the chunk's items and counts to the ordered stage), and, when recording,
//! compressing them for the recording file first. Replay: decompresses and decodes the
//! chunks it is sent. An idle Worker backs off to sleeping so a sleeping
//! guest costs next to nothing.
import { inflateChunk, storedChunk } from "../record/chunk_payload";
import type { Pointer } from "bun:ffi";
import { PipeReader } from "../mempipe/PipeReader";
import type { AnyTracer, ThreadInfo, TracerArgs } from "../tracer";
import { ChunkDecoder } from "./decode";
import type { ChunkCounts } from "./NativeDecoder";
import { firstLine } from "./errors";
import { loadTracer } from "./load_tracer";
import { makeNodeStdio } from "./stdio";
import { type FromWorker, type ToWorker, type WorkerMode, inFlightChunksMax } from "./messages";

declare const self: Worker;

interface Stream {
  id: number;
  thread: ThreadInfo;
  /** Null for a replayed stream: its chunks arrive as messages. */
  reader: PipeReader | null;
  decoder: ChunkDecoder;
}

/** Chunks processed between yields to the event loop (to receive messages). */
const chunksPerYield = 16;
/** Idle rounds spent polling before each sleep, and the longest sleep. */
const idleSpins = 200;
const idleSleepMsMax = 2;

let tracer: AnyTracer | undefined;
let tracerArgs: TracerArgs = {};
let inFlight: Int32Array | undefined;
let mode: WorkerMode = { kind: "trace" };
/** Claims only while the producer waits (see ToWorker's init). */
let helper = false;
const streams = new Map<number, Stream>();
const live: Stream[] = [];
let running = false;

const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => self.postMessage(message, transfer);

/** A chunk's items and counts to the ordered stage. Items cross by
 *  structured clone: one that cannot (a function, a symbol) ends the run
 *  with a line that says what went wrong and where, not the clone's own. */
function postChunk(stream: Stream, ticket: number, items: unknown[], counts: ChunkCounts): void {
  try {
    post({ type: "chunk", id: stream.id, ticket, items, counts });
  } catch (error) {
    if (!(error instanceof Error && error.name === "DataCloneError")) throw error;
    const where = `thread ${stream.thread.pid}:${stream.thread.tid}`;
    throw new Error(
      `cannoli: a tracer handler pushed an item that cannot be sent to trace() (push plain data: numbers, strings, arrays, objects; not functions or symbols), in ${where}: ${firstLine(error)}`,
    );
  }
}

/** The fatal message's line: cannoli's own, or one prefixed as cannoli's. */
const fatalLine = (error: unknown): string => {
  const line = firstLine(error);
  return line.startsWith("cannoli: ") ? line : `cannoli: ${line}`;
};
const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  try {
    switch (message.type) {
      case "init":
        mode = message.mode;
        helper = message.helper;
        makeNodeStdio();
        tracer = await loadTracer(message.tracer);
        tracerArgs = message.tracerArgs;
        inFlight = message.inFlight;
        post({ type: "ready" });
        break;
      case "stream": {
        let decoder: ChunkDecoder;
        try {
          decoder = new ChunkDecoder(tracer!, message.thread, tracerArgs);
        } catch (error) {
          throw new Error(`cannoli: tracer context() threw for thread ${message.thread.pid}:${message.thread.tid}: ${firstLine(error)}`);
        }
        const reader = message.consumer === 0 ? null : new PipeReader(message.consumer as Pointer);
        const stream: Stream = { id: message.id, thread: message.thread, reader, decoder };
        streams.set(stream.id, stream);
        if (reader) {
          live.push(stream);
          if (!running) void serveLive();
        }
        break;
      }
      case "replay-chunk": {
        const stream = streams.get(message.id);
        if (!stream) throw new Error(`cannoli: replayed chunk for unknown stream ${message.id}`);
        const bytes = inflateChunk(message.id, message.rawBytes, message.data);
        const items: unknown[] = [];
        const counts = stream.decoder.decode(bytes, items);
        postChunk(stream, message.ticket, items, counts);
        break;
      }
      case "shutdown":
        break;
    }
  } catch (error) {
    post({ type: "fatal", message: fatalLine(error) });
  }
};

// Handlers are synchronous: one that returns a promise which rejects would
// otherwise fail unseen. It ends the run like any handler error.
process.on("unhandledRejection", (reason: unknown) => {
  post({ type: "fatal", message: `cannoli: a tracer handler's promise was rejected (handlers must not be async): ${firstLine(reason)}` });
});

async function serveLive(): Promise<void> {
  running = true;
  let idle = 0;
  let sleepMs = 0.05;
  let sinceYield = 0;
  try {
    for (;;) {
      let worked = false;
      // The ordered stage is behind: leave the chunks in the ring, where
      // they make QEMU wait, rather than pile decoded items up.
      const stageBehind = inFlight !== undefined && Atomics.load(inFlight, 0) >= inFlightChunksMax;
      for (let i = 0; i < live.length && !stageBehind; i++) {
        const stream = live[i]!;
        if (helper && !stream.reader!.wantsHelp()) continue;
        const chunk = stream.reader!.claim();
        if (chunk === "not-ready") continue;
        if (chunk === "ended") {
          live.splice(i--, 1);
          streams.delete(stream.id);
          post({ type: "stream-done", id: stream.id });
          continue;
        }
        worked = true;
        // Recording compresses the chunk and still decodes it: the tracer
        // (and the run's statistics) see the live run too.
        const items: unknown[] = [];
        let counts;
        try {
          if (mode.kind === "record") {
            const data = storedChunk(chunk.bytes, mode.level);
            post({ type: "recorded", id: stream.id, ticket: chunk.ticket, rawBytes: chunk.bytes.length, data }, [data.buffer as ArrayBuffer]);
          }
          counts = stream.decoder.decode(chunk.bytes, items);
        } finally {
          stream.reader!.release(chunk.ticket);
        }
        if (inFlight) Atomics.add(inFlight, 0, 1);
        postChunk(stream, chunk.ticket, items, counts);
      }
      if (worked) {
        idle = 0;
        sleepMs = 0.05;
        if (++sinceYield >= chunksPerYield) {
          sinceYield = 0;
          await yieldToEvents();
        }
      } else if (++idle > idleSpins) {
        await Bun.sleep(sleepMs);
        sleepMs = Math.min(sleepMs * 2, idleSleepMsMax);
      } else if (idle % 32 === 0) {
        await yieldToEvents();
      }
    }
  } catch (error) {
    post({ type: "fatal", message: fatalLine(error) });
  } finally {
    running = false;
  }
}
