// SPDX-License-Identifier: MIT
//! Record & replay: a replayed recording gives a tracer exactly what the live
//! run gave it; damaged recordings replay up to the damage and name its
//! offset.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./helpers/scratch";
import { DirectFile } from "../src/record/DirectFile";
import { RecordingWriter } from "../src/record/RecordingWriter";
import { protocolVersion } from "../src/wire/records.generated";

const repo = join(import.meta.dir, "..");
const scratch = scratchDir("record");
const env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", LANG: "C" };
const cli = (...args: string[]) => Bun.spawnSync([process.execPath, join(repo, "src/cli.ts"), ...args], { env, cwd: scratch });
const guest = (arch: string, name: string) => join(repo, "test/guests/build", arch, name);
let files = 0;
const file = (name: string) => join(scratch, `${files++}-${name}`);

function liveAndReplayed(tracer: string, argv: string[], options: string[] = [], recording = file("run.cnl")): { live: string; replayed: string } {
  const live = file("live.txt");
  const replayed = file("replayed.txt");
  // The same run, traced live while it is recorded: values such as thread
  // ids and stack canaries differ from one run to the next.
  const recorded = cli("record", "--quiet", "-o", recording, "--tracer", tracer, "--trace-output", live, ...options, "--", ...argv);
  expect(recorded.stderr.toString()).toBe("");
  const replay = cli("replay", recording, "--tracer", tracer, "-o", replayed);
  expect(replay.stderr.toString()).toBe("");
  expect(replay.exitCode).toBe(0);
  return { live: readFileSync(live, "utf8"), replayed: readFileSync(replayed, "utf8") };
}

