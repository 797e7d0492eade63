// SPDX-License-Identifier: MIT
//! Whole-program runs: every configuration of a workload, interleaved, for
//! several rounds; medians per configuration; every slowdown against the
//! plain-QEMU runs of the same rounds.
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { cannoliArgv, qemuOf, type Config, type QemuVersion } from "./configs";
import { waitForQuiet } from "./load";
import type { Measurement, Runner } from "./measure";
import { oracles } from "./prepare";
import { max, median } from "./stats";
import { recordBytes, type Workload } from "./workloads";

export interface ConfigResult {
  workload: Workload;
  config: Config;
  runs: Measurement[];
  wallS: number;
  slowdown: number;
  /** Instructions per second of wall time (counted by cannoli from the records). */
  instructionsPerS: number;
  /** Pipe bytes per run: exact (batch tracer) or estimated (see `bytesHow`). */
  pipeBytes: number;
  bytesHow: "measured" | "same encoding, batch run" | "record sizes" | "";
  qemuCpuS: number;
  consumerCpuS: number;
  qemuMaxRssKiB: number;
  consumerMaxRssKiB: number;
  droppedChunks: number;
  instructions: number;
  accesses: number;
  /** Every run's instruction count equals QEMU's own insn plugin's. */
  countsExact: boolean | null;
  /** Highest 1-minute load average at the start of a round. */
  load: number;
  /** `record` runs: the recording's size in bytes (NaN otherwise). */
  storedBytes: number;
}

export interface WorkloadOptions {
  runs: number;
  loadThreshold: number;
  loadWaitS: number;
  log: (line: string) => void;
  /** Where scripts/qemu-build.sh put the patched QEMU. */
  patchedQemuDir: string;
  /** Where scripts/qemu-stock-build.sh put QEMU 10.0 (bin/, plugins/). */
  qemu10Dir: string;
}

/** QEMU's own instruction count per QEMU version (the guest's start-up
 *  differs between versions, so each version's runs have their own). */
export type Counts = Partial<Record<QemuVersion, number>>;

/** The QEMU a configuration runs on: the `/usr/bin/time` wrapper around it,
 *  and the directory of that version's own plugins (the oracles). */
function qemuFor(runner: Runner, config: Config, arch: string, options: WorkloadOptions): { wrapper: string; oracleDir: string } {
  if (qemuOf(config) === "10.0") return { wrapper: runner.qemuWrapper(arch, join(options.qemu10Dir, "bin"), "q10"), oracleDir: join(options.qemu10Dir, "plugins") };
  return { wrapper: config.patched ? runner.qemuWrapper(arch, options.patchedQemuDir) : runner.qemuWrapper(arch), oracleDir: oracles };
}

/** QEMU's own instruction count (the insn plugin, inline counter: exact for one thread). */
export async function oracleInstructions(runner: Runner, workload: Workload, oracleDir: string, argv = workload.argv, qemu = runner.qemuWrapper(workload.arch)): Promise<number> {
  const log = join(runner.scratch, "insn.log");
  await runner.run([qemu, "-plugin", `${join(oracleDir, "libinsn.so")},inline=on`, "-d", "plugin", "-D", log, ...argv]);
  const text = await Bun.file(log).text();
  const match = /insns: (\d+)/.exec(text);
  if (!match) throw new Error(`bench: no instruction count from the insn plugin for ${workload.id}`);
  return Number(match[1]);
}

/** The insn plugin's count on each QEMU version that has a plain baseline
 *  among `configs` (every version the configurations run on needs one). */
export async function qemuCounts(runner: Runner, workload: Workload, configs: Config[], options: WorkloadOptions): Promise<Counts> {
  const counts: Counts = {};
  for (const config of configs.filter((c) => c.plain)) {
    const qemu = qemuFor(runner, config, workload.arch, options);
    counts[qemuOf(config)] = await oracleInstructions(runner, workload, qemu.oracleDir, workload.argv, qemu.wrapper);
  }
  return counts;
}

/** `expected`: qemuCounts of the workload. Each configuration's slowdown is
 *  against the plain runs of its own QEMU version. */
