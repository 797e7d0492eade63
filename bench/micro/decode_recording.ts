// SPDX-License-Identifier: MIT
//! Decodes a recording's chunks in memory with the native decoder, for a
//! tracer that reads nothing (the counting pass), ones whose columns are
//! filled but barely read (the fill's cost apart from the handler's), and
//! one that reads the PC and memory columns as bench/tracers/exec_batch.ts
//! does, and prints the best of N rounds: the consumer's cost per chunk
//! byte without QEMU, the pipe or the Workers. Usage:
//!   bun bench/micro/decode_recording.ts RUN.cnl [chunks=400] [rounds=5]
import { ChunkDecoder } from "../../src/runtime/decode";
import { defineTracer } from "../../src/tracer";
import { recordingChunks } from "./recording_chunks";

const [path, chunkArg = "400", roundArg = "5"] = process.argv.slice(2);
if (!path) throw new Error("usage: decode_recording.ts RUN.cnl [chunks] [rounds]");
const { chunks, pointerBytes } = recordingChunks(path, Number(chunkArg));
const bytes = chunks.reduce((sum, c) => sum + c.length, 0);
const thread = { pid: 1, ppid: 0, tid: 1, image: 0, arch: "aarch64", pointerBytes, bigEndian: false, exe: "", comm: "", backend: "patched", registers: [] };
let sink = 0;
const tracers = {
  count: defineTracer({}),
  // One read each: the column is filled for every chunk, the loop is not run.
  "fill pc": defineTracer({ batch: (_ctx, batch) => void (sink += batch.execPc[0] ?? 0) }),
  "fill addr + value": defineTracer({ batch: (_ctx, batch) => void (sink += (batch.memAddr[0] ?? 0) + (batch.memValueLo[0] ?? 0)) }),
  columns: defineTracer({
    batch(_ctx, batch) {
      let pcXor = 0;
      const pcs = batch.execPc;
      for (let i = 0; i < batch.execCount; i++) pcXor ^= pcs[i]!;
      let addrXor = 0;
      const addrs = batch.memAddr;
      const values = batch.memValueLo;
      for (let i = 0; i < batch.memCount; i++) addrXor ^= addrs[i]! ^ values[i]!;
      sink += pcXor + addrXor;
    },
  }),
};
for (const [name, tracer] of Object.entries(tracers)) {
  const decoder = new ChunkDecoder(tracer, thread, {});
  let best = Infinity;
  for (let round = 0; round < Number(roundArg); round++) {
    const t0 = performance.now();
    for (const chunk of chunks) decoder.decode(chunk, []);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${name}: ${chunks.length} chunks, ${(bytes / 2 ** 20).toFixed(0)} MiB, best ${best.toFixed(1)} ms, ${(bytes / best / 1e6).toFixed(2)} GB/s`);
}
if (sink === 0.5) console.log(sink);
