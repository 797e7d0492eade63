// SPDX-License-Identifier: MIT
//! Buffered output for the ordered stage: stderr, or the `-o FILE` of a run.
import { closeSync, openSync, writeSync } from "node:fs";
import type { Output } from "../tracer";

const flushBytes = 1 << 16;

export class BufferedOutput implements Output {
  readonly #fd: number;
  readonly #ownsFd: boolean;
  #parts: string[] = [];
  #pending = 0;

  constructor(path?: string) {
    this.#fd = path ? openSync(path, "w") : 2;
    this.#ownsFd = !!path;
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
    let written = 0;
    while (written < data.length) written += writeSync(this.#fd, data, written);
  }

  close(): void {
    this.flush();
    if (this.#ownsFd) closeSync(this.#fd);
  }
}