export async function measureWorkload(runner: Runner, workload: Workload, configs: Config[], expected: Counts, options: WorkloadOptions): Promise<ConfigResult[]> {
  const runs = new Map<string, Measurement[]>(configs.map((c) => [c.id, []]));
  const loads: number[] = [];
  const statsJson = join(runner.scratch, "stats.json");
  const tracerOutput = join(runner.scratch, "tracer.out");
  const recording = join(runner.scratch, "run.cnl");
  for (let round = 0; round < options.runs; round++) {
    loads.push(await waitForQuiet(options.loadThreshold, options.loadWaitS, options.log));
    for (const config of configs) {
      const { wrapper } = qemuFor(runner, config, workload.arch, options);
      const argv = config.plain ? [wrapper, ...workload.argv] : cannoliArgv(config, wrapper, workload.argv, { statsJson, tracerOutput, recording });
      const measurement = await runner.run(argv, config.plain ? {} : { statsJson, tracerOutput });
      if (config.record) {
        measurement.storedBytes = statSync(recording).size;
        rmSync(recording);
      }
      runs.get(config.id)!.push(measurement);
      options.log(`  ${workload.id} ${config.id} round ${round + 1}: ${measurement.wallS.toFixed(3)} s`);
    }
  }
  const plainWall = new Map(configs.filter((c) => c.plain).map((c) => [qemuOf(c), median(runs.get(c.id)!.map((m) => m.wallS))]));
  const results = configs.map((config) => summarize(workload, config, runs.get(config.id)!, plainWall.get(qemuOf(config)) ?? NaN, expected[qemuOf(config)] ?? NaN, max(loads)));
  fillPipeBytes(results);
  return results;
}

function summarize(workload: Workload, config: Config, runs: Measurement[], plainWall: number, expected: number, load: number): ConfigResult {
  const wallS = median(runs.map((m) => m.wallS));
  const stats = runs.map((m) => m.stats).filter((s) => s !== null);
  const instructions = config.plain ? expected : median(stats.map((s) => s.instructions));
  const accesses = median(stats.map((s) => s.reads + s.writes));
  const measuredBytes = runs
    .map((m) => (m.tracerOutput?.startsWith("{") ? (JSON.parse(m.tracerOutput.split("\n")[0]!) as { bytes?: number }).bytes : undefined))
    .filter((b): b is number => b !== undefined);
  return {
    workload,
    config,
    runs,
    wallS,
    slowdown: wallS / plainWall,
    instructionsPerS: instructions / wallS,
    pipeBytes: measuredBytes.length ? median(measuredBytes) : NaN,
    bytesHow: measuredBytes.length ? "measured" : "",
    qemuCpuS: median(runs.map((m) => m.qemuCpuS)),
    consumerCpuS: median(runs.map((m) => m.consumerCpuS)),
    qemuMaxRssKiB: max(runs.map((m) => m.qemuMaxRssKiB)),
    consumerMaxRssKiB: max(runs.map((m) => m.consumerMaxRssKiB)),
    droppedChunks: stats.reduce((n, s) => n + s.dropped_chunks, 0),
    instructions,
    accesses: config.mem ? accesses : 0,
    countsExact: config.plain ? null : stats.every((s) => s.instructions === expected),
    storedBytes: median(runs.map((m) => m.storedBytes ?? NaN)),
    load,
  };
}

/** Runs without the batch tracer carry the same records as the batch run of
 *  the same encoding (PC or PC + memory, blocks on, the same backend and
 *  QEMU version: their block records and counts differ); per-instruction
 *  encoding (--no-blocks) is instructions × exec record + accesses × mem record. */
function fillPipeBytes(results: ConfigResult[]): void {
  for (const result of results) {
    if (result.config.plain || result.bytesHow) continue;
    if (!result.config.blocks) {
      const sizes = recordBytes(result.workload.arch);
      result.pipeBytes = result.instructions * sizes.exec + result.accesses * sizes.mem;
      result.bytesHow = "record sizes";
      continue;
    }
    const sameEncoding = (r: ConfigResult) =>
      r.config.mem === result.config.mem && r.config.blocks === result.config.blocks && !r.config.patched === !result.config.patched && qemuOf(r.config) === qemuOf(result.config);
    const twin = results.find((r) => r.bytesHow === "measured" && sameEncoding(r));
    if (twin) {
      result.pipeBytes = twin.pipeBytes;
      result.bytesHow = "same encoding, batch run";
    }
  }
}
