// SPDX-License-Identifier: MIT
//! `cannoli cov`: basic-block coverage of a guest run, as a drcov file (or
//! `module+0xoffset` lines). Runs the guest with `--once` hooks (each
//! instruction recorded the first time it runs, no memory accesses), so
//! covered code runs at full speed afterwards, through the built-in `cov`
//! tracer (src/tracers/cov.ts). The file is written when the session ends,
//! also when the guest crashed or was killed by a signal (then with what the
//! stream held up to that point).
import { guestPathArgument } from "../runtime/argv_bytes";
import { writeFileSync } from "node:fs";
import { type DrcovVersion, encodeDrcov } from "../coverage/drcov_writer";
import { encodeModoff } from "../coverage/modoff_writer";
import { readGuestElf } from "../elf";
import { nativePath } from "../native_paths";
import { Session } from "../runtime/session";
import { writeStderr } from "../runtime/stdio";
import type { AnyTracer, ThreadInfo } from "../tracer";
import { type CovState, covTracer, settleCoverage } from "../tracers/cov";
import { serverLoadFailure } from "./qemu_version";
import { findQemu, findSysroot, qemuCommand, serverArgument } from "./qemu_paths";
import { type GuestRunOptions, guestRunDefaults, guestRunOption, qemuArgUsage, scanGuestCommand, workerOptionsUsage } from "./guest_argv";
import { UsageError, checkOutputPath } from "./usage_error";

export const covUsage = `usage: cannoli cov -o FILE [options] -- <guest> [args...]

Records which code a program runs (basic-block coverage) under qemu-user,
for Lighthouse, bncov, Dragon Dance and the like. Each instruction is
recorded the first time it runs; covered code then runs at full speed.

options:
  -o FILE              coverage file to write (required)
  --format FORMAT      drcov: DynamoRIO drcov, module table version 4
                       modoff: one "module+0xoffset" line per block
                       [default: drcov]
  --drcov-version 2|3  2: what Lighthouse, bncov and drcovpy read; 3: what
                       CutterDRcov reads, modules over 4 GiB split [default: 2]
${workerOptionsUsage}  --qemu PATH          QEMU binary [default: qemu-<arch> from the guest ELF]
${qemuArgUsage}  --sysroot DIR        where a dynamic guest's libraries live
  --quiet              no progress line, no summary
  -h, --help           this text

example:
  cannoli cov -o busybox.drcov -- ./busybox-mipsel ls /
`;

type CovFormat = "drcov" | "modoff";

interface CovArgs extends GuestRunOptions {
  output?: string;
  format: CovFormat;
  drcovVersion: DrcovVersion;
  guest: string[];
}

function parseCovArgs(argv: string[]): CovArgs {
  const args: CovArgs = { ...guestRunDefaults(), format: "drcov", drcovVersion: 2, guest: [] };
  args.guest = scanGuestCommand(argv, "cov", covUsage, (arg, value) => {
    switch (arg) {
      case "-o":
      case "--output":
        args.output = value();
        return true;
      case "--format": {
        const format = value();
        if (format !== "drcov" && format !== "modoff") throw new UsageError(`cannoli: --format ${format}: use drcov or modoff`);
        args.format = format;
        return true;
      }
      case "--drcov-version": {
        const version = value();
        if (version !== "2" && version !== "3") throw new UsageError(`cannoli: --drcov-version ${version}: use 2 or 3`);
        args.drcovVersion = Number(version) as DrcovVersion;
        return true;
      }
      default:
        return guestRunOption(args, arg, value);
    }
    return true;
  });
  if (!args.output) throw new UsageError("cannoli: cov needs -o FILE");
  if (args.guest.length === 0) throw new UsageError("cannoli: no guest program given (cannoli cov -o FILE -- <guest> [args...])");
  return args;
}

/** The coverage file's bytes for the run's final state. */
function encodeCoverage(state: CovState, args: CovArgs, guest: ThreadInfo): { data: Uint8Array | string; blocks: number; modules: number; leftOut: number } {
  settleCoverage(state);
  // No stream ever arrived (the guest died before its first chunk was
  // published): still list the executable.
  if (state.symbolizer.processes.size === 0) state.symbolizer.process(guest);
  const covered = state.coverage.modules(state.symbolizer.processes.values());
  const modules = covered.map((c) => ({
    path: c.module.path,
    start: c.module.start,
    end: c.module.end,
    entry: c.module.entry,
    fileOffsetOf: (addr: number) => c.module.file.elf.fileOffsetOf(addr - c.module.bias) ?? addr - c.module.start,
    blocks: [...c.blocks].map(([start, bytes]) => ({ start, bytes })),
  }));
  const blocks = modules.reduce((n, m) => n + m.blocks.length, 0);
  if (args.format === "modoff") return { data: encodeModoff(modules), blocks, modules: modules.length, leftOut: 0 };
  const { bytes, blocksLeftOut } = encodeDrcov(modules, args.drcovVersion);
  return { data: bytes, blocks, modules: modules.length, leftOut: blocksLeftOut };
}

export async function cov(argv: string[]): Promise<number> {
  const args = parseCovArgs(argv);
  const output = args.output!;
  checkOutputPath(output, "-o");
  const guestPath = args.guest[0]!;
  const elf = readGuestElf(guestPathArgument(args.guest));
  const qemu = findQemu(elf.arch, args.qemu);
  const sysroot = findSysroot(elf.arch, elf.interpreter, args.sysroot);
  const serverLibrary = nativePath("libcannoli_server.so");
  // System calls stay on: mmap/munmap events come from their returns. A
  // guest killed by a signal loses nothing: the consumer salvages the chunk
  // the server was filling (mempipe's open-chunk header).
  const pluginOptions = ["mem=off", "once=on", "syscalls=on", "blocks=on"];
  let summary = "";
  const tracer = {
    ...covTracer({ sysroot }),
    finish(state: CovState) {
      const guest: ThreadInfo = {
        pid: 0,
        ppid: -1,
        tid: 0,
        image: 0,
        arch: elf.arch,
        pointerBytes: elf.bits === 64 ? 8 : 4,
        bigEndian: elf.bigEndian,
        exe: guestPath,
        comm: "",
        backend: "plugin",
        registers: [],
      };
      const { data, blocks, modules, leftOut } = encodeCoverage(state, args, guest);
      writeFileSync(output, data);
      const outside = state.coverage.outsideBlocks;
      const notes = [
        ...(outside ? [`${outside} blocks outside any module left out`] : []),
        ...(leftOut ? [`${leftOut} blocks over 4 GiB into their module left out: --drcov-version 3 keeps them`] : []),
      ];
      summary = `cannoli: ${blocks} blocks in ${modules} modules written to ${output}${notes.length ? ` (${notes.join("; ")})` : ""}\n`;
    },
  };
  const session = new Session({
    qemuArgv: qemuCommand(qemu, sysroot, args.qemuArgs, "plugin"),
    pluginArg: (socketPath) => serverArgument(serverLibrary, socketPath, pluginOptions),
    guestArgv: args.guest,
    tracerSpec: "cov",
    tracerArgs: {},
    tracer: tracer as AnyTracer,
    workers: args.workers,
    helpers: args.helpers,
    quiet: args.quiet,
    describeLoadFailure: () => serverLoadFailure(qemu, "plugin"),
  });
  const result = await session.run();
  if (!args.quiet && summary) writeStderr(summary);
  if (result.error) writeStderr(`${result.error}\n`);
  return result.exitCode;
}
