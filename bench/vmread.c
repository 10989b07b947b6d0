/*
 * vmread — the benchmark floor: the CPU cost of one 64-byte
 * process_vm_readv from another process, on this machine, now.
 *
 *   bench/vmread [CALLS [ROUNDS]]
 *
 * Forks a child that only sleeps, then reads 64 bytes of the child's memory
 * CALLS times per round (default 200000), ROUNDS rounds (default 7). Prints
 * one line: the median over rounds of this process's CPU time (user + sys,
 * CLOCK_PROCESS_CPUTIME_ID) per call, in nanoseconds, then the minimum and
 * maximum. CPU time rather than wall time, because the profiler's costs it
 * is compared with are CPU times too, and CPU time is less disturbed by
 * other work on a shared machine.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The bytes read: the same address in parent and child after fork. */
static char target_buf[4096] __attribute__((aligned(64)));

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 200000;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (calls <= 0 || rounds <= 0 || rounds > 101) {
        fprintf(stderr, "usage: vmread [CALLS [ROUNDS]]\n");
        return 2;
    }
    memset(target_buf, 0x5a, sizeof target_buf);
    pid_t child = fork();
    if (child < 0) {
        perror("vmread: fork");
        return 1;
    }
    if (child == 0) {
        /* Lives until the parent kills it; a dead parent leaves it orphaned
         * for at most a minute. */
        alarm(60);
        for (;;)
            pause();
    }
    char local[64];
    struct iovec l = { local, sizeof local }, r = { target_buf, sizeof local };
    double per_call[101];
    int rc = 0;
    for (int k = 0; k < rounds && rc == 0; k++) {
        double t0 = cpu_ns();
        for (long i = 0; i < calls; i++) {
            if (process_vm_readv(child, &l, 1, &r, 1, 0) != (ssize_t)sizeof local) {
                fprintf(stderr, "vmread: process_vm_readv: %s\n", strerror(errno));
                rc = 1;
                break;
            }
        }
        per_call[k] = (cpu_ns() - t0) / (double)calls;
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    if (rc)
        return rc;
    qsort(per_call, (size_t)rounds, sizeof per_call[0], cmp_double);
    printf("%.1f %.1f %.1f\n", per_call[rounds / 2], per_call[0], per_call[rounds - 1]);
    return 0;
}