describe("replayed output is byte-identical to the live run's", () => {
  test.each([
    ["mipsel", "loops"],
    ["mipsel", "memops"],
    ["aarch64", "segv"],
    ["x86_64", "memops"],
    ["aarch64", "dynamic"],
  ])("%s %s: print and count", { timeout: 60_000 }, (arch, name) => {
    for (const tracer of ["print", "count"]) {
      const { live, replayed } = liveAndReplayed(tracer, [guest(arch, name)]);
      expect(replayed.length).toBeGreaterThan(0);
      expect(replayed).toBe(live);
    }
  });

  // The patched backend's block_run records and accesses without a head,
  // cut by segv's faults; chunks stored as they are (--level 0) or at a
  // higher zstd level.
  test.each(["0", "1", "9"])("aarch64 segv on the patched backend, --level %s: print", { timeout: 60_000 }, (level) => {
    // cannoli picks the patched QEMU of this checkout's series (setup builds it).
    const recording = file("patched.cnl");
    const { live, replayed } = liveAndReplayed("print", [guest("aarch64", "segv")], ["--backend", "patched", "--level", level], recording);
    expect(replayed.length).toBeGreaterThan(0);
    expect(replayed).toBe(live);
    const info = cli("info", recording).stdout.toString();
    if (level === "0") expect(info).toContain("(1.0x)");
    else expect(info).not.toContain("(1.0x)");
  });

  test("a run that never started (the server refused, QEMU failed) leaves no recording behind", () => {
    for (const [options, line] of [
      [["--backend", "patched", "--regs=x0,bogus"], /^cannoli: --regs: no aarch64 register matches bogus \(the patched QEMU has: x0 .*\)$/m],
      [
        ["--qemu-arg", "-no-such-qemu-option"],
        /^qemu: unknown option 'no-such-qemu-option'\ncannoli: \/usr\/bin\/qemu-aarch64 \(QEMU 7\.2\.\d+\) stopped before it loaded cannoli's server; QEMU's own message is above$/m,
      ],
    ] as const) {
      const recording = file("never.cnl");
      const result = cli("record", "--quiet", "-o", recording, ...options, "--", guest("aarch64", "loops"));
      expect(result.exitCode).toBe(1);
      expect(result.stderr.toString()).toMatch(line);
      expect(existsSync(recording)).toBe(false);
    }
  });

  test("record --level out of range, or given to run: one line, exit 2", () => {
    for (const [command, level, message] of [
      ["record", "20", "cannoli: --level 20: give 0 (store chunks as they are) to 19 (zstd's levels)"],
      ["record", "-1", "cannoli: --level -1: give 0 (store chunks as they are) to 19 (zstd's levels)"],
      ["run", "1", "cannoli: --level sets how cannoli record compresses; run has nothing to compress"],
    ] as const) {
      const result = cli(command, "-o", file("level.cnl"), "--level", level, "--", guest("aarch64", "loops"));
      expect([result.exitCode, result.stderr.toString()]).toEqual([2, `${message}\n`]);
    }
  });

  test("busybox mipsel gzip: count", { timeout: 60_000 }, () => {
    const input = join(scratch, "input.txt");
    writeFileSync(input, "cannoli ".repeat(50_000));
    const busybox = join(process.env.HOME ?? "/root", ".cache/cannoli/busybox/mipsel/busybox");
    const { live, replayed } = liveAndReplayed("count", [busybox, "gzip", "-c", input]);
    expect(replayed).toBe(live);
  });

  test("threads: each thread's events replay the same whatever the Worker count", { timeout: 60_000 }, () => {
    const recording = file("threads.cnl");
    expect(cli("record", "--quiet", "-o", recording, "--", guest("aarch64", "threads")).exitCode).toBe(0);
    const byThread = (workers: string) => {
      const out = file("threads.txt");
      expect(cli("replay", recording, "--tracer", "print", "--workers", workers, "-o", out).exitCode).toBe(0);
      const threads = new Map<string, string[]>();
      for (const line of readFileSync(out, "utf8").split("\n").filter(Boolean)) {
        const key = line.slice(0, line.indexOf(" "));
        const lines = threads.get(key) ?? [];
        lines.push(line);
        threads.set(key, lines);
      }
      return threads;
    };
    const one = byThread("1");
    expect(one.size).toBe(5);
    expect(byThread("3")).toEqual(one);
  });

  test("processes: each process's lines replay as they were traced live, whatever the Worker count", { timeout: 60_000 }, () => {
    const recording = file("fork.cnl");
    const live = file("fork-live.txt");
    expect(cli("record", "--quiet", "-o", recording, "--tracer", "print", "--trace-output", live, "--", guest("aarch64", "fork")).exitCode).toBe(0);
    const byThread = (text: string) => {
      const threads = new Map<string, string[]>();
      for (const line of text.split("\n").filter(Boolean)) {
        const key = line.slice(0, line.indexOf(" "));
        threads.set(key, [...(threads.get(key) ?? []), line]);
      }
      return threads;
    };
    const expected = byThread(readFileSync(live, "utf8"));
    expect(expected.size).toBe(2);
    for (const workers of ["1", "3"]) {
      const out = file(`fork-${workers}.txt`);
      expect(cli("replay", recording, "--tracer", "print", "--workers", workers, "-o", out).exitCode).toBe(0);
      expect(byThread(readFileSync(out, "utf8"))).toEqual(expected);
    }
  });
});

