// SPDX-License-Identifier: MIT
//! System call names per guest architecture, from the kernel's own tables
//! (src/syscalls/names.generated.ts, made by scripts/gen-syscalls.ts).
import { syscallTableAliases, syscallTables } from "./names.generated";

const parsed = new Map<string, Map<number, string>>();

function table(arch: string): Map<number, string> | undefined {
  const key = syscallTableAliases[arch] ?? arch;
  let names = parsed.get(key);
  if (names) return names;
  const text = syscallTables[key];
  if (text === undefined) return undefined;
  names = new Map();
  for (const pair of text.split(" ")) {
    const eq = pair.indexOf("=");
    names.set(Number(pair.slice(0, eq)), pair.slice(eq + 1));
  }
  parsed.set(key, names);
  return names;
}

/**
 * The name of system call `number` on guest architecture `arch` (a
 * {@link ThreadInfo}'s `arch`), e.g. `syscallName("aarch64", 93)` is
 * `"exit"`; undefined for a number the kernel does not assign there or an
 * architecture without a table (names come from the kernel's tables as
 * QEMU's source carries them).
 */
export function syscallName(arch: string, number: number): string | undefined {
  return table(arch)?.get(number);
}
