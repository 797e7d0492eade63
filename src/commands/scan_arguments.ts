// SPDX-License-Identifier: MIT
//! The shape of a command that takes options and positional arguments in
//! any order (`replay`, `export`, `sql`): each option once through
//! `option`, each other word through `positional`; `-h`/`--help` prints the
//! usage and exits 0.
import { writeStdout } from "../runtime/stdio";
import { UsageError } from "./usage_error";

/** `option(flag, value)` returns false for a flag it does not know
 *  (`value()` takes the next word); `positional(word)` throws for one too many. */
export function scanArguments(
  argv: readonly string[],
  command: string,
  usage: string,
  option: (flag: string, value: () => string) => boolean,
  positional: (word: string) => void,
): void {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") {
      writeStdout(usage);
      process.exit(0);
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional(arg);
      continue;
    }
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`cannoli: ${arg} needs a value`);
      return v;
    };
    if (!option(arg, value)) throw new UsageError(`cannoli: unknown option ${arg} (see cannoli ${command} --help)`);
  }
}
