// SPDX-License-Identifier: MIT
//! Event-by-event comparison of cannoli's trace with execlog's, with a
//! readable description of the first divergence.
import type { OracleInsn } from "./oracle";
import type { TraceInsn } from "./trace_text";

const hex = (v: bigint) => `0x${v.toString(16)}`;

export function describeOracleInsn(i: OracleInsn | undefined): string {
  if (!i) return "(none)";
  return `exec ${hex(i.pc)}${i.accesses.map((a) => ` ${a.store ? "store" : "load"} ${hex(a.addr)}`).join("")}`;
}

export function describeTraceInsn(i: TraceInsn | undefined): string {
  if (!i) return "(none)";
  return `exec ${hex(i.pc)}${i.accesses.map((a) => ` ${a.store ? "store" : "load"} ${hex(a.addr)}/${a.size}=${hex(a.value)}`).join("")}`;
}

export interface CompareOptions {
  /** Compare PCs only (no memory accesses). */
  pcsOnly?: boolean;
  /** Instructions of context shown before the divergence. */
  context?: number;
}

function sameInsn(o: OracleInsn, t: TraceInsn, pcsOnly: boolean): boolean {
  if (o.pc !== t.pc) return false;
  if (pcsOnly) return true;
  if (o.accesses.length !== t.accesses.length) return false;
  for (let k = 0; k < o.accesses.length; k++) {
    const a = o.accesses[k]!;
    const b = t.accesses[k]!;
    if (a.store !== b.store || a.addr !== b.addr) return false;
  }
  return true;
}

/** null when equal; otherwise the index of the first differing instruction
 * and both sides around it. */
export function firstDivergence(oracle: OracleInsn[], got: TraceInsn[], opts: CompareOptions = {}): string | null {
  const n = Math.min(oracle.length, got.length);
  let i = 0;
  while (i < n && sameInsn(oracle[i]!, got[i]!, opts.pcsOnly ?? false)) i++;
  if (i === n && oracle.length === got.length) return null;
  const ctx = opts.context ?? 3;
  const lines = [`first divergence at instruction #${i} (oracle has ${oracle.length} instructions, cannoli ${got.length})`];
  for (let k = Math.max(0, i - ctx); k <= Math.min(i + 2, Math.max(oracle.length, got.length) - 1); k++) {
    const mark = k === i ? ">>" : "  ";
    lines.push(`${mark} #${k} oracle:  ${describeOracleInsn(oracle[k])}`);
    lines.push(`${mark} #${k} cannoli: ${describeTraceInsn(got[k])}`);
  }
  return lines.join("\n");
}

/** Compares only the per-instruction order of accesses, for instructions with
 * at least two accesses in the oracle, up to the first PC divergence.
 * Returns [compared instructions, first mismatch or null]. */
export function multiAccessOrder(oracle: OracleInsn[], got: TraceInsn[]): { compared: number; mismatch: string | null } {
  let compared = 0;
  const n = Math.min(oracle.length, got.length);
  for (let i = 0; i < n; i++) {
    const o = oracle[i]!;
    const t = got[i]!;
    if (o.pc !== t.pc) break;
    if (o.accesses.length < 2) continue;
    compared++;
    const same = o.accesses.length === t.accesses.length && o.accesses.every((a, k) => a.store === t.accesses[k]!.store && a.addr === t.accesses[k]!.addr);
    if (!same) return { compared, mismatch: `#${i}: oracle ${describeOracleInsn(o)} / cannoli ${describeTraceInsn(t)}` };
  }
  return { compared, mismatch: null };
}

export interface ThreadLike {
  key: string;
  insns: TraceInsn[];
}

/** Multi-threaded guests: execlog's sequence for one vCPU index is the
 * concatenation, in time order, of the whole sequences of the threads that
 * held that index (indices are reused once a thread has exited). Splits each
 * vCPU's sequence into cannoli threads that match it exactly (PCs and
 * accesses). Returns null when every instruction of every vCPU and every
 * cannoli thread is accounted for, else a description of what did not fit. */
export function matchThreadsToCpus(cpus: Map<number, OracleInsn[]>, threads: ThreadLike[]): string | null {
  const left = new Set(threads);
  for (const [cpu, seq] of [...cpus.entries()].sort((a, b) => a[0] - b[0])) {
    let pos = 0;
    while (pos < seq.length) {
      let best: { t: ThreadLike; prefix: number } | undefined;
      let found: ThreadLike | undefined;
      for (const t of left) {
        let k = 0;
        while (k < t.insns.length && pos + k < seq.length && sameInsn(seq[pos + k]!, t.insns[k]!, false)) k++;
        if (k === t.insns.length) {
          found = t;
          break;
        }
        if (!best || k > best.prefix) best = { t, prefix: k };
      }
      if (found) {
        left.delete(found);
        pos += found.insns.length;
        continue;
      }
      const lines = [`vCPU ${cpu}: no cannoli thread matches its instructions from #${pos} (of ${seq.length})`];
      if (best) {
        lines.push(`closest: thread ${best.t.key} (${best.t.insns.length} instructions), equal for ${best.prefix}:`);
        for (let k = Math.max(0, best.prefix - 3); k <= best.prefix + 1; k++) {
          const mark = k === best.prefix ? ">>" : "  ";
          lines.push(`${mark} oracle  #${pos + k}: ${describeOracleInsn(seq[pos + k])}`);
          lines.push(`${mark} cannoli #${k}: ${describeTraceInsn(best.t.insns[k])}`);
        }
      }
      return lines.join("\n");
    }
  }
  if (left.size) return `cannoli threads not found in execlog: ${[...left].map((t) => `${t.key} (${t.insns.length} insns)`).join(", ")}`;
  return null;
}
