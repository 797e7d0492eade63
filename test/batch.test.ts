// SPDX-License-Identifier: MIT
//! The batch form's columns must say exactly what the per-event handlers
//! say: same instructions in the same order, and each memory access after
//! the instruction that made it, with the same address, size and value.
//! Both come from the native decoder (zig-src/wire/BatchDecoder.zig): the
//! columns as they are, the per-event handlers interleaved from them (and
//! from the reference walker, src/wire/walk.ts, for `print` on chunks
//! with syscalls); test/wire.test.ts holds both to the walker directly.
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./helpers/scratch";

const repo = join(import.meta.dir, "..");
const scratch = scratchDir("batch");
const env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", LANG: "C" };

// Rebuilds print's exec/read/write lines from the columns alone.
const columnsTracer = join(scratch, "columns.ts");
writeFileSync(
  columnsTracer,
  `import { defineTracer, memValue } from ${JSON.stringify(join(repo, "src/tracer.ts"))};
export default defineTracer<undefined, string, undefined>({
  batch(_ctx, b, out) {
    const p = \`\${b.thread.pid}:\${b.thread.tid}\`;
    const hex = (n: number | bigint) => "0x" + n.toString(16);
    let m = 0;
    for (let i = 0; i < b.execCount; i++) {
      out.push(\`\${p} exec \${hex(b.execPc[i]!)}\\n\`);
      for (; m < b.memCount && b.memExecIndex[m] === i; m++) {
        const upper = (BigInt(b.memValueUpperHi[m]!) << 32n) | BigInt(b.memValueUpperLo[m]!);
        const value = (upper << 64n) | (BigInt(b.memValueHi[m]!) << 32n) | BigInt(b.memValueLo[m]!);
        if (memValue(b, m) !== value) throw new Error("memValue differs from the columns");
        out.push(\`\${p} \${b.memIsStore[m] ? "write" : "read"} \${hex(b.memPc[m]!)} \${hex(b.memAddr[m]!)} \${b.memSize[m]} \${hex(value)}\\n\`);
      }
    }
  },
  trace(_s, items, _t, output) { output.write(items.join("")); },
});
`,
);

// Per-event, but only `exec`: served from the native decoder's pc column.
const execOnlyTracer = join(scratch, "exec_only.ts");
writeFileSync(
  execOnlyTracer,
  `import { defineTracer } from ${JSON.stringify(join(repo, "src/tracer.ts"))};
export default defineTracer<string, string, undefined>({
  context: (thread) => \`\${thread.pid}:\${thread.tid}\`,
  exec(p, event, out) { out.push(\`\${p} exec 0x\${event.pc.toString(16)}\\n\`); },
  trace(_s, items, _t, output) { output.write(items.join("")); },
});
`,
);

// Per-event, but only `read` and `write`: the accesses alone, in order.
const memOnlyTracer = join(scratch, "mem_only.ts");
writeFileSync(
  memOnlyTracer,
  `import { defineTracer, type MemEvent } from ${JSON.stringify(join(repo, "src/tracer.ts"))};
const line = (p: string, e: MemEvent) => \`\${p} \${e.isStore ? "write" : "read"} 0x\${e.pc.toString(16)} 0x\${e.addr.toString(16)} \${e.size} 0x\${e.value.toString(16)}\\n\`;
export default defineTracer<string, string, undefined>({
  context: (thread) => \`\${thread.pid}:\${thread.tid}\`,
  read(p, event, out) { out.push(line(p, event)); },
  write(p, event, out) { out.push(line(p, event)); },
  trace(_s, items, _t, output) { output.write(items.join("")); },
});
`,
);

// Walks the instructions through the runs only (no execPc): the same lines,
// and a block id names the same PCs wherever it recurs in the process.
const runsTracer = join(scratch, "runs.ts");
writeFileSync(
  runsTracer,
  `import { defineTracer, noBlockId } from ${JSON.stringify(join(repo, "src/tracer.ts"))};
export default defineTracer<{ p: string; blocks: Map<number, string> }, string, undefined>({
  context: (thread) => ({ p: \`\${thread.pid}:\${thread.tid}\`, blocks: new Map() }),
  batch(ctx, b, out) {
    let row = 0;
    for (let r = 0; r < b.runCount; r++) {
      if (b.runFirstExec[r] !== row) throw new Error("run rows out of order");
      const pcs = Array.from(b.blockPcs.subarray(b.runPcsAt[r]!, b.runPcsAt[r]! + b.runLength[r]!));
      for (const pc of pcs) out.push(\`\${ctx.p} exec 0x\${pc.toString(16)}\\n\`);
      row += pcs.length;
      const id = b.runBlockId[r]!;
      if (id === noBlockId) continue;
      const seen = ctx.blocks.get(id);
      const mine = pcs.join(",");
      if (seen !== undefined && !(seen.startsWith(mine) || mine.startsWith(seen))) throw new Error(\`block \${id} changed\`);
      if (seen === undefined || mine.length > seen.length) ctx.blocks.set(id, mine);
    }
    if (row !== b.execCount) throw new Error("runs do not add up");
  },
  trace(_s, items, _t, output) { output.write(items.join("")); },
});
`,
);

