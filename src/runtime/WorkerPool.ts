// SPDX-License-Identifier: MIT
//! Starts the Workers, waits until each has loaded the tracer, and routes
//! their messages to one handler.
import { cpus } from "node:os";
import type { TracerArgs } from "../tracer";
import type { FromWorker, ToWorker, WorkerMode } from "./messages";

export function defaultWorkerCount(): number {
  return Math.max(1, cpus().length - 1);
}

/** One helper Worker: QEMU's core is free whenever its producer sleeps on a
 *  full ring, which is most of a run whose consumer is the bottleneck
 *  (patched QEMU, PC + memory: -15 % wall batch, -30 % per event on gzip). */
export function defaultHelperCount(): number {
  return 1;
}

/** The Worker script: next to this file, or, inside the single executable,
 *  under the bundle root (src/), where `bun build --compile` puts entry points. */
function workerEntry(): string {
  if (import.meta.url.includes("/$bunfs/")) return "./runtime/worker.ts";
  return new URL("./worker.ts", import.meta.url).href;
}

export class WorkerPool {
  readonly workers: Worker[] = [];
  /** Chunks posted by the Workers and not yet traced (see inFlightChunksMax). */
  readonly inFlight = new Int32Array(new SharedArrayBuffer(4));

  /** `count` Workers, the last `helpers` of them helpers (see ToWorker's init). */
  static async start(count: number, helpers: number, tracer: string, tracerArgs: TracerArgs, mode: WorkerMode, onMessage: (message: FromWorker) => void): Promise<WorkerPool> {
    const pool = new WorkerPool();
    const ready: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const worker = new Worker(workerEntry());
      pool.workers.push(worker);
      ready.push(
        new Promise((resolve, reject) => {
          worker.onmessage = (event: MessageEvent<FromWorker>) => {
            if (event.data.type === "ready") {
              worker.onmessage = (e: MessageEvent<FromWorker>) => onMessage(e.data);
              resolve();
            } else if (event.data.type === "fatal") reject(new Error(event.data.message));
          };
          worker.onerror = (event) => reject(new Error(`cannoli: worker failed: ${event.message}`));
        }),
      );
      pool.post(worker, { type: "init", tracer, tracerArgs, mode, helper: i >= count - helpers, inFlight: pool.inFlight });
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      pool.terminate();
      throw error;
    }
    return pool;
  }

  /** The ordered stage traced `chunks` more chunks. */
  traced(chunks: number): void {
    if (chunks > 0) Atomics.sub(this.inFlight, 0, chunks);
  }

  get size(): number {
    return this.workers.length;
  }

  post(worker: Worker, message: ToWorker, transfer?: ArrayBuffer[]): void {
    worker.postMessage(message, transfer ?? []);
  }

  broadcast(message: ToWorker): void {
    for (const worker of this.workers) this.post(worker, message);
  }

  terminate(): void {
    for (const worker of this.workers) worker.terminate();
  }

  /** Terminates the Workers and waits (at most `timeoutMs`) until their
   *  threads are gone: a Worker may be reading a pipe's shared memory, which
   *  must not be unmapped under it (that crashed Bun when a run was stopped
   *  mid-stream). */
  async stop(timeoutMs = 2000): Promise<void> {
    const closed = this.workers.map((worker) => new Promise<void>((resolve) => worker.addEventListener("close", () => resolve(), { once: true })));
    this.terminate();
    await Promise.race([Promise.all(closed), Bun.sleep(timeoutMs)]);
  }
}
