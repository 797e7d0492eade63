export declare function loadAverage(): number;
/** Cores kept busy by everything on the machine over `ms` (the harness is idle then). */
export declare function busyCores(ms?: number): Promise<number>;
/** Polls until the 1-minute load is at most `threshold` or other processes
 *  use at most 0.3 cores, or `maxWaitS` pass; returns the 1-minute load the
 *  round starts under. */
export declare function waitForQuiet(threshold: number, maxWaitS: number, log: (line: string) => void): Promise<number>;
