// SPDX-License-Identifier: MIT
//! Guest arguments as the bytes the user gave. Bun (and Node, for the npx
//! launcher) turn cannoli's command line into JavaScript strings, replacing
//! bytes that are not UTF-8, and turn strings back into UTF-8 for a child's
//! execve; a guest argument or path with such bytes would reach the guest
//! changed, or be reported missing. The bytes are read back from
//! /proc/self/cmdline (or from CANNOLI_RAW_ARGV, which bin/cannoli.js sets
//! from its own), and QEMU is then started through cannoli-exec
//! (zig-src/exec_argv.zig), which execs an argv given as bytes.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nativePath } from "../native_paths";

/** Set by bin/cannoli.js under Node: its own arguments, NUL-terminated, in base64. */
export const rawArgvVariable = "CANNOLI_RAW_ARGV";

let launcherArgv: Buffer | undefined;

/** Takes CANNOLI_RAW_ARGV out of the environment (the guest must not see
 *  it); called once at startup. */
export function adoptLauncherArgv(): void {
  const value = process.env[rawArgvVariable];
  if (value === undefined) return;
  delete process.env[rawArgvVariable];
  launcherArgv = Buffer.from(value, "base64");
}

/** The command line's arguments as bytes, read once (they never change). */
let commandLine: Buffer[] | undefined;

function commandLineBytes(): Buffer[] {
  commandLine ??= splitCommandLine();
  return commandLine;
}

function splitCommandLine(): Buffer[] {
  let bytes: Buffer;
  try {
    bytes = launcherArgv ?? readFileSync("/proc/self/cmdline");
  } catch {
    return [];
  }
  const args: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) continue;
    args.push(bytes.subarray(start, i));
    start = i + 1;
  }
  return args;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const lossyUtf8 = new TextDecoder("utf-8");

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The bytes of `tail`, the last arguments of cannoli's command line (the
 *  guest's argv is always its tail), or null when each is UTF-8 and the
 *  strings are exact (and when the bytes cannot be matched to them). */
export function argumentBytes(tail: readonly string[]): Buffer[] | null {
  const all = commandLineBytes();
  if (tail.length === 0 || all.length < tail.length) return null;
  const bytes = all.slice(all.length - tail.length);
  if (bytes.every(isUtf8)) return null;
  // The same arguments, or something else (a Bun flag rewrote them): then
  // the strings are all there is.
  if (!bytes.every((b, i) => lossyUtf8.decode(b) === tail[i])) return null;
  return bytes;
}

/** The guest program's path: its bytes where they are not UTF-8. */
export function guestPathArgument(guestArgv: readonly string[]): string | Buffer {
  return argumentBytes(guestArgv)?.[0] ?? guestArgv[0]!;
}

/**
 * The argv to spawn for `argv` followed by the guest's: itself when the
 * guest's arguments are exact as strings, else cannoli-exec with a file in
 * the private directory `dir` holding the whole argv as bytes (cannoli-exec
 * removes it before it execs).
 */
export function spawnArgv(argv: readonly string[], guestArgv: readonly string[], dir: string): string[] {
  const guestBytes = argumentBytes(guestArgv);
  if (!guestBytes) return [...argv, ...guestArgv];
  const file = join(dir, "argv");
  const parts = [...argv.map((arg) => Buffer.from(arg)), ...guestBytes].flatMap((arg) => [arg, Buffer.from([0])]);
  writeFileSync(file, Buffer.concat(parts), { mode: 0o600 });
  return [nativePath("cannoli-exec"), file];
}
