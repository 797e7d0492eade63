// SPDX-License-Identifier: MIT
//! Appends frames to a recording file (main thread). Chunks arrive already
//! compressed by the Workers, in any order; the reader restores order by
//! ticket.
import { lstatSync, unlinkSync } from "node:fs";
import { describeWriteError } from "../runtime/output";
import { type RecordingFile, openRecordingFile } from "./RecordingFile";
import { FrameKind, type FrameKindValue, encodeFrameHeader, fileMagic, footerMagic, recordLevelDefault, runStream } from "./format";

export class RecordingWriter {
  readonly #file: RecordingFile;
  readonly #path: string;
  #offset = 0;
  readonly #frameOffsets: number[] = [];
  rawBytes = 0;
  storedBytes = 0;
  chunks = 0;

  /** `level`: the Workers' zstd level for chunks (0: stored as they are). */
  constructor(
    path: string,
    readonly level = recordLevelDefault,
  ) {
    try {
      this.#file = openRecordingFile(path);
    } catch (error) {
      throw new Error(`cannoli: cannot write the recording ${path}: ${describeWriteError(error)}`);
    }
    this.#path = path;
    this.#write(new TextEncoder().encode(fileMagic));
  }

  /** Set at the first write that fails (disk full, a closed pipe): nothing
   *  more is written, so what is on disk stays readable up to there (the
   *  reader reports the missing end). The session stops the run on it. */
  get failure(): string | null {
    const failure = this.#file.failure;
    if (!failure) return null;
    return `cannoli: cannot write the recording ${this.#path}: ${describeWriteError(failure.error)}; it is readable up to offset ${failure.readableBytes}`;
  }

  #write(bytes: Uint8Array): void {
    this.#file.append(bytes);
    this.#offset += bytes.length;
  }

  #frame(kind: FrameKindValue, stream: number, ticket: number, rawBytes: number, stored: Uint8Array): void {
    this.#frameOffsets.push(this.#offset);
    this.#write(encodeFrameHeader({ kind, stream, rawBytes, storedBytes: stored.length, crc32: Bun.hash.crc32(stored), ticket }));
    this.#write(stored);
  }

  stream(stream: number, handshake: string): void {
    const bytes = new TextEncoder().encode(handshake);
    this.#frame(FrameKind.stream, stream, 0, bytes.length, bytes);
  }

  chunk(stream: number, ticket: number, rawBytes: number, compressed: Uint8Array): void {
    this.#frame(FrameKind.chunk, stream, ticket, rawBytes, compressed);
    this.rawBytes += rawBytes;
    this.storedBytes += compressed.length;
    this.chunks++;
  }

  end(stream: number, summary: object): void {
    const bytes = new TextEncoder().encode(JSON.stringify(summary));
    this.#frame(FrameKind.end, stream, 0, bytes.length, bytes);
  }

  /** For a run that never got as far as a stream (QEMU refused or failed
   *  to start): closes the file and removes it when it is a regular file,
   *  so no recording of nothing is left to replay as "0 instructions". */
  async discard(): Promise<void> {
    await this.#file.close(this.#offset);
    try {
      if (lstatSync(this.#path).isFile()) unlinkSync(this.#path);
    } catch {
      // Already gone, or not ours to remove: nothing to undo.
    }
  }

  /** Records how the run ended, writes the index and footer, closes the
   *  file once every write is done. */
  async close(exitCode: number): Promise<void> {
    this.end(runStream, { exit_code: exitCode });
    const indexOffset = this.#offset;
    const index = new BigUint64Array(this.#frameOffsets.map((offset) => BigInt(offset)));
    const bytes = new Uint8Array(index.buffer);
    this.#frame(FrameKind.index, 0, 0, bytes.length, bytes);
    const footer = new Uint8Array(16);
    new DataView(footer.buffer).setBigUint64(0, BigInt(indexOffset), true);
    footer.set(new TextEncoder().encode(footerMagic), 8);
    this.#write(footer);
    await this.#file.close(this.#offset);
  }
}
