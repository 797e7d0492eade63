// SPDX-License-Identifier: MIT
//! Buffered output for the ordered stage: stderr, or the `-o FILE` of a run.
import { closeSync, openSync, writeSync } from "node:fs";
import type { Output } from "../tracer";

const flushBytes = 1 << 16;

/** "ENOSPC (no space left on device)" and the like, for one-line errors. */
export function describeWriteError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const known: Record<string, string> = {
    ENOSPC: "no space left on device",
    EACCES: "permission denied",
    EROFS: "read-only file system",
    EISDIR: "is a directory",
    ENOTDIR: "not a directory",
    EPIPE: "the reader went away",
    EDQUOT: "disk quota exceeded",
    EIO: "I/O error",
    EFBIG: "file too large",
  };
  return code ? `${code}${known[code] ? ` (${known[code]})` : ""}` : String(error);
}

/** Writes all of `bytes` to `fd` (writeSync may write less than asked).
 *  A descriptor something made non-blocking (see stdio.ts) says EAGAIN
 *  while its pipe is full: wait for the reader, as a blocking write does. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(fd, bytes, written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      Bun.sleepSync(1);
    }
  }
}

export class BufferedOutput implements Output {
  readonly #fd: number;
  readonly #ownsFd: boolean;
  readonly #name: string;
  /** Set at the first failed write; later output is dropped (the session
   *  stops the run on it, with this line). */
  failure: string | null = null;
  #parts: string[] = [];
  #pending = 0;

  /** Opens `path` (else stderr); one that cannot be written fails here,
   *  before the guest runs. */
  constructor(path?: string) {
    try {
      this.#fd = path ? openSync(path, "w") : 2;
    } catch (error) {
      throw new Error(`cannoli: cannot write tracer output to ${path}: ${describeWriteError(error)}`);
    }
    this.#ownsFd = !!path;
    this.#name = path ?? "stderr";
  }

  write(text: string): void {
    this.#parts.push(text);
    this.#pending += text.length;
    if (this.#pending >= flushBytes) this.flush();
  }

  flush(): void {
    if (this.#parts.length === 0) return;
    const data = Buffer.from(this.#parts.join(""));
    this.#parts = [];
    this.#pending = 0;
    if (this.failure) return;
    try {
      writeAll(this.#fd, data);
    } catch (error) {
      this.failure = `cannoli: cannot write tracer output to ${this.#name}: ${describeWriteError(error)}`;
    }
  }

  close(): void {
    this.flush();
    if (!this.#ownsFd) return;
    try {
      closeSync(this.#fd);
    } catch (error) {
      this.failure ??= `cannoli: cannot write tracer output to ${this.#name}: ${describeWriteError(error)}`;
    }
  }
}