describe("damaged recordings", () => {
  const recording = file("damaged-source.cnl");
  const made = cli("record", "--quiet", "-o", recording, "--", guest("mipsel", "loops"));

  test("a truncated recording replays up to the cut and names its offset", () => {
    expect(made.exitCode).toBe(3);
    const cut = file("truncated.cnl");
    writeFileSync(cut, readFileSync(recording));
    const size = readFileSync(cut).length;
    truncateSync(cut, size - 200); // inside the last chunk frame's payload
    const out = file("truncated.txt");
    const replay = cli("replay", cut, "--tracer", "count", "-o", out);
    expect(replay.stderr.toString().trim()).toMatch(/^cannoli: recording truncated at offset \d+$/);
    expect(replay.exitCode).toBe(1);
    const info = cli("info", cut);
    expect(info.exitCode).toBe(1);
    expect(info.stdout.toString()).toContain("1 thread(s) in 1 process(es)");
  });

  // Workers hand chunk frames back out of order, so a cut can keep a
  // stream's end frame and lose a chunk before it: the stream then ends at
  // its first missing chunk, as the damage says, not with a second failure.
  test("a recording cut anywhere replays with --partial: one line, exit 0", { timeout: 60_000 }, () => {
    const busybox = join(process.env.CANNOLI_CACHE ?? join(process.env.HOME ?? "/root", ".cache/cannoli"), "busybox/arm64/busybox");
    const source = file("gzip.cnl");
    expect(cli("record", "--quiet", "-o", source, "--", busybox, "gzip", "-c", join(repo, "README.md")).exitCode).toBe(0);
    const bytes = readFileSync(source);
    for (const fraction of [0.2, 0.6, 0.85, 0.95]) {
      const cut = file(`gzip-cut-${fraction}.cnl`);
      writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * fraction)));
      const replay = cli("replay", cut, "--partial", "--tracer", "count", "-o", file("gzip-cut.txt"));
      expect({ fraction, stderr: replay.stderr.toString(), exitCode: replay.exitCode }).toEqual({
        fraction,
        stderr: expect.stringMatching(/^cannoli: recording truncated at offset \d+ \(--partial: replayed up to there\)\n$/),
        exitCode: 0,
      });
    }
  });

  test("a recording cut at a frame boundary (its writer killed) is partial: said, exit 1, or 0 with --partial", () => {
    // Walk the frames (header: stored_bytes at +16) and cut after the third.
    const bytes = readFileSync(recording);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 8;
    for (let frame = 0; frame < 3; frame++) offset += 32 + view.getUint32(offset + 16, true);
    const cut = file("cut-at-frame.cnl");
    writeFileSync(cut, bytes.subarray(0, offset));
    const line = `cannoli: recording ends at offset ${offset} without its end record (cut short, or its writer was killed): the run in it is partial`;
    const replay = cli("replay", cut, "--tracer", "count", "-o", file("cut.txt"));
    expect({ stderr: replay.stderr.toString(), exitCode: replay.exitCode }).toEqual({ stderr: `${line}\n`, exitCode: 1 });
    const partialOut = file("cut-partial.txt");
    const partial = cli("replay", cut, "--partial", "--tracer", "count", "-o", partialOut);
    expect({ stderr: partial.stderr.toString(), exitCode: partial.exitCode }).toEqual({ stderr: `${line} (--partial: replayed up to there)\n`, exitCode: 0 });
    expect(readFileSync(partialOut, "utf8")).toMatch(/^total instructions [1-9]/m);
    const info = cli("info", cut);
    expect({ stderr: info.stderr.toString(), exitCode: info.exitCode }).toEqual({ stderr: `${line}\n`, exitCode: 1 });
  });

  test("a hand-built chunk frame (valid checksum) that inflates past its declared size is refused, not inflated", () => {
    const bytes = readFileSync(recording);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Find the first chunk frame (kind 2) and swap its payload for 256 MiB of
    // zeros (a few KiB compressed), keeping its declared raw size.
    let offset = 8;
    while (bytes[offset + 4] !== 2) offset += 32 + view.getUint32(offset + 16, true);
    const stored = view.getUint32(offset + 16, true);
    const bomb = Bun.zstdCompressSync(new Uint8Array(256 << 20), { level: 19 });
    const header = new Uint8Array(bytes.subarray(offset, offset + 32));
    const headerView = new DataView(header.buffer);
    headerView.setUint32(16, bomb.length, true);
    headerView.setUint32(20, Bun.hash.crc32(bomb), true);
    const forged = file("bomb.cnl");
    writeFileSync(forged, Buffer.concat([bytes.subarray(0, offset), header, bomb, bytes.subarray(offset + 32 + stored)]));
    const replay = cli("replay", forged, "--tracer", "count", "-o", file("bomb.txt"));
    expect(replay.stderr.toString().trim()).toMatch(/^cannoli: recording damaged: a chunk of stream \d+ does not inflate to the \d+ bytes its frame declares/);
    expect(replay.exitCode).toBe(1);
  });

  test("a corrupted byte is caught by the frame checksum, with its frame's offset", () => {
    const bad = file("corrupt.cnl");
    const bytes = readFileSync(recording);
    bytes[bytes.length - 300]! ^= 0xff;
    writeFileSync(bad, bytes);
    const replay = cli("replay", bad, "--tracer", "count", "-o", file("corrupt.txt"));
    expect(replay.stderr.toString().trim()).toMatch(/^cannoli: recording damaged at offset \d+: checksum mismatch$/);
    expect(replay.exitCode).toBe(1);
  });

  test("not a recording", () => {
    const replay = cli("replay", join(repo, "package.json"));
    expect(replay.stderr.toString().trim()).toBe(`cannoli: ${join(repo, "package.json")} is not a cannoli recording`);
    expect(replay.exitCode).toBe(2);
    // Shorter than the magic: not "truncated", which would say it is one.
    for (const [name, text, line] of [
      ["empty.cnl", "", "is empty, not a cannoli recording"],
      ["short.cnl", "hi\n", "is not a cannoli recording"],
    ] as const) {
      const path = file(name);
      writeFileSync(path, text);
      const short = cli("replay", path);
      expect({ stderr: short.stderr.toString(), exitCode: short.exitCode }).toEqual({ stderr: `cannoli: ${path} ${line}\n`, exitCode: 2 });
    }
  });
});

