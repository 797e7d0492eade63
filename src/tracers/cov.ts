// SPDX-License-Identifier: MIT
//! `--tracer cov` (and `cannoli cov`): basic-block coverage from a `--once`
//! stream. Workers fold each chunk's first-executed PCs into runs of
//! instructions that follow one another ([first pc, last pc]) and pass
//! mmap/munmap events through; the ordered stage joins runs across chunks
//! into blocks (coverage/block_builder.ts, which documents the
//! approximation), attributes them to modules with the process's symbolizer
//! map, and `finish` writes `module+0xoffset` lines (`cannoli cov` replaces
//! `finish` to write drcov or modoff to its own file).
import { BlockBuilder } from "../coverage/block_builder";
import { CoverageMap } from "../coverage/coverage_map";
import { type InsnBytes, insnBytesOf } from "../coverage/insn_bytes";
import { encodeModoff } from "../coverage/modoff_writer";
import { Symbolizer, type SymbolizerOptions } from "../symbols/symbolizer";
import { type MmapEvent, type MunmapEvent, type Output, type ThreadInfo, type Tracer, defineTracer, threadLabel } from "../tracer";

/** A run of first executions: [first pc, last pc, last pc's size or 0]. */
export type CovRun = [first: number, last: number, lastBytes: number];
export type CovItem = CovRun | { mmap: MmapEvent } | { munmap: MunmapEvent };

export interface CovState {
  readonly symbolizer: Symbolizer;
  readonly coverage: CoverageMap;
  /** Open block per guest thread (threadLabel). */
  readonly builders: Map<string, BlockBuilder>;
}

/** Flushes every thread's open block and settles late blocks: call before
 *  reading `state.coverage` (a crashed thread never reached threadEnd). */
export function settleCoverage(state: CovState): void {
  for (const builder of state.builders.values()) builder.flush();
  state.coverage.settle();
}

export function covTracer(options: SymbolizerOptions = {}): Tracer<InsnBytes, CovItem, CovState> {
  return defineTracer<InsnBytes, CovItem, CovState>({
    context: (thread: ThreadInfo) => insnBytesOf(thread.arch),
    exec(insn, event, out) {
      const last = out[out.length - 1];
      if (Array.isArray(last) && BlockBuilder.follows(insn, last[1], last[2], event.pc)) {
        last[1] = event.pc;
        last[2] = event.size;
      } else out.push([event.pc, event.pc, event.size]);
    },
    mmap(_insn, event, out) {
      out.push({ mmap: event });
    },
    munmap(_insn, event, out) {
      out.push({ munmap: event });
    },
    init: () => ({ symbolizer: new Symbolizer(options), coverage: new CoverageMap(), builders: new Map() }),
    trace(state, items, thread) {
      const process = state.symbolizer.process(thread);
      const key = threadLabel(thread);
      let builder = state.builders.get(key);
      if (!builder) {
        builder = new BlockBuilder(insnBytesOf(thread.arch), (block) => state.coverage.add(process, block));
        state.builders.set(key, builder);
      }
      for (const item of items) {
        if (Array.isArray(item)) builder.addRun(item[0], item[1], item[2]);
        else if ("mmap" in item) process.mmap(item.mmap);
        else {
          builder.flush();
          process.munmap(item.munmap);
        }
      }
    },
    threadEnd(state, thread) {
      state.builders.get(threadLabel(thread))?.flush();
    },
    finish(state: CovState, output: Output) {
      settleCoverage(state);
      const modules = state.coverage.modules(state.symbolizer.processes.values());
      output.write(encodeModoff(modules.map((m) => ({ path: m.module.path, start: m.module.start, blocks: [...m.blocks].map(([start, bytes]) => ({ start, bytes })) }))));
    },
  });
}

export default covTracer();
