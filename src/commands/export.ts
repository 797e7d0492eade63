// SPDX-License-Identifier: MIT
//! `cannoli export run.cnl -o DIR`: a recording as Parquet tables.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { writeParquet } from "../export/parquet";
import { type RecordingTables, recordingTables } from "../export/recording_tables";
import { RecordingReader } from "../record/RecordingReader";
import { parseTables, tableNames, tables as tableSpecs } from "../export/schema";
import { defaultWorkerCount } from "../runtime/WorkerPool";
import { parseWorkers, workersUsage } from "./guest_argv";
import { scanArguments } from "./scan_arguments";
import { UsageError, makeOutputDirectory } from "./usage_error";

export const exportUsage = `usage: cannoli export FILE -o DIR [options]

Writes a recording made by \`cannoli record\` as Apache Parquet tables, one
directory per table under DIR, the per-thread ones partitioned by pid, image
and tid. Query them with \`cannoli sql DIR\`, or with DuckDB, Spark or Trino.

tables:
${tableNames.map((name) => `  ${name.padEnd(13)}${tableSpecs[name].doc}`).join("\n")}

options:
  -o DIR               where the tables go (created; must be empty)
  --tables LIST        comma-separated tables to write [default: all]
  --partial            a recording that is damaged or ends early: export what
                       it holds and exit 0 (the line naming the offset is still printed)
${workersUsage}`;

export async function exportCommand(argv: string[]): Promise<number> {
  let path: string | undefined;
  let dir: string | undefined;
  let tablesText: string | undefined;
  let partial = false;
  let workers = defaultWorkerCount();
  scanArguments(
    argv,
    "export",
    exportUsage,
    (flag, value) => {
      if (flag === "-o" || flag === "--output") dir = value();
      else if (flag === "--tables") tablesText = value();
      else if (flag === "--partial") partial = true;
      else if (flag === "--workers") workers = parseWorkers(value());
      else return false;
      return true;
    },
    (word) => {
      if (path !== undefined) throw new UsageError(`cannoli: export takes one recording, got ${word} too`);
      path = word;
    },
  );
  if (!path) throw new UsageError("cannoli: export needs a recording (cannoli export FILE -o DIR)");
  if (!dir) throw new UsageError("cannoli: export needs -o DIR");
  let names;
  try {
    names = parseTables(tablesText);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  new RecordingReader(path).close(); // refuses a missing or foreign file before DIR is made
  makeOutputDirectory(dir, "-o", { empty: true });
  // Rows gather in a DuckDB database next to the output, then go out as
  // Parquet partitioned by thread; the database goes once they have.
  const database = join(dir, ".cannoli-export.duckdb");
  let result: RecordingTables | undefined;
  try {
    result = await recordingTables(path, database, names, workers);
    if (result.error) {
      process.stderr.write(`${result.error}\n`);
      return 1;
    }
    if (process.stderr.isTTY) process.stderr.write("cannoli: writing the Parquet files\x1b[K");
    await writeParquet(result.tables.connection, dir, names);
    if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  } finally {
    result?.tables.close();
    rmSync(database, { force: true });
    rmSync(`${database}.wal`, { force: true });
  }
  const counts = result.tables.rowCounts;
  const summary = names.map((name) => `${counts[name]} ${name}`).join(", ");
  process.stderr.write(`cannoli: exported ${summary} to ${dir} in ${(result.wallMs / 1000).toFixed(1)} s\n`);
  if (result.damage) {
    process.stderr.write(`${result.damage}${partial ? " (--partial: exported up to there)" : ""}\n`);
    if (!partial) return 1;
  }
  return 0;
}
