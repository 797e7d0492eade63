// SPDX-License-Identifier: MIT
//! Reads a recording frame by frame, checking each one. Walking in file
//! order needs no index, so a truncated recording (cannoli killed mid-run) is
//! readable up to its last whole frame; the first damaged frame ends the walk
//! with an error that names its offset.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { FrameKind, type FrameHeader, RecordingError, decodeFrameHeader, fileMagic, footerBytes, footerMagic, frameHeaderBytes, runStream } from "./format";

export interface Frame extends FrameHeader {
  offset: number;
  payload: Uint8Array;
}

export class RecordingReader {
  readonly #fd: number;
  readonly size: number;

  constructor(path: string) {
    try {
      this.#fd = openSync(path, "r");
    } catch {
      throw new RecordingError(`cannoli: cannot open recording ${path}`);
    }
    this.size = fstatSync(this.#fd).size;
    // Shorter than the magic (empty, say): not "truncated", which would
    // say that it is one.
    const magic = this.size >= fileMagic.length ? new TextDecoder().decode(this.#read(0, fileMagic.length)) : "";
    if (magic !== fileMagic) {
      closeSync(this.#fd);
      throw new RecordingError(`cannoli: ${path} is ${this.size === 0 ? "empty, " : ""}not a cannoli recording`);
    }
  }

  #read(offset: number, length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    const got = readSync(this.#fd, bytes, 0, length, offset);
    if (got !== length) throw new RecordingError(`cannoli: recording truncated at offset ${offset}`);
    return bytes;
  }

  /** Every frame in file order, the index frame excluded. Throws
   *  RecordingError at the first damaged frame, after yielding the good ones,
   *  and at the end of a file that lacks the run's end record (cut at a frame
   *  boundary, or its writer was killed): what it holds is then partial, and
   *  no reader may present it as a whole run. */
  *frames(): Generator<Frame> {
    let offset = fileMagic.length;
    let runEnded = false;
    const partial = () => new RecordingError(`cannoli: recording ends at offset ${offset} without its end record (cut short, or its writer was killed): the run in it is partial`);
    while (offset < this.size) {
      if (this.size - offset === footerBytes) {
        const footer = new TextDecoder().decode(this.#read(offset + 8, footerMagic.length));
        if (footer !== footerMagic) throw new RecordingError(`cannoli: recording damaged at offset ${offset}: bad footer`);
        if (!runEnded) throw partial();
        return;
      }
      if (this.size - offset < frameHeaderBytes) throw new RecordingError(`cannoli: recording truncated at offset ${offset}`);
      const header = decodeFrameHeader(this.#read(offset, frameHeaderBytes), offset);
      if (offset + frameHeaderBytes + header.storedBytes > this.size) {
        throw new RecordingError(`cannoli: recording truncated at offset ${offset}`);
      }
      const payload = this.#read(offset + frameHeaderBytes, header.storedBytes);
      if (Bun.hash.crc32(payload) !== header.crc32) throw new RecordingError(`cannoli: recording damaged at offset ${offset}: checksum mismatch`);
      if (header.kind === FrameKind.end && header.stream === runStream) runEnded = true;
      if (header.kind !== FrameKind.index) yield { ...header, offset, payload };
      offset += frameHeaderBytes + header.storedBytes;
    }
    if (!runEnded) throw partial();
  }

  close(): void {
    closeSync(this.#fd);
  }
}
