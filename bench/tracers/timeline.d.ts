interface Series {
    started: number;
    last: number;
    instructions: number;
    points: [ms: number, instructions: number][];
}
declare const _default: import("../../src/tracer").Tracer<undefined, number, Series>;
export default _default;
