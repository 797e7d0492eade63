// SPDX-License-Identifier: MIT
//! Replays a recording through the same Workers, decoder and ordered stage as
//! a live run, so a tracer sees exactly the calls it would have seen live.
//! Chunks are fanned out to all Workers (which decompress and decode them in
//! parallel) with a bound on how many are in flight.
import { RecordingReader } from "../record/RecordingReader";
import { FrameKind, runStream } from "../record/format";
import type { AnyTracer, ThreadInfo, TracerArgs } from "../tracer";
import { firstLine } from "./errors";
import { ProtocolMismatchError, parseHandshake } from "./handshake";
import { protocolVersion } from "../wire/records.generated";
import type { FromWorker } from "./messages";
import { OrderedStage, type RunStats } from "./OrderedStage";
import { BufferedOutput } from "./output";
import { WorkerPool } from "./WorkerPool";

export interface ReplayOptions {
  path: string;
  tracerSpec: string;
  tracerArgs: TracerArgs;
  tracer: AnyTracer;
  workers: number;
  outputPath?: string;
}

export interface ReplayResult {
  /** A tracer failure. */
  error: string | null;
  /** Where the recording is damaged or ends early (offset named): what was
   *  replayed is partial. */
  damage: string | null;
  stats: RunStats;
}

/** Chunks handed to Workers and not yet back, per Worker. */
const inFlightPerWorker = 4;

export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const output = new BufferedOutput(options.outputPath);
  const stage = new OrderedStage(options.tracer, output);
  const reader = new RecordingReader(options.path);
  const chunksSeen = new Map<number, number>();
  const failures = new Map<number, string | null>();
  let recordedExitCode = -1;
  let inFlight = 0;
  let wake: (() => void) | null = null;
  let damage: string | null = null;
  const onMessage = (message: FromWorker) => {
    if (message.type === "chunk") {
      stage.chunk(message.id, message.ticket, message.items, message.counts);
      inFlight--;
      wake?.();
    } else if (message.type === "fatal") {
      stage.fail(message.message);
      wake?.();
    }
  };
  let pool: WorkerPool | undefined;
  try {
    pool = await WorkerPool.start(options.workers, 0, options.tracerSpec, options.tracerArgs, { kind: "trace" }, onMessage);
    stage.init(options.tracerArgs);
    let next = 0;
    try {
      for (const frame of reader.frames()) {
        if (stage.error) break;
        if (frame.kind === FrameKind.stream) {
          const thread = recordedHandshake(options.path, new TextDecoder().decode(frame.payload));
          stage.addStream(frame.stream, thread);
          chunksSeen.set(frame.stream, 0);
          pool.broadcast({ type: "stream", id: frame.stream, consumer: 0, thread });
        } else if (frame.kind === FrameKind.chunk) {
          if (!chunksSeen.has(frame.stream)) throw new Error(`cannoli: recording damaged at offset ${frame.offset}: chunk of unknown stream`);
          chunksSeen.set(frame.stream, chunksSeen.get(frame.stream)! + 1);
          while (inFlight >= inFlightPerWorker * pool.size && !stage.error) await new Promise<void>((resolve) => (wake = resolve));
          inFlight++;
          const worker = pool.workers[next++ % pool.size]!;
          pool.post(worker, { type: "replay-chunk", id: frame.stream, ticket: frame.ticket, rawBytes: frame.rawBytes, data: frame.payload }, [frame.payload.buffer as ArrayBuffer]);
        } else if (frame.kind === FrameKind.end) {
          const summary = JSON.parse(new TextDecoder().decode(frame.payload)) as { failure?: string | null; exit_code?: number };
          if (frame.stream === runStream) recordedExitCode = summary.exit_code ?? -1;
          else failures.set(frame.stream, summary.failure ?? null);
        }
      }
    } catch (error) {
      if (error instanceof ProtocolMismatchError) throw error;
      damage = firstLine(error);
    }
    while (inFlight > 0 && !stage.error) await new Promise<void>((resolve) => (wake = resolve));
    for (const [id, chunks] of chunksSeen) stage.endStream(id, chunks, failures.get(id) ?? null, damage !== null);
  } catch (error) {
    stage.fail(firstLine(error));
  } finally {
    pool?.terminate();
    reader.close();
  }
  stage.finish();
  output.close();
  if (output.failure) stage.fail(output.failure);
  return { error: stage.error, damage, stats: stage.stats(recordedExitCode, (performance.now() - started) / 1000) };
}

/** A stream's handshake as recorded; a recording made with another wire
 *  protocol is refused as a whole, in one line that says which. */
function recordedHandshake(path: string, text: string): ThreadInfo {
  try {
    return parseHandshake(text);
  } catch (error) {
    if (!(error instanceof ProtocolMismatchError)) throw error;
    throw new ProtocolMismatchError(
      error.protocol,
      `cannoli: ${path} was recorded with wire protocol ${error.protocol}; this cannoli reads protocol ${protocolVersion} (record the run again, or replay it with the cannoli that recorded it)`,
    );
  }
}
