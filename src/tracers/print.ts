// SPDX-License-Identifier: MIT
//! `--tracer print`: one line per event, in execution order per guest thread.
//! Each line starts with `pid:tid`, or `pid.image:tid` for a program the
//! process exec'd (ThreadInfo.image > 0). With `--regs`, an exec line ends
//! with the registers that changed before that instruction (`name=0x...`).
//! Lines are formatted in the Workers; each chunk's lines travel to the
//! ordered stage as one string.
import { defineTracer, type ThreadInfo, threadLabel } from "../tracer";

const hex = (value: number | bigint) => `0x${value.toString(16)}`;

export default defineTracer<{ prefix: string; lines: string[] }, string, undefined>({
  context: (thread: ThreadInfo) => ({ prefix: threadLabel(thread), lines: [] }),
  exec(ctx, event, out) {
    out.push(`${ctx.prefix} exec ${hex(event.pc)}\n`);
  },
  read(ctx, event, out) {
    out.push(`${ctx.prefix} read ${hex(event.pc)} ${hex(event.addr)} ${event.size} ${hex(event.value)}\n`);
  },
  write(ctx, event, out) {
    out.push(`${ctx.prefix} write ${hex(event.pc)} ${hex(event.addr)} ${event.size} ${hex(event.value)}\n`);
  },
  syscall(ctx, event, out) {
    out.push(`${ctx.prefix} syscall ${event.number} ${event.args.map(hex).join(" ")}\n`);
  },
  sysret(ctx, event, out) {
    out.push(`${ctx.prefix} sysret ${event.number} ${event.ret}\n`);
  },
  mmap(ctx, event, out) {
    const file = event.path === null ? "" : ` ${event.path}`;
    out.push(`${ctx.prefix} mmap ${hex(event.addr)} ${hex(event.length)} prot=${event.prot} flags=${hex(event.flags)} fd=${event.fd} offset=${hex(event.offset)}${file}\n`);
  },
  munmap(ctx, event, out) {
    out.push(`${ctx.prefix} munmap ${hex(event.addr)} ${hex(event.length)}\n`);
  },
  // `--regs`: the registers that changed end the instruction's exec line
  // (its regs event follows its exec event, in the same chunk).
  regs(_ctx, event, out) {
    const line = out.pop();
    const changed = Object.entries(event.values).map(([name, value]) => ` ${name}=${hex(value)}`);
    out.push(`${line!.slice(0, -1)}${changed.join("")}\n`);
  },
  trace(_state, items, _thread, output) {
    output.write(items.join(""));
  },
  threadEnd(_state, thread, output) {
    output.write(`${threadLabel(thread)} exit\n`);
  },
});
