// SPDX-License-Identifier: MIT
//! Writes a recording's first chunks, inflated, each after its length (u32,
//! little endian), for bench/micro/fill_chunks.zig. Usage:
//!   bun bench/micro/dump_chunks.ts RUN.cnl OUT.bin [chunks=60]
import { writeFileSync } from "node:fs";
import { recordingChunks } from "./recording_chunks";

const [path, out, chunkArg = "60"] = process.argv.slice(2);
if (!path || !out) throw new Error("usage: dump_chunks.ts RUN.cnl OUT.bin [chunks]");
const parts: Uint8Array[] = [];
for (const chunk of recordingChunks(path, Number(chunkArg)).chunks) {
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, chunk.length, true);
  parts.push(length, chunk);
}
writeFileSync(out, Buffer.concat(parts));
console.log(`${parts.length / 2} chunks to ${out}`);
