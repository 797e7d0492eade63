// SPDX-License-Identifier: MIT
// The 10 most written 4 KiB pages of guest memory, and which code wrote them.
//   cannoli run --tracer examples/hot-pages.ts -- ./guest
import { defineTracer } from "@cannoli-trace/cannoli";

type Write = [page: number, pc: number];
type State = Map<number, { writes: number; writers: Set<number> }>;

export default defineTracer<undefined, Write, State>({
  // Parallel stage (any Worker, any order): keep only what the ordered stage needs.
  write(_ctx, event, out) {
    out.push([Math.floor(event.addr / 4096), event.pc]);
  },
  // Ordered stage: one call at a time, in execution order per guest thread.
  init: () => new Map(),
  trace(state, writes) {
    for (const [page, pc] of writes) {
      const entry = state.get(page) ?? { writes: 0, writers: new Set() };
      entry.writes++;
      entry.writers.add(pc);
      state.set(page, entry);
    }
  },
  finish(state, output) {
    const top = [...state].sort((a, b) => b[1].writes - a[1].writes).slice(0, 10);
    for (const [page, { writes, writers }] of top) {
      output.write(`page 0x${(page * 4096).toString(16)}: ${writes} writes from ${writers.size} instructions\n`);
    }
  },
});
