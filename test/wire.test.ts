//! The wire format is defined once, in zig-src/wire/records.zig; the
//! TypeScript view is generated from it. This fails when they drift apart.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const repo = join(import.meta.dir, "..");

test("src/wire/records.generated.ts is what `zig build wire-ts` prints", () => {
  const generated = Bun.spawnSync([join(repo, "scripts/zig.sh"), "build", "wire-ts"], { cwd: repo });
  expect(generated.exitCode).toBe(0);
  expect(readFileSync(join(repo, "src/wire/records.generated.ts"), "utf8")).toBe(generated.stdout.toString());
});

test("a block_open record owns the records after it, placed by pc, up to the next block", async () => {
  const { RecordWalker } = await import("../src/runtime/walk");
  const { Kind } = await import("../src/wire/records.generated");
  // 32-bit guest: block 7 = [0x10, 0x14, 0x18], cut after 2 instructions,
  // with a load at 0x14 and a syscall; then block 7 again, whole.
  const words = new Uint32Array([
    Kind.block_def | (3 << 8), 7, 0x10, 0x14, 0x18,
    Kind.block_open | (2 << 8), 7,
    Kind.mem | (2 << 8), 0x14, 0x1000, 0x2a, 0,
    Kind.syscall, 64, 1, 2, 3, 4, 5, 6,
    Kind.block_open | (3 << 8), 7,
  ]);
  const events: string[] = [];
  new RecordWalker(4).walk(words, (kind, _at, pc) => events.push(kind === Kind.exec ? `exec ${pc.toString(16)}` : `kind ${kind}`));
  expect(events).toEqual(["exec 10", "exec 14", `kind ${Kind.mem}`, `kind ${Kind.syscall}`, "exec 10", "exec 14", "exec 18"]);
});
