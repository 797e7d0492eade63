// SPDX-License-Identifier: MIT
//! Oracles for the end-to-end tests: QEMU's own plugins (execlog, insn, mem),
//! built from the same QEMU's source, run on the same guest with the same
//! argv, cwd and a controlled environment, so that cannoli's trace can be
//! compared event for event. Two QEMUs are under test, the two ends of what
//! users have: Debian 12's qemu-user 7.2 (oracles by scripts/build-oracles.sh)
//! and Debian 13's QEMU 10.0 (built with its oracles by
//! scripts/qemu-stock-build.sh). Formats: test/oracles/FORMATS.md.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

export const repoRoot = join(import.meta.dir, "..", "..");

export type Arch = "mipsel" | "aarch64" | "riscv64" | "x86_64";
export const ARCHES: readonly Arch[] = ["mipsel", "aarch64", "riscv64", "x86_64"];

/** One memory access as execlog shows it: no size, no value. */
export interface OracleAccess {
  store: boolean;
  addr: bigint;
}

/** One executed instruction and its memory accesses, in execution order. */
export interface OracleInsn {
  pc: bigint;
  accesses: OracleAccess[];
}

export interface ParsedExeclog {
  /** Per vCPU index (threads reuse indices once one has exited). */
  cpus: Map<number, OracleInsn[]>;
  /** Number of records (= executed instructions, per FORMATS.md). */
  records: number;
  /** Records that were glued onto the previous record's line. */
  glued: number;
  /** Non-empty text that is neither an execlog record nor a known line of
   * the other oracles (insn, mem); should stay empty. */
  unparsed: string[];
}

export interface InsnOutput {
  /** `total insns: N`, one per process that exited normally, in the order
   * they were printed (fork: the child exits first, so it comes first). */
  totals: number[];
  /** `cpu <i> insns: <n>` lines, grouped per process (same order as totals). */
  perCpu: Map<number, number>[];
  /** `detected repeat execution` lines. */
  repeats: number;
}

export interface OracleRun {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** The QEMU log (`-d plugin -D file`): everything the plugins printed. */
  log: string;
  execlog?: ParsedExeclog;
  insn?: InsnOutput;
  /** `callback mem accesses: N`, one per process, in print order. */
  memCounts?: number[];
}

export interface OracleOptions {
  execlog?: boolean;
  insn?: boolean;
  mem?: boolean;
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** [default: QEMU_7_2] */
  qemu?: QemuUnderTest;
}

/** The last line a set-up script printed (a directory), run on demand. */
function scriptOutputDir(script: string): string {
  const r = spawnSync("bash", [join(repoRoot, "scripts", script)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.trim().split("\n");
  const dir = lines[lines.length - 1]?.trim();
  if (!dir) throw new Error(`${script} printed no directory: ${r.stdout}`);
  return dir;
}

/** One QEMU the suite runs cannoli and the oracles on. */
export interface QemuUnderTest {
  /** "7.2" or "10.0", as test titles show it. */
  name: string;
  arches: readonly Arch[];
  /** qemu-<arch>; `env.PATH` is searched for the distribution's. */
  binary(arch: Arch, env?: Record<string, string>): string;
  /** QEMU's own plugin of that name, built from this QEMU's source. */
  oracle(name: "execlog" | "insn" | "mem"): string;
}

function lazy<T>(fn: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= fn());
}

const debianOracles = lazy(() => scriptOutputDir("build-oracles.sh"));
/** Debian 12's qemu-user, on PATH. */
export const QEMU_7_2: QemuUnderTest = {
  name: "7.2",
  arches: ["mipsel", "aarch64", "riscv64", "x86_64"],
  binary(arch, env = guestEnv()) {
    const found = Bun.which(`qemu-${arch}`, { PATH: env.PATH ?? "/usr/bin:/bin" });
    if (!found) throw new Error(`qemu-${arch} not found on ${env.PATH}`);
    return found;
  },
  oracle: (name) => join(debianOracles(), `lib${name}.so`),
};

const stockBuild = lazy(() => scriptOutputDir("qemu-stock-build.sh"));
/** Debian 13's QEMU 10.0, built from its source package (aarch64 and mipsel run the whole suite; x86_64 the register and Tenet tests). */
export const QEMU_10_0: QemuUnderTest = {
  name: "10.0",
  arches: ["mipsel", "aarch64"],
  binary: (arch) => join(stockBuild(), "bin", `qemu-${arch}`),
  oracle: (name) => join(stockBuild(), "plugins", `lib${name}.so`),
};

export const QEMUS: readonly QemuUnderTest[] = [QEMU_7_2, QEMU_10_0];

export function oraclePlugin(name: "execlog" | "insn" | "mem", qemu: QemuUnderTest = QEMU_7_2): string {
  return qemu.oracle(name);
}

/** The controlled environment handed to both QEMU (oracle) and cannoli (which
 * passes it through to its QEMU, hence to the guest). Everything else of the
 * test runner's environment is dropped, as with `env -i`. */
export function guestEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: process.env.HOME ?? homedir(), LANG: "C", ...extra };
}

