// SPDX-License-Identifier: MIT
/* Dynamically linked against glibc (the only guest that is): calls go
 * through the PLT into the shared libc. Prints "dynamic ok <n>", exits 4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int main(void)
{
    int v[] = {5, 3, 9, 1, 7};
    qsort(v, 5, sizeof v[0], cmp);
    printf("dynamic ok %d%d%d%d%d %zu\n", v[0], v[1], v[2], v[3], v[4],
           strlen("cannoli"));
    return 4;
}
