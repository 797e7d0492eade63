export interface SyntheticChunk {
    words: Uint32Array;
    instructions: number;
    accesses: number;
}
export declare function blockChunk(chunkBytes: number, memPerBlock: number): SyntheticChunk;
export declare function execChunk(chunkBytes: number): SyntheticChunk;
