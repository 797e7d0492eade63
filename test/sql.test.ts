// SPDX-License-Identifier: MIT
//! `cannoli export` and `cannoli sql`: a recording's tables must say what
//! the live run counted (instructions, reads, writes per thread, themselves
//! equal to QEMU's own plugins in e2e.test.ts), name the store that last
//! wrote a byte the guest chose, and be Parquet that a second, independent
//! reader (hyparquet) reads back the same.
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import type { ThreadStats } from "../src/runtime/OrderedStage";
import { QEMU_10_0, elfSymbols, guestPath } from "./helpers/oracle";
import { scratchDir } from "./helpers/scratch";

const repo = join(import.meta.dir, "..");
const cli = join(repo, "src/cli.ts");
const scratch = scratchDir("sql");
const guest = (arch: string, name: string) => join(repo, "test/guests/build", arch, name);
const busybox = join(process.env.CANNOLI_CACHE ?? join(process.env.HOME ?? "/root", ".cache/cannoli"), "busybox/arm64/busybox");

function cannoli(...args: string[]) {
  const result = Bun.spawnSync([process.execPath, cli, ...args], { cwd: scratch, env: { ...process.env, LANG: "C" } });
  return { stdout: result.stdout.toString(), stderr: result.stderr.toString(), exitCode: result.exitCode };
}

/** Records `argv` (`options` before it), keeping the live run's per-thread statistics. */
function recorded(name: string, argv: string[], options: string[] = []): { recording: string; perThread: ThreadStats[]; stdout: string } {
  const recording = join(scratch, `${name}.cnl`);
  const stats = join(scratch, `${name}.stats.json`);
  const run = cannoli("record", "--quiet", "-o", recording, "--stats-json", stats, ...options, "--", ...argv);
  expect(run.stderr).toBe("");
  const perThread = (JSON.parse(readFileSync(stats, "utf8")) as { per_thread: ThreadStats[] }).per_thread;
  return { recording, perThread, stdout: run.stdout };
}

function sqlJson(source: string, ...query: string[]): Record<string, unknown>[] {
  const result = cannoli("sql", source, ...query, "--json");
  expect(result.stderr).toBe("");
  expect(result.exitCode).toBe(0);
  return result.stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

type ThreadKey = { readonly pid: unknown; readonly image: unknown; readonly tid: unknown };
const byThread = (a: ThreadKey | Record<string, unknown>, b: ThreadKey | Record<string, unknown>) =>
  Number(a.pid) - Number(b.pid) || Number(a.image) - Number(b.image) || Number(a.tid) - Number(b.tid);

/** Per thread: the threads table's totals and what the row tables hold. */
const countsQuery = `
  SELECT t.pid, t.image, t.tid, t.instructions, t.reads, t.writes,
    (SELECT count(*) FROM instructions i WHERE i.pid = t.pid AND i.image = t.image AND i.tid = t.tid) AS instruction_rows,
    (SELECT count(DISTINCT i.seq) FROM instructions i WHERE i.pid = t.pid AND i.image = t.image AND i.tid = t.tid AND i.seq < t.instructions) AS in_seq,
    (SELECT coalesce(sum(b.instructions), 0) FROM blocks b WHERE b.pid = t.pid AND b.image = t.image AND b.tid = t.tid) AS block_instructions,
    (SELECT count(*) FROM memory m WHERE m.pid = t.pid AND m.image = t.image AND m.tid = t.tid AND NOT m.is_store) AS read_rows,
    (SELECT count(*) FROM memory m WHERE m.pid = t.pid AND m.image = t.image AND m.tid = t.tid AND m.is_store) AS write_rows
  FROM threads t`;

describe.each([
  ["aarch64 threads", [guest("aarch64", "threads")]],
  ["x86_64 fork", [guest("x86_64", "fork")]],
  ["busybox arm64 sh -c (two programs)", [busybox, "sh", "-c", `${busybox} echo one; exec ${busybox} true`]],
] as const)("%s", (name, argv) => {
  const { recording, perThread } = recorded(name.replaceAll(/\W+/g, "-"), [...argv]);
  const dir = join(scratch, `${name.replaceAll(/\W+/g, "-")}-tables`);

  test("SQL on the recording counts what the live run counted, per thread", { timeout: 60_000 }, () => {
    const rows = sqlJson(recording, countsQuery).sort(byThread);
    const expected = [...perThread].sort(byThread);
    expect(rows.map((r) => [r.pid, r.image, r.tid].map(Number))).toEqual(expected.map((t) => [t.pid, t.image, t.tid]));
    for (const [i, t] of expected.entries()) {
      const row = rows[i]!;
      const counts = [row.instructions, row.instruction_rows, row.in_seq, row.block_instructions].map(Number);
      expect(counts).toEqual([t.instructions, t.instructions, t.instructions, t.instructions]);
      expect([row.reads, row.read_rows, row.writes, row.write_rows].map(Number)).toEqual([t.reads, t.reads, t.writes, t.writes]);
    }
  });

  test("the exported Parquet gives the same answers, and a second reader reads it", { timeout: 60_000 }, async () => {
    const exported = cannoli("export", recording, "-o", dir);
    expect(exported.exitCode).toBe(0);
    expect(exported.stderr).toMatch(/^cannoli: exported \d+ instructions, /);
    expect(sqlJson(dir, countsQuery).sort(byThread)).toEqual(sqlJson(recording, countsQuery).sort(byThread));
    // hyparquet, file by file: rows and the sum of addresses equal DuckDB's.
    let rows = 0;
    let addrSum = 0n;
    const files = readdirSync(join(dir, "memory"), { recursive: true }).filter((f) => String(f).endsWith(".parquet"));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const data = (await parquetReadObjects({ file: await asyncBufferFromFile(join(dir, "memory", String(file))), compressors })) as { addr: bigint }[];
      rows += data.length;
      for (const row of data) addrSum += BigInt(row.addr);
    }
    const [duck] = sqlJson(dir, "SELECT count(*) AS n, sum(addr) AS s FROM memory");
    expect([rows, addrSum]).toEqual([Number(duck!.n), BigInt(duck!.s as string | number)]);
  });
});

