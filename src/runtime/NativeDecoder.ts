// SPDX-License-Identifier: MIT
//! The chunk decoder in native code (zig-src/wire/BatchDecoder.zig): counts a
//! chunk's events and expands it into the batch columns at a fraction of the
//! cost of doing it in JavaScript. RecordWalker (walk.ts) stays the reference
//! and names what is wrong when the native pass finds a chunk corrupt.
import { ptr } from "bun:ffi";
import { consumerLibrary, type Pointer } from "../mempipe/native";

import { DecodeStatus, DecoderColumns, DecoderCounts } from "../consumer_abi.generated";

/** Column storage the native fill writes into; grown by the caller, which
 *  bumps `generation` whenever it replaces an array. */
export interface NativeColumns {
  readonly generation: number;
  execPc: Float64Array;
  memPc: Float64Array;
  memAddr: Float64Array;
  memSize: Uint8Array;
  memIsStore: Uint8Array;
  memValueLo: Uint32Array;
  memValueHi: Uint32Array;
  /** Bytes 8-15 of a 16-byte access's value, as two words (0 for the others). */
  memValueUpperLo: Uint32Array;
  memValueUpperHi: Uint32Array;
  memExecIndex: Uint32Array;
  /** Each access's head shifted right by `memSizeShiftBit`: size shift, store, sign, big endian. */
  memFlags: Uint8Array;
  /** At least the chunk's words plus `blockPcsSlack`. */
  blockPcs: Float64Array;
  runPcsAt: Uint32Array;
  runLength: Uint32Array;
  runFirstExec: Uint32Array;
  runBlockId: Uint32Array;
  otherKind: Uint8Array;
  otherWord: Uint32Array;
  otherExec: Uint32Array;
  regExec: Uint32Array;
  regIndex: Uint32Array;
  regValueLo: Uint32Array;
  regValueHi: Uint32Array;
}

/** What each field of decoder_abi.Columns gets: a column's address or a capacity. */
const columnValue: Record<Exclude<keyof typeof DecoderColumns, "length" | "wanted">, (columns: NativeColumns) => bigint> = {
  exec_pc: (c) => BigInt(ptr(c.execPc)),
  exec_capacity: (c) => BigInt(c.execPc.length),
  mem_capacity: (c) => BigInt(c.memPc.length),
  mem_pc: (c) => BigInt(ptr(c.memPc)),
  mem_addr: (c) => BigInt(ptr(c.memAddr)),
  mem_size: (c) => BigInt(ptr(c.memSize)),
  mem_is_store: (c) => BigInt(ptr(c.memIsStore)),
  mem_value_lo: (c) => BigInt(ptr(c.memValueLo)),
  mem_value_hi: (c) => BigInt(ptr(c.memValueHi)),
  mem_value_upper_lo: (c) => BigInt(ptr(c.memValueUpperLo)),
  mem_value_upper_hi: (c) => BigInt(ptr(c.memValueUpperHi)),
  mem_exec_index: (c) => BigInt(ptr(c.memExecIndex)),
  mem_flags: (c) => BigInt(ptr(c.memFlags)),
  block_pcs: (c) => BigInt(ptr(c.blockPcs)),
  block_pcs_capacity: (c) => BigInt(c.blockPcs.length),
  run_capacity: (c) => BigInt(c.runPcsAt.length),
  run_pcs_at: (c) => BigInt(ptr(c.runPcsAt)),
  run_length: (c) => BigInt(ptr(c.runLength)),
  run_first_exec: (c) => BigInt(ptr(c.runFirstExec)),
  run_block_id: (c) => BigInt(ptr(c.runBlockId)),
  other_capacity: (c) => BigInt(c.otherKind.length),
  other_kind: (c) => BigInt(ptr(c.otherKind)),
  other_word: (c) => BigInt(ptr(c.otherWord)),
  other_exec: (c) => BigInt(ptr(c.otherExec)),
  reg_capacity: (c) => BigInt(c.regExec.length),
  reg_exec: (c) => BigInt(ptr(c.regExec)),
  reg_index: (c) => BigInt(ptr(c.regIndex)),
  reg_value_lo: (c) => BigInt(ptr(c.regValueLo)),
  reg_value_hi: (c) => BigInt(ptr(c.regValueHi)),
};

