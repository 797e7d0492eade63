// SPDX-License-Identifier: MIT
//! The configurations each workload runs under, and the cannoli command line
//! for each.
import { join } from "node:path";
import { cannoli } from "./prepare";
import type { Workload } from "./workloads";

export type Handler = "none" | "count" | "event" | "batch";

export interface Config {
  id: string;
  label: string;
  plain: boolean;
  /** cannoli --tracer value. */
  tracer?: string;
  /** What the tracer runs in the Workers for each event. */
  handler: Handler;
  mem: boolean;
  blocks: boolean;
  /** --workers (and no helper); undefined = cannoli's default (cores - 1, plus a helper). */
  workers?: number;
  /** The patched-QEMU backend (-cannoli) instead of the TCG plugin. */
  patched?: boolean;
  /** `cannoli record` (its tracer runs live too) instead of `run`. */
  record?: boolean;
  /** `record --level`; undefined: its default (zstd level 1). */
  recordLevel?: number;
  /** The QEMU it runs on (default 7.2). Its ratio is against the plain run
   *  of the same version, its count against that version's insn plugin. */
  qemu?: QemuVersion;
}

/** Debian 12's qemu-user (and the patched build of it), or stock QEMU 10.0
 *  (scripts/qemu-stock-build.sh): the two ends of what users have. */
export type QemuVersion = "7.2" | "10.0";

export const qemuOf = (config: Config): QemuVersion => config.qemu ?? "7.2";

const tracerPath = (name: string) => join(import.meta.dir, "../tracers", `${name}.ts`);

const cannoliConfig = (id: string, label: string, tracer: string, handler: Handler, mem: boolean, extra: Partial<Config> = {}): Config => ({
  id,
  label,
  plain: false,
  tracer,
  handler,
  mem,
  blocks: true,
  ...extra,
});

export const plainConfig: Config = { id: "plain", label: "plain QEMU", plain: true, handler: "none", mem: false, blocks: false };

/** The configurations every workload runs (PC + memory ones only when `memory`). */
function mainConfigs(memory: boolean): Config[] {
  const configs: Config[] = [
    plainConfig,
    cannoliConfig("null-pc", "null (transport), PC", "null", "none", false),
    cannoliConfig("null-pc-noblocks", "null, PC, --no-blocks", "null", "none", false, { blocks: false }),
    cannoliConfig("count-pc", "count, PC", "count", "count", false),
    cannoliConfig("event-pc", "TS exec per event, PC", tracerPath("exec_event"), "event", false),
    cannoliConfig("batch-pc", "TS exec batch, PC", tracerPath("exec_batch"), "batch", false),
  ];
  configs.push(
    cannoliConfig("patched-null-pc", "patched QEMU: null, PC", "null", "none", false, { patched: true }),
    cannoliConfig("patched-batch-pc", "patched QEMU: TS exec batch, PC", tracerPath("exec_batch"), "batch", false, { patched: true }),
  );
  if (memory) {
    configs.push(
      cannoliConfig("patched-null-mem", "patched QEMU: null, PC + mem", "null", "none", true, { patched: true }),
      cannoliConfig("patched-batch-mem", "patched QEMU: TS batch, PC + mem", tracerPath("exec_batch"), "batch", true, { patched: true }),
      // The same work through the runs (each block's PCs once per chunk),
      // as the batch form's docs suggest to PC-level handlers.
      cannoliConfig("patched-runs-mem", "patched QEMU: TS batch via runs, PC + mem", tracerPath("runs_batch"), "batch", true, { patched: true }),
      cannoliConfig("patched-record-mem", "patched QEMU: record, PC + mem", "null", "none", true, { patched: true, record: true }),
      // Chunks stored as they are: the disk's pace instead of zstd's.
      cannoliConfig("patched-record0-mem", "patched QEMU: record --level 0, PC + mem", "null", "none", true, { patched: true, record: true, recordLevel: 0 }),
      cannoliConfig("null-mem", "null, PC + mem", "null", "none", true),
      cannoliConfig("count-mem", "count, PC + mem", "count", "count", true),
      cannoliConfig("event-mem", "TS exec/read/write per event, PC + mem", tracerPath("exec_event"), "event", true),
      cannoliConfig("batch-mem", "TS batch, PC + mem", tracerPath("exec_batch"), "batch", true),
    );
  }
  return configs;
}

