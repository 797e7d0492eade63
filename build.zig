// SPDX-License-Identifier: MIT
//! Builds cannoli's native pieces:
//!   zig-out/lib/libcannoli_server.so    the server QEMU loads (-plugin)
//!   zig-out/lib/libcannoli_consumer.so  the mempipe consumer and chunk decoder Bun loads (bun:ffi)
//!   zig-out/bin/cannoli-exec            execs an argv given as bytes (guest arguments that are not UTF-8)
//!   zig-out/bin/mempipe-producer        stand-alone producer for tests/benchmarks
//! `zig build test` runs the Zig unit tests; `zig build wire-ts` prints the
//! TypeScript view of the wire format, `zig build consumer-abi-ts` that of
//! the consumer library's C ABI. `-Dhooks=FILE` compiles a custom hook
//! file (see zig-src/server/hooks.zig) into the server.
const std = @import("std");

pub fn build(b: *std.Build) void {
    // The libraries ship inside the npm package and the single executable,
    // built on one machine and run on others: the baseline x86-64 CPU, not
    // the builder's (an AVX-512 build dies with SIGILL on a CPU without it),
    // and glibc's symbols as 2.17 has them, not as the builder's glibc does
    // (2.34 moved pthread_create: QEMU would refuse the server on Debian
    // 11). `-Dcpu=native` for a build that stays on this machine.
    const target = b.standardTargetOptions(.{ .default_target = .{
        .cpu_model = .baseline,
        .abi = .gnu,
        .glibc_version = .{ .major = 2, .minor = 17, .patch = 0 },
    } });
    const optimize = b.standardOptimizeOption(.{});
    const hooks_path = b.option([]const u8, "hooks", "Zig hook file compiled into the server") orelse
        "zig-src/server/hooks.zig";

    const mempipe = b.addModule("mempipe", .{ .source_file = .{ .path = "zig-src/mempipe/mempipe.zig" } });
    const wire = b.addModule("wire", .{ .source_file = .{ .path = "zig-src/wire/wire.zig" } });
    const hook_api = b.createModule(.{ .source_file = .{ .path = "zig-src/server/hook_api.zig" } });
    const hooks = b.createModule(.{
        .source_file = .{ .path = hooks_path },
        .dependencies = &.{.{ .name = "hook_api", .module = hook_api }},
    });

    const server = b.addSharedLibrary(.{
        .name = "cannoli_server",
        .root_source_file = .{ .path = "zig-src/server/plugin.zig" },
        .target = target,
        .optimize = optimize,
    });
    server.addModule("mempipe", mempipe);
    server.addModule("wire", wire);
    server.addModule("hooks", hooks);
    server.addModule("hook_api", hook_api);
    // The qemu_plugin_* symbols stay undefined until QEMU loads the library.
    server.linker_allow_shlib_undefined = true;
    server.linkLibC();
    b.installArtifact(server);

    const consumer = b.addSharedLibrary(.{
        .name = "cannoli_consumer",
        .root_source_file = .{ .path = "zig-src/consumer.zig" },
        .target = target,
        .optimize = optimize,
    });
    consumer.linkLibC();
    b.installArtifact(consumer);

    const exec_argv = b.addExecutable(.{
        .name = "cannoli-exec",
        .root_source_file = .{ .path = "zig-src/exec_argv.zig" },
        .target = target,
        .optimize = optimize,
    });
    exec_argv.strip = true;
    b.installArtifact(exec_argv);

    const producer_tool = b.addExecutable(.{
        .name = "mempipe-producer",
        .root_source_file = .{ .path = "zig-src/mempipe/tools/producer_main.zig" },
        .target = target,
        .optimize = optimize,
    });
    producer_tool.addModule("mempipe", mempipe);
    b.installArtifact(producer_tool);

    // Not built by default: bench/micro/fill_chunks.zig says how to use it.
    const fill_chunks = b.addExecutable(.{
        .name = "fill-chunks",
        .root_source_file = .{ .path = "bench/micro/fill_chunks.zig" },
        .target = target,
        .optimize = optimize,
    });
    fill_chunks.addModule("wire", wire);
    const fill_chunks_step = b.step("fill-chunks", "Build the native fill's instruction-count benchmark (bench/micro)");
    fill_chunks_step.dependOn(&b.addInstallArtifact(fill_chunks, .{}).step);

    const wire_ts = b.addExecutable(.{
        .name = "wire-ts",
        .root_source_file = .{ .path = "zig-src/wire/gen_ts.zig" },
        .target = target,
    });
    const wire_ts_step = b.step("wire-ts", "Print the TypeScript view of the wire format");
    wire_ts_step.dependOn(&b.addRunArtifact(wire_ts).step);

    const abi_ts = b.addExecutable(.{
        .name = "consumer-abi-ts",
        .root_source_file = .{ .path = "zig-src/consumer_abi_ts.zig" },
        .target = target,
    });
    abi_ts.linkLibC();
    const abi_ts_step = b.step("consumer-abi-ts", "Print the TypeScript view of libcannoli_consumer.so's C ABI");
    abi_ts_step.dependOn(&b.addRunArtifact(abi_ts).step);

    const test_step = b.step("test", "Run the Zig unit tests");
    const test_roots = [_][]const u8{
        "zig-src/mempipe/mempipe.zig",
        "zig-src/wire/wire.zig",
        "zig-src/server/Config.zig",
        "zig-src/server/guest.zig",
        "zig-src/server/guest_memory.zig",
        "zig-src/server/host_thread.zig",
        "zig-src/server/ExecPlan.zig",
        "zig-src/server/RegisterSet.zig",
        "zig-src/server/Block.zig",
        "zig-src/server/ThreadStream.zig",
        "zig-src/server/VcpuCounter.zig",
        "zig-src/server/qemu_plugin.zig",
        "zig-src/server/patched.zig",
        "zig-src/exec_argv.zig",
        "zig-src/stdio_blocking.zig",
    };
    for (test_roots) |root| {
        const unit_tests = b.addTest(.{ .root_source_file = .{ .path = root }, .target = target });
        unit_tests.addModule("mempipe", mempipe);
        unit_tests.addModule("wire", wire);
        unit_tests.addModule("hooks", hooks);
        unit_tests.addModule("hook_api", hook_api);
        unit_tests.linkLibC();
        test_step.dependOn(&b.addRunArtifact(unit_tests).step);
    }
}
