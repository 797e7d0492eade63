// SPDX-License-Identifier: MIT
//! Parsers for cannoli's own outputs: the `print` tracer's text and the
//! `--stats-json` file.
//!
//! print format, one event per line (hex lower case, no leading zeros):
//!   <pid>:<tid> exec 0x<pc>
//!   <pid>:<tid> read 0x<pc> 0x<addr> <size> 0x<value>
//!   <pid>:<tid> write 0x<pc> 0x<addr> <size> 0x<value>
//!   <pid>:<tid> syscall <number> 0x<a0> ... 0x<a5>
//!   <pid>:<tid> sysret <number> <ret, signed decimal>
//!   <pid>:<tid> exit
import { readFileSync } from "node:fs";

export interface TraceAccess {
  store: boolean;
  addr: bigint;
  size: number;
  value: bigint;
}

export interface TraceInsn {
  pc: bigint;
  accesses: TraceAccess[];
}

export interface TraceSyscall {
  /** Index into `insns` of the instruction this event followed (-1: none). */
  insnIndex: number;
  number: number;
  args: bigint[];
  /** From the matching `sysret`, when there was one. */
  ret?: bigint;
  /** A `sysret` as the thread's very first event, with no `syscall` before
   * it: a fork child returning from the fork its parent entered (args are
   * then empty). */
  entryMissing?: boolean;
}

export interface TraceMap {
  kind: "mmap" | "munmap";
  addr: bigint;
  length: bigint;
  fd?: number;
  offset?: bigint;
  path?: string | null;
}

export interface TraceThread {
  /** `pid:tid`, or `pid.image:tid` for an exec'd program. */
  key: string;
  pid: number;
  /** Execs of pid before this program (0: the one the process started with). */
  image: number;
  tid: number;
  insns: TraceInsn[];
  syscalls: TraceSyscall[];
  reads: number;
  writes: number;
  /** mmap and munmap events, in order. */
  maps: TraceMap[];
  /** Saw an `exit` line. */
  exited: boolean;
  /** Events of this thread after its `exit` line (should be 0). */
  eventsAfterExit: number;
  /** Index of this thread's first line in the whole output. */
  firstLine: number;
}

export interface ParsedTrace {
  threads: Map<string, TraceThread>;
  /** Lines that break the format or the per-thread ordering rules. */
  errors: string[];
  lines: number;
}

const LINE =
  /^(\d+(?:\.\d+)?):(\d+) (?:(exec) 0x([0-9a-f]+)|(read|write) 0x([0-9a-f]+) 0x([0-9a-f]+) (\d+) 0x([0-9a-f]+)|(syscall) (\d+)((?: 0x[0-9a-f]+){6})|(sysret) (\d+) (-?\d+)|(exit)|(mmap) 0x([0-9a-f]+) 0x([0-9a-f]+) prot=(\d+) flags=0x([0-9a-f]+) fd=(-?\d+) offset=0x([0-9a-f]+)(?: (.+))?|(munmap) 0x([0-9a-f]+) 0x([0-9a-f]+))$/;
const CANONICAL_HEX = /^0x(?:0|[1-9a-f][0-9a-f]*)$/;

/** Parses the whole print output. Errors are collected (at most 50 kept),
 * not thrown, so a test can show them. */
