// SPDX-License-Identifier: MIT
//! Scratch directories for tests: created under the system's temporary
//! directory and removed when the test file ends, so a test run leaves
//! nothing behind in /tmp.
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh directory named `cannoli-<name>-XXXXXX`, removed after the file's last test. */
export function scratchDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cannoli-${name}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
