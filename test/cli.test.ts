// SPDX-License-Identifier: MIT
//! Bad input and interruptions: each gives one clear line, a non-zero exit,
//! and leaves no process and no socket directory behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QEMUS, QEMU_10_0, parseInsnOutput } from "./helpers/oracle";
import { findPatchedQemu } from "../src/commands/qemu_paths";

const repo = join(import.meta.dir, "..");
const bun = process.execPath;
const cli = join(repo, "src/cli.ts");
const guest = (arch: string, name: string) => join(repo, "test/guests/build", arch, name);
const busybox = join(process.env.CANNOLI_CACHE ?? join(process.env.HOME ?? "/root", ".cache/cannoli"), "busybox/arm64/busybox");
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "cannoli-cli-test-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs cannoli with its own TMPDIR so leftovers can be checked. */
async function cannoli(args: string[], env: Record<string, string> = {}, wrapper: string[] = []) {
  const tmp = mkdtempSync(join(scratch, "tmp-"));
  const child = Bun.spawn([...wrapper, bun, cli, ...args], {
    cwd: repo,
    // No XDG_RUNTIME_DIR: the socket directory goes to TMPDIR, to be checked.
    env: { ...process.env, TMPDIR: tmp, XDG_RUNTIME_DIR: "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode, leftovers: readdirSync(tmp) };
}

/** Direct children of pid, from /proc (no pgrep: procps is not in a minimal Debian). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) kids.push(Number(name));
  }
  return kids;
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8");
  } catch {
    return ""; // exited meanwhile
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("timed out waiting");
    await Bun.sleep(20);
  }
}

describe("bad input gets one clear line and a non-zero exit", () => {
  test.each([
    [["run", "--", "/nonexistent/guest"], /^cannoli: guest \/nonexistent\/guest does not exist$/],
    // A bare name is not searched for (QEMU runs the file it is given), but
    // one the shell would find in PATH gets its path suggested.
    [["run", "--", "sh"], /^cannoli: guest sh does not exist \(to trace \/(usr\/)?bin\/sh, give its path\)$/],
    [["run", "--", join(repo, "package.json")], /^cannoli: guest .*package\.json is not an ELF file$/],
    [["run"], /^cannoli: no guest program given/],
    [["run", "--bogus", "--", "x"], /^cannoli: unknown option --bogus/],
    [["run", "--range", "5-1", "--", "x"], /^cannoli: --range 5-1 is not LO-HI/],
    [["run", "--workers", "0", "--", "x"], /^cannoli: --workers takes a whole number/],
    [["run", "--helpers", "-1", "--", "x"], /^cannoli: --helpers takes a whole number/],
    [["frobnicate"], /^cannoli: unknown command frobnicate/],
    [["run", "--qemu", join(repo, "package.json"), "--", join(repo, "test/guests/build/aarch64/loops")], /^cannoli: --qemu .*package\.json is not an executable file$/],
    [["run", "--qemu", repo, "--", join(repo, "test/guests/build/aarch64/loops")], /^cannoli: --qemu .* is not an executable file$/],
  ])("%j", async (args, message) => {
    const result = await cannoli(args);
    expect(result.stderr.trim()).toMatch(message);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.exitCode).toBe(2);
  });

  test("a guest that may not be executed (QEMU 7.2 would exit 1 without a word)", async () => {
    const copy = join(scratch, "loops-not-executable");
    writeFileSync(copy, readFileSync(guest("aarch64", "loops")), { mode: 0o644 });
    const result = await cannoli(["run", "--", copy]);
    expect({ stderr: result.stderr, exitCode: result.exitCode }).toEqual({ stderr: `cannoli: guest ${copy} is not executable (chmod +x it)\n`, exitCode: 2 });
  });

  test("an ELF for an unsupported architecture", async () => {
    const elf = Buffer.alloc(64);
    elf.writeUInt32BE(0x7f454c46, 0);
    elf[4] = 1;
    elf[5] = 1;
    elf.writeUInt16LE(0x4242, 18);
    const path = join(scratch, "weird.elf");
    writeFileSync(path, elf);
    const result = await cannoli(["run", "--", path]);
    expect(result.stderr.trim()).toBe(`cannoli: guest ${path} is for an unsupported architecture (ELF machine 16962)`);
    expect(result.exitCode).toBe(2);
  });

  test("qemu-<arch> missing names the package to install", async () => {
    const result = await cannoli(["run", "--", guest("mipsel", "loops")], { PATH: "/nonexistent" });
    expect(result.stderr.trim()).toBe("cannoli: qemu-mipsel not found; install Debian's qemu-user package (apt-get install qemu-user)");
    expect(result.exitCode).toBe(2);
  });

  test("a tracer file that fails to load", async () => {
    const path = join(scratch, "broken.ts");
    writeFileSync(path, "export default {{{ not typescript");
    const result = await cannoli(["run", "--tracer", path, "--", guest("mipsel", "loops")]);
    expect(result.stderr.trim()).toMatch(/^cannoli: tracer .*broken\.ts failed to load: /);
    expect(result.exitCode).toBe(2);
  });

  test("a handler that throws is named with its event; QEMU is stopped", async () => {
    const path = join(scratch, "throws.ts");
    writeFileSync(path, `export default { exec(ctx, ev) { if (ev.pc > 0) throw new Error("boom"); } };`);
    const result = await cannoli(["run", "--quiet", "--tracer", path, "--", guest("mipsel", "loops")]);
    expect(result.stderr.trim()).toMatch(/^cannoli: tracer handler threw on exec\(pc=0x[0-9a-f]+\) in thread \d+:\d+: boom$/);
    expect(result.exitCode).not.toBe(0);
    expect(result.leftovers).toEqual([]);
  });
});

describe("interruptions leave nothing behind", () => {
  async function startLongRun(tmp = mkdtempSync(join(scratch, "tmp-")), runtimeDir = "") {
    const child = Bun.spawn([bun, cli, "run", "--quiet", "--tracer", "null", "--", "/bin/sleep", "30"], {
      cwd: repo,
      env: { ...process.env, TMPDIR: tmp, XDG_RUNTIME_DIR: runtimeDir },
      stdout: "pipe",
      stderr: "pipe",
    });
    let qemu = 0;
    await waitFor(() => {
      qemu = childrenOf(child.pid).find((pid) => commOf(pid).startsWith("qemu")) ?? 0;
      return qemu > 0 && readdirSync(runtimeDir || tmp).length > 0;
    });
    return { child, qemu, tmp };
  }

  test("QEMU killed with -9 mid-run", async () => {
    const { child, qemu, tmp } = await startLongRun();
    process.kill(qemu, 9);
    const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
    expect(stderr.trim()).toMatch(/^cannoli: .*qemu-x86_64 died of SIGKILL; the trace ends there$/);
    expect(exitCode).toBe(137);
    expect(readdirSync(tmp)).toEqual([]);
  });

  test("cannoli interrupted with Ctrl-C stops QEMU", async () => {
    const { child, qemu, tmp } = await startLongRun();
    process.kill(child.pid, "SIGINT");
    const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
    expect(stderr.trim()).toBe("cannoli: interrupted; QEMU stopped");
    expect(exitCode).toBe(130);
    expect(alive(qemu)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  });

  test("cannoli killed with -9: QEMU does not outlive it; the next cannoli removes the socket directory left behind", async () => {
    const { child, qemu, tmp } = await startLongRun();
    process.kill(child.pid, 9);
    await child.exited;
    await waitFor(() => !alive(qemu), 5000);
    expect(readdirSync(tmp)).toEqual([expect.stringMatching(new RegExp(`^cannoli-${child.pid}-`))]);
    // A directory of a live cannoli (this test's pid stands in) is kept.
    const live = join(tmp, `cannoli-${process.pid}-abcdef`);
    mkdirSync(live);
    const next = Bun.spawnSync([bun, cli, "run", "--quiet", "--", guest("aarch64", "loops")], { cwd: repo, env: { ...process.env, TMPDIR: tmp, XDG_RUNTIME_DIR: "" } });
    expect(next.exitCode).toBe(3);
    expect(readdirSync(tmp)).toEqual([`cannoli-${process.pid}-abcdef`]);
    rmSync(live, { recursive: true });
  });

  /** cannoli tracing forksleep 30: returns once QEMU and its forked child
   *  (a grandchild of cannoli) both run. */
  async function startForkedRun() {
    const tmp = mkdtempSync(join(scratch, "tmp-"));
    const child = Bun.spawn([bun, cli, "run", "--quiet", "--tracer", "null", "--", guest("aarch64", "forksleep"), "30"], {
      cwd: repo,
      env: { ...process.env, TMPDIR: tmp, XDG_RUNTIME_DIR: "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    let qemus: number[] = [];
    await waitFor(() => {
      const parent = childrenOf(child.pid).find((pid) => commOf(pid).startsWith("qemu"));
      qemus = parent ? [parent, ...childrenOf(parent).filter((pid) => commOf(pid).startsWith("qemu"))] : [];
      return qemus.length === 2;
    });
    return { child, qemus, tmp };
  }

  test("cannoli killed with -9: a forked QEMU child does not outlive it either", async () => {
    const { child, qemus } = await startForkedRun();
    process.kill(child.pid, 9);
    await child.exited;
    await waitFor(() => qemus.every((pid) => !alive(pid)), 5000);
  });

  test("SIGINT or SIGTERM to cannoli alone also stops the guest's forked processes, promptly", async () => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const { child, qemus, tmp } = await startForkedRun();
      // Both streams are open once each process has run an instruction.
      await Bun.sleep(500);
      const sent = performance.now();
      process.kill(child.pid, signal);
      const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
      expect({ signal, stderr: stderr.trim(), exitCode }).toEqual({ signal, stderr: "cannoli: interrupted; QEMU stopped", exitCode: signal === "SIGINT" ? 130 : 143 });
      expect(performance.now() - sent).toBeLessThan(5000);
      await waitFor(() => qemus.every((pid) => !alive(pid)), 3000);
      expect(readdirSync(tmp)).toEqual([]);
    }
  }, 30_000);

  test("a tracer stuck in trace(): SIGINT or SIGTERM still ends cannoli within seconds, and QEMU with it", async () => {
    const stuck = join(scratch, "stuck-tracer.ts");
    writeFileSync(stuck, "export default { exec() {}, trace() { for (;;) {} } };\n");
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const child = Bun.spawn([bun, cli, "run", "--quiet", "--tracer", stuck, "--", guest("aarch64", "bench_nops"), "1000000"], { cwd: repo, stdout: "pipe", stderr: "pipe" });
      let qemu: number | undefined;
      await waitFor(() => (qemu = childrenOf(child.pid).find((pid) => commOf(pid).startsWith("qemu"))) !== undefined);
      await Bun.sleep(1500);
      const sent = performance.now();
      process.kill(child.pid, signal);
      const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
      expect({ signal, stderr, exitCode }).toEqual({
        signal,
        stderr: "cannoli: still running after the signal (a tracer handler that does not return?); stopped\n",
        exitCode: signal === "SIGINT" ? 130 : 143,
      });
      expect(performance.now() - sent).toBeLessThan(8000);
      await waitFor(() => !alive(qemu!), 3000);
    }
  }, 40_000);

  test("the socket directory lives in $XDG_RUNTIME_DIR when there is one", async () => {
    const runtimeDir = mkdtempSync(join(scratch, "xdg-"));
    const { child, tmp } = await startLongRun(undefined, runtimeDir);
    expect(readdirSync(runtimeDir)).toEqual([expect.stringMatching(new RegExp(`^cannoli-${child.pid}-`))]);
    expect(readdirSync(tmp)).toEqual([]);
    process.kill(child.pid, "SIGTERM");
    await child.exited;
    expect(readdirSync(runtimeDir)).toEqual([]);
  });
});

test("the demo tracer summarises a run and names the hottest code", async () => {
  const result = await cannoli(["run", "--quiet", "--tracer", "demo", "--", guest("aarch64", "loops")]);
  expect(result.exitCode).toBe(3);
  expect(result.stderr).toMatch(/^cannoli demo: 1 thread\(s\)\n  instructions  [\d,]+\n/);
  expect(result.stderr).toMatch(/hottest instructions:\n    0x[0-9a-f]{8} +[\d,]+ times  loops!\w+\+0x[0-9a-f]+\n/);
});

// A QEMU that cannot load the server (here: a library without
// qemu_plugin_install, refused by the real QEMU of each version under test)
// gets one line naming the binary and its version, after QEMU's own reason
// (what cannoli supports and what to do where the QEMU is the reason: too
// old, too new, no plugins); never a run that looks like a trace of zero
// instructions.
describe("a QEMU that refuses the server", () => {
  for (const q of QEMUS) {
    test(`QEMU ${q.name}: one clear line, non-zero exit, no tracer output`, async () => {
      const qemu = q.binary("aarch64");
      const r = await cannoli(["run", "--quiet", "--tracer", "count", "--qemu", qemu, "--", guest("aarch64", "loops")], {
        CANNOLI_SERVER: join(repo, "zig-out/lib/libcannoli_consumer.so"),
      });
      expect(r.exitCode).not.toBe(0);
      const lines = r.stderr.trim().split("\n");
      // QEMU's own reason first, then cannoli's line; nothing else.
      expect(lines.length).toBe(2);
      expect(lines[0]).toContain("Could not load plugin");
      // A QEMU cannoli supports, with plugins: its own message is the reason.
      expect(lines[1]).toMatch(
        new RegExp(
          `^cannoli: ${qemu.replaceAll(".", "\\.")} \\(QEMU ${q.name.replace(".", "\\.")}\\.\\d+\\) stopped before it loaded cannoli's server; QEMU's own message is above$`,
        ),
      );
      expect(r.stderr).not.toContain("instructions");
      expect(r.leftovers).toEqual([]);
    });
  }

  test("a program that is not QEMU and exits 0 (--qemu /bin/true) is an error, not an empty trace", async () => {
    const r = await cannoli(["run", "--qemu", "/bin/true", "--", guest("aarch64", "loops")]);
    expect({ exitCode: r.exitCode, stdout: r.stdout }).toEqual({ exitCode: 1, stdout: "" });
    expect(r.stderr).toMatch(/^cannoli: \/bin\/true \(not a QEMU that answers --version\) could not load cannoli's server: it does not look like QEMU; [^\n]*\n$/);
  });

  test("a guest that fails before running is not blamed on the server", async () => {
    // A dynamic guest whose loader exists nowhere: QEMU loads the server,
    // then cannot start the guest, and says so itself.
    const elf = readFileSync(guest("aarch64", "dynamic"));
    const interp = Buffer.from("/lib/ld-linux-aarch64.so.1");
    const at = elf.indexOf(interp);
    expect(at).toBeGreaterThan(0);
    Buffer.from("/lib/ld-linux-aarch64.so.9").copy(elf, at);
    const broken = join(scratch, "no-loader");
    writeFileSync(broken, elf, { mode: 0o755 });
    const r = await cannoli(["run", "--quiet", "--", broken]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("ld-linux-aarch64.so.9");
    expect(r.stderr).not.toContain("could not load cannoli's server");
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^cannoli: QEMU exited \(code \d+\) before the guest ran an instruction/);
    expect(r.stderr).not.toContain("instructions 0");
    expect(r.leftovers).toEqual([]);
  });
});

describe("cannoli doctor", () => {
  test("tells each QEMU's version, API range, whether the server loads, and what it offers", async () => {
    const q10 = QEMU_10_0.binary("aarch64");
    const r = await cannoli(["doctor", "--qemu", q10]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`--qemu   ${q10}: QEMU 10.0.`);
    expect(r.stdout).toMatch(/^--qemu .*plugin API 2\.\.4; server loads \(API 4\); blocks with threads \(per-vCPU counters\), memory values from QEMU/m);
    expect(r.stdout).toMatch(/^aarch64 +plugin: \S+qemu-aarch64: QEMU 7\.2\.\d+; plugin API 0\.\.1; server loads \(API 1\); blocks while single-threaded/m);
    expect(r.leftovers).toEqual([]);
  });

  test("a server no QEMU loads: each says why, and doctor fails", async () => {
    const r = await cannoli(["doctor", "--qemu", QEMU_10_0.binary("mipsel")], { CANNOLI_SERVER: join(repo, "zig-out/lib/libcannoli_consumer.so") });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^--qemu .*QEMU 10\.0\.\d+; plugin API 2\.\.4; server does NOT load: .*Could not load plugin/m);
    expect(r.stdout).toMatch(/^mipsel +plugin: .*server does NOT load/m);
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(/^no QEMU here loads cannoli's server/);
  });
});

// The guest sees its file descriptors as under plain QEMU: cannoli's memfd
// and socket sit above the soft RLIMIT_NOFILE, close-on-exec, out of the way
// of its first open() and of a loop closing everything up to that limit; and
// a soft limit of 1024 (the usual default in a user's shell) does not stop
// the trace.
describe("what the guest sees of its file descriptors", () => {
  for (const q of QEMUS) {
    for (const arch of ["aarch64", "mipsel"] as const) {
      test(`QEMU ${q.name} ${arch}: first open() gets 3, closing 3..OPEN_MAX keeps the trace, also with ulimit -Sn 1024`, async () => {
        const plain = Bun.spawnSync([q.binary(arch), guest(arch, "fds")]);
        expect(plain.stdout.toString()).toMatch(/^fds first=3 again=3 [0-9a-f]{8}\n$/);
        for (const limit of ["unlimited-ish", "1024"]) {
          const stats = join(scratch, `fds-${q.name}-${arch}-${limit}.json`);
          // QEMU's insn plugin in the same QEMU, logging to stderr (the one
          // descriptor the guest keeps), counts what the trace must hold.
          const oracle = ["-plugin", q.oracle("insn"), "-d", "plugin"].flatMap((arg) => ["--qemu-arg", arg]);
          const command = [bun, cli, "run", "--quiet", "--tracer", "null", "--stats-json", stats, "--qemu", q.binary(arch), ...oracle, "--", guest(arch, "fds")];
          // 1024 under a hard limit of 2048: room above the soft limit, where
          // cannoli's descriptors go, out of the guest's close loop.
          const shell = limit === "1024" ? `ulimit -n 2048 && ulimit -Sn 1024 && exec "$@"` : `exec "$@"`;
          const run = Bun.spawnSync(["bash", "-c", shell, "bash", ...command], { cwd: repo });
          const stderr = run.stderr.toString();
          expect({ limit, stdout: run.stdout.toString(), oracleOnly: /^(?:(?:cpu \d+ |total )?insns: \d+\n)+$/.test(stderr), exitCode: run.exitCode }).toEqual({
            limit,
            stdout: plain.stdout.toString(),
            oracleOnly: true,
            exitCode: 0,
          });
          const result = JSON.parse(readFileSync(stats, "utf8"));
          // Everything after the closes ran traced: the whole run, as QEMU counted it.
          const counted = parseInsnOutput(stderr).totals[0];
          expect({ limit, threads: result.threads, instructions: result.instructions }).toEqual({ limit, threads: 1, instructions: counted });
        }
      });
    }
  }
});

test("--tracer-arg KEY=VALUE reaches context() in every Worker and init() once", async () => {
  const tracer = join(scratch, "args-tracer.ts");
  writeFileSync(
    tracer,
    `export default {
  context: (thread, args) => ({ tag: args.tag }),
  exec(ctx, event, out) { if (out.length === 0) out.push(ctx.tag); },
  init: (args) => ({ limit: Number(args.limit), tags: new Set() }),
  trace(state, items) { for (const tag of items) state.tags.add(tag); },
  finish(state, output) { output.write(\`limit=\${state.limit} tags=\${[...state.tags].join(",")}\\n\`); },
};
`,
  );
  const run = await cannoli(["run", "--quiet", "--workers", "2", "--tracer", tracer, "--tracer-arg", "limit=7", "--tracer-arg", "tag=a=b", "--", guest("aarch64", "loops")]);
  expect(run.stderr).toBe("limit=7 tags=a=b\n");
  const bad = await cannoli(["run", "--tracer-arg", "novalue", "--", guest("aarch64", "loops")]);
  expect({ exitCode: bad.exitCode, stderr: bad.stderr }).toEqual({ exitCode: 2, stderr: "cannoli: --tracer-arg novalue is not KEY=VALUE\n" });
});

// Every handler failure behaves the same: QEMU is stopped (if still
// running), one line names the handler, exit 1 (never the 137 of the kill).
describe("a tracer handler that throws", () => {
  const cases: [string, string, RegExp][] = [
    ["context", `context() { throw new Error("boom"); }, exec() {}`, /^cannoli: tracer context\(\) threw for thread \d+:\d+: boom$/],
    ["exec", `exec(ctx, ev) { throw new Error("boom"); }`, /^cannoli: tracer handler threw on exec\(pc=0x[0-9a-f]+\) in thread \d+:\d+: boom$/],
    ["trace", `exec(ctx, ev, out) { out.push(1); }, trace() { throw new Error("boom"); }`, /^cannoli: tracer handler trace threw for thread \d+:\d+: boom$/],
    ["finish", `finish() { throw new Error("boom"); }`, /^cannoli: tracer handler finish threw: boom$/],
    // Async handlers: a rejected promise is an error too, never a silent exit 0.
    ["async exec", `async exec() { throw new Error("boom"); }`, /^cannoli: a tracer handler's promise was rejected \(handlers must not be async\): boom$/],
    ["async trace", `exec(ctx, ev, out) { out.push(1); }, async trace() {}`, /^cannoli: tracer handler trace returned a promise; handlers must be synchronous \(not async\)$/],
    // Items cross to trace() by structured clone: a function cannot.
    [
      "an item that cannot be cloned",
      `exec(ctx, ev, out) { out.push(() => ev.pc); }`,
      /^cannoli: a tracer handler pushed an item that cannot be sent to trace\(\) \(push plain data: .*\), in thread \d+:\d+: .*clone/,
    ],
  ];
  for (const [name, body, line] of cases) {
    test(`${name}: one line, exit 1, nothing left behind`, async () => {
      const path = join(scratch, `throws-${name.replaceAll(" ", "-")}.ts`);
      writeFileSync(path, `export default { ${body} };`);
      const result = await cannoli(["run", "--quiet", "--tracer", path, "--", guest("aarch64", "forksleep"), "2"]);
      expect(result.stderr.trim()).toMatch(line);
      expect(result.exitCode).toBe(1);
      expect(result.leftovers).toEqual([]);
    });
  }
});

test("a comma in TMPDIR and in CANNOLI_CACHE (QEMU splits its plugin argument on commas): both backends trace", () => {
  const base = mkdtempSync(join(scratch, "with,comma-"));
  const env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", TMPDIR: join(base, "t,mp"), CANNOLI_CACHE: join(base, "ca,che") };
  mkdirSync(env.TMPDIR);
  // The compiled executable unpacks its server library under CANNOLI_CACHE.
  const patched = findPatchedQemu("aarch64");
  for (const backend of [[], ["--backend", "patched", "--qemu", patched]]) {
    const stats = join(base, "stats.json");
    const r = Bun.spawnSync([join(repo, "dist/cannoli"), "run", "--quiet", "--tracer", "null", "--stats-json", stats, ...backend, "--", guest("aarch64", "loops")], { env });
    expect({ backend, exitCode: r.exitCode, stderr: r.stderr.toString() }).toEqual({ backend, exitCode: 3, stderr: "" });
    expect(JSON.parse(readFileSync(stats, "utf8")).instructions).toBeGreaterThan(10_000);
  }
});

test("a TMPDIR too long for a Unix socket's path: the socket goes to /tmp, the run traces", () => {
  const tmp = join(scratch, "t".repeat(120));
  mkdirSync(tmp, { recursive: true });
  const stats = join(scratch, "long-tmpdir.json");
  const env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", TMPDIR: tmp, XDG_RUNTIME_DIR: "" };
  const r = Bun.spawnSync([bun, cli, "run", "--quiet", "--tracer", "null", "--stats-json", stats, "--", guest("aarch64", "loops")], { env });
  expect({ exitCode: r.exitCode, stderr: r.stderr.toString() }).toEqual({ exitCode: 3, stderr: "" });
  expect(JSON.parse(readFileSync(stats, "utf8")).instructions).toBeGreaterThan(10_000);
  // doctor probes QEMU with a socket where a run would put it.
  const doctor = Bun.spawnSync([bun, cli, "doctor"], { env }).stdout.toString();
  expect(doctor).toMatch(/^aarch64 +plugin: .*server loads/m);
  expect(doctor).not.toContain("NOT load");
  expect(readdirSync(tmp)).toEqual([]);
});

test("a home that cannot be written: the executable unpacks its libraries in TMPDIR, only into a private directory", () => {
  // /proc: no one, not even root, can make a cache directory there.
  const tmp = mkdtempSync(join(scratch, "no-home-"));
  const env = { PATH: "/usr/bin:/bin", HOME: "/proc/cannoli-no-home", TMPDIR: tmp };
  const run = () => Bun.spawnSync([join(repo, "dist/cannoli"), "run", "--quiet", "--tracer", "null", "--", guest("aarch64", "loops")], { env });
  const first = run();
  expect({ exitCode: first.exitCode, stderr: first.stderr.toString() }).toEqual({ exitCode: 3, stderr: "" });
  const native = join(tmp, `cannoli-native-${process.getuid!()}`);
  expect(statSync(native).mode & 0o777).toBe(0o700);
  expect(readdirSync(native).length).toBeGreaterThan(0);
  // One that others may write is refused: QEMU would load what is in it.
  chmodSync(native, 0o777);
  const refused = run();
  expect(refused.stderr.toString()).toBe(
    `cannoli: cannot unpack the native libraries: /proc/cannoli-no-home/.cache/cannoli/native: ENOENT, and ${native} is not a private directory of this user (set CANNOLI_CACHE to a directory of yours)\n`,
  );
  expect(refused.exitCode).toBe(2);
});

test("a library planted in the cache is replaced by the embedded one before QEMU loads it; the cache is private", () => {
  const cache = mkdtempSync(join(scratch, "cache-"));
  const env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", CANNOLI_CACHE: cache };
  const run = () => Bun.spawnSync([join(repo, "dist/cannoli"), "run", "--quiet", "--tracer", "null", "--", guest("aarch64", "loops")], { env });
  expect(run().exitCode).toBe(3);
  const native = join(cache, "native");
  for (const dir of readdirSync(native)) {
    const library = readdirSync(join(native, dir)).find((f) => f.endsWith(".so"))!;
    writeFileSync(join(native, dir, library), "planted, not an ELF library\n");
  }
  const second = run();
  expect({ exitCode: second.exitCode, stderr: second.stderr.toString() }).toEqual({ exitCode: 3, stderr: "" });
  for (const dir of readdirSync(native)) {
    const library = readdirSync(join(native, dir)).find((f) => f.endsWith(".so"))!;
    const hash = new Bun.CryptoHasher("sha256").update(readFileSync(join(native, dir, library))).digest("hex");
    expect(hash.slice(0, 16)).toBe(dir);
    expect(statSync(join(native, dir)).mode & 0o777).toBe(0o700);
  }
  expect(statSync(native).mode & 0o777).toBe(0o700);
});

test("--backend patched from a checkout uses the build of the checkout's own patch series, not just the newest", () => {
  const cache = mkdtempSync(join(scratch, "patched-cache-"));
  const series = join(repo, "patches", "qemu-7.2");
  // The checkout's series, built (the real binary), and a newer build of
  // another series, which would refuse this server.
  const own = join(cache, "qemu-patched", "own");
  mkdirSync(join(own, "bin"), { recursive: true });
  symlinkSync(findPatchedQemu("aarch64"), join(own, "bin", "qemu-aarch64"));
  for (const patch of readdirSync(series)) writeFileSync(join(own, patch), readFileSync(join(series, patch)));
  const other = join(cache, "qemu-patched", "other");
  mkdirSync(join(other, "bin"), { recursive: true });
  writeFileSync(join(other, "bin", "qemu-aarch64"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
  writeFileSync(join(other, "0001-older-series.patch"), "an older series\n");
  const r = Bun.spawnSync([process.execPath, cli, "run", "--quiet", "--backend", "patched", "--tracer", "null", "--", guest("aarch64", "loops")], {
    env: { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", CANNOLI_CACHE: cache },
  });
  expect({ exitCode: r.exitCode, stderr: r.stderr.toString() }).toEqual({ exitCode: 3, stderr: "" });
});

// A write that fails (here /dev/full: ENOSPC on every write) gets one line,
// stops QEMU, and exits non-zero: never a flood of stack traces.
describe("output that cannot be written", () => {
  test("--stats-json and cov -o paths that cannot be written fail before the guest runs", async () => {
    for (const args of [
      ["run", "--stats-json", "/proc/no-such-dir/stats.json"],
      ["cov", "-o", "/proc/no-such-dir/out.drcov"],
    ]) {
      const r = await cannoli([...args, "--", guest("aarch64", "loops")]);
      expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({
        exitCode: 2,
        stdout: "",
        stderr: `cannoli: cannot write ${args[1]} ${args[2]}: ENOENT\n`,
      });
    }
  });

  test("-o, --trace-output and a recording that cannot be opened fail before the guest runs, with one line", async () => {
    // A directory: refused even to root.
    const dir = mkdtempSync(join(scratch, "a-dir-"));
    const recording = join(scratch, "never-made.cnl");
    for (const [args, line] of [
      [["run", "--quiet", "-o", dir], `cannot write tracer output to ${dir}: EISDIR (is a directory)`],
      [["record", "--quiet", "-o", dir], `cannot write the recording ${dir}: EISDIR (is a directory)`],
      [["record", "--quiet", "-o", recording, "--tracer", "print", "--trace-output", dir], `cannot write tracer output to ${dir}: EISDIR (is a directory)`],
    ] as const) {
      const r = await cannoli([...args, "--", guest("aarch64", "loops")]);
      expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, leftovers: r.leftovers }).toEqual({
        exitCode: 2,
        stdout: "",
        stderr: `cannoli: ${line}\n`,
        leftovers: [],
      });
    }
    expect(existsSync(recording)).toBe(false);
  });

  test("export and tenet -o naming a file: one line before anything runs", async () => {
    const notDir = join(scratch, "a-file");
    writeFileSync(notDir, "");
    const recording = join(scratch, "for-export.cnl");
    expect((await cannoli(["record", "--quiet", "-o", recording, "--", guest("aarch64", "loops")])).exitCode).toBe(3);
    for (const args of [
      ["export", recording, "-o", notDir],
      ["tenet", "-o", notDir, "--", guest("x86_64", "loops")],
    ]) {
      const r = await cannoli(args);
      expect({ exitCode: r.exitCode, stderr: r.stderr, leftovers: r.leftovers }).toEqual({
        exitCode: 2,
        stderr: `cannoli: cannot write -o ${notDir}: ENOTDIR (not a directory)\n`,
        leftovers: [],
      });
    }
  });

  test("cannoli record -o /dev/full", async () => {
    const r = await cannoli(["record", "--quiet", "-o", "/dev/full", "--", guest("aarch64", "forksleep"), "5"]);
    expect(r.stderr).toMatch(/^cannoli: cannot write the recording \/dev\/full: ENOSPC \(no space left on device\); it is readable up to offset \d+\n$/);
    expect(r.exitCode).toBe(1);
    expect(r.leftovers).toEqual([]);
  });

  // A file system that fills up part-way, without mounting one: past
  // RLIMIT_FSIZE a write stops short, then fails with EFBIG (SIGXFSZ
  // ignored: an ignored signal stays ignored across exec). 20 MiB ends
  // inside the third 8 MiB stage, which is then cut short while the next
  // one fails outright, in the background.
  test("cannoli record into a file system that fills up: one line, and a recording readable up to there", async () => {
    const recording = join(scratch, "limited.cnl");
    const limitBytes = 20 << 20;
    const limited = ["bash", "-c", `trap '' XFSZ; ulimit -f ${limitBytes / 1024}; exec "$@"`, "bash"];
    const r = await cannoli(["record", "--quiet", "--level", "0", "-o", recording, "--", guest("aarch64", "bench_mem"), "2000000"], {}, limited);
    expect(r.stderr).toBe(`cannoli: cannot write the recording ${recording}: EFBIG (file too large); it is readable up to offset ${limitBytes}\n`);
    expect(r.exitCode).toBe(1);
    expect(r.leftovers).toEqual([]);
    expect(statSync(recording).size).toBe(limitBytes);
    const replay = await cannoli(["replay", "--partial", recording, "--tracer", "count"]);
    expect(replay.exitCode).toBe(0);
    expect(replay.stderr).toMatch(/^\S+ instructions [1-9]\d* reads [1-9]\d* writes [1-9]\d*\n/);
    const cut = Number(/recording truncated at offset (\d+) \(--partial: replayed up to there\)\n$/.exec(replay.stderr)?.[1]);
    expect(cut).toBeGreaterThan(limitBytes - (1 << 20));
    expect(cut).toBeLessThanOrEqual(limitBytes);
  });

  test("run -o /dev/full (tracer output) and --stats-json /dev/full", async () => {
    // print's output reaches the file in 64 KiB flushes: the first one fails.
    const out = await cannoli(["run", "--quiet", "--tracer", "print", "-o", "/dev/full", "--", guest("aarch64", "threads")]);
    expect(out.stderr).toBe("cannoli: cannot write tracer output to /dev/full: ENOSPC (no space left on device)\n");
    expect(out.exitCode).toBe(1);
    const stats = await cannoli(["run", "--quiet", "--tracer", "null", "--stats-json", "/dev/full", "--", guest("aarch64", "loops")]);
    expect(stats.stderr).toBe("cannoli: cannot write --stats-json /dev/full: ENOSPC (no space left on device)\n");
    expect(stats.exitCode).toBe(3);
  });
});

// Only the QEMU cannoli started, and its descendants, may open a stream: a
// well-formed stream and a malformed one from another process (this test's
// mempipe-producer) are refused, each with one line, and the run goes on.
test("streams from outside the traced QEMU are refused; the run goes on", async () => {
  const tmp = mkdtempSync(join(scratch, "tmp-"));
  const stats = join(scratch, "hostile-stats.json");
  const child = Bun.spawn([bun, cli, "run", "--quiet", "--tracer", "null", "--stats-json", stats, "--", guest("aarch64", "forksleep"), "2"], {
    cwd: repo,
    env: { ...process.env, TMPDIR: tmp, XDG_RUNTIME_DIR: "" },
    stdout: "pipe",
    stderr: "pipe",
  });
  let socket = "";
  await waitFor(() => {
    const dir = readdirSync(tmp).find((name) => name.startsWith("cannoli-"));
    socket = dir ? join(tmp, dir, "pipe.sock") : "";
    return socket !== "" && existsSync(socket);
  });
  // Two strangers that stay connected (one that had exited before cannoli
  // got to it could not be told from a guest's short-lived fork).
  const producer = join(repo, "zig-out/bin/mempipe-producer");
  const strangers = [Bun.spawn([producer, socket, "silent"]), Bun.spawn([producer, socket, "silent"])];
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  for (const stranger of strangers) stranger.kill(9);
  expect({ stdout, exitCode }).toEqual({ stdout: "forksleep ok\n", exitCode: 0 });
  expect(stderr).toBe("cannoli: refused a trace connection (not the QEMU cannoli started, nor one of its descendants)\n".repeat(2));
  expect(JSON.parse(readFileSync(stats, "utf8"))).toMatchObject({ threads: 2, processes: 2, dropped_chunks: 0 });
}, 30_000);

// A trace() slower than the Workers holds QEMU back instead of letting
// decoded items pile up: memory stays bounded (~175 MB measured; 410 MB
// and growing with the run before, for 5 ms per chunk).
// The guest itself runs in the traced QEMU, so it may connect: a stream it
// opens with a handshake cannoli cannot use ends only itself. (It used to
// leave the listener holding the destroyed consumer: Bun segfaulted when
// that producer went away.)
test("a malformed stream opened from inside the guest is refused; the run goes on", async () => {
  const producer = join(repo, "zig-out/bin/mempipe-producer");
  // A host program the guest execs (QEMU runs it natively): it opens a
  // well-formed pipe whose handshake is not cannoli's, then is killed.
  const script = `for s in "$TMPDIR"/cannoli-*/pipe.sock; do ${producer} "$s" silent & done; sleep 1; kill -9 $!; wait; echo done`;
  const { stdout, stderr, exitCode } = await cannoli(["run", "--quiet", "--tracer", "count", "--", busybox, "sh", "-c", script]);
  expect({ stdout, exitCode }).toEqual({ stdout: "done\n", exitCode: 0 });
  expect(stderr).toStartWith("cannoli: refused a trace connection (bad handshake: field protocol is undefined)\n");
  expect(stderr).toMatch(/^total instructions [1-9]/m);
}, 30_000);

test("tracer output to a reader that went away: one line naming the output, not a handler", () => {
  const script = `${bun} ${cli} run --quiet --tracer print -o /dev/stdout -- ${guest("aarch64", "loops")} 2>${scratch}/epipe.err | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`;
  const result = Bun.spawnSync(["/bin/bash", "-c", script], { cwd: repo });
  const stderr = readFileSync(join(scratch, "epipe.err"), "utf8");
  expect(stderr).toBe("cannoli: cannot write tracer output to /dev/stdout: EPIPE (the reader went away)\n");
  // The guest's own exit code (3) stands; a guest that exits 0 makes it 1.
  expect(result.stdout.toString()).toBe("3\n");
});

test("the guest's output and the trace share a pipe with a slow reader (2>&1 | less): both waited for, nothing lost", () => {
  // Node's process.stderr in Bun makes its pipe non-blocking, for every
  // process that shares it: QEMU's guest too, whose writes into the full
  // pipe then failed with EAGAIN ("cat: write error", 64 KiB of 750).
  const payload = join(scratch, "payload.txt");
  const lines = 40_000;
  writeFileSync(payload, Array.from({ length: lines }, (_, i) => `payload line ${i}\n`).join(""));
  const piped = (tracer: string) => {
    const script = `${bun} ${cli} run --no-mem --tracer ${tracer} -- ${busybox} cat ${payload} 2>&1 | (sleep 1; grep -c -e "^payload line" -e "^[0-9]*:[0-9]* exit$"); echo "\${PIPESTATUS[0]}"`;
    return Bun.spawnSync(["/bin/bash", "-c", script], { cwd: repo }).stdout.toString();
  };
  expect(piped("print")).toBe(`${lines + 1}\n0\n`);
  // A tracer that writes through process.stdout and process.stderr in its
  // Workers itself, from the guest's start on (context() runs as its
  // thread's stream opens).
  const noisy = join(scratch, "noisy.ts");
  const write = `process.stdout.write(""); process.stderr.write("");`;
  writeFileSync(noisy, `export default { context() { ${write} }, exec() { ${write} } };\n`);
  expect(piped(noisy)).toBe(`${lines}\n0\n`);
}, 30_000);

test("stdio is left blocking at exit, as the shell gave it (Bun's own streams leave O_NONBLOCK set)", () => {
  const recording = join(scratch, "for-flags.cnl");
  expect(Bun.spawnSync([bun, cli, "record", "--quiet", "-o", recording, "--", guest("aarch64", "loops")]).exitCode).toBe(3);
  // The file description of fd 5 is the shell's: what cannoli's exit leaves on it stays.
  const flags = (command: string) =>
    Bun.spawnSync(["/bin/bash", "-c", `exec 5>${scratch}/flags.txt; ${command} >&5 2>&5; sed -n 's/^flags:[[:space:]]*//p' /proc/self/fdinfo/5`])
      .stdout.toString()
      .trim();
  const nonBlocking = (octal: string) => (Number.parseInt(octal, 8) & 0o4000) !== 0;
  expect(nonBlocking(flags(`${bun} -e 'process.stdout.write(String())'`))).toBe(true);
  expect(nonBlocking(flags(`${bun} ${cli} info ${recording}`))).toBe(false);
  expect(nonBlocking(flags(`${bun} ${cli} run --quiet --tracer print -- ${guest("aarch64", "loops")}`))).toBe(false);
});

test("a slow trace() keeps memory bounded (backpressure to QEMU), and nothing is lost", async () => {
  const tracer = join(scratch, "slow-trace.ts");
  writeFileSync(
    tracer,
    `export default {
  batch(_ctx, b, out) { out.push(new Uint8Array(1 << 20)); },
  init: () => ({ chunks: 0 }),
  trace(state) { state.chunks++; const end = performance.now() + 10; while (performance.now() < end) {} },
  finish(state, output) { output.write(\`chunks \${state.chunks}\\n\`); },
};
`,
  );
  const input = join(scratch, "slow-input.txt");
  // 1.3 MB of random data in base64 lines: ~265 M instructions of gzip,
  // hundreds of chunks of trace.
  const random = Buffer.from(crypto.getRandomValues(new Uint8Array(1_000_000))).toString("base64");
  writeFileSync(input, random.replace(/.{76}/g, "$&\n"));
  const rss = join(scratch, "slow.rss");
  const stats = join(scratch, "slow-stats.json");
  const run = Bun.spawnSync(
    ["/usr/bin/time", "-f", "%M", "-o", rss, bun, cli, "run", "--quiet", "--no-mem", "--tracer", tracer, "--stats-json", stats, "--", busybox, "gzip", "-c", input],
    { cwd: repo },
  );
  expect(run.exitCode).toBe(0);
  const chunks = Number(/^chunks (\d+)$/m.exec(run.stderr.toString())?.[1]);
  expect(chunks).toBeGreaterThan(60);
  expect(JSON.parse(readFileSync(stats, "utf8")).dropped_chunks).toBe(0);
  expect(Number(readFileSync(rss, "utf8").trim())).toBeLessThan(260 * 1024);
}, 60_000);

// Bytes that are not UTF-8 reach the guest as given: Bun and Node would
// turn them into U+FFFD (src/runtime/argv_bytes.ts). bash makes the
// command line, since a JavaScript string cannot hold such bytes.
describe("guest arguments and paths that are not UTF-8", () => {
  const viaBash = (launcher: string, guestArgs: string) =>
    Bun.spawnSync(["/bin/bash", "-c", `exec ${launcher} run --quiet --tracer count -- ${guestArgs}`], {
      cwd: repo,
      env: { ...process.env, PATH: `${join(bun, "..")}:/usr/bin:/bin` },
    });
  const guestSaw = [0x63, 0x61, 0x66, 0xe9, 0x0a, 0xff, 0xfe, 0x0a];

  test.each([
    ["bun", `${bun} ${cli}`],
    ["node (npx launcher)", `node ${join(repo, "bin/cannoli.js")}`],
  ])("arguments pass through byte for byte, started by %s", (_name, launcher) => {
    const result = viaBash(launcher, `${busybox} sh -c 'echo "$1"; echo "$2"; env' sh $'caf\\xe9' $'\\xff\\xfe'`);
    expect(result.stderr.toString()).toMatch(/^total instructions [1-9]/m);
    expect(result.exitCode).toBe(0);
    const stdout = result.stdout;
    expect([...stdout.subarray(0, guestSaw.length)]).toEqual(guestSaw);
    // The launcher's byte channel is not left in the guest's environment.
    expect(stdout.toString("latin1")).not.toContain("CANNOLI_RAW_ARGV");
  });

  test("a guest whose path is not UTF-8 is found and traced", () => {
    const dir = mkdtempSync(join(scratch, "path-"));
    expect(Bun.spawnSync(["/bin/bash", "-c", `cp ${guest("aarch64", "loops")} ${dir}/$'lo\\xe9ps'`]).exitCode).toBe(0);
    const result = viaBash(`${bun} ${cli}`, `${dir}/$'lo\\xe9ps'`);
    expect(result.stderr.toString()).toMatch(/^total instructions [1-9]\d* /m);
    expect(result.stdout.toString()).toStartWith("loops ok");
    expect(result.exitCode).toBe(3); // the guest's own exit code
  });
});
