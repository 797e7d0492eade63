//! mempipe benchmark: one-byte messages per second and bulk streaming GiB/s
//! between the stand-alone Zig producer (its own process) and Bun Workers,
//! next to this machine's memcpy bandwidth measured in the same run.
//!
//!   bun bench/mempipe.ts [--runs N]
//!
//! Prints a Markdown table; BENCHMARKS.md records the figures with the date.
import { cpus } from "node:os";
import { drainProducer } from "../test/helpers/pipe_harness";

const runsFlag = process.argv.indexOf("--runs");
const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 3;
const gib = 1024 ** 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function memcpyGiBs(): number {
  const bytes = 256 << 20;
  const source = new Uint8Array(bytes).fill(7);
  const destination = new Uint8Array(bytes);
  destination.set(source); // fault the pages in before timing
  const rounds = 8;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) destination.set(source);
  return (bytes * rounds) / gib / ((performance.now() - started) / 1000);
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

const rows: [string, string][] = [];
const sample = async (label: string, unit: string, measure: () => Promise<number> | number, scale = 1) => {
  const values: number[] = [];
  for (let i = 0; i < runs; i++) values.push(await measure());
  const figure = median(values) / scale;
  rows.push([label, `${figure.toFixed(2)} ${unit}`]);
  console.error(`${label}: ${values.map((v) => (v / scale).toFixed(2)).join(", ")} ${unit}`);
  return figure;
};

const memcpy = await sample("memcpy (Bun TypedArray.set, 256 MiB buffers)", "GiB/s", memcpyGiBs);
await sample("one-byte messages, 1 Worker", "M msg/s", () => messagesPerSecond(50_000_000, 1), 1e6);
await sample("one-byte messages, 2 Workers", "M msg/s", () => messagesPerSecond(50_000_000, 2), 1e6);
const bulk1 = await sample("bulk, 256 KiB chunks × 32, 1 Worker", "GiB/s", () => bulkGiBs(8 * gib, 1));
const bulk2 = await sample("bulk, 256 KiB chunks × 32, 2 Workers", "GiB/s", () => bulkGiBs(8 * gib, 2));
rows.push(["bulk vs memcpy (1 / 2 Workers)", `${((bulk1 / memcpy) * 100).toFixed(0)} % / ${((bulk2 / memcpy) * 100).toFixed(0)} %`]);

console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}; median of ${runs} runs; ${new Date().toISOString().slice(0, 10)}`);
console.log("| measure | figure |\n|---|---|");
for (const [label, figure] of rows) console.log(`| ${label} | ${figure} |`);
