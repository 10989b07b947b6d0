/*
 * clock — the clocks gilscope reads: one monotonic clock for every time
 * stamp, deadline and interval, and this thread's CPU time for statistics.
 *
 * Both are plain nanosecond counts in a uint64_t; nothing is allocated and
 * nothing can fail (clock_gettime on these clocks cannot fail on Linux).
 */
#ifndef GILSCOPE_CLOCK_H
#define GILSCOPE_CLOCK_H

#include <stdint.h>

/* clock_mono_ns — CLOCK_MONOTONIC in nanoseconds: the clock of sample
 * times (struct sample.time_ns), deadlines and intervals. Never goes back;
 * its zero is arbitrary (boot), so only differences mean anything. */
uint64_t clock_mono_ns(void);

/* clock_thread_cpu_ns — CPU time the calling thread has used
 * (CLOCK_THREAD_CPUTIME_ID), in nanoseconds. A system call on most
 * machines: for statistics, not for hot loops. */
uint64_t clock_thread_cpu_ns(void);

/* clock_nap_ns — sleep for NS nanoseconds, or less when a signal handler
 * runs meanwhile (callers look at their flags and loop). */
void clock_nap_ns(uint64_t ns);

#endif
