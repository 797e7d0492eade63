// SPDX-License-Identifier: MIT
//! One live run: listens for the server's pipes, spawns QEMU, fans chunks out
//! to the Workers and runs the ordered stage; when recording (`cannoli
//! record`), also appends the compressed chunks to the recording file.
import type { Pointer } from "bun:ffi";
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { PipeListener } from "../mempipe/PipeListener";
import { PipeReader, destroyPipe } from "../mempipe/PipeReader";
import { consumerLibrary } from "../mempipe/native";
import type { RecordingWriter } from "../record/RecordingWriter";
import type { AnyTracer, TracerArgs } from "../tracer";
import { spawnArgv } from "./argv_bytes";
import { firstLine } from "./errors";
import { ProtocolMismatchError, parseHandshake, withGuestExe } from "./handshake";
import type { FromWorker, WorkerMode } from "./messages";
import { OrderedStage, type RunStats } from "./OrderedStage";
import { BufferedOutput } from "./output";
import { signalName } from "./signals";
import { keepStdioBlocking, makeNodeStdio, stderrIsTerminal, writeStderr } from "./stdio";
import { WorkerPool } from "./WorkerPool";

export { defaultHelperCount, defaultWorkerCount } from "./WorkerPool";
export type { RunStats, ThreadStats } from "./OrderedStage";

export interface SessionOptions {
  /** QEMU's argv before the guest: binary, -plugin ..., -L ... */
  qemuArgv: string[];
  /** Builds the plugin argument from the socket path. */
  pluginArg: (socketPath: string) => string;
  guestArgv: string[];
  tracerSpec: string;
  tracerArgs: TracerArgs;
  tracer: AnyTracer;
  workers: number;
  /** Helper Workers on top of `workers` (see ToWorker's init). */
  helpers: number;
  outputPath?: string;
  quiet: boolean;
  env?: Record<string, string | undefined>;
  /** Also record the raw streams here. */
  recording?: RecordingWriter;
  /** The one line for a QEMU that exited without loading the server. */
  describeLoadFailure: () => string;
}

/** How long after Ctrl-C or SIGTERM a run may take to wind down before the
 *  native guard ends the process (a graceful stop takes ~2 s at most). */
const stopGuardMs = 5000;

/** The server writes `<socket>.loaded` when QEMU loads it, and
 *  `<socket>.refused` with its one line when it will not trace
 *  (zig-src/server/process.zig). */
const serverLoadedSuffix = ".loaded";
const serverRefusedSuffix = ".refused";
/** How often a run puts descriptors 0-2 back in blocking mode (stdio.ts). */
const stdioCheckMs = 100;

export interface SessionResult {
  exitCode: number;
  /** Set when cannoli itself failed (one line for the user). */
  error: string | null;
  stats: RunStats;
}

interface LiveStream {
  consumer: Pointer;
  /** The QEMU process writing it (the guest's pid), and its thread. */
  pid: number;
  tid: number;
  workersDone: number;
  finished: boolean;
}

export class Session {
  readonly #options: SessionOptions;
  readonly #listener: PipeListener;
  readonly #streams = new Map<number, LiveStream>();
  readonly #output: BufferedOutput;
  readonly #stage: OrderedStage;
  #pool: WorkerPool | undefined;
  #nextId = 0;

  constructor(options: SessionOptions) {
    this.#options = options;
    // Before the listener makes its directory: an output that cannot be
    // written ends the command with nothing left behind.
    this.#output = new BufferedOutput(options.outputPath);
    this.#listener = new PipeListener();
    this.#stage = new OrderedStage(options.tracer, this.#output);
  }

