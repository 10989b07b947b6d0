/*
 * profile — samples aggregated by identical stack: (process, thread, thread
 * name, flags, frames) → count. The writers that need totals (folded, and
 * later flame graphs and top) read it; memory grows with distinct stacks,
 * not with samples.
 */
#ifndef GILSCOPE_PROFILE_H
#define GILSCOPE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "sample.h"

struct profile;         /* opaque */

/* One distinct stack, as profile_get hands it out (pointers owned by the profile). */
struct profile_stack {
    pid_t pid;                  /* process */
    pid_t tid;                  /* OS thread id */
    uint32_t thread_name;       /* strtab id */
    uint32_t flags;             /* enum sample_flag bits */
    uint32_t nframes;           /* frames, leaf first */
    const struct frame *frames; /* valid until the next profile_add or profile_free */
    uint64_t count;             /* samples */
};

/* profile_new — an empty profile, NULL when out of memory. */
struct profile *profile_new(void);

/* profile_free — release P (NULL is fine). */
void profile_free(struct profile *p);

/* profile_add — count thread I of sample S once more.
 * Returns 0 or -ENOMEM (the profile is unchanged then). */
int profile_add(struct profile *p, const struct sample *s, size_t i);

/* profile_add_stack — count a stack directly (COUNT times). Returns 0 or -ENOMEM. */
int profile_add_stack(struct profile *p, const struct profile_stack *stack, uint64_t count);

/* profile_size — number of distinct stacks. */
size_t profile_size(const struct profile *p);

/* profile_total — number of samples counted. */
uint64_t profile_total(const struct profile *p);

/* profile_get — the I-th distinct stack (0 ≤ I < profile_size) in insertion order. */
void profile_get(const struct profile *p, size_t i, struct profile_stack *out);

#endif
