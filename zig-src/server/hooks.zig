// SPDX-License-Identifier: GPL-2.0-or-later
//! Custom translation-time filtering: the default hook file, compiled into
//! the server. To build a server with your own logic, copy this file, edit
//! the two functions, build it and point cannoli at it:
//!
//!     zig build -Doptimize=ReleaseFast -Dhooks=path/to/my_hooks.zig -p my-server
//!     CANNOLI_SERVER=my-server/lib/libcannoli_server.so cannoli run -- ./guest
//!
//! (test/hooks/odd_words_only.zig is a small example.)
//!
//! Both run once per translated instruction (not per execution), after the
//! CLI's filters (`--range`, `--no-mem`, `--once`) have made their choice;
//! what they return is final. Keep them pure: QEMU may translate the same
//! code again (after a cache flush) and expects the same answer.

const Hook = @import("hook_api").Hook;

/// `pc`: guest address of the instruction; `bytes`: its encoding;
/// `cli_choice`: what the command-line filters decided.
pub fn hookInstruction(pc: u64, bytes: []const u8, cli_choice: Hook) Hook {
    _ = pc;
    _ = bytes;
    return cli_choice;
}

/// Whether the memory accesses of a recorded instruction are recorded too.
pub fn hookMemory(pc: u64, cli_choice: bool) bool {
    _ = pc;
    return cli_choice;
}
