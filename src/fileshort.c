/* fileshort — see include/fileshort.h. */
#include "fileshort.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

struct fileshort {
    pid_t pid;
    struct strtab *st;
    int full;
    uint32_t *short_id;     /* file id -> short id + 1, 0 = not computed */
    size_t cap;
};

struct fileshort *fileshort_new(pid_t pid, struct strtab *st, int full)
{
    struct fileshort *fs = calloc(1, sizeof *fs);
    if (!fs)
        return NULL;
    fs->pid = pid;
    fs->st = st;
    fs->full = full;
    return fs;
}

void fileshort_free(struct fileshort *fs)
{
    if (!fs)
        return;
    free(fs->short_id);
    free(fs);
}

void fileshort_path(const char *path, int (*has_init)(const char *dir, void *ctx), void *ctx,
                    char *out, size_t outlen)
{
    size_t len = strlen(path);
    if (path[0] != '/' || len >= PATH_MAX) {
        snprintf(out, outlen, "%s", path);
        return;
    }
    char dir[PATH_MAX];
    memcpy(dir, path, len + 1);
    /* Strip the file name, then climb while the directory is a package. */
    char *slash = strrchr(dir, '/');
    size_t keep_from = (size_t)(slash - dir) + 1;
    *slash = '\0';
    while (dir[0] && has_init(dir, ctx)) {
        slash = strrchr(dir, '/');
        if (!slash)
            break;
        keep_from = (size_t)(slash - dir) + 1;
        *slash = '\0';
    }
    snprintf(out, outlen, "%s", path + keep_from);
}

struct root_ctx {
    pid_t pid;
    int use_root;
};

static int has_init_file(const char *dir, void *vctx)
{
    const struct root_ctx *c = vctx;
    char rel[PATH_MAX], p[PATH_MAX + 64];
    int n = snprintf(rel, sizeof rel, "%s/__init__.py", dir);
    if (n < 0 || (size_t)n >= sizeof rel || (c->use_root && proc_root_path(c->pid, rel, p, sizeof p) != 0))
        return 0;
    return access(c->use_root ? p : rel, F_OK) == 0;
}

const char *fileshort_get(struct fileshort *fs, uint32_t file)
{
    const char *path = strtab_get(fs->st, file);
    if (fs->full)
        return path;
    if (file >= fs->cap) {
        size_t cap = fs->cap ? fs->cap : 256;
        while (cap <= file)
            cap *= 2;
        uint32_t *n = realloc(fs->short_id, cap * sizeof *n);
        if (!n)
            return path;
        memset(n + fs->cap, 0, (cap - fs->cap) * sizeof *n);
        fs->short_id = n;
        fs->cap = cap;
    }
    if (fs->short_id[file] == 0) {
        char root[64], out[PATH_MAX];
        /* The target sees its own root (containers); once it is gone, ours. */
        struct root_ctx ctx = { .pid = fs->pid };
        ctx.use_root = proc_root_path(fs->pid, "/", root, sizeof root) == 0 && access(root, X_OK) == 0;
        fileshort_path(path, has_init_file, &ctx, out, sizeof out);
        uint32_t id = strtab_intern(fs->st, out, strlen(out));
        if (id == STRTAB_NONE)
            return path;
        fs->short_id[file] = id + 1;
    }
    return strtab_get(fs->st, fs->short_id[file] - 1);
}
