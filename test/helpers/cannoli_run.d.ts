import { type OracleRun, type QemuUnderTest, type Arch } from "./oracle";
import { type ParsedTrace, type RunStats } from "./trace_text";
export declare const bunBinary: string;
export declare const cliPath: string;
export declare function cliAvailable(): boolean;
export interface CannoliRun {
    argv: string[];
    env: Record<string, string>;
    exitCode: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    traceText: string;
    trace: ParsedTrace;
    stats: RunStats | null;
    statsError?: string;
    wallMs: number;
}
export interface CannoliOptions {
    /** Options before `--` besides `--tracer print -o F --stats-json F --quiet`. */
    options?: string[];
    env?: Record<string, string>;
    cwd?: string;
    timeoutMs?: number;
    /** `--qemu PATH` [default: cannoli's own choice, qemu-<arch> on PATH]. */
    qemu?: string;
}
export declare function runCannoli(guest: string, args?: string[], opts?: CannoliOptions): Promise<CannoliRun>;
export interface OracleWant {
    execlog?: boolean;
    insn?: boolean;
    mem?: boolean;
}
/** cannoli on `guest` with QEMU's own plugins (all three unless `want` says
 *  otherwise) loaded into the same QEMU process (`--qemu-arg`): the oracle
 *  saw the very run cannoli traced. The oracle's stdout and exit code are
 *  the guest's, which cannoli passes through. */
export declare function runCannoliWithOracles(q: QemuUnderTest, arch: Arch, guest: string, args?: string[], opts?: CannoliOptions & {
    want?: OracleWant;
}): Promise<{
    cannoli: CannoliRun;
    oracle: OracleRun;
}>;
