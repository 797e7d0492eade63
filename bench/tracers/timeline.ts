// SPDX-License-Identifier: MIT
//! Bench tracer for the "traced instructions per second over a run" plot:
//! the batch form reads every PC; the ordered stage notes (time, cumulative
//! instructions) as chunks arrive, at most one point per 10 ms, and `finish`
//! writes the series as JSON (`-o FILE`).
import { defineTracer } from "../../src/tracer";

interface Series {
  started: number;
  last: number;
  instructions: number;
  points: [ms: number, instructions: number][];
}

const pointEveryMs = 10;

export default defineTracer<undefined, number, Series>({
  batch(_ctx, batch, out) {
    let pcXor = 0;
    const pcs = batch.execPc;
    for (let i = 0; i < batch.execCount; i++) pcXor ^= pcs[i]!;
    out.push(pcXor === 0.5 ? 0 : batch.execCount); // the xor keeps the loop alive
  },
  init: () => ({ started: performance.now(), last: -Infinity, instructions: 0, points: [[0, 0]] }),
  trace(state, items) {
    for (const count of items) state.instructions += count;
    const now = performance.now();
    if (now - state.last >= pointEveryMs) {
      state.last = now;
      state.points.push([now - state.started, state.instructions]);
    }
  },
  finish(state, output) {
    state.points.push([performance.now() - state.started, state.instructions]);
    output.write(JSON.stringify({ instructions: state.instructions, points: state.points }));
  },
});
