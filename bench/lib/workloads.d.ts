export interface Workload {
    id: string;
    /** Shown in tables. */
    label: string;
    /** QEMU's target name. */
    arch: "mipsel" | "aarch64";
    /** Guest argv at the measured size. */
    argv: string[];
    /** Guest argv at the small size used for execlog and -d exec,nochain. */
    smallArgv: string[];
    /** Whether the PC + memory configurations are worth running. */
    memory: boolean;
}
export interface Sizes {
    nopIterations: number;
    memIterations: number;
    gzipMiB: number;
    shaMiB: number;
    /** Busybox runs on both arm64 and mipsel, or arm64 only. */
    busyboxArchs: ("arm64" | "mipsel")[];
}
export declare const fullSizes: Sizes;
export declare const quickSizes: Sizes;
export declare function workloads(sizes: Sizes, scratch: string): Workload[];
/** Bytes of one per-instruction `exec` and one `mem` record (zig-src/wire/records.zig). */
export declare function recordBytes(arch: Workload["arch"]): {
    exec: number;
    mem: number;
};
