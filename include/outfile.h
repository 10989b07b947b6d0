/*
 * outfile — an output file that appears whole or not at all.
 *
 * A regular file (or one that does not exist yet) is written under a
 * temporary name in the same directory and renamed over PATH only when
 * complete, so a run that is killed, or fails, leaves the previous file as
 * it was. Anything else (a device such as /dev/stdout or /dev/full, a FIFO)
 * is written in place. Errors keep their errno, so a full disk reads "No
 * space left on device", not "Input/output error".
 */
#ifndef GILSCOPE_OUTFILE_H
#define GILSCOPE_OUTFILE_H

#include <limits.h>
#include <stdio.h>

struct outfile {
    FILE *f;                    /* write here */
    char path[PATH_MAX];        /* the final name (symbolic links resolved) */
    char tmp[PATH_MAX];         /* the temporary name, "" when writing in place */
};

/* outfile_open — open PATH for writing as above. Returns 0, or a negative
 * errno (nothing is created then). */
int outfile_open(struct outfile *of, const char *path);

/* outfile_commit — flush and close, then put the file in place. Returns 0,
 * or a negative errno (the temporary file is removed; PATH is untouched).
 * OF is closed either way. */
int outfile_commit(struct outfile *of);

/* outfile_abort — close and remove the temporary file (PATH untouched). */
void outfile_abort(struct outfile *of);

#endif
