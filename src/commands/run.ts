// SPDX-License-Identifier: MIT
//! `cannoli run`: trace a guest program live.
import { guestPathArgument } from "../runtime/argv_bytes";
import { writeFileSync } from "node:fs";
import { readGuestElf } from "../elf";
import { nativePath } from "../native_paths";
import { loadTracer } from "../runtime/load_tracer";
import { describeWriteError } from "../runtime/output";
import type { AnyTracer } from "../tracer";
import { recordLevelMax } from "../record/format";
import { Session } from "../runtime/session";
import { writeStderr } from "../runtime/stdio";
import { printSymbolsTracer } from "../tracers/print_symbols";
import { tailTracer } from "../tracers/tail";
import { qemuVersion, serverLoadFailure } from "./qemu_version";
import { findPatchedQemu, findQemu, findSysroot, qemuCommand, serverArgument } from "./qemu_paths";
import type { RecordingWriter } from "../record/RecordingWriter";
import { type GuestRunOptions, guestRunDefaults, guestRunOption, qemuArgUsage, scanGuestCommand, workerOptionsUsage } from "./guest_argv";
import { addTracerArg, tracerArgUsage } from "./tracer_args";
import { UsageError, checkOutputPath } from "./usage_error";

export const runUsage = `usage: cannoli run [options] -- <guest> [args...]

Traces every instruction and memory access of a program running under
qemu-user, and hands the trace to a TypeScript tracer running on Bun Workers.

options:
  --tracer NAME|FILE   built-in (count, print, tail, null, demo) or a tracer module (.ts/.js)
                       [default: count]
${tracerArgUsage}  -o FILE              tracer output to FILE instead of stderr
  --symbols            with --tracer print: follow each exec line's pc with
                       module!function+0xoff (module+0xoff without symbols)
  --stats-json FILE    write run statistics as JSON at exit
${workerOptionsUsage}  --range LO-HI        trace only instructions in [LO, HI) (repeatable; hex with 0x)
  --no-mem             do not trace memory accesses
  --no-values          trace memory addresses without the values loaded or stored
  --regs, --regs=LIST  record registers before each instruction, as changes (plugin
                       backend on QEMU 9.0+, or the patched backend): the core set
                       (general-purpose, sp, pc, flags), or LIST: names and * globs,
                       comma-separated, or all
  --once               trace each instruction only the first time it runs (coverage)
  --no-syscalls        do not trace system calls (mmap/munmap events stay)
  --no-blocks          one record per instruction instead of per block (slower; for comparison)
  --backend NAME       plugin (any QEMU 7.2+, -plugin) or patched (QEMU built by
                       npm run qemu:build, -cannoli: recording code inlined) [default: plugin]
  --qemu PATH          QEMU binary [default: qemu-<arch> from the guest ELF; with
                       --backend patched, the newest one npm run qemu:build made]
${qemuArgUsage}  --sysroot DIR        where a dynamic guest's libraries live [default: QEMU_LD_PREFIX,
                       else /usr/<gnu-triple> when present]
  --quiet              no progress line
  -h, --help           this text

example:
  cannoli run --tracer print -o trace.txt -- ./hello-mipsel
`;

export interface RunArgs extends GuestRunOptions {
  tracer: string;
  output?: string;
  /** `cannoli record` only: where the tracer writes (-o names the recording). */
  traceOutput?: string;
  /** `cannoli record` only: the chunks' zstd level (0: stored as they are). */
  level?: number;
  statsJson?: string;
  ranges: string[];
  mem: boolean;
  values: boolean;
  /** `--regs`: "core", "all", or names/globs joined by ':' (the plugin's form). */
  regs?: string;
  once: boolean;
  syscalls: boolean;
  blocks: boolean;
  backend: "plugin" | "patched";
  symbols: boolean;
  tracerArgs: Record<string, string>;
  guest: string[];
}

export function parseRunArgs(argv: string[], command = "run", usageText = runUsage): RunArgs {
  const args: RunArgs = {
    ...guestRunDefaults(),
    tracer: "count",
    ranges: [],
    mem: true,
    values: true,
    once: false,
    syscalls: true,
    blocks: true,
    backend: "plugin",
    symbols: false,
    tracerArgs: {},
    guest: [],
  };
  args.guest = scanGuestCommand(argv, command, usageText, (arg, value) => {
    switch (arg) {
      case "--tracer":
        args.tracer = value();
        return true;
      case "--tracer-arg":
        addTracerArg(args.tracerArgs, value());
        return true;
      case "-o":
      case "--output":
        args.output = value();
        return true;
      case "--trace-output":
        args.traceOutput = value();
        return true;
      case "--level":
        args.level = parseRecordLevel(value());
        return true;
      case "--stats-json":
        args.statsJson = value();
        return true;
      case "--range": {
        const range = value();
        const match = /^(0x[0-9a-fA-F]+|\d+)-(0x[0-9a-fA-F]+|\d+)$/.exec(range);
        if (!match || BigInt(match[1]!) >= BigInt(match[2]!)) throw new UsageError(`cannoli: --range ${range} is not LO-HI with LO < HI`);
        args.ranges.push(range);
        return true;
      }
      case "--no-mem":
        args.mem = false;
        return true;
      case "--no-values":
        args.values = false;
        return true;
      case "--regs":
        args.regs = "core";
        return true;
      case "--once":
        args.once = true;
        return true;
      case "--no-syscalls":
        args.syscalls = false;
        return true;
      case "--no-blocks":
        args.blocks = false;
        return true;
      case "--backend": {
        const backend = value();
        if (backend !== "plugin" && backend !== "patched") throw new UsageError(`cannoli: --backend is plugin or patched, not ${backend}`);
        args.backend = backend;
        return true;
      }
      case "--symbols":
        args.symbols = true;
        return true;
      default:
        if (arg.startsWith("--regs=")) {
          args.regs = parseRegisterList(arg.slice("--regs=".length));
          return true;
        }
        return guestRunOption(args, arg, value);
    }
    return true;
  });
  if (args.guest.length === 0) throw new UsageError("cannoli: no guest program given (cannoli run [options] -- <guest> [args...])");
  if (args.symbols && args.tracer !== "print") throw new UsageError("cannoli: --symbols works with --tracer print");
  if (args.level !== undefined && command !== "record") throw new UsageError("cannoli: --level sets how cannoli record compresses; run has nothing to compress");
  return args;
}

