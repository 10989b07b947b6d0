/* pywalk — see include/pywalk.h. The walker's parts, each in its own file:
 *
 *   readbatch.c    the batched-read planner (many ranges, one system call)
 *   codecache.c    decoded code objects, their re-checks, line lookup
 *   framewalk.c    one thread's frames: ≤3.10 frame objects, 3.11+ chunks
 *   gilstate.c     interpreter state fields and the GIL holder
 *   pthread_tid.c  ≤3.10: pthread_t → OS thread id
 *   walkspec.c     the fast path: a pass in one batched read
 *
 * This file holds the slow path (the plain walk, one read per step, which
 * also teaches the fast path), resampling, and the public entry points. */
#include "pywalk.h"

#include <stdlib.h>

#include "clock.h"
#include "gilstate.h"
#include "localcopy.h"
#include "pywalk_internal.h"

#define MAX_INTERPS 256             /* bound on the interpreter list */

static const char *const error_names[PYWALK_ERR_COUNT] = {
    "ok", "read", "cycle", "bad code object", "torn stack", "thread list", "out of memory",
    "not a code object",
};

const char *pywalk_error_name(int code)
{
    if (code < 0)
        code = -code;
    return code < PYWALK_ERR_COUNT ? error_names[code] : "unknown";
}

struct pywalk *pywalk_new(const struct pyinterp *pi, struct proc_mem *m, struct strtab *st,
                          int nonblocking)
{
    struct pywalk *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->pi = *pi;
    w->o = &w->pi.off;
    w->m = m;
    w->st = st;
    w->nonblocking = nonblocking;
    pthread_tid_init(&w->tids);
    tidmap_init(&w->tidmap, pi->pid);
    walkspec_init(&w->spec, nonblocking);
    int ok = codecache_init(&w->cc, w->o, m, st) == 0 && hashtab_init(&w->seen, 64) == 0;
    ok = framewalk_init(&w->fw, w->o, m, &w->cc) == 0 && ok;
    if (!ok) {
        pywalk_free(w);
        return NULL;
    }
    return w;
}

void pywalk_free(struct pywalk *w)
{
    if (!w)
        return;
    codecache_free(&w->cc);
    framewalk_free(&w->fw);
    walkspec_free(&w->spec);
    hashtab_free(&w->seen);
    tidmap_free(&w->tidmap);
    free(w->seen_addr);
    free(w);
}

/* Whether the slow pass met ADDR already (an interpreter or thread list
 * that loops back on itself); notes it if not. Out of memory, 0. */
static int seen_before(struct pywalk *w, uint64_t addr)
{
    struct hashtab_iter it;
    uint64_t h = hashtab_key64(addr);
    for (uint32_t i = hashtab_first(&w->seen, h, &it); i != HASHTAB_NONE; i = hashtab_next(&w->seen, &it))
        if (w->seen_addr[i] == addr)
            return 1;
    if (w->nseen == w->cap_seen) {
        size_t cap = w->cap_seen ? w->cap_seen * 2 : 64;
        uint64_t *na = realloc(w->seen_addr, cap * sizeof *na);
        if (!na)
            return 0;
        w->seen_addr = na;
        w->cap_seen = cap;
    }
    if (hashtab_insert(&w->seen, &it, (uint32_t)w->nseen) != 0)
        return 0;
    w->seen_addr[w->nseen++] = addr;
    return 0;
}

uint64_t pywalk_interp_head(struct pywalk *w)
{
    uint64_t head = 0;
    if (proc_mem_read(w->m, w->pi.interp_head_addr, &head, sizeof head) != 0)
        return 0;
    return head;
}

pid_t pywalk_os_tid(struct pywalk *w, const uint8_t *ts)
{
    const struct py_offsets *o = w->o;
    /* Memory that is not a live process's (a core) has no /proc to map
     * its thread ids through: they stand as they are. */
    struct tidmap *tm = w->m->src.read ? NULL : &w->tidmap;
    pid_t tid = o->ts_native_thread_id >= 0
                    ? (pid_t)get_u64(ts, o->ts_native_thread_id)
                    : pthread_tid_lookup(&w->tids, w->m, &w->pi, tm, get_u64(ts, o->ts_thread_id));
    return tm ? tidmap_host(tm, tid, w->pass) : tid;
}

