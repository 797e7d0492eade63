// SPDX-License-Identifier: MIT
//! `--tracer export`, the Worker side of `cannoli export` and `cannoli sql`:
//! each chunk becomes one ChunkRows item, the rows of every table it feeds
//! as typed arrays (structured-cloned to the ordered stage in bulk, never an
//! object per row). Positions are chunk-local (rows of the chunk's
//! instructions); the ordered stage adds each thread's running count, which
//! only it knows, to make the global `seq`.
import { defineTracer, type MmapEvent, type RecordBatch, type TracerArgs } from "../tracer";
import { Kind } from "../wire/records.generated";
import { type TableName, parseTables } from "./schema";

/** A syscall, sysret, mmap or munmap, after `afterExecs` of the chunk's instructions. */
export type OtherRow =
  | { kind: "syscall"; afterExecs: number; number: number; args: readonly bigint[] }
  | { kind: "sysret"; afterExecs: number; number: number; ret: bigint }
  | { kind: "mmap"; afterExecs: number; event: MmapEvent }
  | { kind: "munmap"; afterExecs: number; addr: number; length: number };

export interface ChunkRows {
  instructions: number;
  reads: number;
  writes: number;
  /** The chunk's first instruction's pc (null: none ran in it). */
  firstPc: number | null;
  /** Every instruction's pc (the `instructions` table). */
  execPc?: Float64Array;
  /** One row per block run (the `blocks` table). */
  runs?: { firstExec: Uint32Array; length: Uint32Array; pc: Float64Array; blockId: Uint32Array };
  /** One row per access (the `memory` table). */
  memory?: {
    execIndex: Uint32Array;
    pc: Float64Array;
    addr: Float64Array;
    size: Uint8Array;
    isStore: Uint8Array;
    valueLo: Uint32Array;
    valueHi: Uint32Array;
    valueUpperLo: Uint32Array;
    valueUpperHi: Uint32Array;
  };
  others: OtherRow[];
}

/** Per guest thread in one Worker: the tables asked for, and the chunk's
 *  other events as their handlers received them (before `batch`). */
interface RowsContext {
  tables: ReadonlySet<TableName>;
  pending: PendingRow[];
}

/** An OtherRow before the batch says where it sat. */
type PendingRow = OtherRow extends infer Row ? (Row extends OtherRow ? Omit<Row, "afterExecs"> : never) : never;

const copy = <T extends Float64Array | Uint32Array | Uint8Array>(column: T, count: number): T => column.slice(0, count) as T;

function rowsOf(ctx: RowsContext, b: RecordBatch): ChunkRows {
  const firstPc = b.runCount > 0 ? b.blockPcs[b.runPcsAt[0]!]! : null;
  const rows: ChunkRows = { instructions: b.execCount, reads: b.readCount, writes: b.writeCount, firstPc, others: [] };
  if (ctx.tables.has("instructions")) rows.execPc = copy(b.execPc, b.execCount);
  if (ctx.tables.has("blocks") && b.runCount > 0) {
    const pcs = b.blockPcs;
    const at = b.runPcsAt;
    const pc = new Float64Array(b.runCount);
    for (let r = 0; r < b.runCount; r++) pc[r] = pcs[at[r]!]!;
    rows.runs = { firstExec: copy(b.runFirstExec, b.runCount), length: copy(b.runLength, b.runCount), pc, blockId: copy(b.runBlockId, b.runCount) };
  }
  if (ctx.tables.has("memory") && b.memCount > 0) {
    const n = b.memCount;
    rows.memory = {
      execIndex: copy(b.memExecIndex, n),
      pc: copy(b.memPc, n),
      addr: copy(b.memAddr, n),
      size: copy(b.memSize, n),
      isStore: copy(b.memIsStore, n),
      valueLo: copy(b.memValueLo, n),
      valueHi: copy(b.memValueHi, n),
      valueUpperLo: copy(b.memValueUpperLo, n),
      valueUpperHi: copy(b.memValueUpperHi, n),
    };
  }
  if (ctx.pending.length > 0) {
    // The handlers saw the chunk's syscall, sysret, mmap and munmap records
    // in order; the batch says where each one sat (regs records aside).
    const kinds = b.otherKind;
    const after = b.otherAfterExecs;
    let next = 0;
    for (let o = 0; o < b.otherCount && next < ctx.pending.length; o++) {
      if (kinds[o] === Kind.regs) continue;
      rows.others.push({ ...ctx.pending[next++]!, afterExecs: after[o]! } as OtherRow);
    }
    if (next !== ctx.pending.length) throw new Error("cannoli: export: a chunk's events and their places disagree");
    ctx.pending = [];
  }
  return rows;
}

export default defineTracer<RowsContext, ChunkRows, undefined>({
  context: (_thread, args: TracerArgs) => ({ tables: new Set(parseTables(args.tables)), pending: [] }),
  syscall(ctx, event) {
    ctx.pending.push({ kind: "syscall", number: event.number, args: event.args });
  },
  sysret(ctx, event) {
    ctx.pending.push({ kind: "sysret", number: event.number, ret: event.ret });
  },
  mmap(ctx, event) {
    ctx.pending.push({ kind: "mmap", event });
  },
  munmap(ctx, event) {
    ctx.pending.push({ kind: "munmap", addr: event.addr, length: event.length });
  },
  batch(ctx, b, out) {
    out.push(rowsOf(ctx, b));
  },
});
