// SPDX-License-Identifier: MIT
//! Reads an ELF file's structure for symbolization: the header, the
//! program headers (PT_LOAD segments, PT_INTERP) and the section headers,
//! for 32- and 64-bit files of either byte order. Symbol tables are read by
//! elf_symbols.ts from the sections found here. The whole file is read into
//! memory once (shared libraries and busybox-sized executables are a few MB).
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";

/** "\x7fELF", read big-endian. */
const elfMagic = 0x7f454c46;

export const ET_EXEC = 2;
export const ET_DYN = 3;
const PT_LOAD = 1;
const PT_INTERP = 3;
export const EM_ARM = 40;
export const EM_MIPS = 8;

export interface ElfSegment {
  /** File offset of the segment's bytes. */
  readonly fileOffset: number;
  /** Link-time virtual address. */
  readonly vaddr: number;
  readonly fileBytes: number;
  readonly memBytes: number;
  /** PF_X | PF_W | PF_R bits. */
  readonly flags: number;
}

export interface ElfSection {
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly addr: number;
  readonly fileOffset: number;
  readonly bytes: number;
  /** sh_link: for symbol tables, the index of their string table. */
  readonly link: number;
  readonly entryBytes: number;
}

export class ElfImage {
  readonly bits: 32 | 64;
  readonly bigEndian: boolean;
  /** ET_EXEC (fixed address), ET_DYN (PIE or shared object), ... */
  readonly type: number;
  readonly machine: number;
  /** Link-time entry point. */
  readonly entry: number;
  readonly loads: readonly ElfSegment[];
  readonly sections: readonly ElfSection[];
  /** PT_INTERP's path (the dynamic loader), or null. */
  readonly interpreter: string | null;
  readonly view: DataView;
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 52 || this.view.getUint32(0, false) !== elfMagic) throw new Error("not an ELF file");
    if (bytes[4] !== 1 && bytes[4] !== 2) throw new Error("bad ELF class");
    if (bytes[5] !== 1 && bytes[5] !== 2) throw new Error("bad ELF data encoding");
    this.bits = bytes[4] === 2 ? 64 : 32;
    this.bigEndian = bytes[5] === 2;
    const wide = this.bits === 64;
    this.type = this.u16(16);
    this.machine = this.u16(18);
    this.entry = this.word(24);
    const phoff = wide ? this.word(32) : this.u32(28);
    const shoff = wide ? this.word(40) : this.u32(32);
    const phentsize = this.u16(wide ? 54 : 42);
    const phnum = this.u16(wide ? 56 : 44);
    const shentsize = this.u16(wide ? 58 : 46);
    const shnum = this.u16(wide ? 60 : 48);
    const shstrndx = this.u16(wide ? 62 : 50);

    const loads: ElfSegment[] = [];
    let interpreter: string | null = null;
    for (let i = 0; i < phnum; i++) {
      const at = phoff + i * phentsize;
      if (at + phentsize > bytes.length) break;
      const type = this.u32(at);
      const segment = wide
        ? { flags: this.u32(at + 4), fileOffset: this.word(at + 8), vaddr: this.word(at + 16), fileBytes: this.word(at + 32), memBytes: this.word(at + 40) }
        : { fileOffset: this.u32(at + 4), vaddr: this.u32(at + 8), fileBytes: this.u32(at + 16), memBytes: this.u32(at + 20), flags: this.u32(at + 24) };
      if (type === PT_LOAD) loads.push(segment);
      else if (type === PT_INTERP) interpreter = this.cString(segment.fileOffset, segment.fileBytes);
    }
    this.loads = loads;
    this.interpreter = interpreter;

    const raw: Omit<ElfSection, "name">[] = [];
    const nameOffsets: number[] = [];
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * shentsize;
      if (shoff === 0 || at + shentsize > bytes.length) break;
      nameOffsets.push(this.u32(at));
      raw.push(
        wide
          ? {
              type: this.u32(at + 4),
              flags: this.word(at + 8),
              addr: this.word(at + 16),
              fileOffset: this.word(at + 24),
              bytes: this.word(at + 32),
              link: this.u32(at + 40),
              entryBytes: this.word(at + 56),
            }
          : {
              type: this.u32(at + 4),
              flags: this.u32(at + 8),
              addr: this.u32(at + 12),
              fileOffset: this.u32(at + 16),
              bytes: this.u32(at + 20),
              link: this.u32(at + 24),
              entryBytes: this.u32(at + 36),
            },
      );
    }
    const names = raw[shstrndx];
    this.sections = raw.map((s, i) => ({ ...s, name: names ? this.cString(names.fileOffset + nameOffsets[i]!, names.bytes - nameOffsets[i]!) : "" }));
  }

  /** Parses `bytes`; throws on a file that is not ELF. */
  static parse(bytes: Uint8Array): ElfImage {
    return new ElfImage(bytes);
  }

  /** Reads and parses a file; null when it is unreadable or not ELF. Only
   *  regular files whose first bytes say ELF are read whole: a guest may map
   *  /dev/zero, a FIFO or a multi-gigabyte data file, and each mapping's
   *  file is looked at. */
  /** The GNU build ID (hex) from the `.note.gnu.build-id` section, or null. */
  get buildId(): string | null {
    const note = this.sections.find((section) => section.name === ".note.gnu.build-id");
    if (!note || note.bytes < 16 || note.fileOffset + note.bytes > this.bytes.length) return null;
    // Elf_Nhdr: namesz, descsz, type (3: NT_GNU_BUILD_ID), then "GNU\0" and the ID.
    const nameBytes = this.u32(note.fileOffset);
    const idBytes = this.u32(note.fileOffset + 4);
    const idAt = note.fileOffset + 12 + ((nameBytes + 3) & ~3);
    if (this.u32(note.fileOffset + 8) !== 3 || idBytes === 0 || idAt + idBytes > note.fileOffset + note.bytes) return null;
    return Buffer.from(this.bytes.subarray(idAt, idAt + idBytes)).toString("hex");
  }

  static tryRead(path: string): ElfImage | null {
    let fd: number | undefined;
    try {
      fd = openSync(path, "r");
      if (!fstatSync(fd).isFile()) return null;
      const magic = new Uint8Array(4);
      if (readSync(fd, magic, 0, 4, 0) !== 4 || new DataView(magic.buffer).getUint32(0, false) !== elfMagic) return null;
      return new ElfImage(readFileSync(fd));
    } catch {
      return null;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  u16(at: number): number {
    return this.view.getUint16(at, !this.bigEndian);
  }

  u32(at: number): number {
    return this.view.getUint32(at, !this.bigEndian);
  }

  /** An address-sized field (u32 or u64) as a number (exact below 2^53). */
  word(at: number): number {
    if (this.bits === 32) return this.u32(at);
    return Number(this.view.getBigUint64(at, !this.bigEndian));
  }

  /** A NUL-terminated string at a file offset, at most `maxBytes` long. */
  cString(at: number, maxBytes = 4096): string {
    if (at < 0 || at >= this.bytes.length) return "";
    const limit = Math.min(this.bytes.length, at + Math.max(0, maxBytes));
    let end = at;
    while (end < limit && this.bytes[end] !== 0) end++;
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, end - at).toString("latin1");
  }

  /** The PT_LOAD segment mapped from file offset 0: its p_vaddr is what the
   *  load bias is measured from (bias = where offset 0 landed − p_vaddr). */
  get firstLoad(): ElfSegment | undefined {
    return this.loads.find((s) => s.fileOffset === 0) ?? this.loads[0];
  }

  /** Lowest and highest-plus-one link-time address of the PT_LOAD segments. */
  get loadSpan(): { low: number; high: number } {
    let low = Infinity;
    let high = 0;
    for (const s of this.loads) {
      low = Math.min(low, s.vaddr - (s.vaddr % 4096));
      high = Math.max(high, s.vaddr + s.memBytes);
    }
    return low === Infinity ? { low: 0, high: 0 } : { low, high };
  }

  /** The file offset a link-time address was loaded from, if any segment holds it. */
  fileOffsetOf(vaddr: number): number | null {
    for (const s of this.loads) if (vaddr >= s.vaddr && vaddr < s.vaddr + s.fileBytes) return s.fileOffset + (vaddr - s.vaddr);
    return null;
  }
}
