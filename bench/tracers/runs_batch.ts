// SPDX-License-Identifier: MIT
//! Bench tracer, batch form through the runs: the same work as
//! exec_batch.ts (every instruction's PC, and every access's address and
//! value), reading each block's PCs where the chunk holds them once
//! instead of the one-PC-per-instruction column.
import { defineTracer } from "../../src/tracer";
import { chunkSumsStage, type ChunkSums } from "./chunk_sums";

export default defineTracer<undefined, ChunkSums, ChunkSums>({
  batch(_ctx, batch, out) {
    let pcXor = 0;
    const pcs = batch.blockPcs;
    const at = batch.runPcsAt;
    const length = batch.runLength;
    for (let r = 0; r < batch.runCount; r++) {
      for (let i = at[r]!, end = i + length[r]!; i < end; i++) pcXor ^= pcs[i]!;
    }
    let addrXor = 0;
    if (batch.memCount > 0) {
      const addrs = batch.memAddr;
      const values = batch.memValueLo;
      for (let i = 0; i < batch.memCount; i++) addrXor ^= addrs[i]! ^ values[i]!;
    }
    out.push([batch.execCount, batch.memCount, batch.words.length * 4, pcXor, addrXor]);
  },
  ...chunkSumsStage("runs-batch"),
});
