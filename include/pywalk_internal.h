/*
 * pywalk_internal — the walker's state, shared by pywalk.c (slow path,
 * public entry points) and walkspec.c (the fast path). Not for other
 * callers: they use pywalk.h.
 */
#ifndef GILSCOPE_PYWALK_INTERNAL_H
#define GILSCOPE_PYWALK_INTERNAL_H

#include <stdint.h>

#include "codecache.h"
#include "framewalk.h"
#include "proc.h"
#include "pthread_tid.h"
#include "pyinterp.h"
#include "pywalk.h"
#include "sample.h"
#include "strtab.h"
#include "hashtab.h"
#include "tidmap.h"
#include "walkspec.h"

#define PYWALK_TORN_RETRIES 2       /* re-reads of a stack that moved while read */

struct pywalk {
    struct pyinterp pi;             /* what we walk */
    const struct py_offsets *o;     /* = &pi.off */
    struct proc_mem *m;
    struct strtab *st;
    int nonblocking;
    uint64_t pass;                  /* sampling pass number */
    uint64_t now_ns;                /* CLOCK_MONOTONIC at the start of the pass */
    struct codecache cc;            /* decoded code objects */
    struct framewalk fw;            /* one thread's walk: chunks, chain, frame set */
    struct pthread_tid tids;        /* ≤3.10: pthread_t → tid */
    struct tidmap tidmap;           /* the target's thread ids → ours (containers) */
    struct walkspec spec;           /* the fast path */
    int keep_failed;                /* list threads whose stacks cannot be read (pywalk_keep_failed) */
    struct hashtab seen;            /* the slow pass's interpreter and thread states, so a */
    uint64_t *seen_addr;            /* list that loops back is walked once */
    size_t nseen, cap_seen;
};

/* pywalk_run_flags — SAMPLE_GIL when the thread state at TSTATE (copied in
 * TS) is HOLDER, SAMPLE_PYTHON when the layout says whether a thread is
 * attached (free-threaded builds) and it is. */
uint32_t pywalk_run_flags(const struct py_offsets *o, const uint8_t *ts, uint64_t tstate, uint64_t holder);

/* pywalk_os_tid — the OS id, as our /proc numbers it (a container's own
 * numbers mapped through W's tidmap), of the thread whose state is copied
 * in TS: its native_thread_id where the layout has one (3.11+), else the
 * tid in glibc's struct pthread at its pthread_t. 0 when unknown. */
pid_t pywalk_os_tid(struct pywalk *w, const uint8_t *ts);

/* pywalk_push_walked — append thread T, whose frames are the last ones in
 * OUT (from T->first on), to OUT. Returns 0, or -1 when out of memory. */
int pywalk_push_walked(struct sample *out, struct thread_sample *t);

/* pywalk_failed — thread T's stack could not be read (RC, an enum
 * pywalk_error): drop its frames from OUT, count it in ERRORS (may be
 * NULL) and, when W keeps failed threads, append it without frames.
 * Returns 1 when appended, 0 when not, -1 when out of memory. */
int pywalk_failed(struct pywalk *w, struct sample *out, struct thread_sample *t, int rc, uint64_t *errors);

#endif
