export interface Series {
    name: string;
    points: [x: number, y: number][];
}
export interface Chart {
    title: string;
    xLabel: string;
    yLabel: string;
    series: Series[];
    /** Draw a marker at every point (for sparse series). */
    markers?: boolean;
}
export declare function lineChart(chart: Chart): string;
/** Cumulative (time ms, count) samples -> (time s, rate per s), averaged
 *  over windows of at least `windowMs`. */
export declare function rateSeries(points: [ms: number, total: number][], windowMs: number): [number, number][];
