// SPDX-License-Identifier: MIT
/* Stores then loads of 1, 2, 4 and 8 bytes with distinctive values at known
 * offsets of a global buffer: u8 0x11 at +0, u16 0x2233 at +2,
 * u32 0x44556677 at +4, u64 0x8899aabbccddeeff at +8 (32-bit guests such as
 * mipsel do the u64 as two 4-byte accesses). Prints "buf=0x<addr>" (the
 * guest address) and "memops ok"; exits 0, or 1 if a value read back wrong. */
#include <stdint.h>
#include <stdio.h>

static volatile uint64_t buf[2]; /* 8-aligned: each access is natural */

int main(void)
{
    volatile uint8_t *b = (volatile uint8_t *)buf;

    *(volatile uint8_t *)(b + 0) = 0x11;
    *(volatile uint16_t *)(b + 2) = 0x2233;
    *(volatile uint32_t *)(b + 4) = 0x44556677u;
    *(volatile uint64_t *)(b + 8) = 0x8899aabbccddeeffull;

    int bad = 0;
    bad |= *(volatile uint8_t *)(b + 0) != 0x11;
    bad |= *(volatile uint16_t *)(b + 2) != 0x2233;
    bad |= *(volatile uint32_t *)(b + 4) != 0x44556677u;
    bad |= *(volatile uint64_t *)(b + 8) != 0x8899aabbccddeeffull;

    printf("buf=0x%lx\n", (unsigned long)(uintptr_t)b);
    printf(bad ? "memops BAD\n" : "memops ok\n");
    return bad;
}
