// SPDX-License-Identifier: MIT
//! A drcov parser written from the published descriptions of the format
//! (DynamoRIO's drcovlib module table reader; "DrCov File Format",
//! ayrx.me), independent of src/coverage/drcov_writer.ts:
//!
//!   DRCOV VERSION: 2
//!   DRCOV FLAVOR: <text>
//!   Module Table: version <v>, count <n>        (v 2..5)
//!   Columns: <comma-separated names>
//!   <n> rows, one per module, fields in the order Columns gives, path last
//!   BB Table: <m> bbs
//!   <m> × 8 bytes little-endian: u32 start (offset from its module's start),
//!         u16 size, u16 module id

export interface DrcovModule {
  id: number;
  containingId: number;
  start: bigint;
  /** Exclusive. */
  end: bigint;
  entry: bigint;
  offset: bigint;
  path: string;
}

export interface DrcovBlock {
  start: number;
  size: number;
  moduleId: number;
}

export interface DrcovFile {
  version: number;
  flavor: string;
  moduleTableVersion: number;
  columns: string[];
  modules: DrcovModule[];
  blocks: DrcovBlock[];
}

export function parseDrcov(data: Uint8Array): DrcovFile {
  let at = 0;
  const line = (): string => {
    const nl = data.indexOf(0x0a, at);
    if (nl < 0) throw new Error(`drcov: unterminated line at byte ${at}`);
    const text = Buffer.from(data.subarray(at, nl)).toString("utf8").replace(/\r$/, "");
    at = nl + 1;
    return text;
  };
  const version = /^DRCOV VERSION: (\d+)$/.exec(line());
  if (!version) throw new Error("drcov: no DRCOV VERSION line");
  const flavor = /^DRCOV FLAVOR: (.*)$/.exec(line());
  if (!flavor) throw new Error("drcov: no DRCOV FLAVOR line");
  const table = /^Module Table: version (\d+), count (\d+)$/.exec(line());
  if (!table) throw new Error("drcov: no Module Table line");
  const columnsLine = /^Columns: (.*)$/.exec(line());
  if (!columnsLine) throw new Error("drcov: no Columns line");
  const columns = columnsLine[1]!.split(",").map((c) => c.trim());
  const modules: DrcovModule[] = [];
  for (let i = 0; i < Number(table[2]); i++) {
    const row = line();
    // The path is last and may itself contain ", ": split the other fields off.
    const fields: string[] = [];
    let rest = row;
    for (let c = 0; c < columns.length - 1; c++) {
      const comma = rest.indexOf(",");
      if (comma < 0) throw new Error(`drcov: module row ${i} has too few fields: ${row}`);
      fields.push(rest.slice(0, comma).trim());
      rest = rest.slice(comma + 1);
    }
    fields.push(rest.trim());
    const get = (name: string) => {
      const index = columns.indexOf(name);
      if (index < 0) throw new Error(`drcov: no column ${name}`);
      return fields[index]!;
    };
    modules.push({
      id: Number(get("id")),
      containingId: Number(get("containing_id")),
      start: BigInt(get("start")),
      end: BigInt(get("end")),
      entry: BigInt(get("entry")),
      offset: BigInt(get("offset")),
      path: get("path"),
    });
  }
  const bbHeader = /^BB Table: (\d+) bbs$/.exec(line());
  if (!bbHeader) throw new Error("drcov: no BB Table line");
  const count = Number(bbHeader[1]);
  if (data.length - at !== count * 8) throw new Error(`drcov: BB table holds ${data.length - at} bytes, expected ${count * 8}`);
  const view = new DataView(data.buffer, data.byteOffset + at, count * 8);
  const blocks: DrcovBlock[] = [];
  for (let i = 0; i < count; i++) {
    blocks.push({ start: view.getUint32(i * 8, true), size: view.getUint16(i * 8 + 4, true), moduleId: view.getUint16(i * 8 + 6, true) });
  }
  return { version: Number(version[1]), flavor: flavor[1]!, moduleTableVersion: Number(table[1]), columns, modules, blocks };
}

/** Absolute [start, end) ranges of the blocks. */
export function blockRanges(file: DrcovFile): { start: bigint; end: bigint; module: DrcovModule }[] {
  return file.blocks.map((b) => {
    const module = file.modules[b.moduleId];
    if (!module) throw new Error(`drcov: block names module ${b.moduleId}, table has ${file.modules.length}`);
    const start = module.start + BigInt(b.start);
    return { start, end: start + BigInt(b.size), module };
  });
}