export function parseTrace(text: string): ParsedTrace {
  const threads = new Map<string, TraceThread>();
  const errors: string[] = [];
  const err = (n: number, line: string, why: string) => {
    if (errors.length < 50) errors.push(`line ${n + 1}: ${why}: ${JSON.stringify(line)}`);
  };
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const m = LINE.exec(line);
    if (!m) {
      err(n, line, "unrecognised line");
      continue;
    }
    if (line.includes("0x0")) {
      for (const h of line.matchAll(/0x[0-9a-f]+/g)) if (!CANONICAL_HEX.test(h[0])) err(n, line, `leading zeros in ${h[0]}`);
    }
    const key = `${m[1]}:${m[2]}`;
    let t = threads.get(key);
    if (!t) {
      const [pid, image = "0"] = m[1]!.split(".");
      t = {
        key,
        pid: Number(pid),
        image: Number(image),
        tid: Number(m[2]),
        insns: [],
        syscalls: [],
        maps: [],
        reads: 0,
        writes: 0,
        exited: false,
        eventsAfterExit: 0,
        firstLine: n,
      };
      threads.set(key, t);
    }
    if (t.exited) {
      t.eventsAfterExit++;
      err(n, line, "event after this thread's exit");
    }
    if (m[3]) {
      t.insns.push({ pc: BigInt(`0x${m[4]}`), accesses: [] });
    } else if (m[5]) {
      const pc = BigInt(`0x${m[6]}`);
      const size = Number(m[8]);
      const value = BigInt(`0x${m[9]}`);
      const store = m[5] === "write";
      if (store) t.writes++;
      else t.reads++;
      const cur = t.insns[t.insns.length - 1];
      if (!cur) {
        err(n, line, "memory access before any exec of this thread");
        continue;
      }
      if (cur.pc !== pc) err(n, line, `access pc differs from its exec line's pc 0x${cur.pc.toString(16)}`);
      if (![1, 2, 4, 8, 16].includes(size)) err(n, line, `odd access size ${size}`);
      else if (value >> BigInt(size * 8) !== 0n) err(n, line, `value wider than ${size} bytes`);
      cur.accesses.push({ store, addr: BigInt(`0x${m[7]}`), size, value });
    } else if (m[10]) {
      const args = (m[12] ?? "")
        .trim()
        .split(" ")
        .map((x) => BigInt(x));
      t.syscalls.push({ insnIndex: t.insns.length - 1, number: Number(m[11]), args });
    } else if (m[13]) {
      const num = Number(m[14]);
      const open = [...t.syscalls].reverse().find((s) => s.ret === undefined);
      if (!open && t.insns.length === 0 && t.syscalls.length === 0) {
        t.syscalls.push({ insnIndex: -1, number: num, args: [], ret: BigInt(m[15]!), entryMissing: true });
      } else if (!open || open.number !== num) err(n, line, "sysret without a matching syscall");
      else open.ret = BigInt(m[15]!);
    } else if (m[17]) {
      t.maps.push({ kind: "mmap", addr: BigInt(`0x${m[18]}`), length: BigInt(`0x${m[19]}`), fd: Number(m[22]), offset: BigInt(`0x${m[23]}`), path: m[24] ?? null });
    } else if (m[25]) {
      t.maps.push({ kind: "munmap", addr: BigInt(`0x${m[26]}`), length: BigInt(`0x${m[27]}`) });
    } else if (m[16]) {
      t.exited = true;
    }
  }
  return { threads, errors, lines: lines.length };
}

export function parseTraceFile(path: string): ParsedTrace {
  return parseTrace(readFileSync(path, "utf8"));
}

export interface ThreadStats {
  pid: number;
  image: number;
  tid: number;
  instructions: number;
  reads: number;
  writes: number;
}

export interface RunStats {
  instructions: number;
  reads: number;
  writes: number;
  threads: number;
  processes: number;
  exit_code: number | null;
  wall_s: number;
  backend: string;
  dropped_chunks: number;
  per_thread: ThreadStats[];
}

function num(o: Record<string, unknown>, k: string, where: string): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`stats ${where}.${k}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}

/** Parses and validates the `--stats-json` output. */
export function parseStats(text: string): RunStats {
  const o = JSON.parse(text) as Record<string, unknown>;
  if (typeof o !== "object" || o === null) throw new Error("stats: not an object");
  if (!Array.isArray(o.per_thread)) throw new Error("stats.per_thread: not an array");
  const per_thread = (o.per_thread as Record<string, unknown>[]).map((t, i) => ({
    pid: num(t, "pid", `per_thread[${i}]`),
    image: num(t, "image", `per_thread[${i}]`),
    tid: num(t, "tid", `per_thread[${i}]`),
    instructions: num(t, "instructions", `per_thread[${i}]`),
    reads: num(t, "reads", `per_thread[${i}]`),
    writes: num(t, "writes", `per_thread[${i}]`),
  }));
  if (typeof o.backend !== "string") throw new Error("stats.backend: not a string");
  const exit = o.exit_code;
  if (exit !== null && typeof exit !== "number") throw new Error("stats.exit_code: not a number or null");
  return {
    instructions: num(o, "instructions", ""),
    reads: num(o, "reads", ""),
    writes: num(o, "writes", ""),
    threads: num(o, "threads", ""),
    processes: num(o, "processes", ""),
    exit_code: exit as number | null,
    wall_s: num(o, "wall_s", ""),
    backend: o.backend,
    dropped_chunks: num(o, "dropped_chunks", ""),
    per_thread,
  };
}

export function parseStatsFile(path: string): RunStats {
  return parseStats(readFileSync(path, "utf8"));
}
