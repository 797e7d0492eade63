// SPDX-License-Identifier: MIT
/* Faulting loads in the middle of straight-line code: the SIGSEGV handler
 * (SA_SIGINFO) siglongjmps back, so the stores after each load never run and
 * the fault cuts the translation block short. Prints "segv ok 3", exits 0. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ROUNDS 3

static sigjmp_buf env;
static volatile uintptr_t want;   /* address the next fault should report */
static volatile int faults;
static volatile uint32_t sink[8];

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    (void)sig; (void)ctx;
    if ((uintptr_t)si->si_addr == want)
        faults++;
    siglongjmp(env, 1);
}

/* No branches between the stores and the load, so they share a block. */
__attribute__((noinline)) static uint32_t straight(volatile uint32_t *bad, uint32_t x)
{
    sink[0] = x;
    sink[1] = x + 1;
    uint32_t v = *bad;     /* faults */
    sink[2] = v;           /* never executed */
    sink[3] = x + 3;
    return v;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, 0);

    for (int i = 0; i < ROUNDS; i++) {
        /* The first page is never mapped (mmap_min_addr). */
        volatile uint32_t *bad = (volatile uint32_t *)(uintptr_t)(0x100 + 0x40 * i);
        want = (uintptr_t)bad;
        if (sigsetjmp(env, 1) == 0)
            straight(bad, (uint32_t)i);
    }
    int ok = faults == ROUNDS && sink[2] == 0 && sink[3] == 0;
    printf("segv %s %d\n", ok ? "ok" : "BAD", faults);
    return !ok;
}
