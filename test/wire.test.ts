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