test("a recording made with another wire protocol is refused in one line that names its version", async () => {
  const path = file("protocol-1.cnl");
  const writer = new RecordingWriter(path);
  const handshake = { protocol: 1, backend: "plugin", arch: "aarch64", pointer_bytes: 8, big_endian: false, pid: 7, ppid: 1, tid: 7, exe: "/bin/x", comm: "x" };
  writer.stream(0, JSON.stringify(handshake));
  writer.end(0, { clean: true, failure: null });
  await writer.close(0);
  const replay = cli("replay", path);
  expect({ exitCode: replay.exitCode, stdout: replay.stdout.toString(), stderr: replay.stderr.toString() }).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `cannoli: ${path} was recorded with wire protocol 1; this cannoli reads protocol ${protocolVersion} (record the run again, or replay it with the cannoli that recorded it)\n`,
  });
});

describe("DirectFile (recordings on a file system that takes O_DIRECT)", () => {
  test("writes every byte whatever the size, and the file ends where the bytes do", async () => {
    // Sizes around a block, a stage (8 MiB), and past every stage in flight
    // at once (4 × 8 MiB), appended in uneven pieces.
    for (const size of [0, 1, 4095, 4097, (8 << 20) + 3, (41 << 20) + 5]) {
      const path = file(`direct-${size}.bin`);
      const direct = DirectFile.open(path);
      expect(direct).not.toBeNull();
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 131 + (i >>> 12)) & 0xff;
      for (let at = 0, piece = 1; at < size; at += piece, piece = (piece * 7 + 13) % 3_000_001) direct!.append(bytes.subarray(at, at + piece));
      await direct!.close(size);
      expect(direct!.failure).toBeNull();
      const back = readFileSync(path);
      expect(back.length).toBe(size);
      expect(Buffer.compare(back, Buffer.from(bytes.buffer, 0, size))).toBe(0);
    }
  });

  test("a stage that waits is written as far as it is filled, and whole later", async () => {
    const path = file("direct-idle.bin");
    const direct = DirectFile.open(path)!;
    const first = new Uint8Array(5000).fill(7);
    direct.append(first);
    // The writer killed now would leave these bytes: they reach the file
    // within about a second, padded to a block.
    for (const started = performance.now(); readFileSync(path).length === 0 && performance.now() - started < 5000; ) await Bun.sleep(50);
    expect(readFileSync(path).subarray(0, first.length)).toEqual(Buffer.from(first));
    const second = new Uint8Array(3000).fill(9);
    direct.append(second);
    await direct.close(first.length + second.length);
    expect(direct.failure).toBeNull();
    expect(readFileSync(path)).toEqual(Buffer.concat([first, second]));
  });

  test("is not used for what is not a regular file", () => {
    expect(DirectFile.open("/dev/null")).toBeNull();
  });
});
