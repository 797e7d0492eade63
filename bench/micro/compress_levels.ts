// SPDX-License-Identifier: MIT
//! What each zstd level costs and saves on a recording's chunks: compresses
//! every chunk at each level in memory, one thread, and prints the best of N
//! rounds' speed and the stored size, to choose `record --level`'s default
//! by measurement. Usage:
//!   bun bench/micro/compress_levels.ts RUN.cnl [chunks=200] [rounds=3] [levels=-7,-5,-3,-1,1,3]
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { recordingChunks } from "./recording_chunks";

const [path, chunkArg = "200", roundArg = "3", levelArg = "-7,-5,-3,-1,1,3"] = process.argv.slice(2);
if (!path) throw new Error("usage: compress_levels.ts RUN.cnl [chunks] [rounds] [levels]");
const { chunks } = recordingChunks(path, Number(chunkArg));
const rawBytes = chunks.reduce((sum, c) => sum + c.length, 0);
console.log(`${chunks.length} chunks, ${(rawBytes / 2 ** 20).toFixed(0)} MiB`);
for (const level of levelArg.split(",").map(Number)) {
  const params = { [constants.ZSTD_c_compressionLevel]: level };
  let best = Infinity;
  let storedBytes = 0;
  for (let round = 0; round < Number(roundArg); round++) {
    storedBytes = 0;
    const t0 = performance.now();
    for (const chunk of chunks) storedBytes += zstdCompressSync(chunk, { params }).length;
    best = Math.min(best, performance.now() - t0);
  }
  let inflateMs = Infinity;
  const compressed = chunks.map((chunk) => zstdCompressSync(chunk, { params }));
  for (let round = 0; round < Number(roundArg); round++) {
    const t0 = performance.now();
    for (let i = 0; i < compressed.length; i++) zstdDecompressSync(compressed[i]!, { maxOutputLength: chunks[i]!.length });
    inflateMs = Math.min(inflateMs, performance.now() - t0);
  }
  const mbs = (ms: number) => (rawBytes / ms / 1e3).toFixed(0);
  console.log(`level ${level}: ${mbs(best)} MB/s in, ratio ${(rawBytes / storedBytes).toFixed(2)}, inflate ${mbs(inflateMs)} MB/s`);
}