test("last-writer names the store that last wrote the byte, with its value", { timeout: 60_000 }, () => {
  const { recording, stdout } = recorded("memops", [guest("aarch64", "memops")]);
  const buf = BigInt(/buf=(0x[0-9a-f]+)/.exec(stdout)![1]!);
  const at = (offset: bigint) => sqlJson(recording, "--query", "last-writer", `0x${(buf + offset).toString(16)}`);
  // memops.c: u16 0x2233 at +2, u64 0x8899aabbccddeeff at +8.
  expect(at(3n).map((r) => [r.size, r.value])).toEqual([[2, "0x2233"]]);
  expect(at(13n).map((r) => [r.size, r.value])).toEqual([[8, "0x8899aabbccddeeff"]]);
  expect(at(1n)).toEqual([]); // never written
});

test("a 16-byte store keeps all its bytes (QEMU 10's x86_64 movdqu): value_high holds the upper 8", { timeout: 60_000 }, () => {
  const { recording } = recorded("wide", [guestPath("x86_64", "regs")], ["--qemu", QEMU_10_0.binary("x86_64")]);
  const wide = elfSymbols(guestPath("x86_64", "regs")).get("wide")!.value;
  // regs.c stores r12 then r13 (little-endian) by one movdqu.
  expect(sqlJson(recording, "--query", "last-writer", `0x${(wide + 12n).toString(16)}`).map((r) => [r.size, r.value])).toEqual([[16, "0x99aabbccddeeff001122334455667788"]]);
  const [row] = sqlJson(recording, `SELECT value, value_high FROM memory WHERE addr = ${wide} AND is_store`);
  expect([BigInt(row!.value as string | number), BigInt(row!.value_high as string | number)]).toEqual([0x1122334455667788n, 0x99aabbccddeeff00n]);
});

test("the named queries answer on a real program; syscalls carry their results", () => {
  const { recording: gzip } = recorded("gzip", [busybox, "gzip", "-c", join(repo, "README.md")]);
  const recording = join(scratch, "gzip-tables");
  expect(cannoli("export", gzip, "-o", recording).exitCode).toBe(0);
  const hot = sqlJson(recording, "--query", "hot-blocks");
  expect(hot.length).toBe(20);
  const summary = sqlJson(recording, "--query", "syscall-summary");
  expect(summary.find((r) => r.syscall === "write")).toBeDefined();
  const modules = sqlJson(recording, "--query", "coverage-by-module");
  expect(modules.map((r) => r.module)).toEqual([busybox]);
  // The module's build ID, as binutils reads it.
  const buildId = /Build ID: ([0-9a-f]+)/.exec(Bun.spawnSync(["readelf", "-n", busybox]).stdout.toString())![1];
  expect(sqlJson(recording, "SELECT build_id FROM modules").map((r) => r.build_id)).toEqual([buildId]);
  const [reads] = sqlJson(recording, "SELECT count(*) AS n, sum(ret) AS bytes FROM syscalls WHERE name = 'read' AND ret > 0");
  expect(Number(reads!.bytes)).toBe(statSync(join(repo, "README.md")).size);
}, 60_000);

