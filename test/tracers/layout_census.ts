// SPDX-License-Identifier: MIT
//! A test tracer for memory layouts: walks each chunk with the reference
//! walker and counts the accesses that came without a head of their own (a
//! layout stood in for it), the ones with one, and the block_open records
//! with the accesses written after them (on the patched backend, blocks a
//! fault cut short; the plugin backend opens every block so). Prints one
//! JSON line with the totals.
import { defineTracer } from "../../src/tracer";
import { RecordWalker } from "../../src/wire/walk";
import { Kind, blockAccessesMask, blockAccessesShift } from "../../src/wire/records.generated";

type Census = { headless: number; headed: number; cuts: number; cutWritten: number };

export default defineTracer<RecordWalker, Census, Census>({
  context: (thread) => new RecordWalker(thread.pointerBytes),
  batch(walker, batch, out) {
    const census: Census = { headless: 0, headed: 0, cuts: 0, cutWritten: 0 };
    const words = batch.words;
    walker.walk(words, (kind, at, _pc, head) => {
      // A layout's access has no record of its own (`at` -1).
      if (kind === Kind.mem) at >= 0 ? census.headed++ : census.headless++;
      // The patched backend writes block_run records; a fault turns one into a block_open.
      if (kind === Kind.block_open) {
        census.cuts++;
        census.cutWritten += (head >>> blockAccessesShift) & blockAccessesMask;
      }
    });
    out.push(census);
  },
  init: () => ({ headless: 0, headed: 0, cuts: 0, cutWritten: 0 }),
  trace(state, items) {
    for (const item of items) for (const key of ["headless", "headed", "cuts", "cutWritten"] as const) state[key] += item[key];
  },
  finish(state, output) {
    output.write(`${JSON.stringify(state)}\n`);
  },
});
