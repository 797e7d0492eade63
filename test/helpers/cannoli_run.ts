// SPDX-License-Identifier: MIT
//! Runs the cannoli CLI (`bun src/cli.ts run ...`) on a guest with the
//! `print` tracer and `--stats-json`, in the same controlled environment as
//! the oracles, and parses what it wrote.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type OracleRun, type QemuUnderTest, type Arch, QEMU_7_2, guestEnv, oracleQemuArgs, parseOracleLog, repoRoot } from "./oracle";
import { type ParsedTrace, type RunStats, parseStats, parseTrace } from "./trace_text";

export const bunBinary = join(repoRoot, "node_modules", ".bin", "bun");
export const cliPath = join(repoRoot, "src", "cli.ts");

export function cliAvailable(): boolean {
  return existsSync(cliPath) && existsSync(join(repoRoot, "zig-out", "lib", "libcannoli_server.so"));
}

export interface CannoliRun {
  argv: string[];
  env: Record<string, string>;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  traceText: string;
  trace: ParsedTrace;
  stats: RunStats | null;
  statsError?: string;
  wallMs: number;
}

export interface CannoliOptions {
  /** Options before `--` besides `--tracer print -o F --stats-json F --quiet`. */
  options?: string[];
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /** `--qemu PATH` [default: cannoli's own choice, qemu-<arch> on PATH]. */
  qemu?: string;
}

export async function runCannoli(guest: string, args: string[] = [], opts: CannoliOptions = {}): Promise<CannoliRun> {
  const dir = mkdtempSync(join(tmpdir(), "cannoli-e2e-"));
  const traceFile = join(dir, "trace.txt");
  const statsFile = join(dir, "stats.json");
  const env = opts.env ?? guestEnv();
  const argv = [
    bunBinary,
    cliPath,
    "run",
    "--tracer",
    "print",
    "-o",
    traceFile,
    "--stats-json",
    statsFile,
    "--quiet",
    ...(opts.qemu ? ["--qemu", opts.qemu] : []),
    ...(opts.options ?? []),
    "--",
    guest,
    ...args,
  ];
  const t0 = performance.now();
  try {
    const proc = Bun.spawn(argv, { cwd: opts.cwd ?? repoRoot, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    await proc.exited;
    clearTimeout(timer);
    const traceText = existsSync(traceFile) ? readFileSync(traceFile, "utf8") : "";
    let stats: RunStats | null = null;
    let statsError: string | undefined;
    try {
      stats = parseStats(readFileSync(statsFile, "utf8"));
    } catch (error) {
      statsError = String(error);
    }
    return {
      argv,
      env,
      exitCode: proc.signalCode ? null : proc.exitCode,
      signal: proc.signalCode == null ? null : String(proc.signalCode),
      stdout,
      stderr,
      traceText,
      trace: parseTrace(traceText),
      stats,
      statsError,
      wallMs: performance.now() - t0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface OracleWant {
  execlog?: boolean;
  insn?: boolean;
  mem?: boolean;
}

/** cannoli on `guest` with QEMU's own plugins (all three unless `want` says
 *  otherwise) loaded into the same QEMU process (`--qemu-arg`): the oracle
 *  saw the very run cannoli traced. The oracle's stdout and exit code are
 *  the guest's, which cannoli passes through. */
export async function runCannoliWithOracles(
  q: QemuUnderTest,
  arch: Arch,
  guest: string,
  args: string[] = [],
  opts: CannoliOptions & { want?: OracleWant } = {},
): Promise<{ cannoli: CannoliRun; oracle: OracleRun }> {
  const dir = mkdtempSync(join(tmpdir(), "cannoli-oracle-"));
  const logFile = join(dir, "qemu.log");
  const want = opts.want ?? {};
  try {
    const qemuArgs = oracleQemuArgs(q, logFile, want).flatMap((arg) => ["--qemu-arg", arg]);
    const cannoli = await runCannoli(guest, args, { ...opts, qemu: opts.qemu ?? (q === QEMU_7_2 ? undefined : q.binary(arch)), options: [...qemuArgs, ...(opts.options ?? [])] });
    const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    const oracle: OracleRun = {
      argv: cannoli.argv,
      cwd: opts.cwd ?? repoRoot,
      env: cannoli.env,
      exitCode: cannoli.exitCode,
      signal: cannoli.signal,
      stdout: cannoli.stdout,
      stderr: cannoli.stderr,
      ...parseOracleLog(log, want),
    };
    return { cannoli, oracle };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
