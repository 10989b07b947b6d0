/*
 * gilstate — read an interpreter state's fields a sampling pass needs (the
 * next interpreter, the first thread state) and which thread state holds
 * the GIL, for every layout: the current-thread word (2.7, 3.6), the GIL
 * in the runtime (3.7–3.11: its holder stays named while the current-thread
 * word is NULL during a hand-over), a pointer to the GIL structure (3.12),
 * or the GIL inside the interpreter state (3.13+). Both windows are small and fixed per layout, so a batched
 * read can copy them and these functions decode the copies.
 */
#ifndef GILSCOPE_GILSTATE_H
#define GILSCOPE_GILSTATE_H

#include <stdint.h>

#include "proc.h"
#include "pyinterp.h"
#include "pyoffsets.h"

/* The fields of an interpreter state a pass needs, read in one go. */
struct gilstate_interp {
    uint64_t next;          /* next interpreter */
    uint64_t tstate_head;   /* first thread state */
    uint64_t holder;        /* thread state holding the GIL, 0 if none */
    uint64_t gil;           /* 3.12: the GIL structure it points to, else 0 */
};

#define GILSTATE_INTERP_WINDOW 2048 /* widest span of those fields in any layout */

/* gilstate_interp_window — the window [*LO, *HI) of an interpreter state
 * holding those fields, in layout O. Returns 0, or -1 when it is wider than
 * GILSTATE_INTERP_WINDOW. */
int gilstate_interp_window(const struct py_offsets *o, int32_t *lo, int32_t *hi);

/* gilstate_gil_window — the window [*LO, *HI) of a GIL structure holding
 * {locked, last_holder}. Never fails. */
void gilstate_gil_window(const struct py_offsets *o, int32_t *lo, int32_t *hi);

/* gilstate_holder_of — the GIL holder from a copy B of a GIL window starting
 * at offset LO: 0 when the GIL is not locked. */
uint64_t gilstate_holder_of(const struct py_offsets *o, const uint8_t *b, int32_t lo);

/* gilstate_holder_at — read the GIL structure at BASE and return its holder
 * as gilstate_holder_of; 0 too when it cannot be read. */
uint64_t gilstate_holder_at(struct proc_mem *m, const struct py_offsets *o, uint64_t base);

/* gilstate_holder_fixed — the holder named by a fixed GIL (PI's
 * gil_locked_addr, gil_holder_addr) whose locked flag reads LOCKED and
 * last holder HOLDER, CURRENT the current-thread word: HOLDER when locked,
 * 0 when not, CURRENT while there is no GIL yet (3.6 creates it when the
 * first thread starts; locked is -1 until then). */
uint64_t gilstate_holder_fixed(int32_t locked, uint64_t holder, uint64_t current);

/* gilstate_interp_fields — fill V from a copy B of an interpreter state of
 * PI (B points at offset 0; only the interpreter window need be there).
 * HOLDER is filled only when the GIL lives in the state (3.13); where the
 * runtime names the holder (PI->gil_holder_addr, PI->tstate_current_addr) or the state points to
 * the GIL (V->gil) the caller reads it. Never fails. */
void gilstate_interp_fields(const struct pyinterp *pi, const uint8_t *b, struct gilstate_interp *v);

/* gilstate_read_interp — read the interpreter state at INTERP of PI and its
 * GIL holder (through the runtime or the GIL structure: one more read; a
 * holder that cannot be read is 0) into V. Returns 0, or -1 when the state
 * cannot be read or is misaligned. */
int gilstate_read_interp(struct proc_mem *m, const struct pyinterp *pi, uint64_t interp,
                         struct gilstate_interp *v);

#endif
