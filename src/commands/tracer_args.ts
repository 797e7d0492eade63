// SPDX-License-Identifier: MIT
//! `--tracer-arg KEY=VALUE`: options for the tracer itself, handed to its
//! `context` and `init` (run, record, replay).
import { UsageError } from "./usage_error";

export const tracerArgUsage = `  --tracer-arg K=V     hand K=V to the tracer's context() and init() (repeatable)
`;

/** Adds one `KEY=VALUE` to `args` (a later value for a key wins). */
export function addTracerArg(args: Record<string, string>, text: string): void {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`cannoli: --tracer-arg ${text} is not KEY=VALUE`);
  args[text.slice(0, eq)] = text.slice(eq + 1);
}
