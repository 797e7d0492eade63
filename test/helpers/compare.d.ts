import type { OracleInsn } from "./oracle";
import type { TraceInsn } from "./trace_text";
export declare function describeOracleInsn(i: OracleInsn | undefined): string;
export declare function describeTraceInsn(i: TraceInsn | undefined): string;
export interface CompareOptions {
    /** Compare PCs only (no memory accesses). */
    pcsOnly?: boolean;
    /** Instructions of context shown before the divergence. */
    context?: number;
}
/** null when equal; otherwise the index of the first differing instruction
 * and both sides around it. */
export declare function firstDivergence(oracle: OracleInsn[], got: TraceInsn[], opts?: CompareOptions): string | null;
/** Compares only the per-instruction order of accesses, for instructions with
 * at least two accesses in the oracle, up to the first PC divergence.
 * Returns [compared instructions, first mismatch or null]. */
export declare function multiAccessOrder(oracle: OracleInsn[], got: TraceInsn[]): {
    compared: number;
    mismatch: string | null;
};
export interface ThreadLike {
    key: string;
    insns: TraceInsn[];
}
/** Multi-threaded guests: execlog's sequence for one vCPU index is the
 * concatenation, in time order, of the whole sequences of the threads that
 * held that index (indices are reused once a thread has exited). Splits each
 * vCPU's sequence into cannoli threads that match it exactly (PCs and
 * accesses). Returns null when every instruction of every vCPU and every
 * cannoli thread is accounted for, else a description of what did not fit. */
export declare function matchThreadsToCpus(cpus: Map<number, OracleInsn[]>, threads: ThreadLike[]): string | null;
