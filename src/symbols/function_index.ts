// SPDX-License-Identifier: MIT
//! A module's functions sorted by link-time address, for "which function
//! holds this address" lookups by binary search.

export interface FunctionSymbol {
  readonly name: string;
  /** Link-time address (Thumb/microMIPS mode bit cleared). */
  readonly addr: number;
  /** st_size in bytes; 0 when the symbol table does not say. */
  readonly bytes: number;
}

/** How far back a lookup walks past the nearest lower symbol to find one
 *  that contains the address (nested or overlapping symbols). */
const backtrackSymbols = 8;

export class FunctionIndex {
  readonly #symbols: FunctionSymbol[];

  /** `symbols` in any order; at one address the sized, earlier-listed one wins. */
  constructor(symbols: readonly FunctionSymbol[]) {
    const sorted = [...symbols].sort((a, b) => a.addr - b.addr || b.bytes - a.bytes);
    const unique: FunctionSymbol[] = [];
    for (const s of sorted) {
      const last = unique[unique.length - 1];
      if (last && last.addr === s.addr) continue;
      unique.push(s);
    }
    this.#symbols = unique;
  }

  get size(): number {
    return this.#symbols.length;
  }

  /** The function containing `addr` (a link-time address), or null. A
   *  symbol without a size is taken to run up to the next symbol. */
  lookup(addr: number): FunctionSymbol | null {
    const symbols = this.#symbols;
    let lo = 0;
    let hi = symbols.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (symbols[mid]!.addr <= addr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return null;
    const nearest = symbols[found]!;
    if (nearest.bytes === 0) return nearest;
    for (let i = found; i >= 0 && i > found - backtrackSymbols; i--) {
      const s = symbols[i]!;
      if (addr < s.addr + s.bytes) return s;
    }
    return null;
  }
}
