/*
 * gilstats — what threads did over a recording, from the state of every
 * thread-sample (enum thread_state): per thread, how many samples it spent
 * holding the GIL, waiting for it, in native code or idle, and where in its
 * Python code it waited; per pass, whether some thread held the GIL and
 * whether some thread waited; the GIL's hand-overs per second; and the
 * timeline of each thread's states. `gilscope gil` reports it.
 */
#ifndef GILSCOPE_GILSTATS_H
#define GILSCOPE_GILSTATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sample.h"

#define GILSTATS_MAX_RUNS 4000000   /* timeline runs kept; later ones are dropped (counted) */

struct gilstats;        /* opaque */

struct gilstats_thread {
    pid_t tid;                      /* OS thread id */
    uint64_t ident;                 /* Python's thread ident */
    uint32_t name;                  /* strtab id of its latest name */
    uint64_t n[TSTATE_COUNT];       /* samples in each state */
    uint64_t total;                 /* all its samples */
    uint64_t first_ns, last_ns;     /* its first and last sample */
};

/* One stretch of consecutive samples of a thread in one state. */
struct gilstats_run {
    uint64_t start_ns, end_ns;      /* [start, end): the samples' times plus one period */
    uint32_t thread;                /* index for gilstats_thread */
    uint32_t state;                 /* enum thread_state */
};

/* A Python line where a thread waited for the GIL, and how often. */
struct gilstats_wait {
    uint32_t thread;                /* index for gilstats_thread */
    uint32_t name, file;            /* strtab ids of the leaf frame's function and file */
    int32_t line;
    uint64_t count;
};

/* gilstats_new — empty statistics for samples taken every PERIOD_NS.
 * NULL when out of memory. Free with gilstats_free. */
struct gilstats *gilstats_new(uint64_t period_ns);

/* gilstats_free — release G (NULL is fine). */
void gilstats_free(struct gilstats *g);

/* gilstats_add — count the pass S (its thread states, names, leaf frames).
 * Returns 0 or -ENOMEM (G keeps what it had). */
int gilstats_add(struct gilstats *g, const struct sample *s);

/* gilstats_switch_count — note the GIL's hand-over counter read as COUNT
 * at T_NS. */
void gilstats_switch_count(struct gilstats *g, uint64_t t_ns, uint64_t count);

/* gilstats_switch_rate — hand-overs per second between the first and last
 * counts noted; -1 when fewer than two were (a version without a counter). */
double gilstats_switch_rate(const struct gilstats *g);

/* gilstats_thread_count — how many threads were seen. */
size_t gilstats_thread_count(const struct gilstats *g);

/* gilstats_thread — the thread seen I-th (from 0, in order of first sight;
 * I below gilstats_thread_count). Owned by G, valid until the next
 * gilstats_add. */
const struct gilstats_thread *gilstats_thread(const struct gilstats *g, size_t i);

/* gilstats_longest — the indices of the up to MAX threads with the most
 * samples (the longest-lived), in order of first sight, into OUT. Returns
 * how many. A server that starts a thread per request has hundreds of
 * short ones; reports show these and sum up the rest. */
size_t gilstats_longest(const struct gilstats *g, uint32_t *out, size_t max);

/* gilstats_passes — passes counted, and of those how many had a thread
 * holding the GIL (*HELD) and a thread waiting for it (*CONTENDED). */
void gilstats_passes(const struct gilstats *g, uint64_t *passes, uint64_t *held, uint64_t *contended);

/* gilstats_top_waits — the up to MAX lines where thread THREAD waited for
 * the GIL most, most first, into OUT. Returns how many. */
size_t gilstats_top_waits(const struct gilstats *g, uint32_t thread, struct gilstats_wait *out, size_t max);

/* gilstats_runs — the timeline: every run, in order of start; *N their
 * number, *DROPPED samples not in it (past GILSTATS_MAX_RUNS). Owned by G. */
const struct gilstats_run *gilstats_runs(const struct gilstats *g, size_t *n, uint64_t *dropped);

#endif