/** `record --level N`: 0 stores chunks as they are, 1-19 are zstd's levels. */
function parseRecordLevel(text: string): number {
  const level = Number(text);
  if (!/^\d+$/.test(text) || level > recordLevelMax) throw new UsageError(`cannoli: --level ${text}: give 0 (store chunks as they are) to ${recordLevelMax} (zstd's levels)`);
  return level;
}

/** `--regs=LIST`: register names and * globs, comma-separated (QEMU's own
 *  names, e.g. x0,x19,sp,pc on aarch64), or core, or all. */
function parseRegisterList(list: string): string {
  const names = list.split(",");
  if (names.some((name) => !/^[A-Za-z0-9_.*]+$/.test(name))) throw new UsageError(`cannoli: --regs=${list}: give register names or * globs separated by commas`);
  return names.join(":");
}

/** --regs needs QEMU 9.0's register access on the plugin backend (the
 *  patched QEMU reads registers itself). */
function checkRegisters(args: RunArgs, qemu: string): void {
  if (!args.regs || args.backend === "patched") return;
  const version = qemuVersion(qemu);
  if (version && version.major < 9)
    throw new UsageError(`cannoli: --regs needs QEMU 9.0 or newer (register access for plugins); ${qemu} is QEMU ${version.text} (give --qemu a newer one)`);
}

export async function run(argv: string[]): Promise<number> {
  return runSession(parseRunArgs(argv));
}

/** Runs the guest under QEMU with the server: tracing, or, with a
 *  `recording`, writing the raw streams there (`cannoli record`). */
export async function runSession(args: RunArgs, recording?: RecordingWriter): Promise<number> {
  const guestPath = args.guest[0]!;
  const elf = readGuestElf(guestPathArgument(args.guest));
  const qemu = args.backend === "patched" && !args.qemu ? findPatchedQemu(elf.arch) : findQemu(elf.arch, args.qemu);
  checkRegisters(args, qemu);
  checkOutputPath(args.statsJson, "--stats-json");
  const sysroot = findSysroot(elf.arch, elf.interpreter, args.sysroot);
  const serverLibrary = nativePath("libcannoli_server.so");
  // --symbols: Workers load the built-in `print-symbols`; the ordered stage
  // gets one that knows the sysroot the guest's libraries come from (so
  // does `tail`'s, which always symbolizes).
  const tracerSpec = args.symbols ? "print-symbols" : args.tracer;
  const tracer = args.symbols ? (printSymbolsTracer({ sysroot }) as AnyTracer) : args.tracer === "tail" ? (tailTracer({ sysroot }) as AnyTracer) : await loadTracer(args.tracer);
  const pluginOptions = [
    ...args.ranges.map((r) => `range=${r}`),
    `mem=${args.mem && !args.once ? "on" : "off"}`,
    `values=${args.values ? "on" : "off"}`,
    ...(args.regs ? [`regs=${args.regs}`] : []),
    `once=${args.once ? "on" : "off"}`,
    `syscalls=${args.syscalls ? "on" : "off"}`,
    `blocks=${args.blocks ? "on" : "off"}`,
  ];
  const session = new Session({
    // The patched QEMU's -cannoli takes the same "<server.so>,key=value" text.
    qemuArgv: qemuCommand(qemu, sysroot, args.qemuArgs, args.backend),
    pluginArg: (socketPath) => serverArgument(serverLibrary, socketPath, pluginOptions),
    guestArgv: args.guest,
    tracerSpec,
    tracerArgs: args.tracerArgs,
    tracer,
    workers: args.workers,
    helpers: args.helpers,
    outputPath: recording ? args.traceOutput : args.output,
    quiet: args.quiet,
    recording,
    describeLoadFailure: () => serverLoadFailure(qemu, args.backend),
  });
  const result = await session.run();
  if (recording && result.error && result.stats.threads === 0) await recording.discard();
  else await recording?.close(result.stats.exit_code);
  const errors = [result.error, result.error ? null : (recording?.failure ?? null), writeStats(args.statsJson, result.stats)].filter((e) => e !== null);
  for (const error of errors) writeStderr(`${error}\n`);
  return errors.length > 0 && result.exitCode === 0 ? 1 : result.exitCode;
}

/** Writes `--stats-json`; the one line for a write that failed, else null. */
export function writeStats(path: string | undefined, stats: object): string | null {
  if (!path) return null;
  try {
    writeFileSync(path, `${JSON.stringify(stats, null, 2)}\n`);
    return null;
  } catch (error) {
    return `cannoli: cannot write --stats-json ${path}: ${describeWriteError(error)}`;
  }
}
