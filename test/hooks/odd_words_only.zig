// SPDX-License-Identifier: MIT
//! A custom hook file for the tests (built with `zig build -Dhooks=...`):
//! records only instructions whose address is not a multiple of 8, and no
//! memory accesses at all.
const Hook = @import("hook_api").Hook;

pub fn hookInstruction(pc: u64, bytes: []const u8, cli_choice: Hook) Hook {
    _ = bytes;
    if (pc % 8 == 0) return .never;
    return cli_choice;
}

pub fn hookMemory(pc: u64, cli_choice: bool) bool {
    _ = pc;
    _ = cli_choice;
    return false;
}
