/*
 * toptable — the numbers behind `gilscope top`: per function, how many
 * thread samples had it as the leaf (own) and anywhere on the stack (total,
 * counted once per sample however deep it recurses), both for the last
 * completed refresh interval (the percentages) and since the start or the
 * last reset (the times); plus GIL, active and thread counts per interval.
 * It knows nothing of terminals, so it can be tested on synthetic samples.
 */
#ifndef GILSCOPE_TOPTABLE_H
#define GILSCOPE_TOPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "sample.h"

struct toptable;        /* opaque */

/* The sortable columns, in the order `top` shows them (keys 1..4). */
enum toptable_col {
    TOPTABLE_OWN_PCT = 0,   /* own samples in the last interval */
    TOPTABLE_TOTAL_PCT,     /* total samples in the last interval */
    TOPTABLE_OWN_TIME,      /* own samples since the start */
    TOPTABLE_TOTAL_TIME,    /* total samples since the start */
    TOPTABLE_NCOLS
};

/* Which thread samples count, and what a row is. */
struct toptable_opts {
    int idle;       /* keep samples of idle threads (else only active ones) */
    int gil;        /* keep only samples of the thread holding the GIL */
    int lines;      /* one row per line executed instead of per function */
};

/* One function (or line). Strings are strtab ids of the samples' strtab. */
struct toptable_row {
    uint32_t name;          /* function name */
    uint32_t file;          /* file name as the code object has it */
    int32_t line;           /* the function's first line; the line itself with opts.lines */
    uint64_t own, total;    /* last completed interval: samples as leaf / anywhere */
    uint64_t own_all, total_all; /* since the start or the last reset */
};

/* Counts per interval (the last completed one) and overall. */
struct toptable_stats {
    uint64_t passes;        /* sampling passes in the interval */
    uint64_t gil_passes;    /* of which some thread held the GIL */
    uint64_t threads;       /* thread samples seen (before the filters) */
    uint64_t active;        /* of which the thread was running */
    uint64_t gil_wait;      /* of which the thread waited for the GIL */
    uint64_t kept;          /* thread samples kept: the base of the percentages */
    uint64_t passes_all;    /* passes since the start or the last reset */
    uint64_t kept_all;      /* kept thread samples since then */
    size_t nthreads;        /* threads in the latest pass */
};

/* toptable_new — an empty table counting as O says (NULL: the defaults, all
 * zero). Returns NULL when out of memory. Free with toptable_free. */
struct toptable *toptable_new(const struct toptable_opts *o);

/* toptable_free — release T (NULL is fine). */
void toptable_free(struct toptable *t);

/* toptable_add — count one sampling pass S: every thread towards the
 * interval's GIL/active figures, and the threads that pass the filters (and
 * have at least one frame) towards the rows. Returns 0, or -ENOMEM when a new
 * row could not be made (that thread's sample is then left out). */
int toptable_add(struct toptable *t, const struct sample *s);

/* toptable_roll — end the current interval: what was counted since the last
 * roll becomes the "last interval" that rows and stats report, and a new
 * interval starts empty. Overall counts are unaffected. */
void toptable_roll(struct toptable *t);

/* toptable_reset — forget everything counted (rows, intervals, overall). */
void toptable_reset(struct toptable *t);

/* toptable_set_opts — count from now on as O says. Changing opts.lines
 * changes what a row is, so it resets the table; the filters do not. */
void toptable_set_opts(struct toptable *t, const struct toptable_opts *o);

/* toptable_get_opts — the options in force. */
struct toptable_opts toptable_get_opts(const struct toptable *t);

/* toptable_rows — every row, sorted by COL, largest first (smallest first
 * when ASCENDING); ties are broken by the other columns, then by identity,
 * so the order is stable from call to call. *ROWS points into memory owned
 * by T, valid until the next call to any toptable function but
 * toptable_stats. Returns 0, or -ENOMEM (then *ROWS is NULL and *N is 0). */
int toptable_rows(struct toptable *t, enum toptable_col col, int ascending,
                  const struct toptable_row **rows, size_t *n);

/* toptable_stats — the counts of the last completed interval and overall. */
void toptable_stats(const struct toptable *t, struct toptable_stats *out);

/* A thread's share of the last interval spent waiting for the GIL. */
struct toptable_waiter {
    pid_t tid;
    uint32_t name;          /* strtab id of its name */
    uint64_t samples, waits;
};

/* toptable_waiters — the up to MAX threads of the last completed interval
 * that waited for the GIL in the largest share of their samples, largest
 * first, into OUT (only threads that waited at all). Returns how many. */
size_t toptable_waiters(const struct toptable *t, struct toptable_waiter *out, size_t max);

/* toptable_pct — 100·PART/WHOLE, 0 when WHOLE is 0. */
double toptable_pct(uint64_t part, uint64_t whole);

/* toptable_sample_seconds — the wall time one pass stands for: the measured
 * spacing of the passes counted since the start or the last reset (which
 * includes passes skipped because sampling fell behind), or 1/RATE_HZ while
 * fewer than two passes were seen. Own and total times are counts times this. */
double toptable_sample_seconds(const struct toptable *t, double rate_hz);

/* toptable_col_name — the column's heading ("%Own", "%Total", "OwnTime", "TotalTime"). */
const char *toptable_col_name(enum toptable_col col);

#endif
