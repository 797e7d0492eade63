// SPDX-License-Identifier: MIT
//! Errors in what the user typed: one line, exit code 2.
import { closeSync, mkdirSync, openSync, readdirSync } from "node:fs";
import { describeWriteError } from "../runtime/output";

export class UsageError extends Error {}

/** Opens (creating or emptying) an output file the run writes only at its
 *  end, so a path that cannot be written fails before the guest runs, not
 *  after it with the run's results lost. */
export function checkOutputPath(path: string | undefined, what: string): void {
  if (path === undefined) return;
  try {
    closeSync(openSync(path, "w"));
  } catch (error) {
    throw new UsageError(`cannoli: cannot write ${what} ${path}: ${describeWriteError(error)}`);
  }
}

/** Makes the directory a command writes into (`-o DIR`), before the guest
 *  runs or the recording is read: one line when it cannot be made, is a
 *  file, or (`empty`) holds anything. */
export function makeOutputDirectory(dir: string, what: string, options: { empty: boolean }): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new UsageError(`cannoli: cannot write ${what} ${dir}: ${describeWriteError(error)}`);
  }
  if (options.empty && entries.length > 0) throw new UsageError(`cannoli: ${what} ${dir} is not empty`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new UsageError(`cannoli: cannot write ${what} ${dir}: ${describeWriteError(error)}`);
  }
}
