// SPDX-License-Identifier: MIT
/* Four threads in a loop of write(2) system calls and one spinning while
 * the main thread dies of an uncaught SIGSEGV: the crash meets threads
 * inside the server's syscall callbacks as well as ones stopped between
 * blocks. Prints "crashsyscalls: about to fault" first. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define WRITERS 4

static volatile uint64_t spins;
static volatile int started;
static int null_fd;

static void *writer(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    char byte = 'x';
    for (;;) {
        if (write(null_fd, &byte, 1) != 1)
            return 0;
        spins++;
    }
}

static void *spinner(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    for (;;)
        spins++;
    return 0;
}

int main(void)
{
    null_fd = open("/dev/null", O_WRONLY);
    if (null_fd < 0)
        return 2;
    pthread_t t[WRITERS + 1];
    for (int i = 0; i < WRITERS; i++)
        if (pthread_create(&t[i], 0, writer, 0))
            return 2;
    if (pthread_create(&t[WRITERS], 0, spinner, 0))
        return 2;
    while (started < WRITERS + 1 || spins < 3000)
        ;
    printf("crashsyscalls: about to fault\n");
    fflush(stdout);
    *(volatile uint32_t *)(uintptr_t)16 = 1;
    return 1;
}
