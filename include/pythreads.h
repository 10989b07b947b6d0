/*
 * pythreads — Python thread names, read from the target's `threading`
 * module: sys.modules['threading']._active maps each thread's ident to its
 * Thread object, whose `_name` (2.7: `_Thread__name`) is the name.
 * Needs a small reader of remote dicts, ints and instance attributes; each
 * lookup is bounded and a failure just means "no Python name".
 */
#ifndef GILSCOPE_PYTHREADS_H
#define GILSCOPE_PYTHREADS_H

#include <stddef.h>
#include <stdint.h>

#include "proc.h"
#include "pyoffsets.h"
#include "strtab.h"

struct pythreads {
    struct proc_mem *m;             /* target memory */
    const struct py_offsets *o;     /* its layout */
    uint64_t interp_head_addr;      /* word holding the first interpreter state */
    struct strtab *st;              /* where names are interned */
    uint64_t active;                /* threading._active, once found (0 = not yet) */
    uint64_t modules_used;          /* len(sys.modules) when threading was last missing */
};

/* pythreads_names — a threadinfo_names_fn: CTX is a struct pythreads. For
 * each of the N thread IDENTS store the interned Python name in NAMES, or
 * STRTAB_NONE. Returns 0, or negative when threading._active cannot be
 * found (not imported yet, or unreadable); then every name is STRTAB_NONE. */
int pythreads_names(void *ctx, const uint64_t *idents, uint32_t *names, size_t n);

#endif
