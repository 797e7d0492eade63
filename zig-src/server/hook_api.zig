// SPDX-License-Identifier: GPL-2.0-or-later
//! The types a hook file sees (imported there as `@import("hook_api")`).

/// How an instruction is recorded each time it executes.
pub const Hook = enum {
    /// Not recorded; runs at full QEMU speed.
    never,
    /// Recorded every time it executes.
    always,
    /// Recorded the first time it executes, then silent (coverage).
    once,
};
