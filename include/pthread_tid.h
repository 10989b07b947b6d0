/*
 * pthread_tid — map a Python thread id to its OS thread id before 3.11,
 * where a thread is known by its pthread_t only: the address of glibc's
 * struct pthread, whose tid field sits at a build-specific offset. The
 * offset is found once per target by scanning the structures of the
 * target's Python threads (see pthread_tid_lookup).
 */
#ifndef GILSCOPE_PTHREAD_TID_H
#define GILSCOPE_PTHREAD_TID_H

#include <stdint.h>
#include <sys/types.h>

#include "proc.h"
#include "pyinterp.h"
#include "tidmap.h"

/* What is known of the tid field. Plain struct; read-only to callers. */
struct pthread_tid {
    int off;        /* offset of tid in struct pthread; -1 unknown, -2 failed */
    int tries;      /* discovery attempts made */
};

/* pthread_tid_init — nothing known yet. */
void pthread_tid_init(struct pthread_tid *pt);

/* pthread_tid_lookup — the OS thread id, as the target's PID namespace
 * numbers it (glibc stores the target's own view), of the thread whose
 * pthread_t is THREAD_ID in the target of PI (memory through M), 0 when
 * unknown. At first use it discovers the offset: the one where every
 * Python thread's struct pthread (up to 32 of them, from the first
 * interpreter's thread list) holds a distinct tid of the process: of a
 * live process as its namespace numbers them (tidmap_ns_tids of TM), of
 * any other source its own list (proc_mem_tasks: a core's threads; TM
 * NULL). A scan that finds none is retried at later calls, at most 8
 * times in all, then lookups return 0 for good. Reads the target; never
 * fails otherwise. */
pid_t pthread_tid_lookup(struct pthread_tid *pt, struct proc_mem *m, const struct pyinterp *pi,
                         struct tidmap *tm, uint64_t thread_id);

#endif