test("a truncated recording exports what precedes the damage and says where it stopped", () => {
  const { recording } = recorded("cut", [busybox, "gzip", "-c", join(repo, "README.md")]);
  const cut = join(scratch, "cut-short.cnl");
  copyFileSync(recording, cut);
  truncateSync(cut, Math.floor(statSync(recording).size * 0.6));
  const dir = join(scratch, "cut-tables");
  const result = cannoli("export", cut, "-o", dir);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toMatch(/^cannoli: exported \d+ instructions/m);
  expect(result.stderr).toMatch(/recording truncated at offset \d+\n$/);
  const [partial] = sqlJson(dir, "SELECT count(*) AS n FROM instructions");
  const [whole] = sqlJson(recording, "SELECT count(*) AS n FROM instructions");
  expect(Number(partial!.n)).toBeGreaterThan(0);
  expect(Number(partial!.n)).toBeLessThan(Number(whole!.n));
  expect(cannoli("export", cut, "-o", join(scratch, "cut-partial"), "--partial").exitCode).toBe(0);
}, 60_000);

test("bad input: one line and a non-zero exit", { timeout: 60_000 }, () => {
  const missing = cannoli("export", join(scratch, "nope.cnl"), "-o", join(scratch, "nope"));
  expect([missing.exitCode, missing.stderr]).toEqual([2, `cannoli: cannot open recording ${join(scratch, "nope.cnl")}\n`]);
  expect(cannoli("export", "x.cnl").stderr).toBe("cannoli: export needs -o DIR\n");
  const table = cannoli("export", "x.cnl", "-o", "d", "--tables", "memory,bogus");
  expect(table.stderr).toStartWith("cannoli: unknown table bogus (tables: instructions, ");
  const { recording } = recorded("bad-sql", [guest("aarch64", "loops")]);
  const query = cannoli("sql", recording, "SELECT nope FROM threads");
  expect(query.exitCode).toBe(1);
  expect(query.stderr).toStartWith("cannoli: sql: Binder Error: ");
  expect(query.stderr.trimEnd().split("\n").length).toBe(1);
  // A table that is not there: its line lists the ones that are.
  const unknown = cannoli("sql", recording, "SELECT count(*) FROM exec");
  expect([unknown.exitCode, unknown.stderr]).toEqual([
    1,
    "cannoli: sql: Catalog Error: Table with name exec does not exist! (tables: instructions, blocks, memory, syscalls, mmaps, threads, modules)\n",
  ]);
  expect(cannoli("sql", recording, "--query", "last-writer", "nowhere").stderr).toBe("cannoli: --query last-writer ADDR: give an address (decimal or 0x hex)\n");
});

test("statements from stdin, each ended by ';'", () => {
  const { recording } = recorded("stdin", [guest("aarch64", "loops")]);
  const result = Bun.spawnSync([process.execPath, cli, "sql", recording, "--csv"], { stdin: Buffer.from("SELECT 1 AS one;\nSELECT count(*) AS threads\nFROM threads;\n") });
  expect(result.stdout.toString()).toBe("one\n1\nthreads\n1\n");
});

test("the single executable carries DuckDB: sql from dist/cannoli", { timeout: 60_000 }, () => {
  const { recording } = recorded("dist", [guest("aarch64", "loops")]);
  const cache = join(scratch, "dist-cache");
  const run = Bun.spawnSync([join(repo, "dist/cannoli"), "sql", recording, "SELECT sum(instructions) AS n FROM threads", "--csv"], {
    env: { ...process.env, CANNOLI_CACHE: cache },
  });
  expect(run.stderr.toString()).toBe("");
  expect(run.stdout.toString()).toBe(`n\n${sqlJson(recording, "SELECT sum(instructions) AS n FROM threads")[0]!.n}\n`);
});

test("sql on a recording leaves no scratch database, and removes one a killed cannoli left", { timeout: 60_000 }, () => {
  const { recording } = recorded("scratch", [guest("aarch64", "loops")]);
  const tmp = join(scratch, "tmp");
  mkdirSync(tmp, { recursive: true });
  // A pid no process has (above the kernel's pid_max default of 4 M).
  const stale = join(tmp, "cannoli-99999999-abcdef");
  mkdirSync(stale);
  const run = Bun.spawnSync([process.execPath, cli, "sql", recording, "SELECT 1 AS one", "--csv"], { env: { ...process.env, TMPDIR: tmp } });
  expect(run.stdout.toString()).toBe("one\n1\n");
  expect(readdirSync(tmp)).toEqual([]);
});
