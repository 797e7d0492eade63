export interface DrcovModule {
    id: number;
    containingId: number;
    start: bigint;
    /** Exclusive. */
    end: bigint;
    entry: bigint;
    offset: bigint;
    path: string;
}
export interface DrcovBlock {
    start: number;
    size: number;
    moduleId: number;
}
export interface DrcovFile {
    version: number;
    flavor: string;
    moduleTableVersion: number;
    columns: string[];
    modules: DrcovModule[];
    blocks: DrcovBlock[];
}
export declare function parseDrcov(data: Uint8Array): DrcovFile;
/** Absolute [start, end) ranges of the blocks. */
export declare function blockRanges(file: DrcovFile): {
    start: bigint;
    end: bigint;
    module: DrcovModule;
}[];
