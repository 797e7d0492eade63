// SPDX-License-Identifier: MIT
//! Where a recording's bytes go: a regular file with O_DIRECT where its file
//! system takes it (DirectFile.ts), else straight through the page cache
//! (pipes, devices, file systems without O_DIRECT).
import { closeSync, openSync } from "node:fs";
import { writeAll } from "../runtime/output";
import { DirectFile } from "./DirectFile";

/** The first write that failed, and how much of the file is whole before it. */
export interface WriteFailure {
  error: unknown;
  readableBytes: number;
}

export interface RecordingFile {
  /** Appends `bytes` (nothing more once `failure` is set). */
  append(bytes: Uint8Array): void;
  /** The first write that failed, and how much of the file is whole;
   *  reported once every write started before it has ended. */
  readonly failure: WriteFailure | null;
  /** Ends the file at `length` bytes, once every write is done. */
  close(length: number): Promise<void>;
}

export function openRecordingFile(path: string): RecordingFile {
  return DirectFile.open(path) ?? new PageCacheFile(path);
}

class PageCacheFile implements RecordingFile {
  readonly #fd: number;
  #written = 0;
  failure: WriteFailure | null = null;

  constructor(path: string) {
    this.#fd = openSync(path, "w");
  }

  append(bytes: Uint8Array): void {
    if (this.failure) return;
    try {
      writeAll(this.#fd, bytes);
    } catch (error) {
      this.failure = { error, readableBytes: this.#written };
      return;
    }
    this.#written += bytes.length;
  }

  async close(): Promise<void> {
    try {
      closeSync(this.#fd);
    } catch (error) {
      this.failure ??= { error, readableBytes: this.#written };
    }
  }
}
