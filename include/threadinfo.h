/*
 * threadinfo — per-thread facts the stack walk does not give: whether the
 * thread is running (from /proc/PID/task/TID/stat or …/syscall, descriptors
 * kept open up to a share of the open-files limit)
 * and its name (Python's threading name when known, else the OS name).
 */
#ifndef GILSCOPE_THREADINFO_H
#define GILSCOPE_THREADINFO_H

#include <stdint.h>
#include <sys/types.h>

#include "sample.h"
#include "strtab.h"

struct threadinfo;      /* opaque */

/* Looks up Python thread names: called with the thread idents seen; stores
 * name ids (STRTAB_NONE when unknown) for each. Returns 0 or negative. */
typedef int (*threadinfo_names_fn)(void *ctx, const uint64_t *idents, uint32_t *names, size_t n);

/* threadinfo_new — state for PID's threads, names interned in ST.
 * NAMES (may be NULL) supplies Python thread names. NULL when out of memory. */
struct threadinfo *threadinfo_new(pid_t pid, struct strtab *st, threadinfo_names_fn names, void *ctx);

/* threadinfo_free — close every descriptor, release TI (NULL is fine). */
void threadinfo_free(struct threadinfo *ti);

/* threadinfo_paused — while the target is ptrace-stopped (blocking mode),
 * learn for each thread of S whether it was running code or waiting in the
 * kernel, from /proc/PID/task/TID/syscall. The stat state cannot tell once
 * a thread is stopped, and read just before the pause it would see threads
 * that our own previous interruption left runnable. */
void threadinfo_paused(struct threadinfo *ti, struct sample *s);

/* threadinfo_after — set SAMPLE_ACTIVE and the name of each thread in S.
 * PAUSED: threadinfo_paused already read the states; otherwise (the target
 * runs) each thread's state is read now from /proc/PID/task/TID/stat. The
 * GIL holder is always active. A thread whose state cannot be read (out of
 * file descriptors, the thread gone) is not active, and counted (see
 * threadinfo_unknown). Threads not in S are forgotten. */
void threadinfo_after(struct threadinfo *ti, struct sample *s, int paused);

/* threadinfo_unknown — thread samples so far whose run state could not be
 * read (so not counted active). */
uint64_t threadinfo_unknown(const struct threadinfo *ti);

/* threadinfo_all_stopped — after threadinfo_after(…, 0): 1 when every
 * thread of S was last seen stopped by job control (state T). */
int threadinfo_all_stopped(struct threadinfo *ti, const struct sample *s);

#endif
