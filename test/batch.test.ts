//! The batch form's columns must say exactly what the per-event handlers
//! say: same instructions in the same order, and each memory access after
//! the instruction that made it, with the same address, size and value.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const repo = join(import.meta.dir, "..");
const scratch = mkdtempSync(join(tmpdir(), "cannoli-batch-"));
const env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", LANG: "C" };

// Rebuilds print's exec/read/write lines from the columns alone.
const columnsTracer = join(scratch, "columns.ts");
writeFileSync(
  columnsTracer,
  `import { defineTracer } from ${JSON.stringify(join(repo, "src/tracer.ts"))};
export default defineTracer<undefined, string, undefined>({
  batch(_ctx, b, out) {
    const p = \`\${b.thread.pid}:\${b.thread.tid}\`;
    const hex = (n: number | bigint) => "0x" + n.toString(16);
    let m = 0;
    for (let i = 0; i < b.execCount; i++) {
      out.push(\`\${p} exec \${hex(b.execPc[i]!)}\\n\`);
      for (; m < b.memCount && b.memExecIndex[m] === i; m++) {
        const value = (BigInt(b.memValueHi[m]!) << 32n) | BigInt(b.memValueLo[m]!);
        out.push(\`\${p} \${b.memIsStore[m] ? "write" : "read"} \${hex(b.memPc[m]!)} \${hex(b.memAddr[m]!)} \${b.memSize[m]} \${hex(value)}\\n\`);
      }
    }
  },
  trace(_s, items, _t, output) { output.write(items.join("")); },
});
`,
);

test.each([
  ["mipsel", "memops"],
  ["aarch64", "segv"],
  ["riscv64", "loops"],
  ["x86_64", "memops"],
])("%s %s: batch columns equal the per-event stream", { timeout: 60_000 }, (arch, name) => {
  const guest = join(repo, "test/guests/build", arch, name);
  const live = join(scratch, `${arch}-${name}.print`);
  const columns = join(scratch, `${arch}-${name}.columns`);
  // One run, recorded, then both tracers on the same recording.
  const recording = join(scratch, `${arch}-${name}.cnl`);
  const cli = (...args: string[]) => Bun.spawnSync([process.execPath, join(repo, "src/cli.ts"), ...args], { env, cwd: scratch });
  expect(cli("record", "--quiet", "-o", recording, "--", guest).stderr.toString()).toBe("");
  expect(cli("replay", recording, "--tracer", "print", "-o", live).exitCode).toBe(0);
  expect(cli("replay", recording, "--tracer", columnsTracer, "-o", columns).exitCode).toBe(0);
  const events = (text: string) => text.split("\n").filter((line) => / (exec|read|write) /.test(line));
  const expected = events(readFileSync(live, "utf8"));
  expect(expected.length).toBeGreaterThan(1000);
  expect(events(readFileSync(columns, "utf8"))).toEqual(expected);
});
