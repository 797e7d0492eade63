// SPDX-License-Identifier: MIT
//! `--tracer tenet` (and `cannoli tenet`): traces that the Tenet trace
//! explorer (gaasedelen/tenet) opens, one text file per guest thread in
//! `--tracer-arg dir=DIR`. Tenet's reader (plugins/tenet/trace/file.py)
//! takes one line per executed instruction, comma-separated `name=value`
//! items: the registers that changed since the line before (`rax=0x1f`,
//! names from its architecture's list, case-insensitive), the instruction
//! pointer, and the instruction's memory accesses as `mr=ADDR:HEXBYTES` /
//! `mw=ADDR:HEXBYTES`, bytes in memory order. A line is the state before its
//! instruction runs: its registers, and the memory the instruction before
//! it touched (as Tenet's own Pin tracer writes them), so the accesses move
//! one line down in the ordered stage. It knows x86 (EAX...EIP),
//! AMD64 (RAX...R15, RIP) and 32-bit ARM (R0...R12, SP, LR, PC); a register
//! outside its list fails the line, so only those are written. Needs
//! `--regs` (registers before each instruction) and memory values.
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { defineTracer, type MemEvent, type ThreadInfo } from "../tracer";

/** Tenet's register lists by QEMU target (QEMU's lowercase gdb names). */
export const tenetRegisters: Readonly<Record<string, readonly string[]>> = {
  x86_64: ["rax", "rbx", "rcx", "rdx", "rbp", "rsp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"],
  i386: ["eax", "ebx", "ecx", "edx", "ebp", "esp", "esi", "edi", "eip"],
  arm: ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc"],
};

/** The instruction pointer's name in each of them. */
const instructionPointer: Readonly<Record<string, string>> = { x86_64: "rip", i386: "eip", arm: "pc" };

interface Ctx {
  keep: ReadonlySet<string>;
  ip: string;
  bigEndian: boolean;
}

/** An access as Tenet reads it, `0xADDR:BYTES`: its bytes in memory order,
 *  as hex. */
function memoryEntry(event: MemEvent, bigEndian: boolean): string {
  const value = event.value;
  let hex = "";
  for (let i = 0; i < event.size; i++) {
    const shift = BigInt(8 * (bigEndian ? event.size - 1 - i : i));
    hex += Number((value >> shift) & 0xffn)
      .toString(16)
      .padStart(2, "0");
  }
  return `0x${event.addr.toString(16)}:${hex}`;
}

/** One instruction: its registers and instruction pointer, and its accesses. */
type Line = [registers: string, memory: string];

interface State {
  dir: string;
  /** Per thread: its file, and the accesses of its last instruction so far. */
  threads: Map<string, { fd: number; memory: string }>;
}

export default defineTracer<Ctx, Line, State>({
  context(thread: ThreadInfo) {
    const names = tenetRegisters[thread.arch];
    if (!names) throw new Error(`Tenet reads x86, x86_64 and 32-bit ARM traces, not ${thread.arch}`);
    if (thread.registers.length === 0) throw new Error("the tenet tracer needs registers: run with --regs (cannoli tenet does)");
    return { keep: new Set(names), ip: instructionPointer[thread.arch]!, bigEndian: thread.bigEndian };
  },
  exec(ctx, event, out) {
    out.push([`${ctx.ip}=0x${event.pc.toString(16)}`, ""]);
  },
  regs(ctx, event, out) {
    let items = "";
    for (const [name, value] of Object.entries(event.values)) if (name !== ctx.ip && ctx.keep.has(name)) items += `${name}=0x${value.toString(16)},`;
    // Right after the instruction's exec: registers first, the ip last.
    const line = out[out.length - 1]!;
    line[0] = items + line[0];
  },
  read(ctx, event, out) {
    out[out.length - 1]![1] += `,mr=${memoryEntry(event, ctx.bigEndian)}`;
  },
  write(ctx, event, out) {
    out[out.length - 1]![1] += `,mw=${memoryEntry(event, ctx.bigEndian)}`;
  },
  init(args) {
    const dir = args.dir;
    if (!dir) throw new Error("the tenet tracer needs --tracer-arg dir=DIR (where the per-thread traces go)");
    mkdirSync(dir, { recursive: true });
    return { dir, threads: new Map() };
  },
  trace(state, lines, thread) {
    if (lines.length === 0) return;
    const name = `${thread.pid}${thread.image ? `.${thread.image}` : ""}-${thread.tid}.log`;
    let file = state.threads.get(name);
    if (!file) state.threads.set(name, (file = { fd: openSync(join(state.dir, name), "w"), memory: "" }));
    let text = "";
    for (const [registers, memory] of lines) {
      text += `${registers}${file.memory}\n`;
      file.memory = memory;
    }
    writeSync(file.fd, text);
  },
  finish(state, output) {
    for (const file of state.threads.values()) closeSync(file.fd);
    output.write(`tenet: ${state.threads.size} trace(s) in ${state.dir}: ${[...state.threads.keys()].join(" ")}\n`);
  },
});
