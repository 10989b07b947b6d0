/*
 * walkspec — the fast path: one sampling pass in ONE batched read, built
 * from what the previous pass learned.
 *
 * On this kind of machine a system call costs as much as copying
 * kilobytes, and each extra range in a process_vm_readv costs a good part
 * of one, so a pass is built to be ONE process_vm_readv of few ranges:
 * what the previous pass learned (the interpreter, the thread states in
 * list order, where each thread's frame pointer lives, its data-stack
 * chunks or, before 3.11, its frame objects, and the code objects in use)
 * is read speculatively, ranges close together are merged (readbatch), and
 * what was read is checked against itself (list links, chunk headers)
 * before use. Anything that does not match sends that pass to the slow
 * path (the plain walk, one read per step, in pywalk.c), which relearns.
 *
 * Non-blocking, the batch reads each thread's top-frame pointer before its
 * frames and again after them (T1, T2). A stack is reported only when the
 * two agree in a way that proves the reported frames were live over the
 * whole read: T2 == T1; T2 lies on the chain read from T1 (the stack only
 * shrank: the part from T2 down is reported); or T1 lies on the chain from
 * T2 (the stack only grew: the chain from T1 is reported). Otherwise the
 * thread is read again, then counted as torn.
 *
 * On 3.11+ a frame slot is reused by whatever is called next, so a copy
 * taken while the stack bounced can mix an old caller with a new callee at
 * the same addresses, with T1 == T2 all the same. The batch therefore
 * copies the chunks twice, one copy right after the other, and a reported
 * frame must read the same in both (the top one: the same code and caller;
 * its instruction moves on): a slot that changed while the first copy was
 * taken shows in the second. Between the two it reads the thread's data
 * stack top: the reported top frame must lie below it, else its slot had
 * been given up (the stack shrank, and grew back over it only later).
 *
 * These functions work on a struct pywalk (pywalk_internal.h): the fast
 * path drives the frame walker, the code cache and the tid lookup of the
 * walker it belongs to.
 */
#ifndef GILSCOPE_WALKSPEC_H
#define GILSCOPE_WALKSPEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "framewalk.h"
#include "readbatch.h"
#include "sample.h"

#define WALKSPEC_CHUNKS 4           /* data-stack chunks of a thread read speculatively */
#define WALKSPEC_HOT_PASSES 64      /* a code object or frame used this recently is read speculatively */
#define WALKSPEC_MISS (-1000)       /* the speculation did not hold: take the slow path */

struct pywalk;

/* What the last pass learned of one thread, for the next batch. */
struct walkspec_thread {
    uint64_t tstate;
    uint64_t thread_id;
    pid_t tid;                      /* for thread_id (found through struct pthread before 3.11) */
    uint64_t cframe;                /* 3.11–3.12: the _PyCFrame holding current_frame */
    uint64_t chunk[WALKSPEC_CHUNKS];    /* data-stack chunks, newest first */
    uint32_t chunk_len[WALKSPEC_CHUNKS];/* bytes to read of each */
    uint32_t nchunks;
    uint32_t hwm_cur, hwm_prev;     /* highest top offset in the newest chunk, this and the last epoch */
    uint64_t extra[FRAMEWALK_EXTRA];    /* frames the walk met outside the chunks (C-stack shims, generators) */
    uint32_t nextra;
    size_t it_ts, it_top, it_after, it_mid; /* this pass's batch items (T1, T2, data stack top) */
    uint32_t shims;                 /* bit k: extra[k] was a C-stack shim (it does not change) */
    uint64_t last_t1, last_top;     /* top frame, data stack top and the top frame's code and ... */
    uint64_t last_code, last_instr; /* ... instruction in the last pass, and for how many passes ... */
    uint32_t quiet;                 /* ... in a row none of them has changed */
    size_t it_chunk[WALKSPEC_CHUNKS], it_chunk2[WALKSPEC_CHUNKS];
    size_t it_extra[FRAMEWALK_EXTRA], it_extra2[FRAMEWALK_EXTRA];
};

/* What the fast path knows, and its batches. Fields are the fast path's;
 * the slow path fills INTERP, GIL, T, N and VALID (walkspec_thread_at,
 * walkspec_learn). */
struct walkspec {
    int valid;                      /* the last pass learned every thread of one interpreter */
    uint64_t interp;                /* the only interpreter */
    uint64_t gil;                   /* 3.12: the GIL structure the interpreter points to */
    struct walkspec_thread *t;      /* in thread-list order */
    size_t n, cap;
    uint32_t misses;                /* consecutive fast-path misses */
    uint64_t skip_until;            /* pass number before which the fast path is not tried */
    uint64_t hot_pass;              /* pass at which the hot lists were last rebuilt */
    uint64_t spans_ns;              /* when a batch last re-read the code signatures */
    struct readbatch main, retry;   /* the pass's batch; one thread's re-read */
};

/* walkspec_init — nothing learned yet; NONBLOCKING: the target runs while
 * it is read (batches then keep their read order). Never fails. */
void walkspec_init(struct walkspec *sp, int nonblocking);

/* walkspec_free — release SP's memory (not SP itself). */
void walkspec_free(struct walkspec *sp);

/* walkspec_thread_at — slot I of SP's thread list, grown as needed (new
 * slots zeroed). Owned by SP; valid until it grows again. NULL when out of
 * memory. */
struct walkspec_thread *walkspec_thread_at(struct walkspec *sp, size_t i);

/* walkspec_learn — note in ST what the walk just made by W of the thread
 * state at TSTATE (copy TS, sample T) used: its frame pointer's home, its
 * chunks and the frames outside them. Never fails. */
void walkspec_learn(struct pywalk *w, struct walkspec_thread *st, uint64_t tstate, const uint8_t *ts,
                    const struct thread_sample *t);

/* walkspec_upkeep — once every WALKSPEC_HOT_PASSES passes (call it every
 * pass, after W's pass number moved on): rebuild the lists of code objects
 * and frame objects read speculatively, and age the chunk high-water marks. */
void walkspec_upkeep(struct pywalk *w);

/* walkspec_pass — one pass of W in one batched read, appending a
 * thread_sample per thread to OUT and counting unreadable stacks in
 * ERRORS[reason] (ERRORS may be NULL). Tried only when the last pass
 * learned everything and the fast path is not backing off after repeated
 * misses. Returns the threads added, -PYWALK_ERR_NOMEM, or WALKSPEC_MISS
 * (OUT and ERRORS untouched) when it was not tried or the speculation did
 * not hold: the caller then takes the slow path. */
int walkspec_pass(struct pywalk *w, struct sample *out, uint64_t *errors);

#endif
