// SPDX-License-Identifier: MIT
//! Bench tracer, batch form: reads every instruction's PC (and, when memory
//! is traced, every access's address and value) from the chunk's columns.
//! It also sums the chunk sizes (`words.length`), which is exactly the
//! number of bytes the pipes carried: the harness's bytes/s figures come
//! from here.
import { defineTracer } from "../../src/tracer";

type ChunkSums = [instructions: number, accesses: number, bytes: number, pcXor: number, addrXor: number];

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
  init: () => [0, 0, 0, 0, 0],
  trace(state, items) {
    for (const item of items) {
      state[0] += item[0];
      state[1] += item[1];
      state[2] += item[2];
      state[3] ^= item[3];
      state[4] ^= item[4];
    }
  },
  finish(state, output) {
    const [instructions, accesses, bytes] = state;
    output.write(`${JSON.stringify({ handler: "exec-batch", instructions, accesses, bytes })}\n`);
  },
});
