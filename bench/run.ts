// SPDX-License-Identifier: MIT
//! `npm run bench`: the whole benchmark, one command. Builds what it needs,
//! runs the whole-program workloads under every configuration (interleaved,
//! medians, ratios against plain QEMU of the same version and rounds; the
//! plugin backend on Debian's QEMU 7.2 and on stock QEMU 10.0), QEMU's own
//! loggers on small inputs, the mempipe benchmark and the microbenchmarks;
//! prints the tables and rewrites the generated part of BENCHMARKS.md and
//! the plots next to it (bench-timeline.svg, bench-workers.svg).
//!
//!   bun bench/run.ts [--quick] [--runs N] [--no-build] [--no-write] [--only ID,...]
//!     --quick     ~2 minute smoke run: small inputs, 1 round, fewer configurations
//!     --runs N    rounds per workload (default 3; --quick: 1)
//!     --no-build  use the binaries as they are
//!     --no-write  print only; leave BENCHMARKS.md and the plots alone
//!     --only      workload ids (nops, mem, gzip-arm64, sha256-arm64, gzip-mipsel, sha256-mipsel)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { timelineTracer, workerConfigs, workloadConfigs, cannoliArgv, type Handler } from "./lib/configs";
import { describeMachine, machineLine } from "./lib/machine";
import { Runner } from "./lib/measure";
import { measureLoggers, type LoggerResult } from "./lib/qemu_loggers";
import { oracles, patchedQemuDir, prepare, qemu10Dir, repo } from "./lib/prepare";
import { loggerTable, microTable, qemuVersionTable, recordingTable, targetTable, targets, wholeProgramTable, workloadFacts, writeBenchmarksMd } from "./lib/report";
import { fixed, si } from "./lib/stats";
import { lineChart, rateSeries } from "./lib/svg";
import { measureWorkload, oracleInstructions, qemuCounts, type ConfigResult, type Counts, type WorkloadOptions } from "./lib/wholeprogram";
import { fullSizes, quickSizes, workloads } from "./lib/workloads";
import { waitForQuiet } from "./lib/load";
import { runMempipe, type MempipeFigures } from "./mempipe";
import { runMicro } from "./micro/index";

const argv = process.argv.slice(2);
const usage = "usage: bun bench/run.ts [--quick] [--runs N] [--no-build] [--no-write] [--only ID,...]";
let options: { quick?: boolean; runs?: string; "no-build"?: boolean; "no-write"?: boolean; only?: string; help?: boolean };
try {
  options = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" },
      runs: { type: "string" },
      "no-build": { type: "boolean" },
      "no-write": { type: "boolean" },
      only: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
} catch (error) {
  console.error(`bench: ${(error as Error).message.split("\n")[0]}\n${usage}`);
  process.exit(2);
}
if (options.help) {
  console.log(usage);
  process.exit(0);
}
const quick = options.quick === true;
const runs = Number(options.runs ?? (quick ? 1 : 3));
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`bench: --runs takes a positive whole number, not ${options.runs}\n${usage}`);
  process.exit(2);
}
const only = options.only?.split(",");
const log = (line: string) => console.error(line);
const loadThreshold = 1.2;
const loadWaitS = quick ? 15 : 90;
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;

if (!options["no-build"]) prepare(log);
const patchedQemu = patchedQemuDir(log);
const qemu10 = qemu10Dir(log);
const machine = describeMachine(qemu10);
const scratch = mkdtempSync(join(tmpdir(), "cannoli-bench-"));
// An interrupted run (Ctrl-C, kill) leaves no inputs behind in /tmp either.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    rmSync(scratch, { recursive: true, force: true });
    process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  });
}
const runner = new Runner(scratch);
const sizes = quick ? quickSizes : fullSizes;
const list = workloads(sizes, join(scratch, "inputs")).filter((w) => !only || only.includes(w.id));
const wholeOptions: WorkloadOptions = { runs, loadThreshold, loadWaitS, log, patchedQemuDir: patchedQemu, qemu10Dir: qemu10 };

