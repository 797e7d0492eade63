// SPDX-License-Identifier: MIT
//! A query's result as text: an aligned table (numbers to the right), CSV
//! (RFC 4180 quoting) or JSON lines.
import type { DuckDBResultReader } from "@duckdb/node-api";

export type ResultFormat = "table" | "csv" | "json";

type Json = ReturnType<DuckDBResultReader["getRowsJson"]>[number][number];

const cellText = (value: Json): string => (value === null ? "NULL" : typeof value === "object" ? JSON.stringify(value) : String(value));

export function resultText(reader: DuckDBResultReader, format: ResultFormat): string {
  const names = reader.columnNames();
  const rows = reader.getRowsJson();
  if (format === "json") {
    return rows.map((row) => `${JSON.stringify(Object.fromEntries(names.map((name, i) => [name, row[i] ?? null])))}\n`).join("");
  }
  if (format === "csv") {
    const quote = (text: string) => (/[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
    return [names, ...rows.map((row) => row.map((v) => (v === null ? "" : cellText(v))))].map((cells) => `${cells.map(quote).join(",")}\n`).join("");
  }
  const cells = rows.map((row) => row.map(cellText));
  const widths = names.map((name, c) => Math.max(name.length, ...cells.map((row) => row[c]!.length)));
  const numeric = names.map((_, c) => rows.length > 0 && rows.every((row) => row[c] === null || typeof row[c] === "number" || /^-?\d+$/.test(String(row[c]))));
  const line = (values: string[]) =>
    `${values
      .map((v, c) => (numeric[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd()}\n`;
  const rule = `${widths.map((w) => "-".repeat(w)).join("  ")}\n`;
  return `${line(names)}${rule}${cells.map(line).join("")}(${rows.length} row${rows.length === 1 ? "" : "s"})\n`;
}
