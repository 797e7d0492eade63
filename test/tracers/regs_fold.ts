// SPDX-License-Identifier: MIT
//! A test tracer for --regs: folds each thread's register records in order
//! and writes, per instruction, the registers whose value differs from the
//! folded state before it (pc aside): `<pc> name=0xvalue ...` — what
//! QEMU's execlog `reg=` prints for the instruction before. Then one JSON
//! line per thread: instructions, regs events, full snapshots (a chunk's
//! first record), pc entries that are not the instruction's own address,
//! and the folded state at the instruction `--tracer-arg at=PC`.
import { defineTracer } from "../../src/tracer";

type Item = ["exec", number] | ["regs", number, Record<string, bigint>];

interface ThreadState {
  registers: Map<string, bigint>;
  execs: number;
  regsEvents: number;
  snapshots: number;
  pcMismatches: number;
  at: Record<string, string> | null;
}

interface State {
  at: number;
  threads: Map<string, ThreadState>;
}

const hex = (value: bigint) => `0x${value.toString(16)}`;

export default defineTracer<undefined, Item, State>({
  exec(_ctx, event, out) {
    out.push(["exec", event.pc]);
  },
  regs(_ctx, event, out) {
    out.push(["regs", event.pc, { ...event.values }]);
  },
  init: (args) => ({ at: Number(args.at ?? -1), threads: new Map() }),
  trace(state, items, thread, output) {
    const key = `${thread.pid}:${thread.tid}`;
    let t = state.threads.get(key);
    if (!t) state.threads.set(key, (t = { registers: new Map(), execs: 0, regsEvents: 0, snapshots: 0, pcMismatches: 0, at: null }));
    const lines: string[] = [];
    for (const item of items) {
      if (item[0] === "exec") {
        t.execs++;
        continue;
      }
      const [, pc, values] = item;
      t.regsEvents++;
      if (Object.keys(values).length === thread.registers.length) t.snapshots++;
      const changed: string[] = [];
      for (const [name, value] of Object.entries(values)) {
        if (name !== "pc" && t.registers.get(name) !== value) changed.push(`${name}=${hex(value)}`);
        t.registers.set(name, value);
      }
      if (values.pc !== undefined && values.pc !== BigInt(pc)) t.pcMismatches++;
      lines.push(`${hex(BigInt(pc))}${changed.map((c) => ` ${c}`).join("")}\n`);
      if (pc === state.at) t.at = Object.fromEntries([...t.registers].map(([name, value]) => [name, hex(value)]));
    }
    output.write(lines.join(""));
  },
  finish(state, output) {
    for (const [key, t] of state.threads) {
      const { registers: _, ...rest } = t;
      output.write(`${JSON.stringify({ thread: key, ...rest })}\n`);
    }
  },
});
