// SPDX-License-Identifier: MIT
//! A recording's tables in DuckDB: the recording replayed through the
//! Workers (`--tracer export` there, TraceTables in the ordered stage), as
//! `cannoli replay` would run any tracer on it.
import { replay } from "../runtime/ReplaySession";
import type { TableName } from "./schema";
import { TraceTables } from "./TraceTables";

export interface RecordingTables {
  tables: TraceTables;
  /** Where the recording is damaged or ends early (what precedes it is in). */
  damage: string | null;
  /** A failure that stopped the replay. */
  error: string | null;
  wallMs: number;
}

/** Replays `path` into a database at `databasePath` (":memory:" for none). */
export async function recordingTables(path: string, databasePath: string, names: readonly TableName[], workers: number): Promise<RecordingTables> {
  const started = performance.now();
  const tables = await TraceTables.create(databasePath, names);
  // On a terminal, a line that says how far it got (a gzip run takes minutes).
  const progress = process.stderr.isTTY
    ? setInterval(() => {
        const rows = Object.values(tables.rowCounts).reduce((sum, n) => sum + n, 0);
        process.stderr.write(`\rcannoli: ${(rows / 1e6).toFixed(1)} M rows, ${((performance.now() - started) / 1000).toFixed(0)} s\x1b[K`);
      }, 1000)
    : undefined;
  const result = await replay({ path, tracerSpec: "export", tracerArgs: { tables: names.join(",") }, tracer: tables.stage(), workers }).finally(() => {
    if (progress) {
      clearInterval(progress);
      process.stderr.write("\r\x1b[K");
    }
  });
  if (!result.error) tables.finish();
  return { tables, damage: result.damage, error: result.error, wallMs: performance.now() - started };
}
