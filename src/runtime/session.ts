//! One traced run: listens for the server's pipes, spawns QEMU, fans chunks
//! out to the Workers, runs the ordered stage (the tracer's `trace`, strictly
//! in execution order per guest thread), and counts what the records say.
import { cpus } from "node:os";
import type { Pointer } from "bun:ffi";
import { PipeListener } from "../mempipe/PipeListener";
import { PipeReader, destroyPipe } from "../mempipe/PipeReader";
import type { AnyTracer, ThreadInfo } from "../tracer";
import type { ChunkCounts } from "./decode";
import { firstLine } from "./errors";
import { HandshakeError, parseHandshake } from "./handshake";
import type { FromWorker, ToWorker } from "./messages";
import { BufferedOutput } from "./output";
import { signalName } from "./signals";

export interface SessionOptions {
  /** QEMU's argv before the guest: binary, -plugin ..., -L ... */
  qemuArgv: string[];
  /** Builds the plugin argument from the socket path. */
  pluginArg: (socketPath: string) => string;
  guestArgv: string[];
  tracerSpec: string;
  tracer: AnyTracer;
  workers: number;
  outputPath?: string;
  quiet: boolean;
  env?: Record<string, string | undefined>;
}

export interface ThreadStats {
  pid: number;
  tid: number;
  instructions: number;
  reads: number;
  writes: number;
}

export interface SessionResult {
  exitCode: number;
  /** Set when cannoli itself failed (one line for the user). */
  error: string | null;
  stats: {
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
  };
}

interface StreamState {
  id: number;
  thread: ThreadInfo;
  consumer: Pointer;
  nextTicket: number;
  pending: Map<number, { items: unknown[]; counts: ChunkCounts }>;
  workersDone: number;
  stats: ThreadStats;
  finished: boolean;
}

export function defaultWorkerCount(): number {
  return Math.max(1, cpus().length - 1);
}

