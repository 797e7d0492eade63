// SPDX-License-Identifier: MIT
/* Loops and real (non-inlined) calls; prints "loops ok <checksum>", exits 3. */
#include <stdint.h>
#include <stdio.h>

__attribute__((noinline)) static uint32_t mix(uint32_t h, uint32_t v)
{
    return (h ^ v) * 16777619u;
}

__attribute__((noinline)) static uint32_t inner(uint32_t seed, int n)
{
    uint32_t h = seed;
    for (int i = 0; i < n; i++)
        h = mix(h, (uint32_t)i);
    return h;
}

int main(void)
{
    uint32_t h = 2166136261u;
    for (int j = 0; j < 100; j++)
        h = inner(h, j % 17);
    printf("loops ok %08x\n", h);
    return 3;
}
