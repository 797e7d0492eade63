export interface CannoliStats {
    instructions: number;
    reads: number;
    writes: number;
    dropped_chunks: number;
    exit_code: number;
}
export interface Measurement {
    wallS: number;
    /** The whole process tree's user + system CPU. */
    totalCpuS: number;
    qemuCpuS: number;
    /** totalCpuS - qemuCpuS (0 for plain QEMU). */
    consumerCpuS: number;
    qemuMaxRssKiB: number;
    /** Peak RSS of the cannoli process (0 for plain QEMU). */
    consumerMaxRssKiB: number;
    stats: CannoliStats | null;
    /** The tracer's `-o` output, when one was asked for. */
    tracerOutput: string | null;
}
export declare class Runner {
    #private;
    readonly scratch: string;
    readonly env: Record<string, string>;
    constructor(scratch: string);
    /** The `/usr/bin/time` wrapper around qemu-<arch>: Debian's, or the
     *  patched build in `binDir`. */
    qemuWrapper(arch: string, binDir?: string): string;
    /** Runs argv once. `statsJson`/`tracerOutput`: files cannoli was told to write. */
    run(argv: string[], files?: {
        statsJson?: string;
        tracerOutput?: string;
    }): Promise<Measurement>;
}
