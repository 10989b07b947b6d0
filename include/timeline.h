/*
 * timeline — what the streaming writers (speedscope, chrometrace) share:
 * frames as they are displayed, deduplicated to small ids; each thread's
 * current stack; and whether a thread's samples follow each other or have a
 * gap between them. Memory grows with distinct frames and threads, never
 * with the number of samples.
 *
 * Time rule, the same for every writer: a thread sample stands for the time
 * from its own pass to the thread's next sample. When samples of the thread
 * are missing in between (it was idle, or left out by --gil), its stack is
 * taken to have ended one sampling period after the sample, and the last
 * sample of a thread also lasts one period. Writers see kept samples only,
 * so "missing" is inferred: a pass that kept another thread came between,
 * or the interval exceeds two periods and 20 ms (more than the scheduler's
 * jitter and a late sampler explain).
 */
#ifndef GILSCOPE_TIMELINE_H
#define GILSCOPE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "output.h"
#include "sample.h"

#define TL_NOLINE INT32_MIN     /* tl_frame.line when line numbers are not shown */

/* A frame as the writers show it: with --function its line is the
 * function's first line, with --nolineno there is none. */
struct tl_frame {
    uint32_t name;      /* strtab id */
    uint32_t file;      /* strtab id, as the code object has it */
    int32_t line;       /* shown line, or TL_NOLINE */
    int32_t col;        /* shown column from 1, 0 when unknown or not asked for (timeline_columns) */
    uint8_t kind;       /* enum frame_kind */
};

/* One thread of the target as seen so far. */
struct tl_thread {
    pid_t pid;              /* process */
    pid_t tid;              /* OS thread id (0 when unknown) */
    uint64_t thread_id;     /* Python's ident */
    uint32_t name;          /* strtab id: name at its latest sample */
    uint32_t flags;         /* enum sample_flag bits of its latest sample */
    uint32_t state;         /* enum thread_state of its latest sample */
    size_t index;           /* order of first appearance, from 0 */
    uint64_t first_ns;      /* time of its first sample */
    uint64_t last_ns;       /* time of its latest sample */
    uint64_t nsamples;      /* samples seen */
    uint32_t *stack;        /* latest stack: frame ids, root first */
    uint32_t depth;
    uint32_t *prev;         /* the stack before it (tl_step.old points here) */
    uint32_t prev_depth;
    uint32_t cap;           /* capacity of both */
};

/* What one thread sample changed. */
struct tl_step {
    struct tl_thread *th;   /* the thread (owned by the timeline) */
    int first;              /* its first sample: nothing to close */
    int gap;                /* samples were missing since its previous one */
    uint64_t prev_ns;       /* time of its previous sample (when !first) */
    uint64_t prev_end_ns;   /* when the previous sample's stack ended: this
                             * sample's time, or after a gap, prev_ns + one
                             * period (never later than this sample) */
    uint32_t prev_flags;    /* flags of its previous sample */
    uint32_t prev_state;    /* state of its previous sample */
    const uint32_t *old;    /* the previous stack, root first (valid until
                             * the thread's next step) */
    uint32_t old_depth;
    uint32_t common;        /* frames the previous and new stacks share from
                             * the root (whether or not there was a gap) */
    int renamed;            /* the thread's name changed with this sample */
};

struct timeline;        /* opaque */

/* timeline_new — a timeline for the recording INFO describes (INFO's
 * strings, files and opts must outlive it; INFO itself is copied). NULL
 * when out of memory. */
struct timeline *timeline_new(const struct output_info *info);

/* timeline_columns — with ON, frames on one line but at different columns
 * are different frames, and tl_frame.col says which (speedscope shows
 * columns; chrometrace keeps one slice per line). Call before the first
 * step. */
void timeline_columns(struct timeline *tl, int on);

/* timeline_free — release TL and its threads (NULL is fine). */
void timeline_free(struct timeline *tl);

/* timeline_step — take thread I of sample S: find or add its thread, turn
 * its frames into frame ids, and describe in OUT what changed since the
 * thread's previous sample. Samples must come in time order. Returns 0 or
 * -ENOMEM (the thread is then unchanged). */
int timeline_step(struct timeline *tl, const struct sample *s, size_t i, struct tl_step *out);

/* timeline_frame — frame ID (0 ≤ ID < timeline_nframes). Owned by TL; valid
 * until the next timeline_step. */
const struct tl_frame *timeline_frame(const struct timeline *tl, uint32_t id);

/* timeline_nframes — distinct frames so far. */
size_t timeline_nframes(const struct timeline *tl);

/* timeline_thread — the thread with index INDEX (0 ≤ INDEX < timeline_nthreads),
 * owned by TL. */
struct tl_thread *timeline_thread(const struct timeline *tl, size_t index);

/* timeline_nthreads — threads seen so far. */
size_t timeline_nthreads(const struct timeline *tl);

/* timeline_period_ns — one sampling period (from the requested rate). */
uint64_t timeline_period_ns(const struct timeline *tl);

/* timeline_end_ns — when TH's latest stack is taken to end if no sample
 * follows: its latest sample time plus one period. */
uint64_t timeline_end_ns(const struct timeline *tl, const struct tl_thread *th);

/* timeline_rel_ns — T as nanoseconds since the recording started (0 for
 * anything earlier). */
uint64_t timeline_rel_ns(const struct timeline *tl, uint64_t t);

/* timeline_file — the display name of frame F's file (short or full, as
 * the recording asked), owned by the string table. */
const char *timeline_file(const struct timeline *tl, const struct tl_frame *f);

/* timeline_string — the strtab string with id ID. */
const char *timeline_string(const struct timeline *tl, uint32_t id);

#endif
