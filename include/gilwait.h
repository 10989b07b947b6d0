/*
 * gilwait — where a thread waiting for the GIL sleeps, so that a thread
 * asleep in futex() can be told waiting for the GIL from idle. A waiter
 * sleeps on the GIL's condition variable or mutex (take_gil), a thread that
 * just dropped it on its switch condition (FORCE_SWITCHING), 2.7's waiter
 * on its lock's semaphore: all inside the ranges found here. A
 * threading.Lock, Condition, Queue or Event lives elsewhere.
 */
#ifndef GILSCOPE_GILWAIT_H
#define GILSCOPE_GILWAIT_H

#include <stdint.h>

#include "proc.h"
#include "pyinterp.h"

#define GILWAIT_MAX_RANGES 4
#define GILWAIT_LOCK_SIZE 32    /* sizeof(sem_t) on LP64 glibc, the lock 2.7 allocates there */

struct gilwait {
    uint64_t lo[GILWAIT_MAX_RANGES], hi[GILWAIT_MAX_RANGES]; /* [lo, hi) */
    int n;
    uint64_t switch_addr;       /* the GIL's hand-over counter, 0 if none */
    uint64_t sem_addr;          /* the GIL's lock when it is a semaphore (2.7), else 0 */
};

/* gilwait_locate — fill G for PI: its fixed ranges, or those read now
 * from the target through M: the GIL the interpreter state at INTERP
 * points to (3.12+), or 2.7's lock once threads exist. A GIL that cannot
 * be read yet leaves G empty (call again later). Returns 0 when G knows
 * where the GIL is, -ENOENT when it cannot (no symbols, no threads yet,
 * an unreadable state). */
int gilwait_locate(struct gilwait *g, struct proc_mem *m, const struct pyinterp *pi, uint64_t interp);

/* gilwait_is_gil — 1 when a thread sleeping on the futex at ADDR is
 * waiting for the GIL G describes, else 0. */
int gilwait_is_gil(const struct gilwait *g, uint64_t addr);

/* gilwait_switches — read the GIL's hand-over counter (switch_number) into
 * *COUNT. Returns 0, -ENOENT when the version has none (2.7), -EFAULT. */
int gilwait_switches(const struct gilwait *g, struct proc_mem *m, uint64_t *count);

/* gilwait_sem_waiters — where the GIL is a glibc semaphore (2.7's lock):
 * into *COUNT the threads inside sem_wait's slow path, waiting for the
 * lock whether asleep in futex() or woken and on their way (glibc 2.21+
 * on 64 bits keeps that count in the high half of the semaphore's word,
 * its value in the low half). A word no binary lock can hold (a value
 * above 1, more waiters than MAX_THREADS: another layout, or garbage)
 * is -EINVAL. Returns 0, -ENOENT (no such lock), -EFAULT. */
int gilwait_sem_waiters(const struct gilwait *g, struct proc_mem *m, uint32_t max_threads, uint32_t *count);

#endif
