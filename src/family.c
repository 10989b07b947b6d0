/* family — see include/family.h. */
#include "family.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Processes looked at and found without Python, remembered with the
 * program image they ran then, so that only an exec makes them worth
 * another look. */
#define FAMILY_SEEN_MAX 4096

struct seen {
    pid_t pid;
    uint64_t startcode, startstack;
};

struct family {
    pid_t root;
    struct strtab *st;
    struct family_opts opts;
    struct family_member *m[FAMILY_MAX];
    size_t n;
    struct seen *seen;
    size_t nseen;
    int capped;                 /* said so */
    struct { pid_t pid; uint32_t command; } known[FAMILY_SEEN_MAX]; /* commands of members past and present */
    size_t nknown;
};

struct family *family_new(pid_t root, struct strtab *st, const struct family_opts *o)
{
    struct family *f = calloc(1, sizeof *f);
    if (!f || !(f->seen = calloc(FAMILY_SEEN_MAX, sizeof *f->seen))) {
        free(f);
        return NULL;
    }
    f->root = root;
    f->st = st;
    f->opts = *o;
    char cmd[128];
    if (family_command_of(root, cmd, sizeof cmd) == 0) {
        f->known[0].pid = root;
        f->known[0].command = strtab_intern(st, cmd, strlen(cmd));
        f->nknown = 1;
    }
    return f;
}

static void close_member(struct family_member *m)
{
    if (!m)
        return;
    nativemerge_free(m->native);
    threadinfo_free(m->threads);
    pywalk_free(m->walk);
    proc_mem_close(&m->mem);
    free(m);
}

void family_free(struct family *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        close_member(f->m[i]);
    free(f->seen);
    free(f);
}

size_t family_count(const struct family *f)
{
    return f ? f->n : 0;
}

struct family_member *family_get(struct family *f, size_t i)
{
    return i < f->n ? f->m[i] : NULL;
}

void family_remove(struct family *f, size_t i)
{
    if (i >= f->n)
        return;
    close_member(f->m[i]);
    f->m[i] = f->m[--f->n];
}

uint32_t family_command(const struct family *f, pid_t pid)
{
    for (size_t i = f ? f->nknown : 0; i-- > 0;)
        if (f->known[i].pid == pid)
            return f->known[i].command;
    return STRTAB_NONE;
}

int family_command_of(pid_t pid, char *out, size_t len)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -ESRCH;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -ESRCH;
    buf[n] = '\0';
    /* The program's file name, then up to three arguments. */
    size_t at = 0;
    out[0] = '\0';
    const char *p = buf;
    for (int word = 0; p < buf + n && word < 4 && at + 1 < len; word++) {
        const char *w = p;
        if (word == 0 && strrchr(w, '/'))
            w = strrchr(w, '/') + 1;
        at += (size_t)snprintf(out + at, len - at, "%s%s", word ? " " : "", w);
        p += strlen(p) + 1;
    }
    if (p < buf + n && at + 4 < len)
        snprintf(out + at, len - at, " …");
    return 0;
}

static int followed(const struct family *f, pid_t pid)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->m[i]->pid == pid)
            return 1;
    return 0;
}

/* Whether PID was found without Python and still runs that program. */
static int seen_plain(struct family *f, pid_t pid, const struct proc_stat *st)
{
    for (size_t i = 0; i < f->nseen; i++)
        if (f->seen[i].pid == pid) {
            if (f->seen[i].startcode == st->startcode && f->seen[i].startstack == st->startstack)
                return 1;
            f->seen[i] = f->seen[--f->nseen];   /* it ran another program: look again */
            return 0;
        }
    return 0;
}

static void note_plain(struct family *f, pid_t pid, const struct proc_stat *st)
{
    if (f->nseen < FAMILY_SEEN_MAX)
        f->seen[f->nseen++] = (struct seen){ pid, st->startcode, st->startstack };
}

static void note_command(struct family *f, struct family_member *m)
{
    char cmd[128];
    if (family_command_of(m->pid, cmd, sizeof cmd) != 0)
        snprintf(cmd, sizeof cmd, "%d", (int)m->pid);
    m->command = strtab_intern(f->st, cmd, strlen(cmd));
    for (size_t i = 0; i < f->nknown; i++)
        if (f->known[i].pid == m->pid) {
            f->known[i].command = m->command;
            return;
        }
    if (f->nknown < FAMILY_SEEN_MAX) {
        f->known[f->nknown].pid = m->pid;
        f->known[f->nknown++].command = m->command;
    }
}

