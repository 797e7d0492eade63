// SPDX-License-Identifier: MIT
//! A Tenet text-trace reader written from Tenet's own loader
//! (gaasedelen/tenet, plugins/tenet/trace/file.py, TraceSegment._process_line)
//! and architecture lists (plugins/tenet/trace/arch/*.py), independent of
//! src/tracers/tenet.ts: a line is `,`-separated `name=value` items, the name
//! upper-cased; the architecture's IP gives the step's address; a name in its
//! REGISTERS list is a register (value parsed as base-16, `0x` allowed);
//! MR/MW/MRW are `ADDR:HEXBYTES` memory accesses (bytes in memory order);
//! anything else fails the line. State at a step is every delta up to it.

export interface TenetArch {
  ip: string;
  registers: readonly string[];
}

export const TENET_AMD64: TenetArch = {
  ip: "RIP",
  registers: ["RAX", "RBX", "RCX", "RDX", "RBP", "RSP", "RSI", "RDI", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "RIP"],
};

export interface TenetStep {
  ip: bigint;
  registers: Map<string, bigint>;
  reads: { addr: bigint; bytes: Uint8Array }[];
  writes: { addr: bigint; bytes: Uint8Array }[];
}

export function parseTenetLine(line: string, arch: TenetArch): TenetStep {
  const step: TenetStep = { ip: -1n, registers: new Map(), reads: [], writes: [] };
  for (const item of line.split(",")) {
    const eq = item.indexOf("=");
    if (eq < 0 || item.indexOf("=", eq + 1) >= 0) throw new Error(`not name=value: ${item}`);
    const name = item.slice(0, eq).toUpperCase();
    const value = item.slice(eq + 1);
    if (name === arch.ip) step.ip = BigInt(value.startsWith("0x") ? value : `0x${value}`);
    else if (arch.registers.includes(name)) step.registers.set(name, BigInt(value.startsWith("0x") ? value : `0x${value}`));
    else if (name === "MR" || name === "MW" || name === "MRW") {
      const [addr, hex] = value.split(":");
      if (addr === undefined || hex === undefined || hex.trim().length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex.trim())) throw new Error(`bad memory item: ${item}`);
      const bytes = Uint8Array.from(Buffer.from(hex.trim(), "hex"));
      const access = { addr: BigInt(addr), bytes };
      if (name !== "MW") step.reads.push(access);
      if (name !== "MR") step.writes.push(access);
    } else throw new Error(`Invalid line in text trace! error on '${name}'`);
  }
  if (step.ip < 0n) throw new Error(`no ${arch.ip} in line: ${line}`);
  return step;
}

/** Folds a whole trace: the register state at every step (before its
 *  instruction runs) and the memory its writes and reads leave. */
export function replayTenet(text: string, arch: TenetArch) {
  const lines = text.split("\n").filter((line) => line.length > 0);
  const state = new Map<string, bigint>();
  const memory = new Map<bigint, number>();
  const steps: { ip: bigint; state: Map<string, bigint> }[] = [];
  for (const line of lines) {
    const step = parseTenetLine(line, arch);
    for (const [name, value] of step.registers) state.set(name, value);
    state.set(arch.ip, step.ip);
    steps.push({ ip: step.ip, state: new Map(state) });
    for (const access of [...step.reads, ...step.writes]) access.bytes.forEach((byte, i) => memory.set(access.addr + BigInt(i), byte));
  }
  return { steps, memory };
}
