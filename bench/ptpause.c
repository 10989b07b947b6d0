/*
 * ptpause — the floor of blocking mode: how long pausing every thread of a
 * process with ptrace takes on this machine, now, when nothing is read.
 *
 *   bench/ptpause [--stream] PID [ROUNDS [INTERVAL_US]]
 *
 * Seizes every thread of PID (a workload bench/run started), then ROUNDS
 * times (default 200), INTERVAL_US apart (default 10000, i.e. 100 Hz):
 * PTRACE_INTERRUPT every thread, wait for each stop, PTRACE_CONT every
 * thread. With --stream, each thread is let go as soon as its own stop is
 * reported, the others still stopping: the floor of a pass that resumes
 * each thread once read, which never holds them all at once.
 * Prints the mean and the median of one round (first interrupt to last
 * resume), in microseconds, the thread count, and this process's CPU time
 * (user + system) per thread stopped, in microseconds; then detaches.
 * gilscope's own pause (GILSCOPE_STATS pause_ns / passes) is a mean too.
 * Threads that come or go during the run are not followed: use it on a
 * process whose threads stay.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_TIDS = 8192 };

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double tv_us(const struct timeval *tv)
{
    return (double)tv->tv_sec * 1e6 + (double)tv->tv_usec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Stop, wait for and detach every thread in TIDS (N of them). */
static void detach_all(const pid_t *tids, int n)
{
    for (int i = 0; i < n; i++)
        ptrace(PTRACE_INTERRUPT, tids[i], NULL, NULL);
    for (int i = 0; i < n; i++) {
        int st;
        if (waitpid(tids[i], &st, __WALL) == tids[i] && WIFSTOPPED(st))
            ptrace(PTRACE_DETACH, tids[i], NULL, NULL);
    }
}

int main(int argc, char **argv)
{
    static pid_t tids[MAX_TIDS];
    static double round_us[100000];
    int stream = argc > 1 && strcmp(argv[1], "--stream") == 0;
    if (stream) {
        argv++;
        argc--;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: ptpause [--stream] PID [ROUNDS [INTERVAL_US]]\n");
        return 2;
    }
    pid_t pid = (pid_t)atoi(argv[1]);
    int rounds = argc > 2 ? atoi(argv[2]) : 200;
    long interval = argc > 3 ? atol(argv[3]) : 10000;
    if (pid <= 0 || rounds <= 0 || rounds > 100000 || interval < 0) {
        fprintf(stderr, "ptpause: bad arguments\n");
        return 2;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "ptpause: %s: %s\n", path, strerror(errno));
        return 1;
    }
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < MAX_TIDS;)
        if (e->d_name[0] != '.')
            tids[n++] = (pid_t)atoi(e->d_name);
    closedir(d);
    int seized = 0;
    for (; seized < n; seized++) {
        if (ptrace(PTRACE_SEIZE, tids[seized], NULL, NULL) != 0) {
            fprintf(stderr, "ptpause: seize %d: %s\n", (int)tids[seized], strerror(errno));
            detach_all(tids, seized);
            return 1;
        }
    }
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    for (int r = 0; r < rounds; r++) {
        double t0 = now_us();
        for (int i = 0; i < n; i++)
            ptrace(PTRACE_INTERRUPT, tids[i], NULL, NULL);
        if (stream) {
            /* Only our tracees can be waited for here. */
            for (int i = 0; i < n; i++) {
                int st;
                pid_t t;
                while ((t = waitpid(-1, &st, __WALL)) < 0 && errno == EINTR)
                    ;
                if (t > 0)
                    ptrace(PTRACE_CONT, t, NULL, NULL);
            }
        } else {
            for (int i = 0; i < n; i++) {
                int st;
                while (waitpid(tids[i], &st, __WALL) < 0 && errno == EINTR)
                    ;
            }
            for (int i = 0; i < n; i++)
                ptrace(PTRACE_CONT, tids[i], NULL, NULL);
        }
        round_us[r] = now_us() - t0;
        if (interval)
            usleep((useconds_t)interval);
    }
    getrusage(RUSAGE_SELF, &ru1);
    detach_all(tids, n);
    double cpu_us = tv_us(&ru1.ru_utime) + tv_us(&ru1.ru_stime) - tv_us(&ru0.ru_utime) - tv_us(&ru0.ru_stime);
    double sum = 0;
    for (int r = 0; r < rounds; r++)
        sum += round_us[r];
    qsort(round_us, (size_t)rounds, sizeof round_us[0], cmp_double);
    printf("%.1f %.1f %d %.2f\n", sum / rounds, round_us[rounds / 2], n, cpu_us / ((double)rounds * n));
    return 0;
}