uint32_t pywalk_run_flags(const struct py_offsets *o, const uint8_t *ts, uint64_t tstate, uint64_t holder)
{
    uint32_t f = tstate == holder ? SAMPLE_GIL : 0;
    if (o->free_threaded && o->ts_state >= 0 && get_i32(ts, o->ts_state) == o->ts_state_attached)
        f |= SAMPLE_PYTHON;
    return f;
}

int pywalk_push_walked(struct sample *out, struct thread_sample *t)
{
    t->nframes = (uint32_t)(out->nframes - t->first);
    return sample_push_thread(out, t);
}

int pywalk_failed(struct pywalk *w, struct sample *out, struct thread_sample *t, int rc, uint64_t *errors)
{
    out->nframes = t->first;
    if (errors)
        errors[rc]++;
    if (!w->keep_failed)
        return 0;
    t->flags |= SAMPLE_FAILED;
    t->error = (uint32_t)rc;
    return pywalk_push_walked(out, t) == 0 ? 1 : -1;
}

void pywalk_keep_failed(struct pywalk *w, int keep)
{
    w->keep_failed = keep;
}

/* The slow path's walk of one thread: plain reads; non-blocking, the stack
 * counts only if the top frame did not move meanwhile. */
static int walk_thread(struct pywalk *w, uint64_t tstate, const uint8_t *ts, struct sample *out,
                       uint32_t *flags)
{
    const struct py_offsets *o = w->o;
    struct framewalk *fw = &w->fw;
    uint8_t again[FRAMEWALK_HDR * 4];   /* a fresh copy of the thread state, for retries */
    size_t tslen = framewalk_ts_top_len(o);
    for (int attempt = 0;; attempt++) {
        uint64_t frame;
        size_t mark = out->nframes;
        if (framewalk_top_frame(fw, ts, &frame) != 0)
            return PYWALK_ERR_READ;
        framewalk_chunks_start(fw, ts);
        int rc = framewalk_walk(fw, frame, out, flags);
        if (rc == 0) {
            int changed = codecache_check_pending(&w->cc, fw->ab);
            if (changed != 0) {
                out->nframes = mark;
                if (changed < 0 || attempt >= PYWALK_TORN_RETRIES)
                    return PYWALK_ERR_READ;
                continue;
            }
        }
        w->cc.npending = 0;
        if (!w->nonblocking)
            return rc;
        /* Running target: the stack is good only if the top frame did not move meanwhile. */
        uint64_t frame2 = 0;
        int fresh = tslen <= sizeof again && proc_mem_read(w->m, tstate, again, tslen) == 0;
        int stable = fresh && framewalk_top_frame(fw, again, &frame2) == 0 && frame2 == frame;
        if (rc == 0 && stable)
            return 0;
        out->nframes = mark;
        if (attempt >= PYWALK_TORN_RETRIES || !fresh)
            return rc ? rc : PYWALK_ERR_TORN;
        ts = again;
    }
}

/* ---- the slow path: one read per step ---- */

