// SPDX-License-Identifier: MIT
//! Appends frames to a recording file (main thread). Chunks arrive already
//! compressed by the Workers, in any order; the reader restores order by
//! ticket.
import { closeSync, openSync } from "node:fs";
import { describeWriteError, writeAll } from "../runtime/output";
import { DirectFile } from "./DirectFile";
import { FrameKind, type FrameKindValue, encodeFrameHeader, fileMagic, footerMagic, recordLevelDefault, runStream } from "./format";

export class RecordingWriter {
  /** A regular file, where its file system takes O_DIRECT; else written
   *  through the page cache (pipes, devices, file systems without O_DIRECT). */
  readonly #direct: DirectFile | null;
  readonly #fd: number;
  readonly #path: string;
  #failure: string | null = null;
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
    this.#direct = DirectFile.open(path);
    this.#fd = this.#direct ? -1 : openSync(path, "w");
    this.#path = path;
    this.#write(new TextEncoder().encode(fileMagic));
  }

  /** Set at the first write that fails (disk full, a closed pipe): nothing
   *  more is written, so what is on disk stays readable up to there (the
   *  reader reports the missing end). The session stops the run on it. */
  get failure(): string | null {
    const direct = this.#direct?.failure;
    return this.#failure ?? (direct ? this.#describeFailure(direct.error, direct.readableBytes) : null);
  }

  #describeFailure(error: unknown, readableBytes: number): string {
    return `cannoli: cannot write the recording ${this.#path}: ${describeWriteError(error)}; it is readable up to offset ${readableBytes}`;
  }

  #write(bytes: Uint8Array): void {
    if (this.failure) return;
    if (this.#direct) {
      this.#direct.append(bytes);
      this.#offset += bytes.length;
      return;
    }
    try {
      writeAll(this.#fd, bytes);
    } catch (error) {
      this.#failure = this.#describeFailure(error, this.#offset);
      return;
    }
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
    if (this.#direct) return this.#direct.close(this.#offset);
    try {
      closeSync(this.#fd);
    } catch (error) {
      this.#failure ??= `cannoli: cannot write the recording ${this.#path}: ${describeWriteError(error)}`;
    }
  }
}
