// SPDX-License-Identifier: MIT
//! The ordered-stage side of `cannoli export` and `cannoli sql`: appends each
//! chunk's rows (chunk_rows.ts) to DuckDB tables in execution order per
//! thread, which is where a row's global `seq` becomes known (the running
//! count of the thread's instructions), pairs each syscall with its result,
//! and at the end adds the threads and the modules the symbolizer placed.
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from "@duckdb/node-api";
import { Symbolizer } from "../symbols/symbolizer";
import { syscallName } from "../syscalls/syscall_names";
import { type AnyTracer, type ThreadInfo, noBlockId, threadLabel } from "../tracer";
import type { ChunkRows, OtherRow } from "./chunk_rows";
import { type TableName, createTableSql } from "./schema";
import { type ColumnFill, TableAppender, constantInt, copied, u64FromF64, u64FromWords, u64Seq } from "./TableAppender";

interface ThreadRows {
  readonly thread: ThreadInfo;
  /** Instructions before the next chunk: its first instruction's seq. */
  seq: number;
  reads: number;
  writes: number;
  /** A syscall whose sysret has not come yet. */
  pendingSyscall: { seq: number | null; number: number; args: readonly bigint[] } | null;
  entered: boolean;
}

export class TraceTables {
  readonly connection: DuckDBConnection;
  readonly #instance: DuckDBInstance;
  readonly #appenders = new Map<TableName, TableAppender>();
  readonly #threads = new Map<string, ThreadRows>();
  readonly #symbolizer: Symbolizer;

  private constructor(instance: DuckDBInstance, connection: DuckDBConnection, sysroot: string | undefined) {
    this.#instance = instance;
    this.connection = connection;
    this.#symbolizer = new Symbolizer(sysroot ? { sysroot } : {});
  }

  /** A DuckDB database at `path` (":memory:" for none) with `names` created empty. */
  static async create(path: string, names: readonly TableName[], sysroot?: string): Promise<TraceTables> {
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    const tables = new TraceTables(instance, connection, sysroot);
    for (const name of names) {
      await connection.run(createTableSql(name));
      tables.#appenders.set(name, await TableAppender.open(connection, name));
    }
    return tables;
  }

  /** The ordered stage's handlers, for a session whose Workers run `--tracer export`. */
  stage(): AnyTracer {
    return {
      trace: (_state, items, thread) => this.#chunks(items as ChunkRows[], thread),
      threadEnd: (_state, thread) => this.#threadEnd(thread),
    };
  }

