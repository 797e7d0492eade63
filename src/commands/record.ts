// SPDX-License-Identifier: MIT
//! `cannoli record -o run.cnl -- <guest> [args...]`: runs the guest and stores
//! every thread's raw stream, compressed, for `cannoli replay`.
import { RecordingWriter } from "../record/RecordingWriter";
import { parseRunArgs, runSession } from "./run";
import { UsageError, checkOutputPath } from "./usage_error";

export const recordUsage = `usage: cannoli record -o FILE [options] -- <guest> [args...]

Runs the guest like \`cannoli run\` and stores every thread's raw trace stream
(handshakes, block definitions, chunks), zstd-compressed and indexed, so any
tracer can run on it later with \`cannoli replay\`. Takes the options of
\`cannoli run\`; a --tracer (default: null) also runs live, writing to stderr
or --trace-output FILE.

  --level N   zstd level of the stored chunks, 1 (fastest; default) to 19, or
              0 to store them as they are (no compression: for a fast disk,
              when recording must keep up with the trace); a chunk zstd
              would not shrink is stored as it is at any level

example:
  cannoli record -o gzip.cnl -- ./busybox gzip -c data.txt > /dev/null
  cannoli replay gzip.cnl --tracer count
`;

export async function record(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv, "record", recordUsage);
  if (!args.output) throw new UsageError("cannoli: record needs -o FILE (where the recording goes)");
  if (!argv.includes("--tracer")) args.tracer = "null";
  // Before the recording is made: a run refused for its trace output
  // leaves no empty recording behind.
  checkOutputPath(args.traceOutput, "tracer output to");
  return runSession(args, new RecordingWriter(args.output, args.level));
}
