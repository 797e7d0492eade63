//! Runs the cannoli CLI (`bun src/cli.ts run ...`) on a guest with the
//! `print` tracer and `--stats-json`, in the same controlled environment as
//! the oracles, and parses what it wrote.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guestEnv, repoRoot } from "./oracle";
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
}

export async function runCannoli(guest: string, args: string[] = [], opts: CannoliOptions = {}): Promise<CannoliRun> {
  const dir = mkdtempSync(join(tmpdir(), "cannoli-e2e-"));
  const traceFile = join(dir, "trace.txt");
  const statsFile = join(dir, "stats.json");
  const env = opts.env ?? guestEnv();
  const argv = [bunBinary, cliPath, "run", "--tracer", "print", "-o", traceFile, "--stats-json", statsFile, "--quiet", ...(opts.options ?? []), "--", guest, ...args];
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
