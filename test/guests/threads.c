// SPDX-License-Identifier: MIT
/* 4 threads, each with its own amount of work, writing its own slot.
 * Prints "threads ok", exits 0 (1 if a result is wrong). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define N 4

static volatile uint32_t slot[N];

__attribute__((noinline)) static uint32_t work(uint32_t n)
{
    uint32_t h = n;
    for (uint32_t i = 0; i < n; i++)
        h = h * 31 + i;
    return h;
}

static void *run(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    slot[id] = work(1000 * (uint32_t)(id + 1));
    return 0;
}

int main(void)
{
    pthread_t t[N];
    for (uintptr_t i = 0; i < N; i++)
        if (pthread_create(&t[i], 0, run, (void *)i))
            return 2;
    int bad = 0;
    for (uintptr_t i = 0; i < N; i++) {
        pthread_join(t[i], 0);
        bad |= slot[i] != work(1000 * (uint32_t)(i + 1));
    }
    printf(bad ? "threads BAD\n" : "threads ok\n");
    return bad;
}
