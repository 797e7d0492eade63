// SPDX-License-Identifier: MIT
//! Appends to a regular file opened with O_DIRECT: bytes gather in aligned
//! stages that are written whole, in the background (Bun's I/O pool), while
//! the next one fills. A recording is gigabytes written once and read later:
//! through the page cache its copy cost more CPU than zstd saves (2.6 s of
//! system time per 2.2 GB on the bench machine, 0.3 s direct), and a write
//! that waited for the disk would hold up the ordered stage.
import { ptr } from "bun:ffi";
import { closeSync, constants, fstatSync, ftruncateSync, openSync, write, writeSync } from "node:fs";
import type { RecordingFile, WriteFailure } from "./RecordingFile";

/** One write's size. */
const stageBytes = 8 << 20;
/** Stages at most: with all of them being written, the next waits for its
 *  own write (the disk's pace reaches the Workers through the stage). */
const stagesMax = 4;
/** O_DIRECT's alignment of buffers, offsets and lengths (a page covers every
 *  logical block size Linux has). */
const alignBytes = 4096;
/** A stage nothing was written from for this long is written as far as it
 *  is filled (and again whole once full): a cannoli killed while a slow
 *  guest runs loses at most about this much of its recording. */
const idleFlushMs = 1000;

export class DirectFile implements RecordingFile {
  readonly #fd: number;
  readonly #free: Uint8Array[] = [];
  #stages = 0;
  #current: Uint8Array;
  #staged = 0;
  /** The file offset of the current stage's first byte. */
  #stageAt = 0;
  #inFlight = 0;
  #drained: (() => void) | null = null;
  /** When a stage last went out, how much of the current one is on disk,
   *  and the timer that writes an idle stage. */
  #lastWriteMs = performance.now();
  #flushedBytes = 0;
  #idleTimer: ReturnType<typeof setInterval> | null = null;
  #failure: WriteFailure | null = null;

  private constructor(fd: number) {
    this.#fd = fd;
    this.#current = this.#newStage();
  }

  /** `path` created or truncated with O_DIRECT; null when it is not a
   *  regular file or its file system refuses O_DIRECT. */
  static open(path: string): DirectFile | null {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DIRECT, 0o666);
    } catch {
      return null;
    }
    if (fstatSync(fd).isFile()) return new DirectFile(fd);
    closeSync(fd);
    return null;
  }

  /** The first write that failed, named once no write is in flight: a
   *  stage written before it may still stop short of it (a file system
   *  that filled up), and the file is readable only up to the lowest. */
  get failure(): WriteFailure | null {
    return this.#inFlight === 0 ? this.#failure : null;
  }

  append(bytes: Uint8Array): void {
    if (!this.#idleTimer) {
      this.#idleTimer = setInterval(() => this.#flushIdle(), idleFlushMs);
      this.#idleTimer.unref();
    }
    for (let from = 0; from < bytes.length && !this.#failure; ) {
      const n = Math.min(bytes.length - from, stageBytes - this.#staged);
      this.#current.set(bytes.subarray(from, from + n), this.#staged);
      this.#staged += n;
      from += n;
      if (this.#staged === stageBytes) this.#submit(stageBytes);
    }
  }

  /** Writes what is staged, waits for every write, cuts the file back to
   *  `length` (the last stage went out padded to a block) and closes it. */
  async close(length: number): Promise<void> {
    if (this.#idleTimer) clearInterval(this.#idleTimer);
    if (!this.#failure && this.#staged > 0) this.#submit(this.#padCurrent());
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    try {
      if (!this.#failure) ftruncateSync(this.#fd, length);
    } catch (error) {
      this.#failed(error, Math.floor(length / alignBytes) * alignBytes);
    }
    closeSync(this.#fd);
  }

  /** Writes the current stage's first `bytes` (whole blocks) at its offset:
   *  in the background when another stage is free to fill, else here. */
  #submit(bytes: number): void {
    const stage = this.#current;
    const at = this.#stageAt;
    this.#stageAt += bytes;
    this.#staged = 0;
    this.#flushedBytes = 0;
    this.#lastWriteMs = performance.now();
    const next = this.#free.pop() ?? (this.#stages < stagesMax ? this.#newStage() : null);
    if (!next) {
      this.#writeNow(stage, bytes, at);
      return;
    }
    this.#current = next;
    this.#inFlight++;
    this.#writeInBackground(stage, 0, bytes, at);
  }

  /** Writes `stage`'s bytes from `from` to `bytes` at `at` + `from`. A
   *  short write (a file system that filled up) goes on from where it
   *  stopped, so that a failure names its own error and offset. */
  #writeInBackground(stage: Uint8Array, from: number, bytes: number, at: number): void {
    write(this.#fd, stage, from, bytes - from, at + from, (error, written) => {
      if (!error && written > 0 && from + written < bytes) return this.#writeInBackground(stage, from + written, bytes, at);
      if (error) this.#failed(error, at + from);
      else if (from + written < bytes) this.#failed(new Error(`short write (${written} of ${bytes - from} bytes)`), at + from);
      this.#free.push(stage);
      if (--this.#inFlight === 0) this.#drained?.();
    });
  }

  /** Writes the current stage as far as it is filled, padded to a block,
   *  once no stage went out for idleFlushMs. Synchronously: a write of the
   *  same blocks in flight could land after the stage's whole one. */
  #flushIdle(): void {
    if (this.#failure || this.#staged === this.#flushedBytes || performance.now() - this.#lastWriteMs < idleFlushMs) return;
    if (!this.#writeNow(this.#current, this.#padCurrent(), this.#stageAt)) return;
    this.#flushedBytes = this.#staged;
    this.#lastWriteMs = performance.now();
  }

  /** Writes `stage`'s first `bytes` at `at` before returning; false when
   *  that failed. */
  #writeNow(stage: Uint8Array, bytes: number, at: number): boolean {
    try {
      for (let written = 0; written < bytes; ) written += writeSync(this.#fd, stage, written, bytes - written, at + written);
      return true;
    } catch (error) {
      this.#failed(error, at);
      return false;
    }
  }

  /** Zeroes the current stage past what is staged up to a block; returns
   *  the length it then has. */
  #padCurrent(): number {
    const padded = Math.ceil(this.#staged / alignBytes) * alignBytes;
    this.#current.fill(0, this.#staged, padded);
    return padded;
  }

  #failed(error: unknown, readableBytes: number): void {
    if (!this.#failure || readableBytes < this.#failure.readableBytes) this.#failure = { error, readableBytes };
  }

  /** A stage whose first byte sits on an alignBytes boundary. */
  #newStage(): Uint8Array {
    this.#stages++;
    const raw = new Uint8Array(stageBytes + alignBytes);
    const skip = (alignBytes - (Number(ptr(raw)) % alignBytes)) % alignBytes;
    return raw.subarray(skip, skip + stageBytes);
  }
}
