//! The shared shape of `cannoli <command> [options] -- <guest> [args...]`:
//! options up to `--` (or up to the first word that is not an option), then
//! the guest's own argv, untouched.
import { UsageError } from "./usage_error";

/**
 * Calls `option(flag, value)` for each option (`value()` takes the next word)
 * and returns the guest argv. `option` returns false for a flag it does not
 * know. `-h`/`--help` prints `usage` and exits.
 */
export function scanGuestCommand(
  argv: string[],
  command: string,
  usage: string,
  option: (flag: string, value: () => string) => boolean,
): string[] {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return argv.slice(i + 1);
    if (!arg.startsWith("-")) return argv.slice(i);
    if (arg === "-h" || arg === "--help") {
      process.stdout.write(usage);
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

export function parseWorkers(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError("cannoli: --workers takes a whole number from 1 to 64");
  return n;
}

export function parseHelpers(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new UsageError("cannoli: --helpers takes a whole number from 0 to 64");
  return n;
}

/** The options every command that runs a guest takes. */
export interface GuestRunOptions {
  workers: number;
  helpers: number;
  qemu?: string;
  sysroot?: string;
  quiet: boolean;
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
