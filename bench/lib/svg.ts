// SPDX-License-Identifier: MIT
//! A small SVG line chart (no plotting dependency): linear axes with round
//! ticks, one polyline per series, a legend.

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

const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

function niceStep(span: number, ticks: number): number {
  const raw = span / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  return (normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10) * magnitude;
}

function tickLabel(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${+(value / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${+(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toPrecision(3)}k`;
  return `${+value.toPrecision(3)}`;
}

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function lineChart(chart: Chart): string {
  const width = 720;
  const height = 400;
  const left = 70;
  const right = 20;
  const top = 40;
  const bottom = 50 + 18 * chart.series.length;
  const all = chart.series.flatMap((s) => s.points);
  const xMin = Math.min(0, ...all.map((p) => p[0]));
  const xMaxRaw = Math.max(...all.map((p) => p[0]), xMin + 1e-9);
  const yMaxRaw = Math.max(...all.map((p) => p[1]), 1e-9);
  const xStep = niceStep(xMaxRaw - xMin, 6);
  const yStep = niceStep(yMaxRaw, 5);
  const xMax = Math.ceil(xMaxRaw / xStep) * xStep;
  const yMax = Math.ceil(yMaxRaw / yStep) * yStep;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const sx = (x: number) => left + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number) => top + plotH - (y / yMax) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(chart.title)}</text>`);
  for (let y = 0; y <= yMax + yStep / 2; y += yStep) {
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${sy(y)}" y2="${sy(y)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${sy(y) + 4}" text-anchor="end">${tickLabel(y)}</text>`);
  }
  for (let x = xMin; x <= xMax + xStep / 2; x += xStep) {
    parts.push(`<line x1="${sx(x)}" x2="${sx(x)}" y1="${top}" y2="${top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${sx(x)}" y="${top + plotH + 16}" text-anchor="middle">${tickLabel(x)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`);
  parts.push(`<text x="${left + plotW / 2}" y="${top + plotH + 34}" text-anchor="middle">${escape(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`);
  chart.series.forEach((series, i) => {
    const color = palette[i % palette.length]!;
    const path = series.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${path}"/>`);
    if (chart.markers) for (const [x, y] of series.points) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3.5" fill="${color}"/>`);
    const ly = top + plotH + 52 + 18 * i;
    parts.push(`<line x1="${left}" x2="${left + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${left + 30}" y="${ly}">${escape(series.name)}</text>`);
  });
  parts.push("</svg>\n");
  return parts.join("\n");
}

/** Cumulative (time ms, count) samples -> (time s, rate per s), averaged
 *  over windows of at least `windowMs`. */
export function rateSeries(points: [ms: number, total: number][], windowMs: number): [number, number][] {
  const out: [number, number][] = [];
  let from = points[0];
  if (!from) return out;
  for (const point of points.slice(1)) {
    const dt = point[0] - from[0];
    if (dt < windowMs) continue;
    out.push([(from[0] + point[0]) / 2000, ((point[1] - from[1]) / dt) * 1000]);
    from = point;
  }
  return out;
}
