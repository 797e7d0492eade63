import { type Config } from "./configs";
import type { Measurement, Runner } from "./measure";
import { type Workload } from "./workloads";
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
}
/** QEMU's own instruction count (the insn plugin, inline counter: exact for one thread). */
export declare function oracleInstructions(runner: Runner, workload: Workload, oracleDir: string, argv?: string[]): Promise<number>;
export declare function measureWorkload(runner: Runner, workload: Workload, configs: Config[], expected: number, options: WorkloadOptions): Promise<ConfigResult[]>;