export class Session {
  readonly #options: SessionOptions;
  readonly #listener = new PipeListener();
  readonly #workers: Worker[] = [];
  readonly #streams = new Map<number, StreamState>();
  readonly #output: BufferedOutput;
  #state: unknown;
  #nextId = 0;
  #error: string | null = null;
  #droppedChunks = 0;
  #events = 0;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#output = new BufferedOutput(options.outputPath);
  }

  async run(): Promise<SessionResult> {
    const started = performance.now();
    let qemu: ReturnType<typeof Bun.spawn> | undefined;
    let progress: ReturnType<typeof setInterval> | undefined;
    let interrupted = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      interrupted = true;
      // A terminal's Ctrl-C reaches QEMU too; give it a moment to exit by
      // itself, then make sure it does.
      if (qemu && qemu.exitCode === null) qemu.kill(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
      killTimer ??= setTimeout(() => qemu?.kill(9), 2000);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      await this.#startWorkers();
      this.#state = this.#options.tracer.init?.();
      qemu = Bun.spawn([...this.#options.qemuArgv, this.#options.pluginArg(this.#listener.socketPath), ...this.#options.guestArgv], {
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
        env: this.#options.env,
      });
      if (!this.#options.quiet && process.stderr.isTTY) {
        let lastEvents = 0;
        progress = setInterval(() => {
          const rate = this.#events - lastEvents;
          lastEvents = this.#events;
          process.stderr.write(`\rcannoli: ${(rate / 1e6).toFixed(1)} M events/s, ${this.#streams.size} thread(s)\x1b[K`);
        }, 1000);
      }
      await this.#serve(qemu);
    } catch (error) {
      this.#fail(firstLine(error));
    } finally {
      if (progress) {
        clearInterval(progress);
        process.stderr.write("\r\x1b[K");
      }
      if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
        qemu.kill(9);
        await qemu.exited;
      }
      if (killTimer) clearTimeout(killTimer);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      for (const worker of this.#workers) worker.terminate();
      this.#releaseStreams();
      this.#listener.close();
    }
    if (!this.#error) {
      try {
        this.#options.tracer.finish?.(this.#state, this.#output);
      } catch (error) {
        this.#fail(`cannoli: tracer handler finish threw: ${firstLine(error)}`);
      }
    }
    this.#output.close();

    let exitCode = qemu?.exitCode ?? 1;
    if (qemu?.signalCode) {
      const signal = typeof qemu.signalCode === "number" ? (signalName[qemu.signalCode] ?? `signal ${qemu.signalCode}`) : qemu.signalCode;
      exitCode = 128 + signalNumber(signal);
      if (!interrupted) this.#fail(`cannoli: ${this.#options.qemuArgv[0]} died of ${signal}; the trace ends there`);
    }
    if (interrupted && !this.#error) this.#fail("cannoli: interrupted; QEMU stopped");
    if (this.#error && exitCode === 0) exitCode = 1;
    return { exitCode, error: this.#error, stats: this.#stats(exitCode, (performance.now() - started) / 1000) };
  }

  /** Keeps the first failure: later ones are usually its consequences. */
  #fail(message: string): void {
    this.#error ??= message;
  }

  async #startWorkers(): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < this.#options.workers; i++) {
      const worker = new Worker(workerEntry());
      this.#workers.push(worker);
      ready.push(
        new Promise((resolve, reject) => {
          worker.onmessage = (event: MessageEvent<FromWorker>) => {
            if (event.data.type === "ready") {
              worker.onmessage = (e: MessageEvent<FromWorker>) => this.#onWorkerMessage(e.data);
              resolve();
            } else if (event.data.type === "fatal") reject(new Error(event.data.message));
          };
          worker.onerror = (event) => reject(new Error(`cannoli: worker failed: ${event.message}`));
        }),
      );
      this.#post(worker, { type: "init", tracer: this.#options.tracerSpec });
    }
    await Promise.all(ready);
  }

  #post(worker: Worker, message: ToWorker): void {
    worker.postMessage(message);
  }

  /** Serves the socket until QEMU has exited and every stream has drained. */
  async #serve(qemu: ReturnType<typeof Bun.spawn>): Promise<void> {
    let qemuExited = false;
    void qemu.exited.then(() => (qemuExited = true));
    let quietRoundsAfterExit = 0;
    for (;;) {
      if (this.#error) return;
      const event = this.#listener.poll(0);
      if (event) {
        quietRoundsAfterExit = 0;
        if (event.kind === "opened") this.#openStream(event.consumer, event.handshake);
        else if (event.kind === "gone") {
          /* Workers see the end through the consumer; nothing to do here. */
        } else {
          this.#fail(`cannoli: a trace connection was refused: ${event.reason}`);
        }
        continue;
      }
      const open = [...this.#streams.values()].some((s) => !s.finished);
      if (qemuExited && !open) {
        // Connections made just before QEMU exited may still be queued.
        if (++quietRoundsAfterExit > 3) return;
      }
      await Bun.sleep(1);
    }
  }

  #openStream(consumer: Pointer, handshake: string): void {
    let thread: ThreadInfo;
    try {
      thread = parseHandshake(handshake);
    } catch (error) {
      destroyPipe(consumer);
      throw error instanceof HandshakeError ? error : new Error(firstLine(error));
    }
    const id = this.#nextId++;
    this.#streams.set(id, {
      id,
      thread,
      consumer,
      nextTicket: 0,
      pending: new Map(),
      workersDone: 0,
      stats: { pid: thread.pid, tid: thread.tid, instructions: 0, reads: 0, writes: 0 },
      finished: false,
    });
    for (const worker of this.#workers) this.#post(worker, { type: "stream", id, consumer: consumer as number, thread });
  }

  #onWorkerMessage(message: FromWorker): void {
    switch (message.type) {
      case "chunk": {
        const stream = this.#streams.get(message.id);
        if (!stream) return;
        stream.pending.set(message.ticket, message);
        this.#drainInOrder(stream);
        break;
      }
      case "stream-done": {
        const stream = this.#streams.get(message.id);
        if (!stream) return;
        if (++stream.workersDone === this.#workers.length) this.#finishStream(stream);
        break;
      }
      case "fatal":
        this.#fail(message.message);
        break;
      case "ready":
        break;
    }
  }

  /** The ordered stage: `trace` sees a thread's chunks strictly by ticket. */
  #drainInOrder(stream: StreamState): void {
    for (;;) {
      const next = stream.pending.get(stream.nextTicket);
      if (!next) return;
      stream.pending.delete(stream.nextTicket);
      stream.nextTicket++;
      stream.stats.instructions += next.counts.instructions;
      stream.stats.reads += next.counts.reads;
      stream.stats.writes += next.counts.writes;
      this.#events += next.counts.instructions + next.counts.reads + next.counts.writes;
      if (this.#error) continue;
      try {
        this.#options.tracer.trace?.(this.#state, next.items, stream.thread, this.#output);
      } catch (error) {
        this.#fail(`cannoli: tracer handler trace threw for thread ${stream.thread.pid}:${stream.thread.tid}: ${firstLine(error)}`);
      }
    }
  }

  #finishStream(stream: StreamState): void {
    const summary = new PipeReader(stream.consumer).summary();
    this.#droppedChunks += summary.droppedChunks;
    if (stream.pending.size > 0 || stream.nextTicket !== summary.chunks) {
      this.#fail(`cannoli: thread ${stream.thread.pid}:${stream.thread.tid}: ${summary.chunks} chunks published, ${stream.nextTicket} traced`);
    }
    if (summary.failure) this.#fail(`cannoli: trace of thread ${stream.thread.pid}:${stream.thread.tid} is corrupted: ${summary.failure}`);
    stream.finished = true;
    destroyPipe(stream.consumer);
    try {
      if (!this.#error) this.#options.tracer.threadEnd?.(this.#state, stream.thread, this.#output);
    } catch (error) {
      this.#fail(`cannoli: tracer handler threadEnd threw: ${firstLine(error)}`);
    }
  }

  /** Unmaps streams that never finished (the run was cut short). */
  #releaseStreams(): void {
    for (const stream of this.#streams.values()) {
      if (!stream.finished) {
        stream.finished = true;
        destroyPipe(stream.consumer);
      }
    }
  }

  #stats(exitCode: number, wallS: number): SessionResult["stats"] {
    const perThread = [...this.#streams.values()].map((s) => s.stats);
    const sum = (key: "instructions" | "reads" | "writes") => perThread.reduce((n, t) => n + t[key], 0);
    const first = this.#streams.values().next().value as StreamState | undefined;
    return {
      instructions: sum("instructions"),
      reads: sum("reads"),
      writes: sum("writes"),
      threads: perThread.length,
      processes: new Set(perThread.map((t) => t.pid)).size,
      exit_code: exitCode,
      wall_s: Number(wallS.toFixed(3)),
      backend: first?.thread.backend ?? "plugin",
      dropped_chunks: this.#droppedChunks,
      per_thread: perThread,
    };
  }
}

/** The Worker script: next to this file, or, inside the single executable,
 *  under the bundle root (src/), where `bun build --compile` puts entry points. */
function workerEntry(): string {
  if (import.meta.url.includes("/$bunfs/")) return "./runtime/worker.ts";
  return new URL("./worker.ts", import.meta.url).href;
}

function signalNumber(name: string): number {
  return Math.max(0, (signalName as readonly string[]).indexOf(name));
}
