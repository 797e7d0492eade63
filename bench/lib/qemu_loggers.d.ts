import type { Runner } from "./measure";
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
export declare function measureLoggers(runner: Runner, workload: Workload, oracleDir: string, smallInstructions: number, fullInstructions: number, runs: number): Promise<LoggerResult[]>;
