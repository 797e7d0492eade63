// SPDX-License-Identifier: MIT
//! The batch form's columns: the storage the native decoder fills, and the
//! RecordBatch a batch handler reads them through. A handler pays only for
//! the columns it reads: the first read of one fills it (with every column
//! read before, in one native pass), and the next chunks fill those columns
//! with their counting pass.
import { DecoderColumn, blockPcsSlack } from "../consumer_abi.generated";
import type { RecordBatch, ThreadInfo } from "../tracer";
import type { ChunkCounts, NativeColumns } from "./NativeDecoder";

/** `Columns.wanted` bits (zig-src/wire/decoder_abi.zig). */
export const columnBit = (column: keyof typeof DecoderColumn): number => 1 << DecoderColumn[column];

/** The columns with one row per memory access. */
const memoryColumns =
  columnBit("mem_pc") |
  columnBit("mem_addr") |
  columnBit("mem_size") |
  columnBit("mem_is_store") |
  columnBit("mem_value_lo") |
  columnBit("mem_value_hi") |
  columnBit("mem_value_upper") |
  columnBit("mem_exec_index") |
  columnBit("mem_flags");

/** What the per-event handlers are fed from: instructions for an `exec`
 *  handler, accesses for `read` or `write`, and where each access falls
 *  among the instructions only when both kinds are handled. */
export function perEventColumns(exec: boolean, memory: boolean): number {
  const instructions = exec ? columnBit("exec_pc") : 0;
  const accesses = memory
    ? columnBit("mem_pc") | columnBit("mem_addr") | columnBit("mem_value_lo") | columnBit("mem_value_hi") | columnBit("mem_value_upper") | columnBit("mem_flags")
    : 0;
  return instructions | accesses | (exec && memory ? columnBit("mem_exec_index") : 0);
}

/** Reusable column storage, grown on demand (never empty: the native fill
 *  takes their addresses). */
export class BatchColumns implements NativeColumns {
  generation = 0;
  execPc = new Float64Array(1);
  memPc = new Float64Array(1);
  memAddr = new Float64Array(1);
  memSize = new Uint8Array(1);
  memIsStore = new Uint8Array(1);
  memValueLo = new Uint32Array(1);
  memValueHi = new Uint32Array(1);
  memValueUpperLo = new Uint32Array(1);
  memValueUpperHi = new Uint32Array(1);
  memExecIndex = new Uint32Array(1);
  memFlags = new Uint8Array(1);
  blockPcs = new Float64Array(1);
  runPcsAt = new Uint32Array(1);
  runLength = new Uint32Array(1);
  runFirstExec = new Uint32Array(1);
  runBlockId = new Uint32Array(1);
  otherKind = new Uint8Array(1);
  otherWord = new Uint32Array(1);
  otherExec = new Uint32Array(1);
  regExec = new Uint32Array(1);
  regIndex = new Uint32Array(1);
  regValueLo = new Uint32Array(1);
  regValueHi = new Uint32Array(1);

  /** Room for a chunk of `words` words with `rows` rows in each column
   *  group `wanted` names; the other groups are left as they are (the
   *  native fill does not write them), so a thread's decoder holds only
   *  what its tracer reads. */
  ensure(words: number, wanted: number, rows: ColumnRows): void {
    this.#grow(words + blockPcsSlack, this.blockPcs, (n) => (this.blockPcs = new Float64Array(n)));
    if (wanted & columnBit("exec_pc")) this.#grow(rows.instructions, this.execPc, (n) => (this.execPc = new Float64Array(n)));
    if (wanted & memoryColumns) {
      this.#grow(rows.accesses, this.memPc, (n) => {
        this.memPc = new Float64Array(n);
        this.memAddr = new Float64Array(n);
        this.memSize = new Uint8Array(n);
        this.memIsStore = new Uint8Array(n);
        this.memValueLo = new Uint32Array(n);
        this.memValueHi = new Uint32Array(n);
        this.memValueUpperLo = new Uint32Array(n);
        this.memValueUpperHi = new Uint32Array(n);
        this.memExecIndex = new Uint32Array(n);
        this.memFlags = new Uint8Array(n);
      });
    }
    if (wanted & columnBit("runs")) {
      this.#grow(rows.runs, this.runPcsAt, (n) => {
        this.runPcsAt = new Uint32Array(n);
        this.runLength = new Uint32Array(n);
        this.runFirstExec = new Uint32Array(n);
        this.runBlockId = new Uint32Array(n);
      });
    }
    if (wanted & columnBit("others")) {
      this.#grow(rows.others, this.otherKind, (n) => {
        this.otherKind = new Uint8Array(n);
        this.otherWord = new Uint32Array(n);
        this.otherExec = new Uint32Array(n);
      });
    }
    if (wanted & columnBit("registers")) {
      this.#grow(rows.registerEntries, this.regExec, (n) => {
        this.regExec = new Uint32Array(n);
        this.regIndex = new Uint32Array(n);
        this.regValueLo = new Uint32Array(n);
        this.regValueHi = new Uint32Array(n);
      });
    }
  }

  /** Replaces a group whose arrays (as long as `current`) hold fewer than
   *  `needed` rows, at least doubling them. */
  #grow(needed: number, current: { readonly length: number }, replace: (rows: number) => void): void {
    if (current.length >= needed) return;
    replace(Math.max(needed, current.length * 2));
    this.generation++;
  }
}

