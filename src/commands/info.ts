// SPDX-License-Identifier: MIT
//! `cannoli info run.cnl`: what a recording holds.
import { RecordingReader } from "../record/RecordingReader";
import { protocolVersion } from "../wire/records.generated";
import { FrameKind, runStream } from "../record/format";
import { firstLine } from "../runtime/errors";
import { UsageError } from "./usage_error";

export const infoUsage = `usage: cannoli info FILE

Prints what a recording made by \`cannoli record\` holds: its threads and
processes, chunks, raw and stored bytes, and how each stream ended.

example:
  cannoli info gzip.cnl
`;

interface StreamInfo {
  who: string;
  chunks: number;
  rawBytes: number;
  storedBytes: number;
  end: string;
}

export async function info(argv: string[]): Promise<number> {
  if (argv[0] === "-h" || argv[0] === "--help") {
    process.stdout.write(infoUsage);
    return 0;
  }
  if (argv.length !== 1) throw new UsageError("cannoli: info needs exactly one recording (cannoli info FILE)");
  const reader = new RecordingReader(argv[0]!);
  const streams = new Map<number, StreamInfo>();
  let exitCode: number | null = null;
  let damage: string | null = null;
  try {
    for (const frame of reader.frames()) {
      const text = () => new TextDecoder().decode(frame.payload);
      if (frame.kind === FrameKind.stream) {
        const handshake = JSON.parse(text()) as { protocol: number; pid: number; image?: number; tid: number; arch: string; exe: string; backend: string };
        const image = handshake.image ? `.${handshake.image}` : "";
        const protocol = handshake.protocol === protocolVersion ? "" : `; wire protocol ${handshake.protocol}, this cannoli reads ${protocolVersion}`;
        const who = `${handshake.pid}${image}:${handshake.tid} ${handshake.arch} ${handshake.exe} (${handshake.backend}${protocol})`;
        streams.set(frame.stream, { who, chunks: 0, rawBytes: 0, storedBytes: 0, end: "no end recorded" });
      } else if (frame.kind === FrameKind.chunk) {
        const stream = streams.get(frame.stream);
        if (!stream) continue;
        stream.chunks++;
        stream.rawBytes += frame.rawBytes;
        stream.storedBytes += frame.storedBytes;
      } else if (frame.kind === FrameKind.end) {
        const summary = JSON.parse(text()) as { clean?: boolean; failure?: string | null; exit_code?: number };
        if (frame.stream === runStream) exitCode = summary.exit_code ?? null;
        else {
          const stream = streams.get(frame.stream);
          if (stream) stream.end = summary.failure ? `corrupted: ${summary.failure}` : summary.clean ? "clean" : "abrupt";
        }
      }
    }
  } catch (error) {
    damage = firstLine(error);
  } finally {
    reader.close();
  }
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  let raw = 0;
  let stored = 0;
  const pids = new Set<string>();
  for (const stream of streams.values()) {
    raw += stream.rawBytes;
    stored += stream.storedBytes;
    pids.add(stream.who.split(":")[0]!);
    process.stdout.write(`${stream.who}: ${stream.chunks} chunks, ${mib(stream.rawBytes)} -> ${mib(stream.storedBytes)}, ${stream.end}\n`);
  }
  const ratio = stored > 0 ? (raw / stored).toFixed(1) : "-";
  process.stdout.write(
    `${streams.size} thread(s) in ${pids.size} process(es); ${mib(raw)} of trace stored in ${mib(stored)} (${ratio}x); guest exit code ${exitCode ?? "not recorded"}\n`,
  );
  if (damage) {
    process.stderr.write(`${damage}\n`);
    return 1;
  }
  return 0;
}
