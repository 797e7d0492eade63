// SPDX-License-Identifier: MIT
//! Errors in what the user typed: one line, exit code 2.
import { closeSync, openSync } from "node:fs";
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