export function guestPath(arch: Arch, name: string): string {
  return join(repoRoot, "test", "guests", "build", arch, name);
}

/** Runs `guest args` under qemu-<arch> with the chosen oracle plugins loaded
 * together (one run: the plugins only observe). */
export async function runOracle(arch: Arch, guest: string, args: string[] = [], opts: OracleOptions = {}): Promise<OracleRun> {
  const want = { execlog: opts.execlog ?? true, insn: opts.insn ?? true, mem: opts.mem ?? true };
  const env = opts.env ?? guestEnv();
  const cwd = opts.cwd ?? repoRoot;
  const dir = mkdtempSync(join(tmpdir(), "cannoli-oracle-"));
  const logFile = join(dir, "qemu.log");
  try {
    const qemu = opts.qemu ?? QEMU_7_2;
    const argv = [qemu.binary(arch, env)];
    if (want.execlog) argv.push("-plugin", qemu.oracle("execlog"));
    if (want.insn) argv.push("-plugin", qemu.oracle("insn"));
    if (want.mem) argv.push("-plugin", `${qemu.oracle("mem")},callback=on`);
    argv.push("-d", "plugin", "-D", logFile, guest, ...args);
    const proc = Bun.spawn(argv, { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    await proc.exited;
    clearTimeout(timer);
    let log = "";
    try {
      log = readFileSync(logFile, "utf8");
    } catch {
      /* no output at all (e.g. killed by a signal before anything was logged) */
    }
    const run: OracleRun = {
      argv,
      cwd,
      env,
      exitCode: proc.signalCode ? null : proc.exitCode,
      signal: proc.signalCode == null ? null : String(proc.signalCode),
      stdout,
      stderr,
      log,
    };
    if (want.execlog) run.execlog = parseExeclog(log);
    if (want.insn) run.insn = parseInsnOutput(log);
    if (want.mem) run.memCounts = parseMemOutput(log);
    return run;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The chosen oracle plugins as QEMU options (`cannoli run --qemu-arg`
 *  each), logging to `logFile`: QEMU's own plugins loaded into cannoli's own
 *  QEMU process observe exactly the run cannoli traced. QEMU 10 places the
 *  guest's stack and libraries anew on every run, so only the same process
 *  can be compared address for address. */
export function oracleQemuArgs(qemu: QemuUnderTest, logFile: string, want: { execlog?: boolean; insn?: boolean; mem?: boolean }): string[] {
  const args: string[] = [];
  if (want.execlog ?? true) args.push("-plugin", qemu.oracle("execlog"));
  if (want.insn ?? true) args.push("-plugin", qemu.oracle("insn"));
  if (want.mem ?? true) args.push("-plugin", `${qemu.oracle("mem")},callback=on`);
  args.push("-d", "plugin", "-D", logFile);
  return args;
}

/** What the oracles wrote into `log`, parsed as `runOracle` does. */
export function parseOracleLog(log: string, want: { execlog?: boolean; insn?: boolean; mem?: boolean }): Pick<OracleRun, "log" | "execlog" | "insn" | "memCounts"> {
  return {
    log,
    execlog: (want.execlog ?? true) ? parseExeclog(log) : undefined,
    insn: (want.insn ?? true) ? parseInsnOutput(log) : undefined,
    memCounts: (want.mem ?? true) ? parseMemOutput(log) : undefined,
  };
}

export async function runExeclog(arch: Arch, guest: string, args: string[] = [], opts: Omit<OracleOptions, "execlog" | "insn" | "mem"> = {}) {
  const run = await runOracle(arch, guest, args, { ...opts, execlog: true, insn: false, mem: false });
  return { ...run, execlog: run.execlog! };
}

export async function runInsnCount(arch: Arch, guest: string, args: string[] = [], opts: Omit<OracleOptions, "execlog" | "insn" | "mem"> = {}) {
  const run = await runOracle(arch, guest, args, { ...opts, execlog: false, insn: true, mem: false });
  return { ...run, insn: run.insn! };
}

export async function runMemCount(arch: Arch, guest: string, args: string[] = [], opts: Omit<OracleOptions, "execlog" | "insn" | "mem"> = {}) {
  const run = await runOracle(arch, guest, args, { ...opts, execlog: false, insn: false, mem: true });
  return { ...run, memCounts: run.memCounts! };
}

/** Environment variables that make qemu-user load one more plugin (the insn
 * oracle) and log its output to `logFile`, as `-plugin/-d/-D` would. Used to
 * run the oracle *inside cannoli's own QEMU* for guests whose counts vary
 * from run to run (threads). The guest sees these variables too. */
export function coRunInsnEnv(logFile: string, qemu: QemuUnderTest = QEMU_7_2): Record<string, string> {
  return coRunEnv("insn", logFile, qemu);
}

/** Same for any one oracle plugin (qemu-user takes one QEMU_PLUGIN). */
export function coRunEnv(plugin: "execlog" | "insn" | "mem", logFile: string, qemu: QemuUnderTest = QEMU_7_2): Record<string, string> {
  const lib = qemu.oracle(plugin);
  return { QEMU_PLUGIN: plugin === "mem" ? `${lib},callback=on` : lib, QEMU_LOG: "plugin", QEMU_LOG_FILENAME: logFile };
}

// ---------------------------------------------------------------------------
// Parsers

// One execlog record: cpu, pc, opcode (garbage beyond the insn size: ignored),
// disassembly (may hold commas, tabs, riscv padding; never a quote), then the
// accesses. An access address has at least 8 hex digits; it ends at the next
// access, at the end of the line, or where a record of another vCPU was glued
// on (then the cpu index is taken as the single decimal digit before ", 0x":
// the only ambiguous case, see FORMATS.md).
const ACCESS = String.raw`, (?:load|store), 0x[0-9a-f]{8,}?(?=, (?:load|store), 0x|\d, 0x[0-9a-f]+, 0x[0-9a-f]+, "|\r?\n|$)`;
const RECORD = new RegExp(String.raw`(\d+), 0x([0-9a-f]+), 0x[0-9a-f]+, "[^"\n]*"((?:${ACCESS})*)`, "g");
const ACCESS_ITEM = /, (load|store), 0x([0-9a-f]+)/g;
// Lines the other oracles print into the same log.
const OTHER_LINE =
  /^(?:cpu \d+ insns: \d+|total insns: \d+|insns: \d+|detected repeat execution @ 0x[0-9a-f]+|(?:(?:inline|callback) )?mem accesses: \d+|io accesses: \d+|len \d+ bytes: \d+ insns)$/;

export function parseExeclog(text: string): ParsedExeclog {
  const cpus = new Map<number, OracleInsn[]>();
  const unparsed: string[] = [];
  let records = 0;
  let glued = 0;
  let last = 0;
  const noteGap = (gap: string) => {
    for (const line of gap.split("\n")) {
      const t = line.trim();
      if (t && !OTHER_LINE.test(t)) unparsed.push(t);
    }
  };
  for (const m of text.matchAll(RECORD)) {
    const start = m.index!;
    const gap = text.slice(last, start);
    if (start > 0 && text[start - 1] !== "\n") glued++;
    noteGap(gap);
    last = start + m[0].length;
    const cpu = Number(m[1]);
    const accesses: OracleAccess[] = [];
    for (const a of (m[3] ?? "").matchAll(ACCESS_ITEM)) {
      accesses.push({ store: a[1] === "store", addr: BigInt(`0x${a[2]}`) });
    }
    let seq = cpus.get(cpu);
    if (!seq) cpus.set(cpu, (seq = []));
    seq.push({ pc: BigInt(`0x${m[2]}`), accesses });
    records++;
  }
  noteGap(text.slice(last));
  return { cpus, records, glued, unparsed };
}

export function parseInsnOutput(text: string): InsnOutput {
  const totals: number[] = [];
  const perCpu: Map<number, number>[] = [];
  let current = new Map<number, number>();
  let repeats = 0;
  // Not anchored at line starts: in multi-threaded/forked runs another
  // writer's record may precede the text on the same line.
  for (const m of text.matchAll(/(?:cpu (\d+) insns: (\d+)|total insns: (\d+)|detected repeat execution @ 0x[0-9a-f]+)(?=\n|$)/g)) {
    if (m[1] !== undefined) current.set(Number(m[1]), Number(m[2]));
    else if (m[3] !== undefined) {
      totals.push(Number(m[3]));
      perCpu.push(current);
      current = new Map();
    } else repeats++;
  }
  return { totals, perCpu, repeats };
}

/** 7.2 prints "callback mem accesses: N", 10.0 "mem accesses: N". */
export function parseMemOutput(text: string): number[] {
  return [...text.matchAll(/(?<!inline )mem accesses: (\d+)(?=\n|$)/g)].map((m) => Number(m[1]));
}

// ---------------------------------------------------------------------------
// Guest binaries: symbols (all test arches are little-endian ELF).

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
}

/** Reads .symtab of a little-endian ELF32/ELF64 file. */
export function elfSymbols(path: string): Map<string, ElfSymbol> {
  const buf = readFileSync(path);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path}: not ELF`);
  const is64 = buf[4] === 2;
  if (buf[5] !== 1) throw new Error(`${path}: big-endian ELF not supported`);
  const u16 = (o: number) => dv.getUint16(o, true);
  const u32 = (o: number) => dv.getUint32(o, true);
  const word = (o: number) => (is64 ? dv.getBigUint64(o, true) : BigInt(dv.getUint32(o, true)));
  const shoff = Number(is64 ? dv.getBigUint64(0x28, true) : BigInt(u32(0x20)));
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({
      type: u32(o + 4),
      offset: Number(is64 ? dv.getBigUint64(o + 0x18, true) : BigInt(u32(o + 0x10))),
      size: Number(is64 ? dv.getBigUint64(o + 0x20, true) : BigInt(u32(o + 0x14))),
      link: u32(is64 ? o + 0x28 : o + 0x18),
      entsize: Number(is64 ? dv.getBigUint64(o + 0x38, true) : BigInt(u32(o + 0x24))),
    });
  }
  const out = new Map<string, ElfSymbol>();
  for (const s of sections) {
    if (s.type !== 2 /* SHT_SYMTAB */) continue;
    const strtab = sections[s.link];
    if (!strtab) continue;
    const n = s.entsize ? s.size / s.entsize : 0;
    for (let i = 0; i < n; i++) {
      const o = s.offset + i * s.entsize;
      const nameOff = u32(o);
      const value = is64 ? word(o + 8) : word(o + 4);
      const size = is64 ? dv.getBigUint64(o + 16, true) : BigInt(u32(o + 8));
      let end = strtab.offset + nameOff;
      while (buf[end] !== 0 && end < buf.length) end++;
      const name = buf.toString("latin1", strtab.offset + nameOff, end);
      if (name && !out.has(name)) out.set(name, { name, value, size });
    }
  }
  return out;
}
