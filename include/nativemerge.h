/*
 * nativemerge — put each thread's C frames around its Python frames
 * (--native). While the target is paused, every thread's native stack is
 * unwound (nativeunwind), its addresses named (nativesym), and the calls
 * of the interpreter's evaluation function (the layout's eval_model) are
 * replaced by the Python frames they run: one frame per call where frames
 * are heap objects, the frames from one entry frame to the next where one
 * call runs several (sample.h FRAME_ENTRY).
 *
 * Between two Python frames, the interpreter's own frames (calls through
 * vectorcall helpers and trampolines, in the same file as the evaluation
 * function) are left out unless ALL_FRAMES; the C frames of extensions
 * between them, and everything below the first and above the last Python
 * frame, are kept. A native frame is FRAME_NATIVE with the function's name,
 * and in FILE and LINE the source file and line when DWARF knows them, else
 * the library's name and line 0.
 *
 * A thread whose C stack is in the code that takes the GIL gets
 * SAMPLE_TAKING_GIL (threadinfo then counts it as waiting for the GIL,
 * even on CPU: 2.7 wakes every waiter at each release).
 *
 * When the evaluation calls and the Python frames do not pair up, nothing
 * is glued: the thread keeps its Python frames alone, with the marker frame
 * "[native merge error: REASON]" at the leaf, and the error is counted.
 * One exception: when the unwind broke off (code with no or corrupt unwind
 * information, JIT code in an anonymous mapping) before the native stack
 * had as many evaluation calls as there are Python frame groups, what it
 * did unwind is still the true leaf end of the stack: it is merged with as
 * many of the leafmost groups as it has evaluation calls, and the marker
 * then stands between it and the Python frames left over (counted as
 * NATIVEMERGE_ERR_UNWIND).
 */
#ifndef GILSCOPE_NATIVEMERGE_H
#define GILSCOPE_NATIVEMERGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "corefile.h"
#include "nativesym.h"
#include "proc.h"
#include "pyoffsets.h"
#include "sample.h"
#include "strtab.h"

/* Why a thread's halves could not be merged. */
enum nativemerge_error {
    NATIVEMERGE_OK = 0,
    NATIVEMERGE_ERR_REGS,       /* its registers could not be read (not stopped) */
    NATIVEMERGE_ERR_MORE_EVAL,  /* more evaluation calls than Python frame groups */
    NATIVEMERGE_ERR_FEWER_EVAL, /* Python frames left over after the native stack's end */
    NATIVEMERGE_ERR_UNWIND,     /* the same, the unwind having broken off: its frames are kept */
    NATIVEMERGE_ERR_NOMEM,
    NATIVEMERGE_ERR_COUNT
};

struct nativemerge;     /* opaque; one per target process */

/* nativemerge_new — a merger for process PID whose interpreter has layout O
 * (read once, here), reading memory through M and interning
 * names in ST. ALL_FRAMES: keep the interpreter's frames between Python
 * frames. Returns NULL with a one-line reason in ERR. */
struct nativemerge *nativemerge_new(pid_t pid, const struct py_offsets *o, struct proc_mem *m,
                                    struct strtab *st, int all_frames, char *err, size_t errlen);

/* nativemerge_new_core — a merger as nativemerge_new for the process the
 * core C was made from, reading its memory through M (C's source): each
 * thread's registers from its NT_PRSTATUS note, unwind information and
 * symbols from the files of its NT_FILE note (corefile_maps, as
 * --executable replaced the program's). C and M must outlive it. Returns
 * NULL with a one-line reason in ERR. */
struct nativemerge *nativemerge_new_core(struct corefile *c, const struct py_offsets *o, struct proc_mem *m,
                                         struct strtab *st, int all_frames, char *err, size_t errlen);

/* nativemerge_free — release NM (NULL is fine). */
void nativemerge_free(struct nativemerge *nm);

/* nativemerge_sample — merge the native stacks of the threads of S, all of
 * which must be in a ptrace stop of this process (or listed by its core).
 * Rewrites S's frames; threads keep their order and fields. The threads among TIDS (NTIDS, all
 * stopped too) that S does not hold — threads that never ran Python, a C
 * library's workers — are added after them with their native frames
 * alone (thread_id 0: named by the OS). Returns 0, or -ENOMEM (then S is
 * as it was). */
int nativemerge_sample(struct nativemerge *nm, struct sample *s, const pid_t *tids, size_t ntids);

/* How Python and native frames pair up for one layout. */
struct nativemerge_rules {
    const char *eval_name;  /* the evaluation function's symbol (static string) */
    int all_frames;         /* keep the interpreter's frames between Python frames */
    int lock_gil;           /* the GIL is a plain lock the evaluation loop takes itself (2.7's
                               PyThread_acquire_lock), not one taken in take_gil */
};

/* nativemerge_taking_gil — whether a merged stack (FRAMES, N, leaf first)
 * is in the interpreter's code that takes the GIL: take_gil (or
 * drop_gil, waiting for another to take it) above the newest Python
 * frame; where the GIL is a plain lock, the lock taken by
 * PyEval_RestoreThread / PyEval_AcquireThread or right from the
 * evaluation loop. Names are looked up in ST. */
int nativemerge_taking_gil(const struct nativemerge_rules *r, const struct strtab *st, const struct frame *frames,
                           size_t n);

/* nativemerge_rules_for — the rules for layout O. */
void nativemerge_rules_for(const struct py_offsets *o, int all_frames, struct nativemerge_rules *r);

/* nativemerge_stack — the merge itself, for one thread: Python frames PY
 * (NPY, leaf first, with FRAME_ENTRY) and native frames NAT (NNAT, leaf
 * first, as nativesym names them; NULL when the registers could not be
 * read) pushed merged onto OUT, strings interned in ST. BROKEN: the unwind
 * that found NAT broke off before the thread's first frame
 * (NATIVEUNWIND_END_BROKEN). Returns 0 when merged, a positive enum
 * nativemerge_error when the Python frames (all, or with BROKEN those
 * below what NAT reached) were pushed behind the error marker, or
 * -ENOMEM. */
int nativemerge_stack(const struct nativemerge_rules *r, struct strtab *st, const struct frame *py, size_t npy,
                      const struct nativesym_info *nat, size_t nnat, int broken, struct sample *out);

/* nativemerge_errors — merge errors so far by reason (NATIVEMERGE_ERR_COUNT
 * entries; [0] counts threads merged). */
const uint64_t *nativemerge_errors(const struct nativemerge *nm);

/* nativemerge_note — nativesym_note (see there) of NM's symbolizer: what
 * the files named so far lacked (line tables, symbols) into OUT; returns 1
 * the first time any of it is not 0, else 0. OUT's strings belong to NM. */
int nativemerge_note(struct nativemerge *nm, struct nativesym_counts *out);

/* nativemerge_error_name — short text for an enum nativemerge_error. */
const char *nativemerge_error_name(int code);

#endif