/* Open PID as a member. Returns it, or NULL: not Python (*PLAIN set), not
 * ready yet, gone, or out of memory. */
static struct family_member *open_member(struct family *f, pid_t pid, int *plain)
{
    char err[256];
    struct family_member *m = calloc(1, sizeof *m);
    *plain = 0;
    if (!m)
        return NULL;
    m->pid = pid;
    if (target_attach(pid, &m->target, err, sizeof err) != 0 || proc_mem_open(&m->mem, pid) != 0) {
        free(m);
        return NULL;
    }
    int rc = pyinterp_find(pid, &m->mem, &m->interp, err, sizeof err);
    if (rc != 0) {
        *plain = rc == PYINTERP_ENOTPYTHON;
        proc_mem_close(&m->mem);
        free(m);
        return NULL;
    }
    m->names = (struct pythreads){ .m = &m->mem, .o = &m->interp.off,
                                   .interp_head_addr = m->interp.interp_head_addr, .st = f->st };
    m->walk = pywalk_new(&m->interp, &m->mem, f->st, f->opts.nonblocking);
    m->threads = m->walk ? threadinfo_new(pid, f->st, pythreads_names, &m->names) : NULL;
    if (m->threads && f->opts.native)
        m->native = nativemerge_new(pid, &m->interp.off, &m->mem, f->st, f->opts.all_frames, err, sizeof err);
    if (!m->threads || (f->opts.native && !m->native)) {
        close_member(m);
        return NULL;
    }
    threadinfo_watch_gil(m->threads, &m->mem, &m->interp);
    target_note_image(&m->target);
    note_command(f, m);
    return m;
}

/* One process of the table, as its stat said at the scan. */
struct proc_entry {
    pid_t pid;
    struct proc_stat st;
};

/* The process table, *N entries; NULL when /proc cannot be read. Free
 * with free(). */
static struct proc_entry *process_table(size_t *n)
{
    DIR *d = opendir("/proc");
    size_t cap = 256;
    struct proc_entry *v = malloc(cap * sizeof *v);
    *n = 0;
    if (!d || !v) {
        if (d)
            closedir(d);
        free(v);
        return NULL;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        struct proc_stat st;
        if (*end || pid <= 0 || proc_stat_read((pid_t)pid, 0, &st) != 0)
            continue;
        if (*n == cap) {
            struct proc_entry *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
            cap *= 2;
        }
        v[(*n)++] = (struct proc_entry){ .pid = (pid_t)pid, .st = st };
    }
    closedir(d);
    return v;
}

int family_scan(struct family *f)
{
    size_t n;
    struct proc_entry *t = process_table(&n);
    if (!t)
        return 0;
    /* Descendants of the root, breadth first: a parent is in the list
     * before its children are looked for (indices into T; the root, not
     * one of them, by its pid alone). */
    size_t *desc = malloc((n + 1) * sizeof *desc);
    size_t nd = 0, added = 0, left_out = 0;
    if (!desc) {
        free(t);
        return 0;
    }
    for (size_t k = 0; k <= nd; k++) {
        pid_t parent = k == 0 ? f->root : t[desc[k - 1]].pid;
        for (size_t i = 0; i < n && nd < n; i++)
            if (t[i].st.ppid == parent && t[i].pid != f->root)
                desc[nd++] = i;
        if (k == nd)
            break;
    }
    for (size_t k = 0; k < nd; k++) {
        pid_t pid = t[desc[k]].pid;
        const struct proc_stat *st = &t[desc[k]].st;
        if (followed(f, pid) || st->state == 'Z' || seen_plain(f, pid, st))
            continue;
        if (f->n == FAMILY_MAX) {
            left_out++;
            continue;
        }
        int plain;
        struct family_member *m = open_member(f, pid, &plain);
        if (m) {
            f->m[f->n++] = m;
            added++;
        } else if (plain) {
            note_plain(f, pid, st);
        }
    }
    free(desc);
    free(t);
    if (left_out && !f->capped) {
        f->capped = 1;
        return FAMILY_CAPPED;
    }
    return (int)added;
}
