export declare function median(values: readonly number[]): number;
export declare function max(values: readonly number[]): number;
/** 1234567 -> "1.23 M", with SI prefixes. */
export declare function si(value: number, digits?: number): string;
export declare function fixed(value: number, digits?: number): string;
