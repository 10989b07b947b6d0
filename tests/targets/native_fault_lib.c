/* gilscope test library for the native fault tests: plain C (no Python
 * API), loaded by native_faults.py through ctypes, which calls it without
 * the GIL. tests/integration/run builds it with cc in several forms: with
 * -g and unwind tables (the usual), without unwind tables
 * (-fno-asynchronous-unwind-tables -fno-unwind-tables, and no frame
 * pointer, so that nothing tells how to leave it), and the usual one with
 * its .eh_frame overwritten in the file before it is loaded.
 *
 *   faultlib_call(seconds)  calls faultlib_spin(seconds) (LINE:lib_call),
 *                           which busy-loops on clock_gettime(CLOCK_MONOTONIC)
 *                           for that long (LINE:lib_spin)
 *
 * faultlib_spin is noinline and a volatile store follows its call, so that
 * it keeps a frame of its own: the native stack is faultlib_spin <-
 * faultlib_call <- libffi.
 */
#include <time.h>

#define FAULTLIB_NOINLINE __attribute__((noinline))

static double faultlib_since(const struct timespec *t0, const struct timespec *now)
{
    return (double)(now->tv_sec - t0->tv_sec) + (double)(now->tv_nsec - t0->tv_nsec) / 1e9;
}

FAULTLIB_NOINLINE void faultlib_spin(double seconds)
{
    struct timespec t0, now;
    volatile unsigned long loops = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    do { loops++; clock_gettime(CLOCK_MONOTONIC, &now); } while (faultlib_since(&t0, &now) < seconds); /* LINE: lib_spin */
}

void faultlib_call(double seconds)
{
    volatile int after = 0;

    faultlib_spin(seconds); /* LINE: lib_call */
    after = 1;
    (void)after;
}
