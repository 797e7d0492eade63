// SPDX-License-Identifier: MIT
//! mempipe benchmark: one-byte messages per second and bulk streaming GiB/s
//! between the stand-alone Zig producer (its own process) and Bun Workers,
//! next to this machine's memcpy bandwidth measured in the same run.
//!
//!   bun bench/mempipe.ts [--runs N]     (alone; `npm run bench` runs it too)
//!
//! Prints a Markdown table; `npm run bench` puts the figures in BENCHMARKS.md.
import { cpus } from "node:os";
import { drainProducer } from "../test/helpers/pipe_harness";

const gib = 1024 ** 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Copies `total` bytes in `piece`-byte copies cycling through a
 *  `workingSet`-byte source: large pieces measure DRAM bandwidth, the pipe's
 *  geometry (256 KiB pieces over 8 MiB) what the pipe's copies can reach. */
function memcpyGiBs(workingSet: number, piece: number, total: number): number {
  const source = new Uint8Array(workingSet).fill(7);
  const destination = new Uint8Array(piece);
  for (let at = 0; at < workingSet; at += piece) destination.set(source.subarray(at, at + piece)); // fault pages in
  const started = performance.now();
  for (let done = 0, at = 0; done < total; done += piece, at = (at + piece) % workingSet) {
    destination.set(source.subarray(at, at + piece));
  }
  return total / gib / ((performance.now() - started) / 1000);
}

async function messagesPerSecond(count: number, workers: number): Promise<number> {
  const result = await drainProducer({ mode: "messages", bytes: count, workers, consume: "messages" });
  if (result.messages !== count || result.workerErrors.length) throw new Error("messages lost");
  return count / (result.streamMs / 1000);
}

async function bulkGiBs(bytes: number, workers: number): Promise<number> {
  const result = await drainProducer({ mode: "bulk", bytes, workers, consume: "memcpy" });
  if (result.summary?.bytes !== bytes || result.workerErrors.length) throw new Error("bytes lost");
  return bytes / gib / (result.streamMs / 1000);
}

export interface MempipeFigures {
  rows: [label: string, figure: string][];
  messagesPerS1: number;
  bulkVsMemcpy1: number;
  bulkVsMemcpy2: number;
}

/** `scale` shrinks every transfer (1 = the full benchmark). */
export async function runMempipe(runs: number, scale = 1, log: (line: string) => void = console.error): Promise<MempipeFigures> {
  const messages = Math.round(50_000_000 * scale);
  const bulk = Math.round((8 * gib * scale) / 262144) * 262144; // whole 256 KiB chunks
  const rows: [string, string][] = [];
  const sample = async (label: string, unit: string, measure: () => Promise<number> | number, scale = 1) => {
    const values: number[] = [];
    for (let i = 0; i < runs; i++) values.push(await measure());
    const figure = median(values) / scale;
    rows.push([label, `${figure.toFixed(2)} ${unit}`]);
    log(`${label}: ${values.map((v) => (v / scale).toFixed(2)).join(", ")} ${unit}`);
    return figure;
  };

  await sample("memcpy, 256 MiB copies (DRAM)", "GiB/s", () => memcpyGiBs(256 << 20, 256 << 20, 4 * gib * scale));
  const memcpy = await sample("memcpy, 256 KiB copies over 8 MiB (pipe geometry)", "GiB/s", () => memcpyGiBs(8 << 20, 256 << 10, 16 * gib * scale));
  const messages1 = await sample("one-byte messages, 1 Worker", "M msg/s", () => messagesPerSecond(messages, 1), 1e6);
  await sample("one-byte messages, 2 Workers", "M msg/s", () => messagesPerSecond(messages, 2), 1e6);
  const bulk1 = await sample("bulk, 256 KiB chunks × 32, 1 Worker", "GiB/s", () => bulkGiBs(bulk, 1));
  const bulk2 = await sample("bulk, 256 KiB chunks × 32, 2 Workers", "GiB/s", () => bulkGiBs(bulk, 2));
  rows.push(["bulk vs memcpy in pipe geometry (1 / 2 Workers)", `${((bulk1 / memcpy) * 100).toFixed(0)} % / ${((bulk2 / memcpy) * 100).toFixed(0)} %`]);

  return { rows, messagesPerS1: messages1 * 1e6, bulkVsMemcpy1: bulk1 / memcpy, bulkVsMemcpy2: bulk2 / memcpy };
}

if (import.meta.main) {
  const runsFlag = process.argv.indexOf("--runs");
  const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 3;
  const { rows } = await runMempipe(runs);
  console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}; median of ${runs} runs; ${new Date().toISOString().slice(0, 10)}`);
  console.log("| measure | figure |\n|---|---|");
  for (const [label, figure] of rows) console.log(`| ${label} | ${figure} |`);
}
