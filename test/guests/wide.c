// SPDX-License-Identifier: MIT
/* 16-byte accesses made inside QEMU's helpers: two threads each swap a
 * 16-byte slot of their own from 0 to a known value with one atomic
 * compare-and-swap (x86_64 cmpxchg16b, aarch64 ldaxp/stlxp), which QEMU
 * runs as a 16-byte atomic once the guest has threads. Slot i ends as
 * 0x<1111111111111111 * (i + 1)><0123456789abcdef + i>. Prints the slots'
 * address and slot 1. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

typedef unsigned __int128 u128;

static u128 slot[2] __attribute__((aligned(16)));

static void *swap(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    u128 desired = ((u128)(0x1111111111111111ull * (i + 1)) << 64) | (0x0123456789abcdefull + i);
#if defined(__x86_64__)
    /* By hand: the compiler calls a lock-based library routine instead. */
    uint64_t expected_lo = 0, expected_hi = 0;
    __asm__ volatile("lock cmpxchg16b %0"
                     : "+m"(slot[i]), "+a"(expected_lo), "+d"(expected_hi)
                     : "b"((uint64_t)desired), "c"((uint64_t)(desired >> 64))
                     : "memory", "cc");
#else
    u128 expected = 0;
    __atomic_compare_exchange_n(&slot[i], &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
#endif
    return 0;
}

int main(void)
{
    pthread_t t[2];
    for (uintptr_t i = 0; i < 2; i++)
        if (pthread_create(&t[i], 0, swap, (void *)i))
            return 2;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], 0);
    printf("wide slot=%p %016llx%016llx\n", (void *)slot, (unsigned long long)(slot[1] >> 64), (unsigned long long)slot[1]);
    return 0;
}