/** Guest architectures scripts/qemu-stock-build.sh builds QEMU 10.0 for. */
const qemu10Arches: Workload["arch"][] = ["aarch64", "mipsel"];

/** The plugin backend on stock QEMU 10.0, with its own plain baseline. */
function qemu10Configs(memory: boolean): Config[] {
  const q10 = { qemu: "10.0" } as const;
  const configs: Config[] = [
    { ...plainConfig, id: "q10-plain", label: "plain QEMU 10.0", ...q10 },
    cannoliConfig("q10-null-pc", "QEMU 10.0: null (transport), PC", "null", "none", false, q10),
    cannoliConfig("q10-batch-pc", "QEMU 10.0: TS exec batch, PC", tracerPath("exec_batch"), "batch", false, q10),
  ];
  if (memory) {
    configs.push(
      cannoliConfig("q10-null-mem", "QEMU 10.0: null, PC + mem", "null", "none", true, q10),
      cannoliConfig("q10-count-mem", "QEMU 10.0: count, PC + mem", "count", "count", true, q10),
      cannoliConfig("q10-batch-mem", "QEMU 10.0: TS batch, PC + mem", tracerPath("exec_batch"), "batch", true, q10),
    );
  }
  return configs;
}

/** Everything a workload runs: the main configurations, and QEMU 10.0's
 *  when the build has the workload's guest architecture. */
export function workloadConfigs(workload: Workload): Config[] {
  return [...mainConfigs(workload.memory), ...(qemu10Arches.includes(workload.arch) ? qemu10Configs(workload.memory) : [])];
}

/** Throughput vs Workers: both handler forms, PC only, 1..maxWorkers. */
export function workerConfigs(maxWorkers: number, forms: Handler[]): Config[] {
  const configs: Config[] = [plainConfig];
  for (const form of forms) {
    for (let workers = 1; workers <= maxWorkers; workers++) {
      const tracer = tracerPath(form === "event" ? "exec_event" : "exec_batch");
      configs.push(
        cannoliConfig(`${form}-pc-w${workers}`, `TS exec ${form === "event" ? "per event" : "batch"}, PC, ${workers} Worker${workers > 1 ? "s" : ""}`, tracer, form, false, {
          workers,
        }),
      );
    }
  }
  return configs;
}

export const timelineTracer = tracerPath("timeline");

/** The cannoli argv for a configuration (files: where to write stats, tracer
 *  output and, for `record`, the recording). */
export function cannoliArgv(config: Config, qemuWrapper: string, guest: string[], files: { statsJson: string; tracerOutput: string; recording?: string }): string[] {
  if (config.record && !files.recording) throw new Error(`bench: ${config.id} records, and no recording path was given`);
  return [
    cannoli,
    config.record ? "record" : "run",
    "--quiet",
    "--qemu",
    qemuWrapper,
    "--tracer",
    config.tracer ?? "null",
    ...(config.record ? ["-o", files.recording!, "--trace-output", files.tracerOutput] : ["-o", files.tracerOutput]),
    ...(config.recordLevel === undefined ? [] : ["--level", String(config.recordLevel)]),
    "--stats-json",
    files.statsJson,
    ...(config.mem ? [] : ["--no-mem"]),
    ...(config.blocks ? [] : ["--no-blocks"]),
    // A sweep over Workers leaves the helper out, so the count is the count.
    ...(config.workers ? ["--workers", String(config.workers), "--helpers", "0"] : []),
    ...(config.patched ? ["--backend", "patched"] : []),
    "--",
    ...guest,
  ];
}
