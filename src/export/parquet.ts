// SPDX-License-Identifier: MIT
//! The tables as Apache Parquet, and back. One directory per table; the
//! per-thread tables are partitioned Hive-style by pid, image, tid and a
//! range of 2^24 seq numbers (`memory/pid=4242/image=0/tid=4242/seq_range=0/
//! data_0.parquet`), which bounds each file (~16 M instructions of a
//! thread), and files are cut into row groups for parallel scans, so Spark,
//! Trino or DuckDB elsewhere read a directory, or many runs' directories,
//! unchanged.
import type { DuckDBConnection } from "@duckdb/node-api";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type TableName, tableNames } from "./schema";

/** Tables small enough to stay one file: no partitions. */
const unpartitioned: readonly TableName[] = ["threads", "modules"];
const partitionColumns = ["pid", "image", "tid", "seq_range"];
/** seq_range = seq >> this (syscalls before a thread's first instruction: 0). */
export const seqRangeShift = 24;
const rowGroupRows = 1 << 20;
/** zstd: ~2.8× smaller than DuckDB's default snappy on trace columns
 *  (BENCHMARKS.md), and every engine that reads Parquet reads it. */
const format = "FORMAT parquet, COMPRESSION zstd";

const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Writes each table in `names` under `dir` (which exists). */
export async function writeParquet(connection: DuckDBConnection, dir: string, names: readonly TableName[]): Promise<void> {
  for (const name of names) {
    const target = join(dir, name);
    if (unpartitioned.includes(name)) {
      mkdirSync(target, { recursive: true });
      await connection.run(`COPY ${name} TO ${sqlString(join(target, `${name}.parquet`))} (${format})`);
      continue;
    }
    const rows = await connection.runAndReadAll(`SELECT count(*) FROM ${name}`);
    if (rows.getRows()[0]![0] === 0n) {
      // No rows, no partitions: one empty file keeps the table's columns.
      const emptyDir = join(target, "pid=0", "image=0", "tid=0", "seq_range=0");
      mkdirSync(emptyDir, { recursive: true });
      const empty = join(emptyDir, "empty.parquet");
      await connection.run(`COPY (SELECT * EXCLUDE (pid, image, tid) FROM ${name}) TO ${sqlString(empty)} (${format})`);
      continue;
    }
    const withRange = `SELECT *, coalesce(seq >> ${seqRangeShift}, 0) AS seq_range FROM ${name}`;
    await connection.run(`COPY (${withRange}) TO ${sqlString(target)} (${format}, PARTITION_BY (${partitionColumns.join(", ")}), ROW_GROUP_SIZE ${rowGroupRows})`);
  }
}

/** Views over an exported directory, one per table it holds, with the
 *  partition columns first and typed as in the export. */
export async function viewParquet(connection: DuckDBConnection, dir: string): Promise<TableName[]> {
  const found = tableNames.filter((name) => existsSync(join(dir, name)));
  for (const name of found) {
    const files = sqlString(join(dir, name, "**", "*.parquet"));
    const select = unpartitioned.includes(name)
      ? `SELECT * FROM read_parquet(${files})`
      : `SELECT pid::INTEGER AS pid, image::INTEGER AS image, tid::INTEGER AS tid, * EXCLUDE (${partitionColumns.join(", ")}) FROM read_parquet(${files}, hive_partitioning = true)`;
    await connection.run(`CREATE VIEW ${name} AS ${select}`);
  }
  return found;
}
