export interface MicroResult {
    name: string;
    /** Median ns per task call. */
    nsPerOp: number;
    /** What one call processes, for a per-unit figure. */
    unit?: {
        name: string;
        count: number;
    };
    samples: number;
}
export declare function runMicro(timeMs: number): Promise<MicroResult[]>;