static int slow_pass(struct pywalk *w, struct sample *out, uint64_t *errors)
{
    const struct py_offsets *o = w->o;
    struct walkspec *sp = &w->spec;
    uint64_t interp = 0;
    int added = 0, learn = 1;
    w->fw.ab = NULL;
    sp->valid = 0;
    sp->n = 0;
    if (proc_mem_read(w->m, w->pi.interp_head_addr, &interp, sizeof interp) != 0)
        return -PYWALK_ERR_READ;
    size_t tslen = framewalk_ts_len(o);
    uint8_t ts[4096];
    hashtab_clear(&w->seen);
    w->nseen = 0;
    for (int ni = 0; interp && ni < MAX_INTERPS; ni++) {
        struct gilstate_interp iv;
        if (seen_before(w, interp)) {
            /* The interpreter list loops: each one once, one error. */
            if (errors)
                errors[PYWALK_ERR_THREADS]++;
            learn = 0;
            break;
        }
        if (gilstate_read_interp(w->m, &w->pi, interp, &iv) != 0)
            return -PYWALK_ERR_THREADS;
        if (ni == 0) {
            sp->interp = interp;
            sp->gil = iv.gil;
        }
        learn &= iv.next == 0;      /* the fast path knows one interpreter only */
        uint64_t tstate = iv.tstate_head, holder = iv.holder, next_interp = iv.next;
        for (int nt = 0; tstate; nt++) {
            if (nt >= PYWALK_MAX_THREADS || (tstate & 7) || proc_mem_read(w->m, tstate, ts, tslen) != 0)
                return added ? added : -PYWALK_ERR_THREADS;
            if (seen_before(w, tstate)) {
                /* The thread list loops back (a damaged target): each
                 * thread once, one counted error, and the pass ends. */
                if (errors)
                    errors[PYWALK_ERR_THREADS]++;
                learn = 0;
                break;
            }
            struct thread_sample t = { .pid = w->pi.pid };
            t.thread_id = get_u64(ts, o->ts_thread_id);
            t.tid = pywalk_os_tid(w, ts);
            t.flags |= pywalk_run_flags(o, ts, tstate, holder);
            t.first = (uint32_t)out->nframes;
            int rc = walk_thread(w, tstate, ts, out, &t.flags);
            if (rc == 0) {
                if (pywalk_push_walked(out, &t) != 0)
                    return -PYWALK_ERR_NOMEM;
                added++;
            } else {
                int kept = pywalk_failed(w, out, &t, rc, errors);
                if (kept < 0)
                    return -PYWALK_ERR_NOMEM;
                added += kept;
            }
            struct walkspec_thread *st = learn ? walkspec_thread_at(sp, sp->n) : NULL;
            if (st) {
                walkspec_learn(w, st, tstate, ts, &t);
                sp->n++;
            } else {
                learn = 0;
            }
            tstate = get_u64(ts, o->ts_next);
        }
        interp = next_interp;
    }
    sp->valid = learn;
    return added;
}

/* ---- reading a few threads again ---- */

int pywalk_can_resample(const struct pywalk *w)
{
    return w->spec.valid;
}

int pywalk_resample(struct pywalk *w, struct sample *out, const pid_t *tids, size_t ntids,
                    uint64_t *errors)
{
    const struct py_offsets *o = w->o;
    const struct walkspec *sp = &w->spec;
    uint8_t ts[4096];
    size_t tslen = framewalk_ts_len(o);
    struct gilstate_interp iv;
    int added = 0;

    /* Where each thread's state lives is known from the last pass only
     * when it saw a single interpreter and learned every thread. */
    if (!sp->valid || ntids == 0 || tslen > sizeof ts || gilstate_read_interp(w->m, &w->pi, sp->interp, &iv) != 0)
        return -PYWALK_ERR_THREADS;
    w->fw.ab = NULL;
    for (size_t k = 0; k < ntids; k++) {
        const struct walkspec_thread *st = NULL;
        for (size_t j = 0; j < sp->n && !st; j++)
            if (sp->t[j].tid == tids[k] && tids[k] != 0)
                st = &sp->t[j];
        if (!st)
            continue;   /* not a Python thread, or not seen last pass */
        if (proc_mem_read(w->m, st->tstate, ts, tslen) != 0) {
            if (errors)
                errors[PYWALK_ERR_READ]++;
            continue;
        }
        struct thread_sample t = { .pid = w->pi.pid, .tid = st->tid };
        t.thread_id = get_u64(ts, o->ts_thread_id);
        /* The state may have been reused by another thread since. */
        if (t.thread_id != st->thread_id || (o->ts_native_thread_id >= 0 && pywalk_os_tid(w, ts) != st->tid))
            continue;
        t.flags |= pywalk_run_flags(o, ts, st->tstate, iv.holder);
        t.first = (uint32_t)out->nframes;
        int rc = walk_thread(w, st->tstate, ts, out, &t.flags);
        if (rc != 0) {
            int kept = pywalk_failed(w, out, &t, rc, errors);
            if (kept < 0)
                return -PYWALK_ERR_NOMEM;
            added += kept;
            continue;
        }
        if (pywalk_push_walked(out, &t) != 0)
            return -PYWALK_ERR_NOMEM;
        added++;
    }
    return added;
}

int pywalk_sample(struct pywalk *w, struct sample *out, uint64_t *errors)
{
    /* The sampler's clock reading for this pass, else our own. */
    w->now_ns = out->time_ns ? out->time_ns : clock_mono_ns();
    w->pass++;
    codecache_set_clock(&w->cc, w->pass, w->now_ns);
    w->fw.pass = w->pass;
    walkspec_upkeep(w);
    int r = walkspec_pass(w, out, errors);
    if (r != WALKSPEC_MISS)
        return r;
    return slow_pass(w, out, errors);
}
