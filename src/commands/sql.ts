// SPDX-License-Identifier: MIT
//! `cannoli sql run.cnl|DIR [QUERY]`: SQL over a recording (replayed into
//! an embedded DuckDB) or over the Parquet directory `cannoli export` wrote.
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { viewParquet } from "../export/parquet";
import { makePrivateDirectory } from "../runtime/private_directory";
import { namedQueries } from "../export/queries";
import { type RecordingTables, recordingTables } from "../export/recording_tables";
import { type ResultFormat, resultText } from "../export/result_text";
import { tableNames } from "../export/schema";
import { firstLine } from "../runtime/errors";
import { defaultWorkerCount } from "../runtime/WorkerPool";
import { parseWorkers, workersUsage } from "./guest_argv";
import { scanArguments } from "./scan_arguments";
import { UsageError } from "./usage_error";

export const sqlUsage = `usage: cannoli sql SOURCE [QUERY] [options]

Runs SQL (DuckDB's dialect) on SOURCE: a recording (replayed into the
tables first) or a directory written by \`cannoli export\`. Without QUERY or
--query, reads statements ending in ';' from stdin (a prompt on a terminal).
Tables: ${tableNames.join(", ")} (see cannoli export --help).

options:
  --query NAME [ARG]   a named query:
${Object.values(namedQueries)
  .map((q) => `                         ${q.usage.padEnd(20)}${q.doc}`)
  .join("\n")}
  --csv, --json        the result as CSV, or one JSON object per row [default: a table]
${workersUsage}
examples:
  cannoli sql gzip.cnl "SELECT tid, count(*) FROM memory WHERE is_store GROUP BY tid"
  cannoli sql out/ --query last-writer 0x4b2010
`;

export async function sql(argv: string[]): Promise<number> {
  let source: string | undefined;
  let query: string | undefined;
  let format: ResultFormat = "table";
  let workers = defaultWorkerCount();
  scanArguments(
    argv,
    "sql",
    sqlUsage,
    (flag, value) => {
      if (flag === "--query") query = namedQuery(value(), value);
      else if (flag === "--csv") format = "csv";
      else if (flag === "--json") format = "json";
      else if (flag === "--workers") workers = parseWorkers(value());
      else return false;
      return true;
    },
    (word) => {
      if (source === undefined) source = word;
      else if (query === undefined) query = word;
      else throw new UsageError(`cannoli: sql takes one query, got ${word} too`);
    },
  );
  if (!source) throw new UsageError("cannoli: sql needs a recording or an exported directory (cannoli sql SOURCE [QUERY])");
  let isDir: boolean;
  try {
    isDir = statSync(source).isDirectory();
  } catch {
    throw new UsageError(`cannoli: ${source} does not exist`);
  }
  let scratch: string | undefined;
  let recording: RecordingTables | undefined;
  let instance: DuckDBInstance | undefined;
  let connection: DuckDBConnection;
  try {
    if (isDir) {
      instance = await DuckDBInstance.create(":memory:");
      connection = await instance.connect();
      if ((await viewParquet(connection, source)).length === 0) throw new UsageError(`cannoli: ${source} holds no exported tables`);
    } else {
      // A recording: its tables in a scratch database (they may outgrow
      // memory), named like the socket directories, so that one left by a
      // killed cannoli is removed by the next.
      scratch = makePrivateDirectory(tmpdir());
      recording = await recordingTables(source, join(scratch, "tables.duckdb"), tableNames, workers);
      if (recording.damage) process.stderr.write(`${recording.damage} (querying what precedes it)\n`);
      if (recording.error) {
        process.stderr.write(`${recording.error}\n`);
        return 1;
      }
      connection = recording.tables.connection;
    }
    if (query !== undefined) return await runQuery(connection, query, format);
    return await prompt(connection, format);
  } finally {
    recording?.tables.close();
    instance?.closeSync();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** `--query NAME [ARG]`: the named query's SQL (`nextWord()` takes its argument). */
function namedQuery(name: string, nextWord: () => string): string {
  const named = namedQueries[name];
  if (!named) throw new UsageError(`cannoli: unknown query ${name} (queries: ${Object.keys(namedQueries).join(", ")})`);
  const args = named.usage.split(" ").length > 1 ? [nextWord()] : [];
  try {
    return named.sql(args);
  } catch (error) {
    throw new UsageError(firstLine(error));
  }
}

async function runQuery(connection: DuckDBConnection, text: string, format: ResultFormat): Promise<number> {
  try {
    const reader = await connection.runAndReadAll(text);
    process.stdout.write(resultText(reader, format));
    return 0;
  } catch (error) {
    const line = firstLine(error);
    // DuckDB's own suggestion names its catalog's lookalikes; the table list is shorter.
    const hint = /^Catalog Error: Table with name \S+ does not exist/.test(line) ? ` (tables: ${tableNames.join(", ")})` : "";
    process.stderr.write(`cannoli: sql: ${line}${hint}\n`);
    return 1;
  }
}

/** Statements from stdin, each ended by ';'; a prompt when stdin is a terminal. */
async function prompt(connection: DuckDBConnection, format: ResultFormat): Promise<number> {
  const interactive = process.stdin.isTTY === true;
  const ask = () => interactive && process.stdout.write("sql> ");
  let pending = "";
  let failed = false;
  ask();
  for await (const line of console) {
    pending += `${line}\n`;
    if (!line.trimEnd().endsWith(";")) continue;
    failed = (await runQuery(connection, pending, format)) !== 0 || failed;
    pending = "";
    ask();
  }
  if (pending.trim() !== "") failed = (await runQuery(connection, pending, format)) !== 0 || failed;
  return failed && !interactive ? 1 : 0;
}
