import type { Subprocess } from "bun";
import { type StreamSummary } from "../../src/mempipe/PipeReader";
import type { Consume } from "./drain_worker";
export interface DrainOptions {
    mode: string;
    bytes?: number;
    chunkBytes?: number;
    chunkCount?: number;
    workers?: number;
    /** What Workers do with a chunk: post a copy back (so the test can check
     *  order and contents), count its messages in place, or memcpy it out. */
    consume?: Consume;
    /** Called once the pipe is open, with the producer process. */
    onOpened?: (producer: Subprocess) => void;
    /** Delay before the Workers start draining (a stalled consumer). */
    stallMs?: number;
}
export interface DrainResult {
    chunks: Map<number, Uint8Array>;
    summary: StreamSummary | null;
    workerErrors: string[];
    rejected: string | null;
    messages: number;
    producerStdout: string;
    producerExit: number | null;
    /** From the pipe's hand-over to the last Worker's end. */
    streamMs: number;
}
export declare function drainProducer(options: DrainOptions): Promise<DrainResult>;
/** FNV-1a over the payloads of u16-length-prefixed records, in ticket order:
 *  the producer tool prints the same figure for what it wrote. */
export declare function recordsChecksum(chunks: Map<number, Uint8Array>): {
    fnv: number;
    bytes: number;
};
