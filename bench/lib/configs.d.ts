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
}
export declare const plainConfig: Config;
/** The configurations every workload runs (PC + memory ones only when `memory`). */
export declare function mainConfigs(memory: boolean): Config[];
/** Throughput vs Workers: both handler forms, PC only, 1..maxWorkers. */
export declare function workerConfigs(maxWorkers: number, forms: Handler[]): Config[];
export declare const timelineTracer: string;
/** The cannoli argv for a configuration (files: where to write stats and tracer output). */
export declare function cannoliArgv(config: Config, qemuWrapper: string, guest: string[], files: {
    statsJson: string;
    tracerOutput: string;
}): string[];
