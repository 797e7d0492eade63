// SPDX-License-Identifier: MIT
//! QEMU's own tracers on a small input: the execlog plugin (one text line per
//! instruction, with memory addresses) and `-d exec,nochain` (one line per
//! executed block). Logs go to a file in the scratch directory (deleted
//! after); their rate per instruction is extrapolated to the full input.
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Runner } from "./measure";
import { median } from "./stats";
import type { Workload } from "./workloads";

export interface LoggerResult {
  workload: Workload;
  logger: "execlog plugin" | "-d exec,nochain";
  /** Instructions of the small input (QEMU's insn plugin). */
  smallInstructions: number;
  /** Plain QEMU on the small input. */
  plainS: number;
  wallS: number;
  logBytes: number;
  /** Executed blocks (lines of -d exec,nochain); NaN for execlog. */
  blocks: number;
  /** ns per instruction, startup included. */
  nsPerInstruction: number;
  /** wall per instruction × the full input's instruction count. */
  extrapolatedFullS: number;
}

async function countLines(path: string, prefix: string): Promise<number> {
  const result = Bun.spawnSync(["grep", "-c", `^${prefix}`, path]);
  return Number(result.stdout.toString().trim() || "0");
}

export async function measureLoggers(
  runner: Runner,
  workload: Workload,
  oracleDir: string,
  smallInstructions: number,
  fullInstructions: number,
  runs: number,
): Promise<LoggerResult[]> {
  const wrapper = runner.qemuWrapper(workload.arch);
  const log = join(runner.scratch, "qemu.log");
  const plain: number[] = [];
  const execlog: number[] = [];
  const exec: number[] = [];
  let execlogBytes = 0;
  let execBytes = 0;
  let blocks = NaN;
  for (let round = 0; round < runs; round++) {
    plain.push((await runner.run([wrapper, ...workload.smallArgv])).wallS);
    execlog.push((await runner.run([wrapper, "-plugin", join(oracleDir, "libexeclog.so"), "-d", "plugin", "-D", log, ...workload.smallArgv])).wallS);
    execlogBytes = statSync(log).size;
    rmSync(log, { force: true });
    exec.push((await runner.run([wrapper, "-d", "exec,nochain", "-D", log, ...workload.smallArgv])).wallS);
    execBytes = statSync(log).size;
    blocks = await countLines(log, "Trace");
    rmSync(log, { force: true });
  }
  const plainS = median(plain);
  const result = (logger: LoggerResult["logger"], walls: number[], logBytes: number, blockCount: number): LoggerResult => {
    const wallS = median(walls);
    return {
      workload,
      logger,
      smallInstructions,
      plainS,
      wallS,
      logBytes,
      blocks: blockCount,
      nsPerInstruction: (wallS / smallInstructions) * 1e9,
      extrapolatedFullS: (wallS / smallInstructions) * fullInstructions,
    };
  };
  return [result("execlog plugin", execlog, execlogBytes, NaN), result("-d exec,nochain", exec, execBytes, blocks)];
}