test.each([
  ["mipsel", "memops", "plugin", []],
  ["aarch64", "segv", "plugin", []],
  ["riscv64", "loops", "plugin", []],
  ["x86_64", "memops", "plugin", []],
  ["aarch64", "threads", "plugin", []],
  // Per-instruction records with memory; block_open records without.
  ["mipsel", "memops", "patched", []],
  ["aarch64", "loops", "patched", ["--no-mem"]],
  ["x86_64", "segv", "patched", ["--no-mem"]],
] as const)("%s %s (%s backend %j): batch columns equal the per-event stream", { timeout: 60_000 }, (arch, name, backend, extra) => {
  const guest = join(repo, "test/guests/build", arch, name);
  const base = join(scratch, `${arch}-${name}-${backend}${extra.join("")}`);
  // One run, recorded, then every tracer on the same recording.
  const recording = `${base}.cnl`;
  const cli = (...args: string[]) => Bun.spawnSync([process.execPath, join(repo, "src/cli.ts"), ...args], { env, cwd: scratch });
  expect(cli("record", "--quiet", "--backend", backend, ...extra, "-o", recording, "--", guest).stderr.toString()).toBe("");
  const replay = (tracer: string, suffix: string) => {
    expect(cli("replay", recording, "--workers", "1", "--tracer", tracer, "-o", `${base}.${suffix}`).exitCode).toBe(0);
    return readFileSync(`${base}.${suffix}`, "utf8");
  };
  const events = (text: string, kinds: RegExp) => text.split("\n").filter((line) => kinds.test(line));
  const expected = events(replay("print", "print"), / (exec|read|write) /);
  expect(expected.length).toBeGreaterThan(1000);
  expect(events(replay(columnsTracer, "columns"), / (exec|read|write) /)).toEqual(expected);
  const execLines = expected.filter((line) => / exec /.test(line));
  expect(events(replay(execOnlyTracer, "execs"), / exec /)).toEqual(execLines);
  expect(events(replay(runsTracer, "runs"), / exec /)).toEqual(execLines);
  expect(events(replay(memOnlyTracer, "mems"), / (read|write) /)).toEqual(expected.filter((line) => / (read|write) /.test(line)));
});

// A batch tracer that also handles mmap/munmap/syscall/sysret gets those
// events (they are not in the columns), each chunk's before its batch call.
const batchWithOthers = join(scratch, "batch_others.ts");
writeFileSync(
  batchWithOthers,
  `import { defineTracer } from "@cannoli-trace/cannoli";
export default defineTracer<undefined, string, undefined>({
  batch(_ctx, b, out) { out.push(\`batch \${b.execCount}\\n\`); },
  syscall(_ctx, e, out) { out.push(\`syscall \${e.number}\\n\`); },
  sysret(_ctx, e, out) { out.push(\`sysret \${e.number} \${e.ret}\\n\`); },
  mmap(_ctx, e, out) { out.push(\`mmap 0x\${e.addr.toString(16)} 0x\${e.length.toString(16)}\${e.path ? " " + e.path : ""}\\n\`); },
  munmap(_ctx, e, out) { out.push(\`munmap 0x\${e.addr.toString(16)} 0x\${e.length.toString(16)}\\n\`); },
  trace(_s, items, _t, output) { output.write(items.join("")); },
});
`,
);

test("a batch tracer also receives syscall, sysret, mmap and munmap events, in order", { timeout: 60_000 }, () => {
  const guest = join(repo, "test/guests/build/aarch64/dynamic");
  const run = (tracer: string, out: string) => {
    const r = Bun.spawnSync([process.execPath, join(repo, "src/cli.ts"), "run", "--quiet", "--tracer", tracer, "-o", out, "--", guest], { env, cwd: scratch });
    expect(r.exitCode).toBe(4);
    return readFileSync(out, "utf8");
  };
  const print = run("print", join(scratch, "others.print"));
  const mine = run(batchWithOthers, join(scratch, "others.batch"));
  // Both runs start the guest alike: compare shapes that do not depend on
  // where QEMU placed memory.
  // Addresses and return values (tids, brk, mmap results) vary by run.
  const shape = (lines: string[]) => lines.map((l) => l.replace(/0x[0-9a-f]+/g, "X").replace(/^(sysret \d+) -?\d+$/, "$1"));
  const fromPrint = print.split("\n").flatMap((l) => {
    const m = /^\d+:\d+ (syscall \d+(?= 0x)|sysret \d+ -?\d+|mmap 0x[0-9a-f]+ 0x[0-9a-f]+ .*|munmap 0x[0-9a-f]+ 0x[0-9a-f]+)(?: 0x[0-9a-f]+){0,6}$/.exec(l);
    if (!m) return [];
    return [m[1]!.replace(/^(mmap \S+ \S+) prot=\S+ flags=\S+ fd=\S+ offset=\S+ ?(.*)$/, (_all, head, path) => (path ? `${head} ${path}` : head))];
  });
  const others = mine.split("\n").filter((l) => l && !l.startsWith("batch "));
  expect(fromPrint.length).toBeGreaterThan(20);
  expect(shape(others)).toEqual(shape(fromPrint));
  expect(mine).toMatch(/^batch \d+$/m);
});
