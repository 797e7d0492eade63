// SPDX-License-Identifier: MIT
//! A memory access's value from the 32-bit words the wire and the batch
//! columns carry it in (zig-src/wire/records.zig), as one BigInt.

/** The value whose words are `lo`, `hi`, `upperLo`, `upperHi`, least
 *  significant first (the upper two are 0 but for a 16-byte access). */
export function valueOfWords(lo: number, hi: number, upperLo: number, upperHi: number): bigint {
  const low = (BigInt(hi) << 32n) | BigInt(lo);
  if (upperLo === 0 && upperHi === 0) return low;
  return (BigInt(upperHi) << 96n) | (BigInt(upperLo) << 64n) | low;
}
