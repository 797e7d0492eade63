// SPDX-License-Identifier: MIT
//! cannoli's own writes to stderr and stdout, and the guest's stdio. QEMU
//! inherits cannoli's descriptors: the same open file descriptions. Node's
//! process.stderr and process.stdout in Bun make theirs non-blocking, for
//! the whole description, so the guest's write into a full pipe (`cannoli
//! run -- cat big 2>&1 | less`) would fail with EAGAIN where natively it
//! waits. cannoli writes with blocking writes instead. A tracer may still
//! use them, on any thread: each thread makes its streams before QEMU
//! starts (the flag is set when a thread's stream is made, not at each
//! write), the run then clears the flag, and keeps clearing it while QEMU
//! runs (zig-src/stdio_blocking.zig).
import { isatty } from "node:tty";
import { constants, readFileSync } from "node:fs";
import { consumerLibrary } from "../mempipe/native";
import { writeAll } from "./output";

/** Writes `text` to stderr, waiting for a pipe that is full. */
export function writeStderr(text: string): void {
  writeText(2, text);
}

/** Writes `text` to stdout, waiting for a pipe that is full. */
export function writeStdout(text: string): void {
  writeText(1, text);
}

function writeText(fd: number, text: string): void {
  try {
    writeAll(fd, Buffer.from(text));
  } catch {
    // A closed stderr or a reader that went away: nowhere left to say so.
  }
}

/** Whether stderr is a terminal (progress lines go only there). */
export function stderrIsTerminal(): boolean {
  return isatty(2);
}

/** Clears O_NONBLOCK on descriptors 0-2 where something set it. */
export function keepStdioBlocking(): void {
  consumerLibrary().cnl_stdio_blocking();
}

/** Makes this thread's process.stdout and process.stderr now, while no
 *  guest runs, so that a tracer's first use of them later sets nothing. */
export function makeNodeStdio(): void {
  void process.stdout;
  void process.stderr;
}

/** At exit, leaves descriptors 0-2 blocking, as a shell expects them:
 *  Bun does not undo the flag its streams set (a later command on the same
 *  terminal would see EAGAIN). The native library is loaded for it only
 *  when /proc says a descriptor needs it: `--help` unpacks nothing. */
export function leaveStdioBlockingAtExit(): void {
  process.on("exit", () => {
    if (![0, 1, 2].some(isNonBlocking)) return;
    try {
      keepStdioBlocking();
    } catch {
      // No library to be had at exit: the flag stays, as Bun left it.
    }
  });
}

/** Whether /proc/self/fdinfo shows O_NONBLOCK on `fd` (false when unknown). */
function isNonBlocking(fd: number): boolean {
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1];
    return flags !== undefined && (Number.parseInt(flags, 8) & constants.O_NONBLOCK) !== 0;
  } catch {
    return false;
  }
}
