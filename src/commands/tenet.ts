// SPDX-License-Identifier: MIT
//! `cannoli tenet -o DIR -- <guest> [args...]`: traces the guest with its
//! registers and memory and writes one Tenet trace per guest thread into
//! DIR (src/tracers/tenet.ts says what Tenet reads).
import { readGuestElf } from "../elf";
import { tenetRegisters } from "../tracers/tenet";
import { parseRunArgs, runSession } from "./run";
import { UsageError, makeOutputDirectory } from "./usage_error";

export const tenetUsage = `usage: cannoli tenet -o DIR [options] -- <guest> [args...]

Runs the guest like \`cannoli run --regs\` and writes, for each guest thread,
a trace the Tenet explorer opens (DIR/<pid>-<tid>.log): per instruction, the
registers that changed, the instruction pointer and its memory reads and
writes. Tenet reads x86, x86_64 and 32-bit ARM guests. Needs registers:
the plugin backend on QEMU 9.0 or newer (--qemu), or --backend patched
(x86_64). Takes the options of \`cannoli run\`.
A recording made with --regs converts too:
  cannoli replay run.cnl --tracer tenet --tracer-arg dir=DIR

example:
  cannoli tenet --qemu /opt/qemu-10/bin/qemu-x86_64 -o traces -- ./crackme
  cannoli tenet --backend patched -o traces -- ./crackme
`;

export async function tenet(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv, "tenet", tenetUsage);
  if (!args.output) throw new UsageError("cannoli: tenet needs -o DIR (where the per-thread traces go)");
  if (argv.includes("--tracer")) throw new UsageError("cannoli: tenet runs its own tracer; use cannoli run for another");
  if (!args.mem || !args.values) throw new UsageError("cannoli: tenet traces need memory values: drop --no-mem / --no-values");
  const arch = readGuestElf(args.guest[0]!).arch;
  if (!tenetRegisters[arch]) throw new UsageError(`cannoli: Tenet reads x86, x86_64 and 32-bit ARM traces; ${args.guest[0]} is ${arch}`);
  makeOutputDirectory(args.output, "-o", { empty: false });
  args.tracer = "tenet";
  args.tracerArgs = { ...args.tracerArgs, dir: args.output };
  args.output = undefined;
  args.regs ??= "core";
  return runSession(args);
}
