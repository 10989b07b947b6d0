/*
 * threadinfo — per-thread facts the stack walk does not give: what the
 * thread was doing (its enum thread_state, from /proc/PID/task/TID/syscall,
 * descriptors kept open up to a share of the open-files limit) and its name
 * (Python's threading name when known, else the OS name).
 *
 * States: the GIL holder (from the walk) holds the GIL; on a free-threaded
 * build a thread attached to the interpreter runs Python. Any other thread
 * on CPU runs native code with the GIL released, except that where the GIL
 * is a semaphore (2.7) as many of them as it counts inside sem_wait, beyond
 * those seen asleep there, wait for it. A thread asleep in the kernel waits
 * for the GIL when it sleeps in futex() on an address inside the GIL (see
 * gilwait.h), else it is idle.
 */
#ifndef GILSCOPE_THREADINFO_H
#define GILSCOPE_THREADINFO_H

#include <stdint.h>
#include <sys/types.h>

#include "gilwait.h"
#include "proc.h"
#include "pyinterp.h"
#include "sample.h"
#include "strtab.h"

struct threadinfo;      /* opaque */

/* Looks up Python thread names: called with the thread idents seen; stores
 * name ids (STRTAB_NONE when unknown) for each. Returns 0 or negative. */
typedef int (*threadinfo_names_fn)(void *ctx, const uint64_t *idents, uint32_t *names, size_t n);

/* threadinfo_new — state for PID's threads, names interned in ST.
 * NAMES (may be NULL) supplies Python thread names. PID 0: a target with
 * no /proc to read (a core file): no state is read, so every thread that
 * neither holds the GIL nor is attached to a free-threaded interpreter is
 * TSTATE_UNKNOWN (not counted by threadinfo_unknown: there is nothing to
 * fix), and names come from NAMES alone. NULL when out of memory. */
struct threadinfo *threadinfo_new(pid_t pid, struct strtab *st, threadinfo_names_fn names, void *ctx);

/* threadinfo_os_name — for a target without /proc (PID 0): the OS name
 * of thread TID is NAME (copied), shown when it has no Python name. */
void threadinfo_os_name(struct threadinfo *ti, pid_t tid, const char *name);

/* threadinfo_free — close every descriptor, release TI (NULL is fine). */
void threadinfo_free(struct threadinfo *ti);

/* threadinfo_set_precise — with PRECISE, read every thread's state in
 * every pass (one system call per thread-sample). Without, a state is
 * re-read only when it may have changed (the thread's stack or GIL changed,
 * or it is older than a millisecond when running, 200 ms when asleep), so
 * a thread that woke and slept again on the same line may be shown with an
 * older state: fine for --idle, not for state shares. */
void threadinfo_set_precise(struct threadinfo *ti, int precise);

/* threadinfo_watch_gil — look for PI's GIL through M (both must outlive
 * TI), so that threads waiting for it are told from idle ones. Until it is
 * found (and without this call) a waiting thread counts as idle. */
void threadinfo_watch_gil(struct threadinfo *ti, struct proc_mem *m, const struct pyinterp *pi);

/* threadinfo_gil — where GIL waiters sleep, once found; NULL before (or
 * when it cannot be: a binary without the symbols 2.7 and 3.6 need). A
 * free-threaded build has a GIL too, used only when it is re-enabled. */
const struct gilwait *threadinfo_gil(const struct threadinfo *ti);

/* threadinfo_paused — while the target is ptrace-stopped (blocking mode),
 * learn for each thread of S whether it was running code or waiting in the
 * kernel, from /proc/PID/task/TID/syscall. The stat state cannot tell once
 * a thread is stopped, and read just before the pause it would see threads
 * that our own previous interruption left runnable. */
void threadinfo_paused(struct threadinfo *ti, struct sample *s);

/* threadinfo_after — set the state, SAMPLE_ACTIVE and the name of each thread in S.
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
