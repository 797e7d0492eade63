// SPDX-License-Identifier: MIT
//! The named queries of `cannoli sql --query NAME`: questions users ask of
//! every run, written once against the tables in schema.ts.

export interface NamedQuery {
  readonly usage: string;
  readonly doc: string;
  /** The SQL, given the query's arguments (checked here). */
  sql(args: readonly string[]): string;
}

function address(text: string | undefined, usage: string): bigint {
  if (text === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(text)) throw new Error(`cannoli: --query ${usage}: give an address (decimal or 0x hex)`);
  return BigInt(text);
}

export const namedQueries: Record<string, NamedQuery> = {
  "hot-blocks": {
    usage: "hot-blocks",
    doc: "the 20 blocks that ran the most instructions",
    sql: () =>
      `SELECT pid, image, printf('0x%x', pc) AS pc, count(*) AS executions, sum(instructions) AS instructions
       FROM blocks GROUP BY pid, image, pc ORDER BY instructions DESC, pc LIMIT 20`,
  },
  "last-writer": {
    usage: "last-writer ADDR",
    doc: "per thread, the last store that wrote the byte at ADDR",
    sql: (args) => {
      const addr = address(args[0], "last-writer ADDR");
      const value = `CASE WHEN value_high = 0 THEN printf('0x%x', value) ELSE printf('0x%x%016x', value_high, value) END`;
      return `SELECT pid, image, tid, seq, printf('0x%x', pc) AS pc, printf('0x%x', addr) AS addr, size, ${value} AS value
       FROM memory WHERE is_store AND addr <= ${addr} AND ${addr} < addr + size
       QUALIFY row_number() OVER (PARTITION BY pid, image, tid ORDER BY seq DESC) = 1
       ORDER BY pid, image, tid`;
    },
  },
  "syscall-summary": {
    usage: "syscall-summary",
    doc: "system calls by name: how many, how many failed",
    sql: () =>
      `SELECT coalesce(name, '#' || number) AS syscall, count(*) AS calls, count(*) FILTER (WHERE ret < 0) AS failed
       FROM syscalls GROUP BY ALL ORDER BY calls DESC, syscall`,
  },
  "coverage-by-module": {
    usage: "coverage-by-module",
    doc: "per module: distinct blocks and instructions executed in it",
    sql: () =>
      `SELECT m.path AS module, count(DISTINCT b.pc) AS blocks, sum(b.instructions) AS instructions
       FROM blocks b JOIN modules m ON b.pid = m.pid AND b.image = m.image AND b.pc >= m.start AND b.pc < m."end"
       GROUP BY ALL ORDER BY instructions DESC, module`,
  },
};
