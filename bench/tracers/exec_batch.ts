// SPDX-License-Identifier: MIT
//! Bench tracer, batch form: reads every instruction's PC (and, when memory
//! is traced, every access's address and value) from the chunk's columns.
//! It also sums the chunk sizes (`words.length`), which is exactly the
//! number of bytes the pipes carried: the harness's bytes/s figures come
//! from here.
import { defineTracer } from "../../src/tracer";
import { chunkSumsStage, type ChunkSums } from "./chunk_sums";

export default defineTracer<undefined, ChunkSums, ChunkSums>({
  batch(_ctx, batch, out) {
    let pcXor = 0;
    const pcs = batch.execPc;
    for (let i = 0; i < batch.execCount; i++) pcXor ^= pcs[i]!;
    let addrXor = 0;
    if (batch.memCount > 0) {
      const addrs = batch.memAddr;
      const values = batch.memValueLo;
      for (let i = 0; i < batch.memCount; i++) addrXor ^= addrs[i]! ^ values[i]!;
    }
    out.push([batch.execCount, batch.memCount, batch.words.length * 4, pcXor, addrXor]);
  },
  ...chunkSumsStage("exec-batch"),
});
