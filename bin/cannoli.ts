#!/usr/bin/env bun
// SPDX-License-Identifier: MIT
// `bunx cannoli` / `npx cannoli` entry point: the CLI from source.
import "../src/cli.ts";
