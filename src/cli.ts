#!/usr/bin/env bun
// SPDX-License-Identifier: MIT
//! The `cannoli` command line: dispatches to one module per command
//! (src/commands/). Every failure is one line on stderr and a non-zero exit.
import { ElfError } from "./elf";
import { firstLine } from "./runtime/errors";
import { leaveStdioBlockingAtExit, writeStderr, writeStdout } from "./runtime/stdio";
import { UsageError } from "./commands/usage_error";
import { doctor } from "./commands/doctor";
import { info } from "./commands/info";
import { record } from "./commands/record";
import { replay } from "./commands/replay";
import { cov } from "./commands/cov";
import { run, runUsage } from "./commands/run";
import { tenet } from "./commands/tenet";
import { adoptLauncherArgv } from "./runtime/argv_bytes";

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  run,
  record,
  replay,
  info,
  cov,
  tenet,
  // Loaded on use: they bring DuckDB, which no other command needs.
  export: async (argv) => (await import("./commands/export")).exportCommand(argv),
  sql: async (argv) => (await import("./commands/sql")).sql(argv),
  doctor,
};

const usage = `usage: cannoli <command> [options]

commands:
  run      trace a program under qemu-user (cannoli run --help)
  record   store a program's raw trace in a file (cannoli record --help)
  replay   run a tracer on a recording (cannoli replay --help)
  info     what a recording holds (cannoli info --help)
  cov      record a program's basic-block coverage as drcov (cannoli cov --help)
  tenet    trace a program for the Tenet trace explorer (cannoli tenet --help)
  export   write a recording as Parquet tables (cannoli export --help)
  sql      ask a recording or its tables questions in SQL (cannoli sql --help)
  doctor   which backends are available here (cannoli doctor --help)

${runUsage}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    writeStdout(usage);
    return command === undefined ? 2 : 0;
  }
  const handler = commands[command];
  if (!handler) throw new UsageError(`cannoli: unknown command ${command} (try cannoli --help)`);
  return handler(rest);
}

leaveStdioBlockingAtExit();
try {
  adoptLauncherArgv();
  process.exit(await main(process.argv.slice(2)));
} catch (error) {
  const known = error instanceof UsageError || error instanceof ElfError || (error instanceof Error && error.message.startsWith("cannoli:"));
  writeStderr(`${known ? firstLine(error) : `cannoli: ${firstLine(error)}`}\n`);
  process.exit(2);
}