/** Rows per column group of one chunk: its counts, or bounds from its size. */
export interface ColumnRows {
  instructions: number;
  accesses: number;
  runs: number;
  others: number;
  registerEntries: number;
}

export const rowsOf = (counts: ChunkCounts): ColumnRows => ({
  instructions: counts.instructions,
  accesses: counts.reads + counts.writes,
  runs: counts.runs,
  others: counts.others,
  registerEntries: counts.registerEntries,
});

/** RecordBatch over one validated chunk; a column is filled when first read. */
export class LazyBatch implements RecordBatch {
  readonly thread: ThreadInfo;
  readonly words: Uint32Array;
  readonly execCount: number;
  readonly memCount: number;
  readonly readCount: number;
  readonly writeCount: number;
  readonly syscallCount: number;
  readonly runCount: number;
  readonly otherCount: number;
  readonly regCount: number;
  readonly #columns: BatchColumns;
  readonly #fill: (wanted: number) => void;
  /** Columns filled for this chunk. */
  #filled: number;
  /** Columns the handler read: the next chunk fills these up front. */
  read = 0;

  constructor(thread: ThreadInfo, words: Uint32Array, counts: ChunkCounts, columns: BatchColumns, filled: number, fill: (wanted: number) => void) {
    this.thread = thread;
    this.words = words;
    this.execCount = counts.instructions;
    this.readCount = counts.reads;
    this.writeCount = counts.writes;
    this.memCount = counts.reads + counts.writes;
    this.syscallCount = counts.syscalls;
    this.runCount = counts.runs;
    this.otherCount = counts.others;
    this.regCount = counts.registerEntries;
    this.#columns = columns;
    this.#filled = filled;
    this.#fill = fill;
  }

  get execPc() {
    return this.#with(columnBit("exec_pc")).execPc;
  }
  get memPc() {
    return this.#with(columnBit("mem_pc")).memPc;
  }
  get memAddr() {
    return this.#with(columnBit("mem_addr")).memAddr;
  }
  get memSize() {
    return this.#with(columnBit("mem_size")).memSize;
  }
  get memIsStore() {
    return this.#with(columnBit("mem_is_store")).memIsStore;
  }
  get memValueLo() {
    return this.#with(columnBit("mem_value_lo")).memValueLo;
  }
  get memValueHi() {
    return this.#with(columnBit("mem_value_hi")).memValueHi;
  }
  get memValueUpperLo() {
    return this.#with(columnBit("mem_value_upper")).memValueUpperLo;
  }
  get memValueUpperHi() {
    return this.#with(columnBit("mem_value_upper")).memValueUpperHi;
  }
  get memExecIndex() {
    return this.#with(columnBit("mem_exec_index")).memExecIndex;
  }
  get runPcsAt() {
    return this.#with(columnBit("runs")).runPcsAt;
  }
  get runLength() {
    return this.#with(columnBit("runs")).runLength;
  }
  get runFirstExec() {
    return this.#with(columnBit("runs")).runFirstExec;
  }
  get runBlockId() {
    return this.#with(columnBit("runs")).runBlockId;
  }
  get blockPcs() {
    return this.#with(columnBit("runs")).blockPcs;
  }
  get otherKind() {
    return this.#with(columnBit("others")).otherKind;
  }
  get otherWord() {
    return this.#with(columnBit("others")).otherWord;
  }
  get otherAfterExecs() {
    return this.#with(columnBit("others")).otherExec;
  }
  get regExecRow() {
    return this.#with(columnBit("registers")).regExec;
  }
  get regIndex() {
    return this.#with(columnBit("registers")).regIndex;
  }
  get regValueLo() {
    return this.#with(columnBit("registers")).regValueLo;
  }
  get regValueHi() {
    return this.#with(columnBit("registers")).regValueHi;
  }

  #with(bit: number): BatchColumns {
    this.read |= bit;
    if ((this.#filled & bit) === 0) {
      // Refilling what was filled keeps the arrays already handed out valid.
      this.#filled |= bit;
      this.#fill(this.#filled);
    }
    return this.#columns;
  }
}
