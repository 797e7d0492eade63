// SPDX-License-Identifier: MIT
//! Runs the stand-alone producer (zig-out/bin/mempipe-producer) against a
//! PipeListener and drains its pipe with N Workers: the cross-process
//! harness behind the mempipe tests and benchmarks.
import type { Subprocess } from "bun";
import { PipeListener, type PipeEvent } from "../../src/mempipe/PipeListener";
import { PipeReader, destroyPipe, type StreamSummary } from "../../src/mempipe/PipeReader";
import { nativeToolPath } from "../../src/native_paths";
import type { Consume } from "./drain_worker";

export interface DrainOptions {
  mode: string;
  bytes?: number;
  chunkBytes?: number;
  chunkCount?: number;
  workers?: number;
  /** What Workers do with a chunk: post a copy back (so the test can check
   *  order and contents), count its messages in place, or memcpy it out. */
  consume?: Consume;
  /** Called once the pipe is open, with the producer process. */
  onOpened?: (producer: Subprocess) => void;
  /** Delay before the Workers start draining (a stalled consumer). */
  stallMs?: number;
}

export interface DrainResult {
  chunks: Map<number, Uint8Array>;
  summary: StreamSummary | null;
  workerErrors: string[];
  rejected: string | null;
  messages: number;
  producerStdout: string;
  producerExit: number | null;
  /** From the pipe's hand-over to the last Worker's end. */
  streamMs: number;
}

async function nextEvent(listener: PipeListener, deadlineMs: number): Promise<PipeEvent | null> {
  while (performance.now() < deadlineMs) {
    const event = listener.poll(0);
    if (event) return event;
    await Bun.sleep(1);
  }
  return null;
}

export async function drainProducer(options: DrainOptions): Promise<DrainResult> {
  const listener = new PipeListener();
  const args = [String(options.bytes ?? 1 << 20), String(options.chunkBytes ?? 262144), String(options.chunkCount ?? 32)];
  const producer = Bun.spawn([nativeToolPath("mempipe-producer"), listener.socketPath, options.mode, ...args], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const result: DrainResult = {
    chunks: new Map(),
    summary: null,
    workerErrors: [],
    rejected: null,
    messages: 0,
    producerStdout: "",
    producerExit: null,
    streamMs: 0,
  };
  const started = performance.now();
  try {
    const opened = await nextEvent(listener, started + 10_000);
    if (opened?.kind === "rejected") {
      result.rejected = opened.reason;
      return result;
    }
    if (opened?.kind !== "opened") throw new Error(`expected a pipe, got ${JSON.stringify(opened)}`);
    options.onOpened?.(producer);
    if (options.stallMs) await Bun.sleep(options.stallMs);

    const streamStarted = performance.now();
    const workerCount = options.workers ?? 1;
    const workers: Worker[] = [];
    let finished = 0;
    const allDone = new Promise<void>((resolve) => {
      for (let i = 0; i < workerCount; i++) {
        const worker = new Worker(new URL("./drain_worker.ts", import.meta.url).href);
        worker.onmessage = (event: MessageEvent) => {
          const data = event.data;
          if (data.done) {
            if (data.error) result.workerErrors.push(data.error);
            result.messages += data.messages;
            if (++finished === workerCount) resolve();
          } else {
            result.chunks.set(data.ticket, data.bytes);
          }
        };
        worker.postMessage({ consumer: opened.consumer, consume: options.consume ?? "messages" });
        workers.push(worker);
      }
    });
    // Keep serving the socket while the Workers drain: the producer's hang-up
    // is what lets them see the end. Workers that hit corruption end early.
    let workersDone = false;
    void allDone.then(() => (workersDone = true));
    const deadline = started + 120_000;
    let hungUp = false;
    while (!workersDone) {
      if (performance.now() > deadline) throw new Error("drain did not finish in 120 s");
      const event = listener.poll(0);
      if (event?.kind === "hung-up") hungUp = true;
      // The producer is a process of its own: gone once it has exited.
      if (hungUp && (producer.exitCode !== null || producer.signalCode !== null)) {
        PipeListener.markGone(opened.consumer);
        hungUp = false;
      }
      await Bun.sleep(1);
    }
    result.streamMs = performance.now() - streamStarted;
    result.summary = new PipeReader(opened.consumer).summary();
    for (const worker of workers) worker.terminate();
    destroyPipe(opened.consumer);
    return result;
  } finally {
    if (producer.exitCode === null) producer.kill(9);
    result.producerExit = await producer.exited;
    result.producerStdout = await new Response(producer.stdout).text();
    listener.close();
  }
}

/** FNV-1a over the payloads of u16-length-prefixed records, in ticket order:
 *  the producer tool prints the same figure for what it wrote. */
export function recordsChecksum(chunks: Map<number, Uint8Array>): { fnv: number; bytes: number } {
  let fnv = 0x811c9dc5;
  let bytes = 0;
  for (let ticket = 0; ticket < chunks.size; ticket++) {
    const chunk = chunks.get(ticket);
    if (!chunk) throw new Error(`chunk ${ticket} missing`);
    let at = 0;
    while (at < chunk.length) {
      const length = chunk[at]! | (chunk[at + 1]! << 8);
      for (let i = at + 2; i < at + 2 + length; i++) fnv = Math.imul(fnv ^ chunk[i]!, 16777619) >>> 0;
      bytes += length;
      at += 2 + length;
    }
  }
  return { fnv, bytes };
}
