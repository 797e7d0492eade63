// SPDX-License-Identifier: MIT
/* A thread that spins without a system call while the main thread dies of
 * an uncaught SIGSEGV (a store through a bad pointer at crash_here): the
 * spinner's trace must reach where QEMU stopped it, not only its last
 * system call. Main waits until the spinner has looped a while. Prints
 * "crashthreads: about to fault" first. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static volatile uint64_t spins;

static void *spin(void *arg)
{
    (void)arg;
    for (;;)
        spins++;
    return 0;
}

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, 0, spin, 0))
        return 2;
    while (spins < 20000)
        ;
    printf("crashthreads: about to fault\n");
    fflush(stdout);
    volatile uint32_t *bad = (volatile uint32_t *)(uintptr_t)16;
#if defined(__aarch64__)
    __asm__ volatile(".globl crash_here\ncrash_here: str %w0, [%1]" : : "r"(1u), "r"(bad) : "memory");
#elif defined(__x86_64__)
    __asm__ volatile(".globl crash_here\ncrash_here: movl %0, (%1)" : : "r"(1u), "r"(bad) : "memory");
#elif defined(__mips__) || defined(__riscv)
    __asm__ volatile(".globl crash_here\ncrash_here: sw %0, 0(%1)" : : "r"(1u), "r"(bad) : "memory");
#endif
    return 1;
}
