/* nativemerge — see include/nativemerge.h. */
#include "nativemerge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "nativesym.h"
#include "nativeunwind.h"

/* Interned ids of a native frame's name and file, by their pointers:
 * nativesym hands out each distinct string at one address for its whole
 * life (and the other names are static), so the same pointers are the
 * same strings, and a frame seen before costs a probe here instead of
 * hashing its name and its (long) source path in every sample. */
#define NAME_CACHE 1024     /* entries, a power of two; direct-mapped */

struct name_ids {
    const char *name, *file;    /* NULL: empty slot */
    uint32_t name_id, file_id;
};

struct nativemerge {
    pid_t pid;
    struct strtab *st;
    struct nativeunwind *unw;
    struct nativesym *sym;
    struct nativemerge_rules rules;
    uint64_t errors[NATIVEMERGE_ERR_COUNT];
    uint64_t ips[NATIVEUNWIND_MAX_DEPTH];
    struct nativesym_info info[NATIVEUNWIND_MAX_DEPTH];
    struct sample out;          /* the merged pass, swapped with the caller's */
    struct name_ids names[NAME_CACHE];  /* ids in st of the names and files pushed */
};

static const char *const error_names[NATIVEMERGE_ERR_COUNT] = {
    [NATIVEMERGE_OK] = "ok",
    [NATIVEMERGE_ERR_REGS] = "registers unreadable",
    [NATIVEMERGE_ERR_MORE_EVAL] = "more evaluation calls than Python frames",
    [NATIVEMERGE_ERR_FEWER_EVAL] = "Python frames below the native stack",
    [NATIVEMERGE_ERR_UNWIND] = "native unwinding stopped early",
    [NATIVEMERGE_ERR_NOMEM] = "out of memory",
};

const char *nativemerge_error_name(int code)
{
    return code >= 0 && code < NATIVEMERGE_ERR_COUNT ? error_names[code] : "unknown";
}

/* A merger of PID with neither unwinder nor symbolizer yet; NULL with ERR
 * set. */
static struct nativemerge *merger_new(pid_t pid, const struct py_offsets *o, struct strtab *st, int all_frames,
                                      char *err, size_t errlen)
{
    struct nativemerge *nm = calloc(1, sizeof *nm);
    if (!nm) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    nm->pid = pid;
    nm->st = st;
    nativemerge_rules_for(o, all_frames, &nm->rules);
    return nm;
}

struct nativemerge *nativemerge_new(pid_t pid, const struct py_offsets *o, struct proc_mem *m,
                                    struct strtab *st, int all_frames, char *err, size_t errlen)
{
    struct nativemerge *nm = merger_new(pid, o, st, all_frames, err, errlen);
    if (!nm)
        return NULL;
    nm->unw = nativeunwind_new(pid, m, err, errlen);
    nm->sym = nm->unw ? nativesym_new(pid, err, errlen) : NULL;
    if (!nm->sym) {
        nativemerge_free(nm);
        return NULL;
    }
    return nm;
}

/* corefile_regs as a nativeunwind_regs_fn. */
static int core_regs(void *ctx, pid_t tid, struct user_regs_struct *out)
{
    return corefile_regs(ctx, tid, out);
}

/* Add the vDSO, which corefile_maps leaves out (it is no file), to MAPS as
 * a process's maps name it, in address order: code that time functions
 * run (clock_gettime), with its own unwind table. Returns 0 or -ENOMEM. */
