//! Builds cannoli's native pieces: the mempipe consumer library that Bun
//! loads through FFI, the producer tool used by tests and benchmarks, and
//! the Zig unit tests (`zig build test`).
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{ .preferred_optimize_mode = .ReleaseFast });

    const mempipe = b.addModule("mempipe", .{ .source_file = .{ .path = "zig-src/mempipe/mempipe.zig" } });

    const consumer_lib = b.addSharedLibrary(.{
        .name = "cannoli_consumer",
        .root_source_file = .{ .path = "zig-src/mempipe/c_api.zig" },
        .target = target,
        .optimize = optimize,
    });
    consumer_lib.linkLibC();
    b.installArtifact(consumer_lib);

    const producer_tool = b.addExecutable(.{
        .name = "mempipe-producer",
        .root_source_file = .{ .path = "zig-src/mempipe/tools/producer_main.zig" },
        .target = target,
        .optimize = optimize,
    });
    producer_tool.addModule("mempipe", mempipe);
    b.installArtifact(producer_tool);

    const test_step = b.step("test", "Run the Zig unit tests");
    const mempipe_tests = b.addTest(.{
        .root_source_file = .{ .path = "zig-src/mempipe/mempipe.zig" },
        .target = target,
        .optimize = .Debug,
    });
    test_step.dependOn(&b.addRunArtifact(mempipe_tests).step);
}
