// SPDX-License-Identifier: MIT
/* Dies of an uncaught SIGSEGV in straight-line code, as a fuzzed program
 * does: two stores to `sink`, the store through a bad pointer at the global
 * label crash_here, and a store after it that never runs, in one block.
 * Prints "crash: about to fault" first; a trace must end at crash_here,
 * with the two stores before it and nothing after it. */
#include <stdint.h>
#include <stdio.h>

volatile uint32_t sink[4];

int main(void)
{
    printf("crash: about to fault\n");
    fflush(stdout);
    uint32_t v = 0x5a5a5a5a;
    volatile uint32_t *s = sink;
    volatile uint32_t *bad = (volatile uint32_t *)(uintptr_t)16;
#if defined(__aarch64__)
    __asm__ volatile("str %w0, [%1]\n str %w0, [%1, #4]\n.globl crash_here\ncrash_here: str %w0, [%2]\n str %w0, [%1, #8]"
                     : : "r"(v), "r"(s), "r"(bad) : "memory");
#elif defined(__x86_64__)
    __asm__ volatile("movl %0, (%1)\n movl %0, 4(%1)\n.globl crash_here\ncrash_here: movl %0, (%2)\n movl %0, 8(%1)"
                     : : "r"(v), "r"(s), "r"(bad) : "memory");
#elif defined(__mips__) || defined(__riscv)
    __asm__ volatile("sw %0, 0(%1)\n sw %0, 4(%1)\n.globl crash_here\ncrash_here: sw %0, 0(%2)\n sw %0, 8(%1)"
                     : : "r"(v), "r"(s), "r"(bad) : "memory");
#endif
    printf("crash: survived\n");
    return 1;
}
