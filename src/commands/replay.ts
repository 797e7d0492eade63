// SPDX-License-Identifier: MIT
//! `cannoli replay run.cnl [--tracer T] [-o FILE]`: runs a tracer offline on a
//! recording, through the same API and with the same results as a live run.
import { loadTracer } from "../runtime/load_tracer";
import { replay as replayRecording } from "../runtime/ReplaySession";
import { writeStderr } from "../runtime/stdio";
import { defaultWorkerCount } from "../runtime/WorkerPool";
import { parseWorkers, workersUsage } from "./guest_argv";
import { addTracerArg, tracerArgUsage } from "./tracer_args";
import { writeStats } from "./run";
import { scanArguments } from "./scan_arguments";
import { UsageError } from "./usage_error";

export const replayUsage = `usage: cannoli replay FILE [options]

Runs a tracer on a recording made by \`cannoli record\`, exactly as it would
have run live. A damaged recording is replayed up to the damage, which is
then reported with its offset.

options:
  --tracer NAME|FILE   built-in (count, print, tail, null, demo) or a tracer module [default: count]
  -o FILE              tracer output to FILE instead of stderr
  --stats-json FILE    write run statistics as JSON at exit
  --partial            a recording that is damaged or ends early: replay what it
                       holds and exit 0 (the line naming the offset is still printed)
${tracerArgUsage}${workersUsage}
example:
  cannoli replay gzip.cnl --tracer print -o trace.txt
`;

export async function replay(argv: string[]): Promise<number> {
  let path: string | undefined;
  let tracerSpec = "count";
  const tracerArgs: Record<string, string> = {};
  let output: string | undefined;
  let statsJson: string | undefined;
  let partial = false;
  let workers = defaultWorkerCount();
  scanArguments(
    argv,
    "replay",
    replayUsage,
    (flag, value) => {
      if (flag === "--tracer") tracerSpec = value();
      else if (flag === "--tracer-arg") addTracerArg(tracerArgs, value());
      else if (flag === "-o" || flag === "--output") output = value();
      else if (flag === "--stats-json") statsJson = value();
      else if (flag === "--partial") partial = true;
      else if (flag === "--workers") workers = parseWorkers(value());
      else return false;
      return true;
    },
    (word) => {
      if (path !== undefined) throw new UsageError(`cannoli: replay takes one recording, got ${word} too`);
      path = word;
    },
  );
  if (!path) throw new UsageError("cannoli: replay needs a recording (cannoli replay FILE)");
  const tracer = await loadTracer(tracerSpec);
  const result = await replayRecording({ path, tracerSpec, tracerArgs, tracer, workers, outputPath: output });
  const statsFailure = writeStats(statsJson, result.stats);
  if (statsFailure) writeStderr(`${statsFailure}\n`);
  // The damage line first: a tracer error after it is often its consequence.
  if (result.damage) writeStderr(`${result.damage}${partial ? " (--partial: replayed up to there)" : ""}\n`);
  if (result.error) {
    writeStderr(`${result.error}\n`);
    return 1;
  }
  if (result.damage && !partial) return 1;
  return statsFailure ? 1 : 0;
}
