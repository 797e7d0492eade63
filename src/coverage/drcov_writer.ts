// SPDX-License-Identifier: MIT
//! Writes coverage in DynamoRIO's drcov format, as Lighthouse, bncov and
//! Dragon Dance read it: a text header, a version-4 module table, and a
//! binary block table.
//!
//!   DRCOV VERSION: 2        (or 3)
//!   DRCOV FLAVOR: drcov-cannoli
//!   Module Table: version 4, count <n>
//!   Columns: id, containing_id, start, end, entry, offset, path
//!     0,   0, 0x0000000000400000, 0x0000000000421000, 0x0000000000400230, 0x0000000000000000,  /path/guest
//!   BB Table: <n> bbs
//!   <n> × { u32 start (from its module entry's start), u16 size, u16 module id }, little-endian
//!
//! `end` is exclusive. The flavor starts with "drcov", which drcovpy and
//! others require. A block's start must fit a u32 offset from its module
//! entry's start. Version 3 (what CutterDRcov reads) may split a module into
//! several entries, as DynamoRIO does for a module's segments: so a module
//! larger than 4 GiB becomes entries of at most 4 GiB, the first its own
//! container, the others naming it in containing_id and carrying the file
//! offset their start was loaded from in `offset`. Version 2 (the only one
//! Lighthouse reads: it asserts the version) has one entry per module, and
//! blocks more than 4 GiB past a module's start are left out and counted.
import type { Block } from "./block_builder";

export interface DrcovModule {
  readonly path: string;
  /** Runtime address range [start, end) and entry point. */
  readonly start: number;
  readonly end: number;
  readonly entry: number;
  /** File offset a runtime address was loaded from (for split entries). */
  readonly fileOffsetOf: (addr: number) => number;
  /** Covered blocks, absolute addresses, inside [start, end). */
  readonly blocks: readonly Block[];
}

/** Largest module entry: block offsets are u32. */
export const drcovEntryBytesMax = 2 ** 32;
const bbEntryBytes = 8;

const hex16 = (n: number) => `0x${n.toString(16).padStart(16, "0")}`;
const pad3 = (n: number) => String(n).padStart(3, " ");

interface Entry {
  id: number;
  containingId: number;
  start: number;
  end: number;
  entry: number;
  offset: number;
  path: string;
}

export type DrcovVersion = 2 | 3;

/** The drcov file for `modules`, and how many blocks (or parts of blocks)
 *  version 2 had to leave out. `entryBytesMax` is for tests (default 4 GiB). */
export function encodeDrcov(modules: readonly DrcovModule[], version: DrcovVersion = 2, entryBytesMax = drcovEntryBytesMax): { bytes: Uint8Array; blocksLeftOut: number } {
  const entries: Entry[] = [];
  const bbs: { offset: number; bytes: number; id: number }[] = [];
  let blocksLeftOut = 0;
  for (const module of modules) {
    const first = entries.length;
    const pieces = version === 2 ? 1 : Math.max(1, Math.ceil((module.end - module.start) / entryBytesMax));
    for (let k = 0; k < pieces; k++) {
      const start = module.start + k * entryBytesMax;
      entries.push({
        id: entries.length,
        containingId: first,
        start,
        end: version === 2 ? module.end : Math.min(module.end, start + entryBytesMax),
        entry: module.entry,
        offset: k === 0 ? 0 : module.fileOffsetOf(start),
        path: module.path,
      });
    }
    const sorted = [...module.blocks].sort((a, b) => a.start - b.start);
    for (const block of sorted) {
      // A block crossing an entry boundary is cut in two.
      let at = block.start;
      const end = block.start + block.bytes;
      while (at < end) {
        const index = first + Math.floor((at - module.start) / entryBytesMax);
        const entry = index >= first && index < entries.length ? entries[index] : undefined;
        if (!entry) {
          blocksLeftOut++;
          break;
        }
        const pieceEnd = Math.min(end, entry.end, entry.start + entryBytesMax);
        if (pieceEnd <= at) break;
        bbs.push({ offset: at - entry.start, bytes: pieceEnd - at, id: entry.id });
        at = pieceEnd;
      }
    }
  }
  if (entries.length > 0xffff) throw new Error(`cannoli: ${entries.length} modules do not fit drcov's u16 module ids`);
  const header =
    `DRCOV VERSION: ${version}\nDRCOV FLAVOR: drcov-cannoli\n` +
    `Module Table: version 4, count ${entries.length}\n` +
    "Columns: id, containing_id, start, end, entry, offset, path\n" +
    entries.map((e) => `${pad3(e.id)}, ${pad3(e.containingId)}, ${hex16(e.start)}, ${hex16(e.end)}, ${hex16(e.entry)}, ${hex16(e.offset)},  ${e.path}\n`).join("") +
    `BB Table: ${bbs.length} bbs\n`;
  const text = Buffer.from(header, "utf8");
  const out = new Uint8Array(text.length + bbs.length * bbEntryBytes);
  out.set(text, 0);
  const view = new DataView(out.buffer, text.length);
  bbs.forEach((bb, i) => {
    view.setUint32(i * bbEntryBytes, bb.offset, true);
    view.setUint16(i * bbEntryBytes + 4, bb.bytes, true);
    view.setUint16(i * bbEntryBytes + 6, bb.id, true);
  });
  return { bytes: out, blocksLeftOut };
}