  async run(): Promise<SessionResult> {
    const started = performance.now();
    const stage = this.#stage;
    let qemu: ReturnType<typeof Bun.spawn> | undefined;
    let progress: ReturnType<typeof setInterval> | undefined;
    let stdioKeeper: ReturnType<typeof setInterval> | undefined;
    let interrupted = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    let serverLoaded = false;
    let serverRefusal: string | undefined;
    /** cannoli stopped QEMU itself (a tracer or stream failure). */
    let stoppedByUs = false;
    const onSignal = (signal: NodeJS.Signals) => {
      interrupted = true;
      // A terminal's Ctrl-C reaches QEMU too; give it a moment to exit by
      // itself, then make sure it does.
      // Sent to cannoli alone (not from a terminal), the signal must reach
      // the guest's forked processes too: their open streams would keep
      // the run waiting.
      const forwarded = signal === "SIGINT" ? "SIGINT" : "SIGTERM";
      if (qemu && qemu.exitCode === null) qemu.kill(forwarded);
      this.#signalStreams(forwarded);
      killTimer ??= setTimeout(() => {
        qemu?.kill(9);
        this.#signalStreams("SIGKILL");
      }, 2000);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    // Behind those: a main thread held by a tracer that never returns still
    // ends, stopGuardMs after the signal (zig-src/stop_guard.zig).
    consumerLibrary().cnl_stop_guard_arm(stopGuardMs);
    try {
      const recording = this.#options.recording;
      const mode: WorkerMode = recording ? { kind: "record", level: recording.level } : { kind: "trace" };
      this.#listener.allowOnlyDescendants();
      this.#pool = await WorkerPool.start(this.#options.workers + this.#options.helpers, this.#options.helpers, this.#options.tracerSpec, this.#options.tracerArgs, mode, (m) =>
        this.#onWorkerMessage(m),
      );
      stage.init(this.#options.tracerArgs);
      // The Workers have made their process.stdout and process.stderr;
      // so does this thread (trace() runs here): the guest gets its stdio
      // as the shell gave it, blocking.
      makeNodeStdio();
      keepStdioBlocking();
      stdioKeeper = setInterval(keepStdioBlocking, stdioCheckMs);
      const qemuArgv = [...this.#options.qemuArgv, `${this.#options.pluginArg(this.#listener.socketPath)},owner=${process.pid}`];
      qemu = Bun.spawn(spawnArgv(qemuArgv, this.#options.guestArgv, dirname(this.#listener.socketPath)), {
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
        // Bun.spawn without `env` passes the environment cannoli started
        // with, not process.env (which no longer has CANNOLI_RAW_ARGV).
        env: this.#options.env ?? process.env,
      });
      if (!this.#options.quiet && stderrIsTerminal()) {
        let lastEvents = 0;
        progress = setInterval(() => {
          const rate = stage.events - lastEvents;
          lastEvents = stage.events;
          writeStderr(`\rcannoli: ${(rate / 1e6).toFixed(1)} M events/s, ${stage.streamCount} thread(s)\x1b[K`);
        }, 1000);
      }
      await this.#serve(qemu);
    } catch (error) {
      stage.fail(firstLine(error));
    } finally {
      if (stdioKeeper) clearInterval(stdioKeeper);
      if (progress) {
        clearInterval(progress);
        writeStderr("\r\x1b[K");
      }
      if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
        qemu.kill(9);
        stoppedByUs = true;
        await qemu.exited;
      }
      // Forked QEMU processes whose streams are still open: stopped too.
      this.#signalStreams("SIGKILL");
      if (killTimer) clearTimeout(killTimer);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await this.#pool?.stop();
      this.#releaseStreams();
      serverLoaded = existsSync(this.#listener.socketPath + serverLoadedSuffix);
      serverRefusal = readRefusal(this.#listener.socketPath + serverRefusedSuffix);
      this.#listener.close();
    }
    // A QEMU that never loaded the server (too old, no plugin support, a
    // missing symbol) has printed its own reason; the user also gets what
    // to do, and no tracer output that would read as "0 instructions".
    // A "QEMU" that exits 0 without ever loading the server (`--qemu
    // /bin/true`) traced nothing either: the same line, not an empty trace.
    if (qemu && this.#nextId === 0 && !interrupted && qemu.signalCode === null && (qemu.exitCode !== 0 || !serverLoaded)) {
      stage.fail(
        serverRefusal !== undefined
          ? `cannoli: ${serverRefusal}`
          : serverLoaded
            ? `cannoli: QEMU exited (code ${qemu.exitCode}) before the guest ran an instruction; QEMU's message is above`
            : this.#options.describeLoadFailure(),
      );
    }
    stage.finish();
    this.#output.close();
    if (this.#output.failure) stage.fail(this.#output.failure);

    let exitCode = qemu?.exitCode ?? 1;
    if (qemu?.signalCode) {
      const signal = typeof qemu.signalCode === "number" ? (signalName[qemu.signalCode] ?? `signal ${qemu.signalCode}`) : qemu.signalCode;
      exitCode = 128 + Math.max(0, (signalName as readonly string[]).indexOf(signal));
      if (!interrupted) stage.fail(`cannoli: ${this.#options.qemuArgv[0]} died of ${signal}; the trace ends there`);
    }
    if (interrupted) stage.fail("cannoli: interrupted; QEMU stopped");
    // Any failure of the trace (a handler that threw in context, exec..., trace
    // or finish; a corrupt stream) stops the guest and ends with exit 1, not
    // with the 137 of the kill that stopped it.
    if (stoppedByUs && !interrupted) exitCode = 1;
    if (stage.error && exitCode === 0) exitCode = 1;
    return { exitCode, error: stage.error, stats: stage.stats(exitCode, (performance.now() - started) / 1000) };
  }

  /** Streams whose socket closed before they did: a guest that closes every
   *  descriptor also closes QEMU's socket to us, and its thread writes on.
   *  Each ends once its thread is gone (or it says it closed). */
  readonly #hungUp = new Set<Pointer>();
  #hungUpCheckedMs = 0;

  #settleHungUp(): void {
    if (this.#hungUp.size === 0 || performance.now() - this.#hungUpCheckedMs < 20) return;
    this.#hungUpCheckedMs = performance.now();
    for (const consumer of this.#hungUp) {
      const stream = [...this.#streams.values()].find((s) => s.consumer === consumer);
      if (stream && !PipeListener.closedClean(consumer) && threadAlive(stream.pid, stream.tid)) continue;
      PipeListener.markGone(consumer);
      this.#hungUp.delete(consumer);
    }
  }

  /** Serves the socket until QEMU has exited and every stream has drained. */
  async #serve(qemu: ReturnType<typeof Bun.spawn>): Promise<void> {
    let qemuExited = false;
    void qemu.exited.then(() => (qemuExited = true));
    let quietRoundsAfterExit = 0;
    for (;;) {
      // A write that failed (disk full, closed pipe) stops the run: QEMU is
      // stopped rather than traced into nowhere.
      const writeFailure = this.#output.failure ?? this.#options.recording?.failure;
      if (writeFailure) this.#stage.fail(writeFailure);
      if (this.#stage.error) return;
      const event = this.#listener.poll(0);
      if (event) {
        quietRoundsAfterExit = 0;
        if (event.kind === "opened") this.#openStream(event.connection, event.consumer, event.handshake);
        // One bad connection ends only itself: the run goes on, and says so.
        else if (event.kind === "rejected") writeStderr(`cannoli: refused a trace connection (${event.reason})\n`);
        else if (event.kind === "hung-up") this.#hungUp.add(event.consumer);
        // "gone": the Workers see the end through the consumer.
        continue;
      }
      this.#settleHungUp();
      const open = [...this.#streams.values()].some((s) => !s.finished);
      if (qemuExited && !open) {
        // Connections made just before QEMU exited may still be queued.
        if (++quietRoundsAfterExit > 3) return;
      }
      await Bun.sleep(1);
    }
  }

  #openStream(connection: number, consumer: Pointer, received: string): void {
    let thread;
    let handshake;
    try {
      ({ text: handshake, thread } = withGuestExe(received, parseHandshake(received), this.#options.guestArgv[0]!));
    } catch (error) {
      // One bad stream ends only itself; a protocol mismatch is the run's.
      this.#listener.refuse(connection, consumer);
      if (error instanceof ProtocolMismatchError) throw error;
      writeStderr(`cannoli: refused a trace connection (${firstLine(error).replace(/^cannoli: /, "")})\n`);
      return;
    }
    const id = this.#nextId++;
    this.#streams.set(id, { consumer, pid: thread.pid, tid: thread.tid, workersDone: 0, finished: false });
    this.#stage.addStream(id, thread);
    this.#options.recording?.stream(id, handshake);
    this.#pool!.broadcast({ type: "stream", id, consumer: consumer as number, thread });
  }

  #onWorkerMessage(message: FromWorker): void {
    switch (message.type) {
      case "chunk":
        this.#pool!.traced(this.#stage.chunk(message.id, message.ticket, message.items, message.counts));
        break;
      case "recorded":
        this.#options.recording!.chunk(message.id, message.ticket, message.rawBytes, message.data);
        break;
      case "stream-done": {
        const stream = this.#streams.get(message.id);
        if (stream && ++stream.workersDone === this.#pool!.size) this.#finishStream(message.id, stream);
        break;
      }
      case "fatal":
        this.#stage.fail(message.message);
        break;
      case "ready":
        break;
    }
  }

  #finishStream(id: number, stream: LiveStream): void {
    const summary = new PipeReader(stream.consumer).summary();
    stream.finished = true;
    destroyPipe(stream.consumer);
    this.#stage.droppedChunks += summary.droppedChunks;
    this.#options.recording?.end(id, summary);
    this.#stage.endStream(id, summary.chunks, summary.failure);
  }

  /** Sends `signal` to every QEMU process with an unfinished stream (the
   *  listener accepts streams only from cannoli's descendants, and from
   *  peers already gone when accepted). */
  #signalStreams(signal: NodeJS.Signals): void {
    const pids = new Set<number>();
    for (const stream of this.#streams.values()) if (!stream.finished) pids.add(stream.pid);
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
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
}

/** Whether guest thread `tid` of QEMU process `pid` still runs (a zombie
 *  or a vanished task is gone). */
function threadAlive(pid: number, tid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The server's refusal (one line of its own making, so kept to printable
 *  text of a bounded length), or undefined when it wrote none. */
function readRefusal(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const line = text.replace(/[^\x20-\x7e]/g, " ").trim();
  return line === "" ? undefined : line.slice(0, 2048);
}
