/*
 * pywalk — read every Python thread's stack out of a target: interpreters →
 * thread states → frames → code objects → names, files and lines.
 *
 * Three layout families share one walker: heap frame objects (≤3.10), and
 * interpreter frames in data-stack chunks (3.11+, the chunk is copied in one
 * read and walked locally). Decoded code objects are cached by remote
 * address. Everything read from the target is bounded and checked; a
 * corrupt or changing target produces an error code, never a crash.
 */
#ifndef GILSCOPE_PYWALK_H
#define GILSCOPE_PYWALK_H

#include <stdint.h>

#include "proc.h"
#include "pyinterp.h"
#include "sample.h"
#include "strtab.h"

#define PYWALK_MAX_DEPTH 2048
#define PYWALK_MAX_THREADS 65536    /* bound on a thread list */

/* Why a thread's stack could not be read (counted by the sampler). */
enum pywalk_error {
    PYWALK_OK = 0,
    PYWALK_ERR_READ,        /* a memory read failed (unmapped, gone) */
    PYWALK_ERR_CYCLE,       /* the frame chain loops */
    PYWALK_ERR_BADCODE,     /* a code object whose name, file or line table cannot be read */
    PYWALK_ERR_TORN,        /* the stack changed while it was read (non-blocking) */
    PYWALK_ERR_THREADS,     /* the thread list is corrupt or too long */
    PYWALK_ERR_NOMEM,       /* out of memory */
    PYWALK_ERR_NOTCODE,     /* a frame names something that is not a code object */
    PYWALK_ERR_COUNT
};

struct pywalk;          /* opaque */

/* pywalk_new — a walker for the interpreter PI (copied), reading through M
 * and interning names in ST. M and ST must outlive the walker.
 * NONBLOCKING: the target runs while it is read, so check each stack for
 * tearing and retry. Returns NULL when out of memory. */
struct pywalk *pywalk_new(const struct pyinterp *pi, struct proc_mem *m, struct strtab *st,
                          int nonblocking);

/* pywalk_keep_failed — with KEEP, pywalk_sample and pywalk_resample also
 * append a thread whose stack cannot be read, with no frames, SAMPLE_FAILED
 * and the reason in its error field (still counted in ERRORS), so that a
 * one-off look (dump) can show it; by default such a thread is left out. */
void pywalk_keep_failed(struct pywalk *w, int keep);

/* pywalk_free — release W and its caches (NULL is fine). */
void pywalk_free(struct pywalk *w);

/* pywalk_sample — append one thread_sample (with frames) per Python thread
 * to OUT. Fills pid, tid, thread_id, SAMPLE_GIL and the frames; leaves
 * name and SAMPLE_ACTIVE to the caller. A thread whose stack cannot be read
 * is left out and counted in ERRORS[reason] (ERRORS has PYWALK_ERR_COUNT
 * entries). Returns the number of threads added, or a negative
 * enum pywalk_error when the thread list itself could not be read. */
int pywalk_sample(struct pywalk *w, struct sample *out, uint64_t *errors);

/* pywalk_resample — read again the threads whose OS thread ids are TIDS
 * (NTIDS of them), as the last pywalk_sample found them, and append their
 * samples to OUT (the caller removes their older ones). For blocking mode,
 * once threads that ran during a pass have been stopped. A thread not
 * found, or whose state now belongs to another thread, is skipped; one
 * that cannot be read is counted in ERRORS. Returns the number of threads
 * added, or -PYWALK_ERR_THREADS when the last pass did not learn where
 * thread states live (several interpreters; call pywalk_sample again). */
int pywalk_resample(struct pywalk *w, struct sample *out, const pid_t *tids, size_t ntids,
                    uint64_t *errors);

/* pywalk_can_resample — 1 if pywalk_resample can work from the last pass,
 * 0 if it would refuse. */
int pywalk_can_resample(const struct pywalk *w);

/* pywalk_error_name — short text for an enum pywalk_error ("read", "cycle" …). */
const char *pywalk_error_name(int code);

/* pywalk_interp_head — the first interpreter state's address, 0 when there
 * is none or it cannot be read. */
uint64_t pywalk_interp_head(struct pywalk *w);

#endif
