#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, after setting everything up: Zig unit tests, then
# the Bun tests (cross-process mempipe, end-to-end tracing against QEMU's own
# plugins as oracles, CLI error cases).     (npm test)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/setup.sh
printf '\033[1m== zig fmt --check\033[0m\n' >&2
scripts/zig.sh fmt --check zig-src bench build.zig
printf '\033[1m== zig build test, and the bench tool that builds on the decoder\033[0m\n' >&2
scripts/zig.sh build test --summary all 2>&1 | tail -n 3
scripts/zig.sh build fill-chunks
printf '\033[1m== prettier --check (printWidth 180)\033[0m\n' >&2
node_modules/.bin/prettier --check --log-level warn "src/**/*.ts" "test/**/*.ts" "bench/**/*.ts" "scripts/*.ts" "examples/*.ts" "bin/*.js"
printf '\033[1m== tsc --noEmit (strict)\033[0m\n' >&2
node_modules/.bin/tsc --noEmit -p .
printf '\033[1m== bun test\033[0m\n' >&2
node_modules/.bin/bun test "$@"
