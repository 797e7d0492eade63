// SPDX-License-Identifier: MIT
//! The ordered stage: hands each guest thread's chunk results to the tracer's
//! `trace` strictly in ticket order (execution order), keeps the counts the
//! run's statistics come from, and ends streams. Shared by live runs and
//! replays, so both present a tracer with exactly the same calls.
import type { AnyTracer, ThreadInfo, TracerArgs } from "../tracer";
import type { ChunkCounts } from "./decode";
import { firstLine } from "./errors";
import type { BufferedOutput } from "./output";

export interface ThreadStats {
  pid: number;
  /** Execs of `pid` before this thread's program (ThreadInfo.image). */
  image: number;
  tid: number;
  instructions: number;
  reads: number;
  writes: number;
}

export interface RunStats {
  instructions: number;
  reads: number;
  writes: number;
  threads: number;
  processes: number;
  exit_code: number;
  wall_s: number;
  backend: string;
  dropped_chunks: number;
  per_thread: ThreadStats[];
}

interface StreamState {
  thread: ThreadInfo;
  nextTicket: number;
  pending: Map<number, { items: unknown[]; counts: ChunkCounts }>;
  stats: ThreadStats;
  finished: boolean;
}

export class OrderedStage {
  readonly #tracer: AnyTracer;
  readonly #output: BufferedOutput;
  readonly #streams = new Map<number, StreamState>();
  #state: unknown;
  /** The first failure; later ones are usually its consequences. */
  error: string | null = null;
  droppedChunks = 0;
  events = 0;

  constructor(tracer: AnyTracer, output: BufferedOutput) {
    this.#tracer = tracer;
    this.#output = output;
  }

  fail(message: string): void {
    this.error ??= message;
  }

  /** Handlers are synchronous: one that returns a promise (an async
   *  handler) would run, and fail, after the run's end. It ends the run
   *  with one line instead, its promise's outcome ignored. */
  #synchronous(handler: string, result: unknown): void {
    if (typeof (result as { then?: unknown } | undefined)?.then !== "function") return;
    (result as Promise<unknown>).catch(() => {});
    this.fail(`cannoli: tracer handler ${handler} returned a promise; handlers must be synchronous (not async)`);
  }

  /** Builds the tracer's state; a throwing `init` ends the run before
   *  QEMU starts, with one line naming the handler. */
  init(args: TracerArgs): void {
    try {
      this.#state = this.#tracer.init?.(args);
    } catch (error) {
      throw new Error(`cannoli: tracer handler init threw: ${firstLine(error)}`);
    }
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  get openStreams(): number {
    let open = 0;
    for (const stream of this.#streams.values()) if (!stream.finished) open++;
    return open;
  }

  addStream(id: number, thread: ThreadInfo): void {
    this.#streams.set(id, {
      thread,
      nextTicket: 0,
      pending: new Map(),
      stats: { pid: thread.pid, image: thread.image, tid: thread.tid, instructions: 0, reads: 0, writes: 0 },
      finished: false,
    });
  }

  /** Takes one chunk's items; returns how many chunks are done with (0 while
   *  an earlier ticket of the stream is still out; a chunk of an unknown
   *  stream is dropped, and done with). */
  chunk(id: number, ticket: number, items: unknown[], counts: ChunkCounts): number {
    const stream = this.#streams.get(id);
    if (!stream) return 1;
    stream.pending.set(ticket, { items, counts });
    for (let traced = 0; ; traced++) {
      const next = stream.pending.get(stream.nextTicket);
      if (!next) return traced;
      stream.pending.delete(stream.nextTicket);
      stream.nextTicket++;
      stream.stats.instructions += next.counts.instructions;
      stream.stats.reads += next.counts.reads;
      stream.stats.writes += next.counts.writes;
      this.events += next.counts.instructions + next.counts.reads + next.counts.writes;
      if (this.error) continue;
      try {
        this.#synchronous("trace", this.#tracer.trace?.(this.#state, next.items, stream.thread, this.#output));
      } catch (error) {
        this.fail(`cannoli: tracer handler trace threw for thread ${stream.thread.pid}:${stream.thread.tid}: ${firstLine(error)}`);
      }
    }
  }

  /** Ends a stream once every chunk of it has come back; `chunks` is how
   *  many its producer published. `cut`: a damaged recording held the
   *  stream, so it ends at its first missing chunk (chunk frames are
   *  written out of order, and those after the gap are past the damage). */
  endStream(id: number, chunks: number, failure: string | null, cut = false): void {
    const stream = this.#streams.get(id);
    if (!stream || stream.finished) return;
    stream.finished = true;
    const who = `thread ${stream.thread.pid}:${stream.thread.tid}`;
    if (cut) stream.pending.clear();
    else if (stream.pending.size > 0 || stream.nextTicket !== chunks) this.fail(`cannoli: ${who}: ${chunks} chunks published, ${stream.nextTicket} traced`);
    if (failure) this.fail(`cannoli: trace of ${who} is corrupted: ${failure}`);
    if (this.error) return;
    try {
      this.#synchronous("threadEnd", this.#tracer.threadEnd?.(this.#state, stream.thread, this.#output));
    } catch (error) {
      this.fail(`cannoli: tracer handler threadEnd threw: ${firstLine(error)}`);
    }
  }

  finish(): void {
    if (this.error) return;
    try {
      this.#synchronous("finish", this.#tracer.finish?.(this.#state, this.#output));
    } catch (error) {
      this.fail(`cannoli: tracer handler finish threw: ${firstLine(error)}`);
    }
  }

  stats(exitCode: number, wallS: number): RunStats {
    const streams = [...this.#streams.values()];
    const perThread = streams.map((s) => s.stats);
    const sum = (key: "instructions" | "reads" | "writes") => perThread.reduce((n, t) => n + t[key], 0);
    return {
      instructions: sum("instructions"),
      reads: sum("reads"),
      writes: sum("writes"),
      threads: perThread.length,
      processes: new Set(perThread.map((t) => `${t.pid}.${t.image}`)).size,
      exit_code: exitCode,
      wall_s: Number(wallS.toFixed(3)),
      backend: streams[0]?.thread.backend ?? "plugin",
      dropped_chunks: this.droppedChunks,
      per_thread: perThread,
    };
  }
}
