// SPDX-License-Identifier: MIT
//! Bench tracer, per-event form: an `exec` handler called for every executed
//! instruction (and `read`/`write` for every access when memory is traced).
//! It folds each chunk into one item (pushed at the chunk's first event and
//! updated in place: items cross to the ordered stage after the chunk), so
//! the figure is the cost of the calls, not of moving items.
import { defineTracer } from "../../src/tracer";

interface ChunkSums {
  instructions: number;
  accesses: number;
  pcXor: number;
  addrXor: number;
}

function sums(out: ChunkSums[]): ChunkSums {
  let item = out[0];
  if (item === undefined) {
    item = { instructions: 0, accesses: 0, pcXor: 0, addrXor: 0 };
    out.push(item);
  }
  return item;
}

export default defineTracer<undefined, ChunkSums, ChunkSums>({
  exec(_ctx, event, out) {
    const item = sums(out);
    item.instructions++;
    item.pcXor ^= event.pc;
  },
  read(_ctx, event, out) {
    const item = sums(out);
    item.accesses++;
    item.addrXor ^= event.addr;
  },
  write(_ctx, event, out) {
    const item = sums(out);
    item.accesses++;
    item.addrXor ^= event.addr;
  },
  init: () => ({ instructions: 0, accesses: 0, pcXor: 0, addrXor: 0 }),
  trace(state, items) {
    for (const item of items) {
      state.instructions += item.instructions;
      state.accesses += item.accesses;
      state.pcXor ^= item.pcXor;
      state.addrXor ^= item.addrXor;
    }
  },
  finish(state, output) {
    output.write(`${JSON.stringify({ handler: "exec-event", ...state })}\n`);
  },
});
