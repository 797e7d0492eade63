// SPDX-License-Identifier: MIT
//! `--tracer tail`: what each guest thread did last, which is what a crash
//! is read for. Keeps the last N instructions of every thread
//! (`--tracer-arg n=N`, default 32) with their memory accesses and prints
//! them when the thread's stream ends, in `print --symbols`'s format:
//!   <thread> tail: the last <k> of <total> instructions
//!   <thread> exec 0x<pc> <module>!<function>+0x<off>
//!   <thread> read 0x<pc> 0x<addr> <size> 0x<value>
//! Workers use the batch form and send on only each chunk's last N
//! instructions, so the run costs what a batch tracer's does, not what
//! printing every event would.
import { Symbolizer, type SymbolizerOptions } from "../symbols/symbolizer";
import { type MmapEvent, type MunmapEvent, type RecordBatch, type ThreadInfo, type Tracer, type TracerArgs, defineTracer, memValue, threadLabel } from "../tracer";

/** The most instructions `n` may ask for. */
const countMax = 100_000;
const countDefault = 32;

/** One instruction: its pc and its accesses, as print writes them (without the thread). */
interface Step {
  pc: number;
  accesses: string[];
}

/** One chunk's contribution: its last steps, and its instruction count. */
type Item = { steps: Step[]; instructions: number } | { mmap: MmapEvent } | { munmap: MunmapEvent };

interface ThreadTail {
  steps: Step[];
  instructions: number;
}

interface State {
  count: number;
  symbolizer: Symbolizer;
  threads: Map<string, ThreadTail>;
}

function countOf(args: TracerArgs): number {
  const text = args.n ?? String(countDefault);
  const count = Number(text);
  if (!/^\d+$/.test(text) || count < 1 || count > countMax) throw new Error(`tail: n=${text}: give a whole number from 1 to ${countMax}`);
  return count;
}

const hex = (value: number | bigint) => `0x${value.toString(16)}`;

/** The last `count` instructions of a batch, through its runs (no column
 *  with a row per instruction), with the accesses they made. */
function lastSteps(batch: RecordBatch, count: number): Step[] {
  const first = Math.max(0, batch.execCount - count);
  const pcs: number[] = [];
  const blockPcs = batch.blockPcs;
  for (let r = batch.runCount - 1; r >= 0 && batch.runFirstExec[r]! + batch.runLength[r]! > first; r--) {
    const start = batch.runPcsAt[r]!;
    const skip = Math.max(0, first - batch.runFirstExec[r]!);
    for (let i = batch.runLength[r]! - 1; i >= skip; i--) pcs.push(blockPcs[start + i]!);
  }
  const steps: Step[] = pcs.reverse().map((pc) => ({ pc, accesses: [] }));
  if (batch.memCount === 0 || steps.length === 0) return steps;
  const execIndex = batch.memExecIndex;
  // Accesses are in execution order: the tail's are the last ones.
  let m = batch.memCount;
  while (m > 0 && execIndex[m - 1]! >= first) m--;
  for (; m < batch.memCount; m++) {
    const kind = batch.memIsStore[m] ? "write" : "read";
    steps[execIndex[m]! - first]!.accesses.push(`${kind} ${hex(batch.memPc[m]!)} ${hex(batch.memAddr[m]!)} ${batch.memSize[m]} ${hex(memValue(batch, m))}`);
  }
  return steps;
}

export function tailTracer(options: SymbolizerOptions = {}): Tracer<number, Item, State> {
  return defineTracer<number, Item, State>({
    context: (_thread: ThreadInfo, args: TracerArgs) => countOf(args),
    batch(count, batch, out) {
      out.push({ steps: lastSteps(batch, count), instructions: batch.execCount });
    },
    mmap(_count, event, out) {
      out.push({ mmap: event });
    },
    munmap(_count, event, out) {
      out.push({ munmap: event });
    },
    init: (args) => ({ count: countOf(args), symbolizer: new Symbolizer(options), threads: new Map() }),
    trace(state, items, thread) {
      const process = state.symbolizer.process(thread);
      const key = threadLabel(thread);
      let tail = state.threads.get(key);
      if (!tail) state.threads.set(key, (tail = { steps: [], instructions: 0 }));
      for (const item of items) {
        if ("mmap" in item) process.mmap(item.mmap);
        else if ("munmap" in item) process.munmap(item.munmap);
        else {
          tail.instructions += item.instructions;
          // A chunk usually ran more than `count` instructions: its own
          // steps are the tail, with nothing to copy.
          tail.steps = item.steps.length >= state.count ? item.steps : tail.steps.concat(item.steps).slice(-state.count);
        }
      }
    },
    threadEnd(state, thread, output) {
      const key = threadLabel(thread);
      const tail = state.threads.get(key) ?? { steps: [], instructions: 0 };
      state.threads.delete(key);
      const process = state.symbolizer.process(thread);
      const lines = [`${key} tail: the last ${tail.steps.length} of ${tail.instructions} instructions\n`];
      for (const step of tail.steps) {
        const symbol = process.symbolize(step.pc);
        lines.push(`${key} exec ${hex(step.pc)}${symbol === null ? "" : ` ${symbol}`}\n`);
        for (const access of step.accesses) lines.push(`${key} ${access}\n`);
      }
      output.write(lines.join(""));
    },
  });
}

export default tailTracer();
