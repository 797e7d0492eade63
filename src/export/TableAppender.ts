// SPDX-License-Identifier: MIT
//! Appends rows to one DuckDB table a column at a time, from typed arrays,
//! through one reused DuckDB data chunk: the fast path of
//! @duckdb/node-api's appender (a value-by-value append makes a BigInt per
//! UBIGINT, ~10 times slower). Non-null numeric columns are written straight
//! into the vectors' item arrays, which the package flushes to DuckDB with
//! one copy per vector (it keeps them in `items`, or `dataView` for
//! BOOLEAN: checked when the appender opens, since the package is pinned
//! but these fields are not its public API); nullable and VARCHAR columns
//! go through `setItem`.
import { type DuckDBAppender, type DuckDBConnection, DuckDBDataChunk, type DuckDBType, type DuckDBValue, type DuckDBVector } from "@duckdb/node-api";
import { type ColumnSpec, type TableName, tables } from "./schema";

/** DuckDB's standard vector size: rows per data chunk. */
const windowRows = 2048;

/** Where a fill writes one window of a column: `raw` (a UBIGINT or BIGINT
 *  row takes two words, low first) or, for nullable and VARCHAR columns,
 *  `set`. Row `i` of the window is the table row `from + i`. */
export interface ColumnWindow {
  readonly raw: Uint32Array | Int32Array | Uint8Array;
  set(row: number, value: DuckDBValue): void;
}

export type ColumnFill = (window: ColumnWindow, from: number, count: number) => void;

interface RawVector {
  items?: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number };
  dataView?: DataView;
}

function rawView(vector: DuckDBVector, spec: ColumnSpec): Uint32Array | Int32Array | Uint8Array {
  const raw = vector as unknown as RawVector;
  const storage = spec.type === "BOOLEAN" ? raw.dataView : raw.items;
  if (!storage || storage.byteLength < windowRows) throw new Error(`cannoli: @duckdb/node-api's ${spec.type} vector changed shape; this cannoli needs the version it pins`);
  switch (spec.type) {
    case "UBIGINT":
    case "BIGINT":
    case "UINTEGER":
      return new Uint32Array(storage.buffer, storage.byteOffset, storage.byteLength / 4);
    case "INTEGER":
      return new Int32Array(storage.buffer, storage.byteOffset, storage.byteLength / 4);
    default:
      return new Uint8Array(storage.buffer, storage.byteOffset, storage.byteLength);
  }
}

export class TableAppender {
  readonly name: TableName;
  readonly #appender: DuckDBAppender;
  readonly #chunk: DuckDBDataChunk;
  readonly #vectors: DuckDBVector[];
  readonly #windows: ColumnWindow[];
  rows = 0;

  private constructor(name: TableName, appender: DuckDBAppender) {
    this.name = name;
    this.#appender = appender;
    const specs = tables[name].columns;
    const types: DuckDBType[] = specs.map((_, i) => appender.columnType(i));
    this.#chunk = DuckDBDataChunk.create(types, windowRows);
    this.#vectors = specs.map((_, i) => this.#chunk.getColumnVector(i));
    this.#windows = specs.map((spec, i) => {
      const vector = this.#vectors[i]!;
      return { raw: spec.type === "VARCHAR" ? new Uint8Array(0) : rawView(vector, spec), set: (row: number, value: DuckDBValue) => vector.setItem(row, value) };
    });
  }

  static async open(connection: DuckDBConnection, name: TableName): Promise<TableAppender> {
    return new TableAppender(name, await connection.createAppender(name));
  }

  /** Appends `count` rows; `fills[c]` writes column `c` of each window. */
  append(count: number, fills: readonly ColumnFill[]): void {
    for (let from = 0; from < count; from += windowRows) {
      const n = Math.min(windowRows, count - from);
      for (let c = 0; c < fills.length; c++) fills[c]!(this.#windows[c]!, from, n);
      for (const vector of this.#vectors) vector.flush();
      this.#chunk.rowCount = n;
      this.#appender.appendDataChunk(this.#chunk);
      this.#chunk.rowCount = windowRows;
    }
    this.rows += count;
  }

  /** Appends one row of values (small tables). */
  appendRow(values: readonly DuckDBValue[]): void {
    this.append(
      1,
      values.map((value) => (window: ColumnWindow) => window.set(0, value)),
    );
  }

  close(): void {
    this.#appender.closeSync();
  }
}

// Fills shared by the tables: a constant, and columns from the chunk's arrays.

export const constantInt =
  (value: number): ColumnFill =>
  (w, _from, n) =>
    (w.raw as Int32Array).fill(value, 0, n);

/** Row `i` of a UBIGINT window: `x` (a whole number below 2^53) as its
 *  low and high words. */
function putU64(raw: Uint32Array, i: number, x: number): void {
  raw[2 * i] = x >>> 0;
  raw[2 * i + 1] = (x / 4294967296) >>> 0;
}

/** A UBIGINT column from f64s (exact below 2^53: addresses). */
export const u64FromF64 =
  (source: Float64Array): ColumnFill =>
  (w, from, n) => {
    for (let i = 0; i < n; i++) putU64(w.raw as Uint32Array, i, source[from + i]!);
  };

/** A UBIGINT column `base + index[i]`, or `base + i` without an index. */
export const u64Seq =
  (base: number, index?: Uint32Array): ColumnFill =>
  (w, from, n) => {
    for (let i = 0; i < n; i++) putU64(w.raw as Uint32Array, i, base + (index ? index[from + i]! : from + i));
  };

/** A UBIGINT column from low and high words. */
export const u64FromWords =
  (lo: Uint32Array, hi: Uint32Array): ColumnFill =>
  (w, from, n) => {
    const raw = w.raw as Uint32Array;
    for (let i = 0; i < n; i++) {
      raw[2 * i] = lo[from + i]!;
      raw[2 * i + 1] = hi[from + i]!;
    }
  };

/** A one-byte column (UTINYINT, BOOLEAN) or a UINTEGER one, copied. */
export const copied =
  (source: Uint8Array | Uint32Array): ColumnFill =>
  (w, from, n) =>
    (w.raw as Uint8Array | Uint32Array).set(source.subarray(from, from + n));
