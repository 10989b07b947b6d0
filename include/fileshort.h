/*
 * fileshort — py-spy's short file names: a file keeps the directories of
 * the packages around it (those with an __init__.py, looked up as the target
 * sees its file system) and loses the rest, so
 * /usr/lib/python3.11/json/decoder.py becomes json/decoder.py.
 */
#ifndef GILSCOPE_FILESHORT_H
#define GILSCOPE_FILESHORT_H

#include <stdint.h>
#include <sys/types.h>

#include "strtab.h"

struct fileshort;       /* opaque */

/* fileshort_new — names for PID's files, interned in ST (which must outlive
 * it). FULL: hand back names unchanged. NULL when out of memory. */
struct fileshort *fileshort_new(pid_t pid, struct strtab *st, int full);

/* fileshort_free — release FS (NULL is fine). */
void fileshort_free(struct fileshort *fs);

/* fileshort_get — the display name for the file with strtab id FILE.
 * The string is owned by the strtab. Results are cached per id. */
const char *fileshort_get(struct fileshort *fs, uint32_t file);

/* fileshort_path — the shortening rule on its own: store in OUT the tail of
 * PATH that keeps the package directories, using EXISTS(dir) to ask whether
 * DIR/__init__.py exists. Exposed for tests. */
void fileshort_path(const char *path, int (*has_init)(const char *dir, void *ctx), void *ctx,
                    char *out, size_t outlen);

#endif
