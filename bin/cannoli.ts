#!/usr/bin/env bun
// `bunx cannoli` / `npx cannoli` entry point: the CLI from source.
import "../src/cli.ts";