static int maps_add_vdso(const struct corefile *c, struct proc_maps *maps)
{
    uint64_t start, end;
    if (corefile_vdso(c, &start, &end) != 0)
        return 0;
    struct proc_map *v = realloc(maps->v, (maps->n + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    maps->v = v;
    size_t at = 0;
    while (at < maps->n && v[at].start < start)
        at++;
    memmove(&v[at + 1], &v[at], (maps->n - at) * sizeof *v);
    v[at] = (struct proc_map){ .start = start, .end = end, .offset = 0 };
    snprintf(v[at].perms, sizeof v[at].perms, "r-xp");
    snprintf(v[at].path, sizeof v[at].path, "[vdso]");
    maps->n++;
    return 0;
}

struct nativemerge *nativemerge_new_core(struct corefile *c, const struct py_offsets *o, struct proc_mem *m,
                                         struct strtab *st, int all_frames, char *err, size_t errlen)
{
    struct proc_maps maps;
    if (corefile_maps(c, &maps) != 0 || maps_add_vdso(c, &maps) != 0) {
        proc_maps_free(&maps);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct nativemerge *nm = merger_new(corefile_pid(c), o, st, all_frames, err, errlen);
    if (nm)
        nm->unw = nativeunwind_new_core(nm->pid, m, &maps, core_regs, c, err, errlen);
    if (nm && nm->unw)
        nm->sym = nativesym_new_maps(&maps, err, errlen);
    proc_maps_free(&maps);
    if (nm && !nm->sym) {
        nativemerge_free(nm);
        return NULL;
    }
    return nm;
}

void nativemerge_free(struct nativemerge *nm)
{
    if (!nm)
        return;
    nativeunwind_free(nm->unw);
    nativesym_free(nm->sym);
    sample_free(&nm->out);
    free(nm);
}

void nativemerge_rules_for(const struct py_offsets *o, int all_frames, struct nativemerge_rules *r)
{
    r->eval_name = o->eval_model == PYOFF_EVAL_FRAME_EX ? "PyEval_EvalFrameEx" : "_PyEval_EvalFrameDefault";
    r->all_frames = all_frames;
    r->lock_gil = o->eval_model == PYOFF_EVAL_FRAME_EX;
}

int nativemerge_taking_gil(const struct nativemerge_rules *r, const struct strtab *st, const struct frame *frames,
                           size_t n)
{
    for (size_t i = 0; i < n && frames[i].kind == FRAME_NATIVE; i++) {
        const char *name = strtab_get(st, frames[i].name);
        if (!r->lock_gil) {
            /* drop_gil too: with forced switching the thread that let the
             * GIL go waits there until another has taken it. */
            if (strcmp(name, "take_gil") == 0 || strcmp(name, "drop_gil") == 0)
                return 1;
        } else if (strcmp(name, "PyEval_RestoreThread") == 0 || strcmp(name, "PyEval_AcquireThread") == 0) {
            return 1;
        } else if (strcmp(name, "PyThread_acquire_lock") == 0 && i + 1 < n && frames[i + 1].kind == FRAME_PYTHON) {
            return 1;   /* the evaluation loop taking the lock back after letting others run */
        }
    }
    return 0;
}

const uint64_t *nativemerge_errors(const struct nativemerge *nm)
{
    return nm->errors;
}

int nativemerge_note(struct nativemerge *nm, struct nativesym_counts *out)
{
    return nativesym_note(nm->sym, out);
}

/* Whether NAME is the evaluation function, or a part of it the compiler
 * split off ("_PyEval_EvalFrameDefault.cold"). */
static int is_eval(const struct nativemerge_rules *r, const char *name)
{
    size_t n = strlen(r->eval_name);
    return name && strncmp(name, r->eval_name, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

/* IN pushed onto OUT as a frame, its strings interned in ST through
 * NAMES (NAME_CACHE entries for ST; NULL: none). */
static int push_native(struct strtab *st, struct name_ids *names, struct sample *out,
                       const struct nativesym_info *in)
{
    /* Code of no file is named for its mapping: "[anonymous]", "[vdso]". */
    int anon = (in->flags & NATIVESYM_ANON) != 0;
    const char *name = in->name ? in->name
                       : anon ? (in->library && in->library[0] == '[' ? in->library : "[anonymous]")
                              : "[unknown]";
    const char *file = in->file ? in->file : in->library && !anon ? in->library : "";
    struct frame f = { .line = in->file ? in->line : 0, .kind = FRAME_NATIVE };
    struct name_ids *c = NULL;
    if (names) {
        c = &names[hashtab_mix64(hashtab_key64((uintptr_t)name), (uintptr_t)file) & (NAME_CACHE - 1)];
        if (c->name == name && c->file == file) {
            f.name = c->name_id;
            f.file = c->file_id;
            return sample_push_frame(out, &f);
        }
    }
    f.name = strtab_intern(st, name, strlen(name));
    f.file = strtab_intern(st, file, strlen(file));
    if (f.name == STRTAB_NONE || f.file == STRTAB_NONE)
        return -ENOMEM;
    if (c)
        *c = (struct name_ids){ name, file, f.name, f.file };
    return sample_push_frame(out, &f);
}

/* The frames from PY[*AT] up to its group's entry frame (leafward first). */
static int push_group(struct sample *out, const struct frame *py, size_t npy, size_t *at)
{
    while (*at < npy) {
        const struct frame *f = &py[(*at)++];
        if (sample_push_frame(out, f) != 0)
            return -ENOMEM;
        if (f->flags & FRAME_ENTRY)
            break;
    }
    return 0;
}

/* Python frame groups (see nativemerge.h) in PY. */
static size_t count_groups(const struct frame *py, size_t npy)
{
    size_t g = 0;
    for (size_t i = 0; i < npy; i++)
        if ((py[i].flags & FRAME_ENTRY) || i + 1 == npy)
            g++;
    return g;
}

static int push_error(struct strtab *st, struct sample *out, int why, const struct frame *py, size_t npy)
{
    char text[96];
    snprintf(text, sizeof text, "[native merge error: %s]", error_names[why]);
    struct frame m = { .name = strtab_intern(st, text, strlen(text)),
                       .file = strtab_intern(st, "", 0), .kind = FRAME_MARKER };
    if (m.name == STRTAB_NONE || m.file == STRTAB_NONE || sample_push_frame(out, &m) != 0)
        return -ENOMEM;
    for (size_t i = 0; i < npy; i++)
        if (sample_push_frame(out, &py[i]) != 0)
            return -ENOMEM;
    return why;
}

/* Push NAT (NNAT) with the Python frame groups of PY from *AT on in place
 * of its evaluation calls (FIRST_EVAL, LAST_EVAL: the leafmost and
 * rootmost of them, NNAT when none); *AT moves past the groups pushed. */
static int push_merged(const struct nativemerge_rules *r, struct strtab *st, struct name_ids *names,
                       const struct frame *py, size_t npy, size_t *at, const struct nativesym_info *nat,
                       size_t nnat, size_t first_eval, size_t last_eval, struct sample *out)
{
    const char *interp = first_eval < nnat ? nat[first_eval].library : NULL;
    for (size_t i = 0; i < nnat; i++) {
        const struct nativesym_info *in = &nat[i];
        int rc;
        if (is_eval(r, in->name)) {
            rc = push_group(out, py, npy, at);
        } else if (!r->all_frames && i > first_eval && i < last_eval && in->library && interp &&
                   strcmp(in->library, interp) == 0) {
            continue;   /* the interpreter's plumbing between two Python frames */
        } else {
            rc = push_native(st, names, out, in);
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* nativemerge_stack, NAMES as for push_native. */
static int merge_stack(const struct nativemerge_rules *r, struct strtab *st, struct name_ids *names,
                       const struct frame *py, size_t npy, const struct nativesym_info *nat, size_t nnat,
                       int broken, struct sample *out)
{
    if (!nat)
        return push_error(st, out, NATIVEMERGE_ERR_REGS, py, npy);
    size_t evals = 0, first_eval = nnat, last_eval = 0;
    for (size_t i = 0; i < nnat; i++)
        if (is_eval(r, nat[i].name)) {
            if (first_eval == nnat)
                first_eval = i;
            last_eval = i;
            evals++;
        }
    size_t groups = count_groups(py, npy);
    if (evals > groups)
        return push_error(st, out, NATIVEMERGE_ERR_MORE_EVAL, py, npy);
    if (evals < groups && !broken)
        return push_error(st, out, NATIVEMERGE_ERR_FEWER_EVAL, py, npy);
    size_t at = 0;
    int rc = push_merged(r, st, names, py, npy, &at, nat, nnat, first_eval, last_eval, out);
    if (rc || evals == groups)
        return rc;
    /* The unwind broke off: its frames are the leaf end, the rest of the
     * Python frames follow the marker. */
    return push_error(st, out, NATIVEMERGE_ERR_UNWIND, py + at, npy - at);
}

int nativemerge_stack(const struct nativemerge_rules *r, struct strtab *st, const struct frame *py, size_t npy,
                      const struct nativesym_info *nat, size_t nnat, int broken, struct sample *out)
{
    return merge_stack(r, st, NULL, py, npy, nat, nnat, broken, out);
}

/* Merge thread T (Python frames PY, NPY of them) into nm->out. */
static int merge_thread(struct nativemerge *nm, const struct thread_sample *t, const struct frame *py,
                        size_t npy)
{
    enum nativeunwind_end end;
    int n = nativeunwind_thread(nm->unw, t->tid, nm->ips, NATIVEUNWIND_MAX_DEPTH, &end);
    for (int i = 0; i < n; i++)
        if (nativesym_lookup(nm->sym, nm->ips[i], &nm->info[i]) != 0) {
            /* A return address in no executable mapping is not one: the
             * unwind went astray there (libunwind's frame-pointer guess
             * through code with no unwind information). */
            if (i > 0) {
                n = i;
                end = NATIVEUNWIND_END_BROKEN;
                break;
            }
            nm->info[i] = (struct nativesym_info){ .library = "[anonymous]", .flags = NATIVESYM_ANON };
        }
    int rc = merge_stack(&nm->rules, nm->st, nm->names, py, npy, n < 0 ? NULL : nm->info, n < 0 ? 0 : (size_t)n,
                         end == NATIVEUNWIND_END_BROKEN, &nm->out);
    if (rc < 0)
        return rc;
    nm->errors[rc]++;
    return 0;
}

/* Whether S holds thread TID. */
static int has_thread(const struct sample *s, pid_t tid)
{
    for (size_t i = 0; i < s->nthreads; i++)
        if (s->threads[i].tid == tid)
            return 1;
    return 0;
}

int nativemerge_sample(struct nativemerge *nm, struct sample *s, const pid_t *tids, size_t ntids)
{
    struct sample *o = &nm->out;
    sample_clear(o);
    o->time_ns = s->time_ns;
    for (size_t i = 0; i < s->nthreads; i++) {
        struct thread_sample t = s->threads[i];
        size_t first = o->nframes;
        const struct frame *py = sample_thread_frames(s, i);
        /* A stack that could not be read, or only in part, has no halves
         * to match. */
        int whole = !(t.flags & (SAMPLE_FAILED | SAMPLE_TRUNCATED));
        for (size_t k = 0; !whole && k < t.nframes; k++)
            if (sample_push_frame(o, &py[k]) != 0)
                return -ENOMEM;
        if (whole && merge_thread(nm, &t, py, t.nframes) != 0)
            return -ENOMEM;
        t.first = (uint32_t)first;
        t.nframes = (uint32_t)(o->nframes - first);
        if (whole && nativemerge_taking_gil(&nm->rules, nm->st, &o->frames[first], t.nframes))
            t.flags |= SAMPLE_TAKING_GIL;
        if (sample_push_thread(o, &t) != 0)
            return -ENOMEM;
    }
    for (size_t i = 0; i < ntids; i++) {
        if (has_thread(s, tids[i]))
            continue;
        struct thread_sample t = { .pid = nm->pid, .tid = tids[i], .first = (uint32_t)o->nframes };
        if (merge_thread(nm, &t, NULL, 0) != 0)
            return -ENOMEM;
        t.nframes = (uint32_t)(o->nframes - t.first);
        /* Registers not read: the thread is gone or not stopped. */
        if (t.nframes == 1 && o->frames[t.first].kind == FRAME_MARKER) {
            nm->errors[NATIVEMERGE_ERR_REGS]--;
            o->nframes = t.first;
            continue;
        }
        if (sample_push_thread(o, &t) != 0)
            return -ENOMEM;
    }
    struct sample tmp = *s;
    *s = *o;
    *o = tmp;
    return 0;
}
