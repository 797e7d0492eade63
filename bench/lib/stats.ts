// SPDX-License-Identifier: MIT
//! Small statistics helpers for the harness.

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function max(values: readonly number[]): number {
  return values.reduce((a, b) => Math.max(a, b), -Infinity);
}

/** 1234567 -> "1.23 M", with SI prefixes. */
export function si(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return "–";
  const prefixes: [number, string][] = [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [scale, prefix] of prefixes) if (Math.abs(value) >= scale) return `${(value / scale).toPrecision(digits)} ${prefix}`;
  return value.toPrecision(digits);
}

export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "–";
}
