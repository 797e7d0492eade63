interface ChunkSums {
    instructions: number;
    accesses: number;
    pcXor: number;
    addrXor: number;
}
declare const _default: import("../../src/tracer").Tracer<undefined, ChunkSums, ChunkSums>;
export default _default;
