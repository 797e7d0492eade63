export interface MempipeFigures {
    rows: [label: string, figure: string][];
    messagesPerS1: number;
    bulkVsMemcpy1: number;
    bulkVsMemcpy2: number;
}
/** `scale` shrinks every transfer (1 = the full benchmark). */
export declare function runMempipe(runs: number, scale?: number, log?: (line: string) => void): Promise<MempipeFigures>;
