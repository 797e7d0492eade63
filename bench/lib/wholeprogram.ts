// SPDX-License-Identifier: MIT
//! Whole-program runs: every configuration of a workload, interleaved, for
//! several rounds; medians per configuration; every slowdown against the
//! plain-QEMU runs of the same rounds.
import { join } from "node:path";
import { cannoliArgv, type Config } from "./configs";
import { waitForQuiet } from "./load";
import type { Measurement, Runner } from "./measure";
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
}

export interface WorkloadOptions {
  runs: number;
  loadThreshold: number;
  loadWaitS: number;
  log: (line: string) => void;
  /** Where scripts/qemu-build.sh put the patched QEMU. */
  patchedQemuDir: string;
  /** scripts/qemu-stock-build.sh's output (bin/, plugins/), for `qemu10` configs. */
  qemu10Dir?: string;
}

/** The `/usr/bin/time` wrapper of the QEMU a configuration runs on. */
function wrapperFor(runner: Runner, config: Config, arch: string, options: WorkloadOptions): string {
  if (config.qemu10) return runner.qemuWrapper(arch, join(options.qemu10Dir!, "bin"), "q10");
  return config.patched ? runner.qemuWrapper(arch, options.patchedQemuDir) : runner.qemuWrapper(arch);
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

/** `expected`: QEMU's own instruction count; `expected10`: QEMU 10.0's, for
 *  the `qemu10` configurations (the guest's start differs between versions). */
export async function measureWorkload(runner: Runner, workload: Workload, configs: Config[], expected: number, options: WorkloadOptions, expected10 = expected): Promise<ConfigResult[]> {
  const runs = new Map<string, Measurement[]>(configs.map((c) => [c.id, []]));
  const loads: number[] = [];
  const statsJson = join(runner.scratch, "stats.json");
  const tracerOutput = join(runner.scratch, "tracer.out");
  for (let round = 0; round < options.runs; round++) {
    loads.push(await waitForQuiet(options.loadThreshold, options.loadWaitS, options.log));
    for (const config of configs) {
      const wrapper = wrapperFor(runner, config, workload.arch, options);
      const argv = config.plain ? [wrapper, ...workload.argv] : cannoliArgv(config, wrapper, workload.argv, { statsJson, tracerOutput });
      const measurement = await runner.run(argv, config.plain ? {} : { statsJson, tracerOutput });
      runs.get(config.id)!.push(measurement);
      options.log(`  ${workload.id} ${config.id} round ${round + 1}: ${measurement.wallS.toFixed(3)} s`);
    }
  }
  const plainWall = median(runs.get("plain")!.map((m) => m.wallS));
  const plain10 = runs.get("q10-plain");
  const plainWall10 = plain10 ? median(plain10.map((m) => m.wallS)) : NaN;
  const results = configs.map((config) =>
    config.qemu10 ? summarize(workload, config, runs.get(config.id)!, plainWall10, expected10, max(loads)) : summarize(workload, config, runs.get(config.id)!, plainWall, expected, max(loads)),
  );
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
    load,
  };
}

/** Runs without the batch tracer carry the same records as the batch run of
 *  the same encoding (PC or PC + memory, blocks on); per-instruction
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
    const twin = results.find((r) => r.bytesHow === "measured" && r.config.mem === result.config.mem && r.config.blocks === result.config.blocks);
    if (twin) {
      result.pipeBytes = twin.pipeBytes;
      result.bytesHow = "same encoding, batch run";
    }
  }
}