try {
  // Whole programs.
  const results: ConfigResult[] = [];
  const expected = new Map<string, Counts>();
  for (const workload of list) {
    log(`[${elapsed()}] ${workload.label}`);
    const configs = workloadConfigs(workload);
    const counts = await qemuCounts(runner, workload, configs, wholeOptions);
    expected.set(workload.id, counts);
    results.push(...(await measureWorkload(runner, workload, configs, counts, wholeOptions)));
  }

  // Throughput vs Workers, and the timeline, on the PC-trace target workload.
  const sweepWorkload = list.find((w) => w.id === "gzip-arm64") ?? list[0]!;
  const maxWorkers = cpus().length + 1;
  const forms: Handler[] = quick ? ["batch"] : ["batch", "event"];
  log(`[${elapsed()}] Workers sweep on ${sweepWorkload.label}`);
  const sweep = await measureWorkload(runner, sweepWorkload, workerConfigs(maxWorkers, forms), expected.get(sweepWorkload.id)!, wholeOptions);

  log(`[${elapsed()}] timeline`);
  await waitForQuiet(loadThreshold, loadWaitS, log);
  const statsJson = join(scratch, "stats.json");
  const tracerOutput = join(scratch, "timeline.json");
  const timelineRun = await runner.run(
    cannoliArgv(
      { id: "timeline", label: "timeline", plain: false, tracer: timelineTracer, handler: "batch", mem: false, blocks: true },
      runner.qemuWrapper(sweepWorkload.arch),
      sweepWorkload.argv,
      { statsJson, tracerOutput },
    ),
    { statsJson, tracerOutput },
  );
  const timeline = JSON.parse(timelineRun.tracerOutput!) as { instructions: number; points: [number, number][] };

  // QEMU's own loggers, on small inputs.
  const loggers: LoggerResult[] = [];
  for (const workload of list.filter((w) => (quick ? ["nops", "gzip-arm64"] : ["nops", "gzip-arm64", "mem"]).includes(w.id))) {
    log(`[${elapsed()}] QEMU loggers on ${workload.id} (small input)`);
    await waitForQuiet(loadThreshold, loadWaitS, log);
    const small = await oracleInstructions(runner, workload, oracles, workload.smallArgv);
    loggers.push(...(await measureLoggers(runner, workload, oracles, small, expected.get(workload.id)!["7.2"]!, quick ? 1 : 2)));
  }

  // mempipe and microbenchmarks.
  log(`[${elapsed()}] mempipe`);
  await waitForQuiet(loadThreshold, loadWaitS, log);
  const mempipe: MempipeFigures = await runMempipe(quick ? 1 : 3, quick ? 0.05 : 0.5, log);
  log(`[${elapsed()}] microbenchmarks`);
  await waitForQuiet(loadThreshold, loadWaitS, log);
  const micro = await runMicro(quick ? 100 : 500);

  // Report.
  const date = new Date().toISOString().replace("T", " ").slice(0, 16);
  const command = `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`;
  const timelineRates = rateSeries(timeline.points, 50);
  const plots = {
    timeline: lineChart({
      title: `Traced instructions per second over one run: ${sweepWorkload.label}`,
      xLabel: "time since the tracer started (s)",
      yLabel: "instructions/s delivered to trace()",
      series: [
        {
          name: `TS batch handler, PC only, default Workers (${timeline.instructions.toLocaleString("en")} instructions, ${fixed(timelineRun.wallS, 2)} s)`,
          points: timelineRates,
        },
      ],
    }),
    workers: lineChart({
      title: `Throughput vs Workers: ${sweepWorkload.label}, PC only`,
      xLabel: "Workers (--workers)",
      yLabel: "instructions/s delivered to the handler",
      markers: true,
      series: forms.map((form) => ({
        name: form === "batch" ? "TS exec, batch form" : "TS exec, per-event form",
        points: sweep.filter((r) => r.config.handler === form).map((r): [number, number] => [r.config.workers!, r.instructionsPerS]),
      })),
    }),
  };
  const sweepTable = wholeProgramTable(sweep);
  const targetList = targets(results, loggers, mempipe);
  const generated = `## Latest run (generated)

Machine: ${machineLine(machine)}.
Command: \`${command}\`, ${date} UTC, ${runs} round${runs > 1 ? "s" : ""} per workload (configurations interleaved; medians), ${fixed((performance.now() - started) / 60000, 1)} minutes in all.
Default Workers: cannoli's default (cores − 1 = ${Math.max(1, cpus().length - 1)}, plus one helper Worker that decodes only while QEMU waits on a full ring); the Workers sweep runs without the helper.

### Targets (DESIGN.md)

${targetTable(targetList)}

### Workloads

${workloadFacts(results)}

### Whole programs

Slowdowns are against plain QEMU of the same version in the same rounds:
the *QEMU 10.0* rows (cannoli's plugin backend on stock QEMU 10.0,
\`scripts/qemu-stock-build.sh\`; aarch64 and mipsel guests) against *plain
QEMU 10.0*, their counts against QEMU 10.0's own insn plugin; all other rows
against Debian's QEMU 7.2. *instr/s*: guest
instructions counted by cannoli from the records, per second of wall time
(for the TS-handler configurations, every one of them was handed to the
handler). *pipe MB/s*: bytes of published chunks per second of wall time,
measured by the batch tracer (it sums \`words.length\`); ¹ taken from the batch
run with the same encoding, ² computed from record sizes (instructions ×
exec record + accesses × the largest mem record, an upper bound: 8 + 16 bytes on mipsel, 12 + 20 on
aarch64). *CPU*: QEMU's from \`/usr/bin/time\` around qemu-<arch> (\`--qemu\`
wrapper); the consumer's is the cannoli process tree's rusage minus QEMU's.
*peak RSS*: QEMU's maxrss; the consumer's VmHWM (its Workers are threads).
*counts*: every run's instruction count equals its QEMU version's insn plugin's.
*load*: the highest 1-minute load average at the start of a round (the
harness waits, up to ${loadWaitS} s, until it is below ${loadThreshold} or other processes
use at most 0.3 cores: its own previous round keeps the average near 2).

${wholeProgramTable(results)}

### Recording (\`cannoli record\`: zstd level 1, the default, and \`--level 0\`)

Each recording next to the null tracer's run of the same backend and
encoding in the same rounds (what storing the trace adds), and the stored
size against what the pipes carried (*raw pipe bytes per access*: the
batch tracer's sum of chunk words, all records told).

${recordingTable(results)}

### The plugin backend on QEMU 7.2 and QEMU 10.0

The QEMU 10.0 rows above next to the same configurations on QEMU 7.2, each
ratio against plain QEMU of its own version in the same rounds. On 10.0 the
plugin backend keeps block records with threads (per-vCPU inline counters)
and takes memory values from \`qemu_plugin_mem_get_value\`; on 7.2 it reads
guest memory after the access.

${qemuVersionTable(results)}

### Throughput vs Workers

![throughput vs Workers](bench-workers.svg)

${sweepTable}

### Traced instructions per second over a run

![instructions per second over a run](bench-timeline.svg)

One run of \`bench/tracers/timeline.ts\` on ${sweepWorkload.label}: ${fixed(timelineRun.wallS, 2)} s wall, ${si(timeline.instructions / timelineRun.wallS)} instr/s on average, ${timelineRun.stats?.dropped_chunks ?? "?"} dropped chunks.

### QEMU's own tracers (small inputs, extrapolated)

Run on a small input (the same program; the nop and memory loops at 20 000
iterations, busybox on 16 KiB), logging to a file; the wall time per
instruction (QEMU's start-up included, which flatters QEMU) is multiplied by
the full input's instruction count.

${loggerTable(loggers, results)}

### mempipe (\`bench/mempipe.ts\`, transfers at ${quick ? "5" : "50"} % of its stand-alone size)

| measure | figure |
|---|---|
${mempipe.rows.map(([label, figure]) => `| ${label} | ${figure} |`).join("\n")}

### Microbenchmarks (tinybench, medians)

Decoding runs \`ChunkDecoder\` (src/runtime/decode.ts) on synthetic 256 KiB
chunks of a 32-bit guest (16-instruction blocks); the hop is a Worker posting
one chunk's items (the runtime's message shape) to the main thread and back
to a tiny request; mempipe claims go through FFI against
\`mempipe-producer\` in its own process.

${microTable(micro)}
`;
  console.log(generated);
  if (!options["no-write"]) {
    writeBenchmarksMd(join(repo, "BENCHMARKS.md"), generated);
    writeFileSync(join(repo, "bench-timeline.svg"), plots.timeline);
    writeFileSync(join(repo, "bench-workers.svg"), plots.workers);
    log(`[${elapsed()}] wrote BENCHMARKS.md, bench-timeline.svg, bench-workers.svg`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
