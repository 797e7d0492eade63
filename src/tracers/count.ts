// SPDX-License-Identifier: MIT
//! `--tracer count`: instructions, reads and writes per guest thread. The
//! counting happens in the Workers with the batch form; the ordered stage only
//! adds up one small item per chunk.
import { defineTracer, threadLabel } from "../tracer";

type Counts = [instructions: number, reads: number, writes: number];

export default defineTracer<undefined, Counts, Map<string, Counts>>({
  batch(_ctx, batch, out) {
    out.push([batch.execCount, batch.readCount, batch.writeCount]);
  },
  init: () => new Map(),
  trace(state, items, thread) {
    const key = threadLabel(thread);
    const total = state.get(key) ?? [0, 0, 0];
    for (const [instructions, reads, writes] of items) {
      total[0] += instructions;
      total[1] += reads;
      total[2] += writes;
    }
    state.set(key, total);
  },
  finish(state, output) {
    const all: Counts = [0, 0, 0];
    for (const [key, [instructions, reads, writes]] of state) {
      output.write(`${key} instructions ${instructions} reads ${reads} writes ${writes}\n`);
      all[0] += instructions;
      all[1] += reads;
      all[2] += writes;
    }
    output.write(`total instructions ${all[0]} reads ${all[1]} writes ${all[2]}\n`);
  },
});