/** A chunk's counts (decoder_abi.Counts); the run's statistics add them up. */
export interface ChunkCounts {
  instructions: number;
  reads: number;
  writes: number;
  syscalls: number;
  /** syscall, sysret, mmap and munmap records (not in the columns). */
  others: number;
  /** The stream's `exit` record was seen (the thread ended normally). */
  exited: boolean;
  /** Exec records carrying their instruction's size (ExecEvent.size). */
  sizedExecs: number;
  /** Runs (RecordBatch.runCount). */
  runs: number;
  /** Entries of regs records (RecordBatch.regCount). */
  registerEntries: number;
}

/** Thrown when the native pass refuses a chunk; `word` is where. */
export class NativeCorrupt extends Error {
  constructor(readonly word: number) {
    super(`corrupted record at word ${word}`);
  }
}

/** One per JavaScript thread (decoding is synchronous): its tables are
 *  sized for the largest chunk seen, so sharing them between streams keeps a
 *  Worker's memory flat however many threads the guest starts. */
let perThread: NativeDecoder | undefined;

export function nativeDecoder(): NativeDecoder {
  perThread ??= new NativeDecoder();
  return perThread;
}

class NativeDecoder {
  readonly #handle: Pointer;
  readonly #counts = new Uint32Array(DecoderCounts.length);
  readonly #countsPtr = ptr(this.#counts);
  /** decoder_abi.Columns, rebuilt when the column arrays change. */
  readonly #columns = new BigUint64Array(DecoderColumns.length);
  #columnsFor: NativeColumns | undefined;
  #columnsGeneration = -1;

  constructor() {
    const handle = consumerLibrary().cnl_decoder_create() as Pointer | null;
    if (handle === null) throw new Error("cannoli: out of memory creating the chunk decoder");
    this.#handle = handle;
  }

  /** Validates and counts one chunk. Throws NativeCorrupt. */
  count(words: Uint32Array, pointerBytes: 4 | 8): ChunkCounts {
    if (words.length === 0) return { instructions: 0, reads: 0, writes: 0, syscalls: 0, others: 0, exited: false, sizedExecs: 0, runs: 0, registerEntries: 0 };
    const status = consumerLibrary().cnl_decoder_count(this.#handle, ptr(words), words.length, pointerBytes / 4, this.#countsPtr);
    return this.#result(status);
  }

  /** Validates and counts one chunk and writes the `wanted` columns (bits
   *  `1 << DecoderColumn.x`); null (nothing counted) when they are too
   *  small for it. Throws NativeCorrupt. */
  fill(words: Uint32Array, pointerBytes: 4 | 8, columns: NativeColumns, wanted: number): ChunkCounts | null {
    if (words.length === 0) return this.count(words, pointerBytes);
    const status = consumerLibrary().cnl_decoder_fill(this.#handle, ptr(words), words.length, pointerBytes / 4, this.#columnsPointer(columns, wanted), this.#countsPtr);
    return this.#result(status, null);
  }

  #columnsPointer(columns: NativeColumns, wanted: number): Pointer {
    const c = this.#columns;
    if (this.#columnsFor !== columns || this.#columnsGeneration !== columns.generation) {
      for (const name of Object.keys(columnValue) as (keyof typeof columnValue)[]) c[DecoderColumns[name]] = columnValue[name](columns);
      this.#columnsFor = columns;
      this.#columnsGeneration = columns.generation;
    }
    c[DecoderColumns.wanted] = BigInt(wanted);
    return ptr(c);
  }

  #result(status: number): ChunkCounts;
  #result(status: number, tooSmall: null): ChunkCounts | null;
  #result(status: number, tooSmall?: null): ChunkCounts | null {
    const c = this.#counts;
    switch (status) {
      case DecodeStatus.ok:
        return {
          instructions: c[DecoderCounts.instructions]!,
          reads: c[DecoderCounts.reads]!,
          writes: c[DecoderCounts.writes]!,
          syscalls: c[DecoderCounts.syscalls]!,
          others: c[DecoderCounts.others]!,
          exited: c[DecoderCounts.exited] === 1,
          sizedExecs: c[DecoderCounts.sized_execs]!,
          runs: c[DecoderCounts.runs]!,
          registerEntries: c[DecoderCounts.register_entries]!,
        };
      case DecodeStatus.corrupt:
        throw new NativeCorrupt(c[DecoderCounts.corrupt_word]!);
      case DecodeStatus.columns_too_small:
        if (tooSmall === null) return null;
        throw new Error("cannoli: chunk decoder wrote past its columns");
      case DecodeStatus.out_of_memory:
        throw new Error("cannoli: out of memory decoding a chunk");
      default:
        throw new Error(`cannoli: chunk decoder refused its arguments (status ${status})`);
    }
  }
}
