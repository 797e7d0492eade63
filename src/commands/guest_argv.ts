// SPDX-License-Identifier: MIT
//! The shared shape of `cannoli <command> [options] -- <guest> [args...]`:
//! options up to `--` (or up to the first word that is not an option), then
//! the guest's own argv, untouched.
import { writeStdout } from "../runtime/stdio";
import { defaultHelperCount, defaultWorkerCount } from "../runtime/WorkerPool";
import { UsageError } from "./usage_error";

/**
 * Calls `option(flag, value)` for each option (`value()` takes the next word)
 * and returns the guest argv. `option` returns false for a flag it does not
 * know. `-h`/`--help` prints `usage` and exits.
 */
export function scanGuestCommand(argv: string[], command: string, usage: string, option: (flag: string, value: () => string) => boolean): string[] {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return argv.slice(i + 1);
    if (!arg.startsWith("-")) return argv.slice(i);
    if (arg === "-h" || arg === "--help") {
      writeStdout(usage);
      process.exit(0);
    }
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`cannoli: ${arg} needs a value`);
      return v;
    };
    if (!option(arg, value)) throw new UsageError(`cannoli: unknown option ${arg} (see cannoli ${command} --help)`);
  }
  return [];
}

function parseCount(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`cannoli: ${flag} takes a whole number from ${min} to ${max}`);
  return n;
}

export const parseWorkers = (text: string): number => parseCount("--workers", text, 1, 64);
const parseHelpers = (text: string): number => parseCount("--helpers", text, 0, 64);

/** The usage lines of the two Worker options (`--workers` alone: replay's). */
export const workersUsage = "  --workers N          decoding Workers [default: cores - 1, at least 1]\n";
export const workerOptionsUsage = `${workersUsage}  --helpers N          extra Workers that decode only while QEMU waits for the
                       consumer, so they never take QEMU's core [default: 1]
`;

export const qemuArgUsage = `  --qemu-arg ARG       pass ARG to QEMU before the guest (repeatable): -cpu max,
                       another -plugin, -d ... -D FILE
`;

/** The options every command that runs a guest takes. */
export interface GuestRunOptions {
  workers: number;
  helpers: number;
  qemu?: string;
  /** `--qemu-arg`: QEMU options put before the guest (e.g. -cpu max). */
  qemuArgs: string[];
  sysroot?: string;
  quiet: boolean;
}

export function guestRunDefaults(): GuestRunOptions {
  return { workers: defaultWorkerCount(), helpers: defaultHelperCount(), qemuArgs: [], quiet: false };
}

/** Handles `flag` if it is one of GuestRunOptions' (for scanGuestCommand). */
export function guestRunOption(args: GuestRunOptions, flag: string, value: () => string): boolean {
  switch (flag) {
    case "--workers":
      args.workers = parseWorkers(value());
      return true;
    case "--helpers":
      args.helpers = parseHelpers(value());
      return true;
    case "--qemu":
      args.qemu = value();
      return true;
    case "--qemu-arg":
      args.qemuArgs.push(value());
      return true;
    case "--sysroot":
      args.sysroot = value();
      return true;
    case "--quiet":
      args.quiet = true;
      return true;
    default:
      return false;
  }
}
