// SPDX-License-Identifier: MIT
//! The ordered stage shared by the batch bench tracers: adds up each
//! chunk's sums and prints the totals as one JSON line, which the harness
//! checks against QEMU's counts and turns into bytes/s.
import type { Tracer } from "../../src/tracer";

export type ChunkSums = [instructions: number, accesses: number, bytes: number, pcXor: number, addrXor: number];

export function chunkSumsStage(handler: string): Pick<Tracer<undefined, ChunkSums, ChunkSums>, "init" | "trace" | "finish"> {
  return {
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
      output.write(`${JSON.stringify({ handler, instructions, accesses, bytes })}\n`);
    },
  };
}
