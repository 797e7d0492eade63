// SPDX-License-Identifier: MIT
//! The tables a recording becomes (`cannoli export`, `cannoli sql`), defined
//! once: their columns and SQL types, the DDL, and the README's table. Every
//! row names its guest thread by (pid, image, tid) — a process is a (pid,
//! image) pair, image counting the execs before its program — and `seq`, the
//! instruction's index in its thread's execution (from 0), orders a
//! thread's rows across tables. Addresses and values are UBIGINT.

export type SqlType = "INTEGER" | "UINTEGER" | "UBIGINT" | "BIGINT" | "UTINYINT" | "BOOLEAN" | "VARCHAR";

export interface ColumnSpec {
  readonly name: string;
  readonly type: SqlType;
  readonly doc: string;
}

const thread: ColumnSpec[] = [
  { name: "pid", type: "INTEGER", doc: "guest process id" },
  { name: "image", type: "INTEGER", doc: "execs of that pid before this program (0: the first)" },
  { name: "tid", type: "INTEGER", doc: "guest thread id" },
];

export const tables = {
  instructions: {
    doc: "every executed instruction",
    columns: [...thread, { name: "seq", type: "UBIGINT", doc: "its index in the thread's execution" }, { name: "pc", type: "UBIGINT", doc: "its address" }],
  },
  blocks: {
    doc: "every executed block (a run of instructions QEMU translated together)",
    columns: [
      ...thread,
      { name: "seq", type: "UBIGINT", doc: "seq of its first instruction" },
      { name: "pc", type: "UBIGINT", doc: "its first instruction's address" },
      { name: "instructions", type: "UINTEGER", doc: "instructions it executed (fewer than it has when a fault cut it short)" },
      { name: "block_id", type: "UINTEGER", doc: "the server's id: within one process, the same id is the same code; NULL for an instruction recorded alone" },
    ],
  },
  memory: {
    doc: "every memory access",
    columns: [
      ...thread,
      { name: "seq", type: "UBIGINT", doc: "seq of the instruction that made it" },
      { name: "pc", type: "UBIGINT", doc: "that instruction's address" },
      { name: "addr", type: "UBIGINT", doc: "the address accessed" },
      { name: "size", type: "UTINYINT", doc: "bytes accessed (1, 2, 4, 8, 16)" },
      { name: "is_store", type: "BOOLEAN", doc: "a write (else a read)" },
      { name: "value", type: "UBIGINT", doc: "the value read or written (the low 8 bytes of a 16-byte access; 0 with --no-values)" },
      { name: "value_high", type: "UBIGINT", doc: "a 16-byte access's high 8 bytes (value_high << 64 | value is the whole); 0 for the others" },
    ],
  },
  syscalls: {
    doc: "every system call, with its result",
    columns: [
      ...thread,
      { name: "seq", type: "UBIGINT", doc: "seq of the instruction before it (NULL: before the thread's first)" },
      { name: "number", type: "INTEGER", doc: "the guest architecture's system call number" },
      { name: "name", type: "VARCHAR", doc: "its name (NULL if unknown)" },
      { name: "arg0", type: "UBIGINT", doc: "first argument" },
      { name: "arg1", type: "UBIGINT", doc: "" },
      { name: "arg2", type: "UBIGINT", doc: "" },
      { name: "arg3", type: "UBIGINT", doc: "" },
      { name: "arg4", type: "UBIGINT", doc: "" },
      { name: "arg5", type: "UBIGINT", doc: "sixth argument" },
      { name: "ret", type: "BIGINT", doc: "its result, negative for -errno (NULL: it never returned, e.g. exit)" },
    ],
  },
  mmaps: {
    doc: "every successful mmap and munmap",
    columns: [
      ...thread,
      { name: "seq", type: "UBIGINT", doc: "seq of the instruction before it" },
      { name: "kind", type: "VARCHAR", doc: "'mmap' or 'munmap'" },
      { name: "addr", type: "UBIGINT", doc: "start of the mapping" },
      { name: "length", type: "UBIGINT", doc: "its length in bytes" },
      { name: "offset", type: "UBIGINT", doc: "file offset (mmap)" },
      { name: "prot", type: "INTEGER", doc: "PROT_* bits (mmap)" },
      { name: "flags", type: "INTEGER", doc: "the guest's MAP_* flags (mmap)" },
      { name: "fd", type: "INTEGER", doc: "-1 for anonymous memory (mmap)" },
      { name: "path", type: "VARCHAR", doc: "the mapped file (mmap of a file)" },
    ],
  },
  threads: {
    doc: "every guest thread, with its totals",
    columns: [
      ...thread,
      { name: "ppid", type: "INTEGER", doc: "parent process id" },
      { name: "arch", type: "VARCHAR", doc: "guest architecture" },
      { name: "exe", type: "VARCHAR", doc: "the program it runs" },
      { name: "instructions", type: "UBIGINT", doc: "instructions it executed" },
      { name: "reads", type: "UBIGINT", doc: "memory reads" },
      { name: "writes", type: "UBIGINT", doc: "memory writes" },
    ],
  },
  modules: {
    doc: "every ELF module placed in a process (its executable, loader and the libraries it mapped)",
    columns: [
      { name: "pid", type: "INTEGER", doc: "guest process id" },
      { name: "image", type: "INTEGER", doc: "execs of that pid before this program" },
      { name: "path", type: "VARCHAR", doc: "the file's guest path" },
      { name: "start", type: "UBIGINT", doc: "runtime address of its first byte" },
      { name: "end", type: "UBIGINT", doc: "runtime address one past its last byte" },
      { name: "bias", type: "BIGINT", doc: "runtime address minus link-time address" },
      { name: "build_id", type: "VARCHAR", doc: "its GNU build ID in hex (NULL if it has none)" },
    ],
  },
} as const satisfies Record<string, { doc: string; columns: readonly ColumnSpec[] }>;

export type TableName = keyof typeof tables;
export const tableNames = Object.keys(tables) as TableName[];

/** `--tables a,b`: the names, checked; undefined or "all": every table. */
export function parseTables(text: string | undefined): TableName[] {
  if (text === undefined || text === "all") return tableNames;
  const names = text.split(",").filter((name) => name !== "");
  for (const name of names) {
    if (!(name in tables)) throw new Error(`cannoli: unknown table ${name} (tables: ${tableNames.join(", ")})`);
  }
  return [...new Set(names)] as TableName[];
}

/** CREATE TABLE for `name` (quoted identifiers: `end`, `offset` are SQL words). */
export function createTableSql(name: TableName): string {
  return `CREATE TABLE ${name} (${tables[name].columns.map((c) => `"${c.name}" ${c.type}`).join(", ")})`;
}
