// SPDX-License-Identifier: MIT
//! `--tracer demo` (what `npm run demo` shows): a short readable summary of a
//! run — instructions, memory accesses, system calls and the hottest code.
import { type ProcessSymbols, Symbolizer, defineTracer, threadLabel } from "../tracer";

/** Per chunk: [instructions, reads, writes, syscalls, [pc, hits][] of the chunk's top PCs]. */
type Item = [number, number, number, number, [number, number][]];

interface State {
  instructions: number;
  reads: number;
  writes: number;
  syscalls: number;
  hits: Map<number, number>;
  threads: Set<string>;
  symbols: Symbolizer;
  /** The first guest process, whose executable names the hottest code. */
  main: ProcessSymbols | null;
}

export default defineTracer<undefined, Item, State>({
  batch(_ctx, batch, out) {
    const hits = new Map<number, number>();
    for (let i = 0; i < batch.execCount; i++) {
      const pc = batch.execPc[i]!;
      hits.set(pc, (hits.get(pc) ?? 0) + 1);
    }
    const top = [...hits].sort((a, b) => b[1] - a[1]).slice(0, 32);
    out.push([batch.execCount, batch.readCount, batch.writeCount, batch.syscallCount, top]);
  },
  init: () => ({ instructions: 0, reads: 0, writes: 0, syscalls: 0, hits: new Map(), threads: new Set(), symbols: new Symbolizer(), main: null }),
  trace(state, items, thread) {
    state.threads.add(threadLabel(thread));
    state.main ??= state.symbols.process(thread);
    for (const [instructions, reads, writes, syscalls, top] of items) {
      state.instructions += instructions;
      state.reads += reads;
      state.writes += writes;
      state.syscalls += syscalls;
      for (const [pc, n] of top) state.hits.set(pc, (state.hits.get(pc) ?? 0) + n);
    }
  },
  finish(state, output) {
    const fmt = (n: number) => n.toLocaleString("en-US");
    output.write(`cannoli demo: ${state.threads.size} thread(s)\n`);
    output.write(`  instructions  ${fmt(state.instructions)}\n`);
    output.write(`  memory reads  ${fmt(state.reads)}\n  memory writes ${fmt(state.writes)}\n`);
    output.write(`  system calls  ${fmt(state.syscalls)}\n  hottest instructions:\n`);
    const hottest = [...state.hits].sort((a, b) => b[1] - a[1]).slice(0, 5);
    for (const [pc, n] of hottest) {
      const where = state.main?.symbolize(pc);
      output.write(`    0x${pc.toString(16).padStart(8, "0")}  ${fmt(n).padStart(10)} times${where ? `  ${where}` : ""}\n`);
    }
  },
});
