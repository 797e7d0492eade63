// SPDX-License-Identifier: MIT
//! Microbenchmarks (tinybench): record decoding per chunk, the ordered-stage
//! hop (postMessage of one chunk's items from a Worker), and mempipe
//! claim/release through FFI.
import { Bench } from "tinybench";
import { PipeListener } from "../../src/mempipe/PipeListener";
import { PipeReader, destroyPipe } from "../../src/mempipe/PipeReader";
import { nativeToolPath } from "../../src/native_paths";
import { ChunkDecoder } from "../../src/runtime/decode";
import type { AnyTracer, ThreadInfo } from "../../src/tracer";
import { builtinTracers } from "../../src/tracers";
import execBatch from "../tracers/exec_batch";
import execEvent from "../tracers/exec_event";
import runsBatch from "../tracers/runs_batch";
import { blockChunk, execChunk, type SyntheticChunk } from "./chunks";

export interface MicroResult {
  name: string;
  /** Median ns per task call. */
  nsPerOp: number;
  /** What one call processes, for a per-unit figure. */
  unit?: { name: string; count: number };
  samples: number;
}

const thread: ThreadInfo = { pid: 1, ppid: 0, tid: 1, image: 0, arch: "mipsel", pointerBytes: 4, bigEndian: false, exe: "bench", comm: "bench", backend: "plugin", registers: [] };
const chunkBytes = 256 * 1024;

function collect(bench: Bench, units: Map<string, { name: string; count: number }>): MicroResult[] {
  return bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== "completed") throw new Error(`bench: microbenchmark ${task.name} ${result.state}`);
    return { name: task.name, nsPerOp: result.latency.p50! * 1e6, unit: units.get(task.name), samples: result.latency.samplesCount };
  });
}

async function decoding(timeMs: number): Promise<MicroResult[]> {
  const bench = new Bench({ time: timeMs, warmupTime: timeMs / 4 });
  const units = new Map<string, { name: string; count: number }>();
  const chunks: [string, SyntheticChunk][] = [
    ["blocks, PC", blockChunk(chunkBytes, 0)],
    ["blocks, PC + 4 accesses/block", blockChunk(chunkBytes, 4)],
    ["--no-blocks exec records", execChunk(chunkBytes)],
  ];
  const tracers: [string, AnyTracer][] = [
    ["null", builtinTracers.null!],
    ["count", builtinTracers.count!],
    ["exec batch", execBatch as AnyTracer],
    ["runs batch", runsBatch as AnyTracer],
    ["exec per event", execEvent as AnyTracer],
  ];
  for (const [chunkName, chunk] of chunks) {
    const bytes = new Uint8Array(chunk.words.buffer);
    for (const [tracerName, tracer] of tracers) {
      const decoder = new ChunkDecoder(tracer, thread, {});
      const name = `decode 256 KiB chunk (${chunkName}; ${chunk.instructions} insns, ${chunk.accesses} accesses), ${tracerName}`;
      units.set(name, { name: "event", count: chunk.instructions + chunk.accesses });
      bench.add(name, () => {
        decoder.decode(bytes, []);
      });
    }
  }
  await bench.run();
  return collect(bench, units);
}

async function hop(timeMs: number): Promise<MicroResult[]> {
  const bench = new Bench({ time: timeMs, warmupTime: timeMs / 4 });
  const units = new Map<string, { name: string; count: number }>();
  const worker = new Worker(new URL("./hop_worker.ts", import.meta.url).href);
  let waiting: (() => void) | null = null;
  worker.onmessage = () => waiting?.();
  const roundTrip = () =>
    new Promise<void>((resolve) => {
      waiting = resolve;
      worker.postMessage({});
    });
  const cases: [string, unknown[], number][] = [
    ["no items", [], 1],
    ["1 item (exec_batch's sums)", [[65536, 0, 262144, 12345, 0]], 1],
    ["1 000 [page, pc] tuples", Array.from({ length: 1000 }, (_, i) => [i, 0x400000 + i]), 1000],
    ["10 000 numbers", Array.from({ length: 10000 }, (_, i) => i * 3), 10000],
  ];
  for (const [label, items, count] of cases) {
    const name = `ordered-stage hop, Worker -> main, ${label}`;
    units.set(name, { name: "item", count });
    bench.add(name, roundTrip, {
      beforeAll: async () => {
        await new Promise<void>((resolve) => {
          waiting = resolve;
          worker.postMessage({ items });
        });
      },
    });
  }
  await bench.run();
  worker.terminate();
  return collect(bench, units);
}

async function openProducer(mode: string, args: string[]): Promise<{ reader: PipeReader; close: () => Promise<void> }> {
  const listener = new PipeListener();
  const producer = Bun.spawn([nativeToolPath("mempipe-producer"), listener.socketPath, mode, ...args], { stdout: "ignore", stderr: "inherit" });
  const deadline = performance.now() + 10_000;
  for (;;) {
    const event = listener.poll(0);
    if (event?.kind === "opened") {
      const consumer = event.consumer;
      return {
        reader: new PipeReader(consumer),
        close: async () => {
          producer.kill(9);
          await producer.exited;
          destroyPipe(consumer);
          listener.close();
        },
      };
    }
    if (event || performance.now() > deadline) throw new Error(`bench: mempipe-producer ${mode} did not open a pipe: ${JSON.stringify(event)}`);
    await Bun.sleep(1);
  }
}

async function mempipe(timeMs: number): Promise<MicroResult[]> {
  const bench = new Bench({ time: timeMs, warmupTime: timeMs / 4 });
  const units = new Map<string, { name: string; count: number }>();
  // A producer that never publishes: the cost of polling an empty pipe.
  const silent = await openProducer("silent", []);
  bench.add("mempipe claim on an empty pipe (not-ready)", () => {
    silent.reader.claim();
  });
  // A producer streaming 4 KiB chunks as fast as it can (bulk, 1 TiB): the
  // task claims the next published chunk (spinning if needed) and releases it.
  const bulk = await openProducer("bulk", [String(2 ** 40), "4096", "64"]);
  bench.add("mempipe claim + release of a published 4 KiB chunk", () => {
    for (;;) {
      const chunk = bulk.reader.claim();
      if (typeof chunk === "object") {
        bulk.reader.release(chunk.ticket);
        return;
      }
      if (chunk === "ended") throw new Error("producer ended");
    }
  });
  await bench.run();
  await silent.close();
  await bulk.close();
  return collect(bench, units);
}

export async function runMicro(timeMs: number): Promise<MicroResult[]> {
  return [...(await decoding(timeMs)), ...(await hop(timeMs)), ...(await mempipe(timeMs))];
}

if (import.meta.main) {
  for (const r of await runMicro(300)) console.log(`${r.name}: ${r.nsPerOp.toFixed(0)} ns${r.unit ? ` (${(r.nsPerOp / r.unit.count).toFixed(2)} ns/${r.unit.name})` : ""}`);
}
