//! A decoding Worker: serves every open stream, claiming published chunks in
//! place, decoding them and running the tracer's parallel handlers, then
//! posting the chunk's items and counts to the ordered stage. An idle Worker
//! backs off to sleeping so a sleeping guest costs next to nothing.
import type { Pointer } from "bun:ffi";
import { PipeReader } from "../mempipe/PipeReader";
import type { AnyTracer, ThreadInfo } from "../tracer";
import { ChunkDecoder } from "./decode";
import { firstLine } from "./errors";
import { loadTracer } from "./load_tracer";
import type { FromWorker, ToWorker } from "./messages";

declare const self: Worker;

interface Stream {
  id: number;
  thread: ThreadInfo;
  reader: PipeReader;
  decoder: ChunkDecoder;
}

/** Chunks processed between yields to the event loop (to receive messages). */
const chunksPerYield = 16;
/** Idle rounds spent polling before each sleep, and the longest sleep. */
const idleSpins = 200;
const idleSleepMsMax = 2;

let tracer: AnyTracer | undefined;
const streams: Stream[] = [];
let shuttingDown = false;
let running = false;

const post = (message: FromWorker) => self.postMessage(message);
const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "init":
      try {
        tracer = await loadTracer(message.tracer);
        post({ type: "ready" });
      } catch (error) {
        post({ type: "fatal", message: firstLine(error) });
      }
      break;
    case "stream":
      try {
        streams.push({
          id: message.id,
          thread: message.thread,
          reader: new PipeReader(message.consumer as Pointer),
          decoder: new ChunkDecoder(tracer!, message.thread),
        });
      } catch (error) {
        post({ type: "fatal", message: `cannoli: tracer context() threw for thread ${message.thread.pid}:${message.thread.tid}: ${firstLine(error)}` });
        return;
      }
      if (!running) void run();
      break;
    case "shutdown":
      shuttingDown = true;
      break;
  }
};

async function run(): Promise<void> {
  running = true;
  let idle = 0;
  let sleepMs = 0.05;
  let sinceYield = 0;
  try {
    while (streams.length > 0 || !shuttingDown) {
      let worked = false;
      for (let i = 0; i < streams.length; i++) {
        const stream = streams[i]!;
        const chunk = stream.reader.claim();
        if (chunk === "not-ready") continue;
        if (chunk === "ended") {
          streams.splice(i--, 1);
          post({ type: "stream-done", id: stream.id });
          continue;
        }
        worked = true;
        const items: unknown[] = [];
        let counts;
        try {
          counts = stream.decoder.decode(chunk.bytes, items);
        } finally {
          stream.reader.release(chunk.ticket);
        }
        post({ type: "chunk", id: stream.id, ticket: chunk.ticket, items, counts });
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
    post({ type: "fatal", message: firstLine(error) });
    return;
  } finally {
    running = false;
  }
}
