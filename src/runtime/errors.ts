// SPDX-License-Identifier: MIT
//! Error text helpers: cannoli reports every failure as one line.

export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}
