// SPDX-License-Identifier: MIT
/* fork: the child works and exits 7; the parent waits and reports it.
 * Prints "fork ok child=7", exits 0. */
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static uint32_t work(uint32_t n)
{
    uint32_t h = 1;
    for (uint32_t i = 0; i < n; i++)
        h = h * 33 + i;
    return h;
}

int main(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0)
        _exit(work(5000) ? 7 : 8);
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return 1;
    printf("fork ok child=%d\n", WEXITSTATUS(st));
    return 0;
}
