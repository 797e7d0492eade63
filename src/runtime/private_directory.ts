// SPDX-License-Identifier: MIT
//! cannoli's private directories (the hand-over socket's, `cannoli sql`'s
//! scratch database): named after the process that owns them, so that the
//! next cannoli removes one that a cannoli killed with -9 left behind.
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const ownDirectory = /^cannoli-(\d+)-[A-Za-z0-9]{6}$/;

/** What this process's private directories are named from (mkdtemp adds
 *  six characters). */
export const privateDirectoryPrefix = (): string => `cannoli-${process.pid}-`;

/** A new 0700 directory in `base` for this process, after removing the
 *  stale ones there. */
export function makePrivateDirectory(base: string): string {
  removeStaleDirectories(base);
  // mkdtemp creates it 0700.
  return mkdtempSync(join(base, privateDirectoryPrefix()));
}

/** Removes the private directories in `base` of cannoli processes that are
 *  gone. A directory is stale when it is ours (same uid), named after a
 *  pid, and that pid does not exist. */
export function removeStaleDirectories(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const match = ownDirectory.exec(name);
    if (!match) continue;
    const path = join(base, name);
    try {
      if (statSync(path).uid !== uid || processExists(Number(match[1]))) continue;
      rmSync(path, { recursive: true, force: true });
    } catch {
      // raced with its owner or another cannoli: leave it
    }
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