  /** Appends the threads and modules, and closes the appenders. */
  finish(): void {
    const threads = this.#appenders.get("threads");
    for (const rows of this.#threads.values()) {
      const t = rows.thread;
      threads?.appendRow([t.pid, t.image, t.tid, t.ppid, t.arch, t.exe, BigInt(rows.seq), BigInt(rows.reads), BigInt(rows.writes)]);
    }
    const modules = this.#appenders.get("modules");
    for (const process of this.#symbolizer.processes.values()) {
      for (const m of process.modules) modules?.appendRow([process.pid, process.image, m.path, BigInt(m.start), BigInt(m.end), BigInt(m.bias), m.file.elf.buildId]);
    }
    for (const appender of this.#appenders.values()) appender.close();
  }

  /** Rows per table so far. */
  get rowCounts(): Record<string, number> {
    return Object.fromEntries([...this.#appenders].map(([name, appender]) => [name, appender.rows]));
  }

  close(): void {
    this.connection.closeSync();
    this.#instance.closeSync();
  }

  #rowsOf(thread: ThreadInfo): ThreadRows {
    const key = threadLabel(thread);
    let rows = this.#threads.get(key);
    if (!rows) {
      rows = { thread, seq: 0, reads: 0, writes: 0, pendingSyscall: null, entered: false };
      this.#threads.set(key, rows);
    }
    return rows;
  }

  #chunks(items: readonly ChunkRows[], thread: ThreadInfo): void {
    const rows = this.#rowsOf(thread);
    const ids = [constantInt(thread.pid), constantInt(thread.image), constantInt(thread.tid)];
    for (const chunk of items) {
      const seq = rows.seq;
      this.#others(rows, chunk.others, seq);
      if (!rows.entered && chunk.firstPc !== null) {
        // Places a static PIE or the loader from where the thread began.
        this.#symbolizer.process(thread).enter(chunk.firstPc);
        rows.entered = true;
      }
      if (chunk.execPc) this.#appenders.get("instructions")?.append(chunk.instructions, [...ids, u64Seq(seq), u64FromF64(chunk.execPc)]);
      if (chunk.runs) {
        const { firstExec, length, pc, blockId } = chunk.runs;
        const blockIdOrNull: ColumnFill = (w, from, n) => {
          for (let i = 0; i < n; i++) w.set(i, blockId[from + i] === noBlockId ? null : blockId[from + i]!);
        };
        this.#appenders.get("blocks")?.append(firstExec.length, [...ids, u64Seq(seq, firstExec), u64FromF64(pc), copied(length), blockIdOrNull]);
      }
      if (chunk.memory) {
        const m = chunk.memory;
        this.#appenders
          .get("memory")
          ?.append(m.execIndex.length, [
            ...ids,
            u64Seq(seq, m.execIndex),
            u64FromF64(m.pc),
            u64FromF64(m.addr),
            copied(m.size),
            copied(m.isStore),
            u64FromWords(m.valueLo, m.valueHi),
            u64FromWords(m.valueUpperLo, m.valueUpperHi),
          ]);
      }
      rows.seq += chunk.instructions;
      rows.reads += chunk.reads;
      rows.writes += chunk.writes;
    }
  }

  /** Syscalls (paired with their results) and mappings, at their places. */
  #others(rows: ThreadRows, others: readonly OtherRow[], seq: number): void {
    const thread = rows.thread;
    for (const other of others) {
      // The instruction before the record: the syscall's own.
      const before = seq + other.afterExecs - 1;
      const at = before >= 0 ? BigInt(before) : null;
      switch (other.kind) {
        case "syscall":
          this.#flushSyscall(rows, null);
          rows.pendingSyscall = { seq: before >= 0 ? before : null, number: other.number, args: other.args };
          break;
        case "sysret":
          if (rows.pendingSyscall?.number === other.number) this.#flushSyscall(rows, other.ret);
          else this.#syscallRow(rows, { seq: before >= 0 ? before : null, number: other.number, args: [] }, other.ret);
          break;
        case "mmap": {
          const e = other.event;
          this.#symbolizer.process(thread).mmap(e);
          this.#mmapRow(rows, [at, "mmap", BigInt(e.addr), BigInt(e.length), BigInt(e.offset), e.prot, e.flags, e.fd, e.path]);
          break;
        }
        case "munmap":
          this.#symbolizer.process(thread).munmap({ addr: other.addr, length: other.length });
          this.#mmapRow(rows, [at, "munmap", BigInt(other.addr), BigInt(other.length), null, null, null, null, null]);
          break;
      }
    }
  }

  #mmapRow(rows: ThreadRows, values: DuckDBValue[]): void {
    const t = rows.thread;
    this.#appenders.get("mmaps")?.appendRow([t.pid, t.image, t.tid, ...values]);
  }

  #flushSyscall(rows: ThreadRows, ret: bigint | null): void {
    if (!rows.pendingSyscall) return;
    this.#syscallRow(rows, rows.pendingSyscall, ret);
    rows.pendingSyscall = null;
  }

  #syscallRow(rows: ThreadRows, call: { seq: number | null; number: number; args: readonly bigint[] }, ret: bigint | null): void {
    const t = rows.thread;
    const args = Array.from({ length: 6 }, (_, i) => call.args[i] ?? null);
    this.#appenders
      .get("syscalls")
      ?.appendRow([t.pid, t.image, t.tid, call.seq === null ? null : BigInt(call.seq), call.number, syscallName(t.arch, call.number) ?? null, ...args, ret]);
  }

  #threadEnd(thread: ThreadInfo): void {
    this.#flushSyscall(this.#rowsOf(thread), null);
  }
}
