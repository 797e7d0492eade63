export interface TraceAccess {
    store: boolean;
    addr: bigint;
    size: number;
    value: bigint;
}
export interface TraceInsn {
    pc: bigint;
    accesses: TraceAccess[];
}
export interface TraceSyscall {
    /** Index into `insns` of the instruction this event followed (-1: none). */
    insnIndex: number;
    number: number;
    args: bigint[];
    /** From the matching `sysret`, when there was one. */
    ret?: bigint;
    /** A `sysret` as the thread's very first event, with no `syscall` before
     * it: a fork child returning from the fork its parent entered (args are
     * then empty). */
    entryMissing?: boolean;
}
export interface TraceMap {
    kind: "mmap" | "munmap";
    addr: bigint;
    length: bigint;
    fd?: number;
    offset?: bigint;
    path?: string | null;
}
export interface TraceThread {
    key: string;
    pid: number;
    tid: number;
    insns: TraceInsn[];
    syscalls: TraceSyscall[];
    reads: number;
    writes: number;
    /** mmap and munmap events, in order. */
    maps: TraceMap[];
    /** Saw an `exit` line. */
    exited: boolean;
    /** Events of this thread after its `exit` line (should be 0). */
    eventsAfterExit: number;
    /** Index of this thread's first line in the whole output. */
    firstLine: number;
}
export interface ParsedTrace {
    threads: Map<string, TraceThread>;
    /** Lines that break the format or the per-thread ordering rules. */
    errors: string[];
    lines: number;
}
/** Parses the whole print output. Errors are collected (at most 50 kept),
 * not thrown, so a test can show them. */
export declare function parseTrace(text: string): ParsedTrace;
export declare function parseTraceFile(path: string): ParsedTrace;
export interface ThreadStats {
    pid: number;
    tid: number;
    instructions: number;
    reads: number;
    writes: number;
}
export interface RunStats {
    instructions: number;
    reads: number;
    writes: number;
    threads: number;
    processes: number;
    exit_code: number | null;
    wall_s: number;
    backend: string;
    dropped_chunks: number;
    per_thread: ThreadStats[];
}
/** Parses and validates the `--stats-json` output. */
export declare function parseStats(text: string): RunStats;
export declare function parseStatsFile(path: string): RunStats;
