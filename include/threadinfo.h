/*
 * threadinfo — per-thread facts the stack walk does not give: whether the
 * thread is running (from /proc/PID/task/TID/stat, descriptors kept open)
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

/* threadinfo_add — make the threads TIDS (N of them) known, so that the
 * next threadinfo_before reads their state while they run. */
void threadinfo_add(struct threadinfo *ti, const pid_t *tids, size_t n);

/* threadinfo_before — read the run state of every thread seen so far. Call
 * before the target is paused: a ptrace-stopped thread reads as stopped. */
void threadinfo_before(struct threadinfo *ti);

/* threadinfo_after — set SAMPLE_ACTIVE and the name of each thread in S.
 * Threads new since the last call have their state read now when
 * READ_NEW is set (the target is running), else they count as active once
 * and are read from the next threadinfo_before on. Forgets threads that
 * have disappeared. */
void threadinfo_after(struct threadinfo *ti, struct sample *s, int read_new);

#endif
