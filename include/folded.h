/*
 * folded — the "collapsed stack" text that FlameGraph, speedscope, inferno
 * and py-spy's raw output use: one line per distinct stack, root first,
 * frames joined by ';', then a space and the sample count.
 */
#ifndef GILSCOPE_FOLDED_H
#define GILSCOPE_FOLDED_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "fileshort.h"
#include "profile.h"
#include "strtab.h"

struct folded_opts {
    int threads;        /* root frame "thread (TID): NAME" */
    int function;       /* line = the function's first line (aggregate by function) */
    int nolineno;       /* "NAME (FILE)" without a line */
    /* --subprocesses, or NULL: with THREADS, the root above each thread is
     * "process PID: COMMAND", COMMAND the strtab id this returns for PID
     * (STRTAB_NONE: "process PID"). */
    uint32_t (*process)(const void *ctx, pid_t pid);
    const void *process_ctx;
};

/* folded_frame — format one frame as "NAME (FILE:LINE)" into OUT (OUTLEN
 * bytes, NUL-terminated, truncated if needed); ';' and newlines in names
 * are replaced so the line stays parseable. Returns the length written. */
size_t folded_frame(const struct frame *f, const struct strtab *st, struct fileshort *fs,
                    const struct folded_opts *o, char *out, size_t outlen);

/* folded_line_fn — called by folded_lines with one stack's text (root first,
 * frames joined by ';', LEN bytes, NUL-terminated, owned by folded_lines and
 * valid only during the call) and its merged COUNT. A non-zero return stops
 * the walk and is handed back by folded_lines. */
typedef int (*folded_line_fn)(void *ctx, const char *stack, size_t len, uint64_t count);

/* folded_lines — format every stack of P as folded_write does (identical
 * lines merged, sorted by text) and hand each to FN with CTX. Stacks without
 * frames are left out unless O->threads. Returns 0, -ENOMEM, or the first
 * non-zero value FN returned. */
int folded_lines(const struct profile *p, const struct strtab *st, struct fileshort *fs,
                 const struct folded_opts *o, folded_line_fn fn, void *ctx);

/* folded_write — write P to OUT, identical lines merged, sorted by text.
 * Returns 0, -ENOMEM, or -EIO when writing failed. */
int folded_write(FILE *out, const struct profile *p, const struct strtab *st,
                 struct fileshort *fs, const struct folded_opts *o);

#endif
