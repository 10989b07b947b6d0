/* walkspec — see include/walkspec.h (the fast path and why it is built so). */
#include "walkspec.h"

#include <stdlib.h>
#include <string.h>

#include "gilstate.h"
#include "localcopy.h"
#include "pywalk_internal.h"

#define QUIET_PASSES 8              /* a thread whose top frame (code and instruction too) and data
                                       stack top stayed put this many passes (an idle one, mostly)
                                       is not copied twice */
#define CHUNK_SLACK 256             /* bytes read beyond the highest recent top of the newest chunk */
#define MISS_BACKOFF_MAX 64         /* passes the fast path is skipped after repeated misses */

/* Groups are read in this order within one system call, and ranges merge
 * only within a group. Blocking, the target is still and everything is one
 * group; non-blocking, what gives T1 must come before the frames and T2
 * after them. */
enum batch_group {
    G_LIST = 0,                     /* runtime, interpreter, GIL, thread states (T1 on 3.13, ≤3.10) */
    G_TOP = 0,                      /* 3.11–3.12: _PyCFrame.current_frame words (T1) */
    G_DATA = 1,                     /* data-stack chunks, frame objects */
    G_MID = 2,                      /* 3.11+, non-blocking: datastack_chunk and _top, between ... */
    G_AGAIN = 3,                    /* ... the chunks and the frames outside them once more */
    G_AFTER = 4,                    /* top-frame words again (T2, non-blocking) */
    G_CODE = 5,                     /* code object signatures (any time): codecache_plan_spans */
    G_COUNT = 6
};

_Static_assert(G_COUNT <= READBATCH_GROUPS, "a pass's groups must fit a readbatch");

/* Plan LEN bytes at ADDR in GROUP of B, merged READBATCH_GAP apart. */
static size_t plan(struct readbatch *b, enum batch_group group, uint64_t addr, size_t len)
{
    return readbatch_add(b, group, addr, len, READBATCH_GAP);
}

void walkspec_init(struct walkspec *sp, int nonblocking)
{
    memset(sp, 0, sizeof *sp);
    readbatch_init(&sp->main, !nonblocking);
    readbatch_init(&sp->retry, !nonblocking);
}

void walkspec_free(struct walkspec *sp)
{
    readbatch_free(&sp->main);
    readbatch_free(&sp->retry);
    free(sp->t);
    sp->t = NULL;
    sp->n = sp->cap = 0;
}

/* ---- learning for the next batch ---- */

struct walkspec_thread *walkspec_thread_at(struct walkspec *sp, size_t i)
{
    if (i >= sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 16;
        while (cap <= i)
            cap *= 2;
        struct walkspec_thread *nt = realloc(sp->t, cap * sizeof *nt);
        if (!nt)
            return NULL;
        memset(nt + sp->cap, 0, (cap - sp->cap) * sizeof *nt);
        sp->t = nt;
        sp->cap = cap;
    }
    return &sp->t[i];
}

void walkspec_learn(struct pywalk *w, struct walkspec_thread *st, uint64_t tstate, const uint8_t *ts,
                    const struct thread_sample *t)
{
    const struct py_offsets *o = w->o;
    const struct framewalk *fw = &w->fw;
    if (st->tstate != tstate) {
        memset(st, 0, sizeof *st);
        st->tstate = tstate;
    }
    st->thread_id = t->thread_id;
    st->tid = t->tid;
    st->cframe = o->ts_cframe >= 0 ? get_u64(ts, o->ts_cframe) : 0;
    if (o->ts_datastack_chunk < 0)
        return;
    memcpy(st->extra, fw->xseen, fw->nxseen * sizeof *fw->xseen);
    st->shims = fw->xshims;
    st->nextra = (uint32_t)fw->nxseen;
    uint64_t chunk = get_u64(ts, o->ts_datastack_chunk), top = get_u64(ts, o->ts_datastack_top);
    if (chunk != st->chunk[0])
        st->hwm_cur = st->hwm_prev = 0;
    uint64_t used = top > chunk && top - chunk <= FRAMEWALK_MAX_CHUNK_BYTES ? top - chunk : 0;
    if (used > st->hwm_cur)
        st->hwm_cur = (uint32_t)used;
    st->nchunks = 0;
    for (size_t k = 0; k < fw->nchunks && k < WALKSPEC_CHUNKS; k++) {
        const struct framewalk_chunk *cc = &fw->chunks[k];
        uint64_t len = cc->len;
        if (k == 0) {
            /* The newest chunk: up to a little past the highest recent top. */
            uint64_t size = get_u64(cc->data, o->chunk_size);
            uint32_t hwm = st->hwm_cur > st->hwm_prev ? st->hwm_cur : st->hwm_prev;
            if (cc->base != chunk)
                break;
            len = (uint64_t)hwm + CHUNK_SLACK;
            if (len > size)
                len = size;
            if (len > FRAMEWALK_MAX_CHUNK_BYTES)
                len = FRAMEWALK_MAX_CHUNK_BYTES;
            if (len < (uint64_t)o->chunk_data)
                len = (uint64_t)o->chunk_data;
        }
        st->chunk[k] = cc->base;
        st->chunk_len[k] = (uint32_t)len;
        st->nchunks = (uint32_t)k + 1;
    }
    if (st->nchunks == 0 && chunk) {
        st->chunk[0] = chunk;
        st->chunk_len[0] = (uint32_t)(used > (uint64_t)o->chunk_data ? used : (uint64_t)o->chunk_data);
        st->nchunks = 1;
    }
}

/* Periodic upkeep of what the batches read speculatively. */
void walkspec_upkeep(struct pywalk *w)
{
    struct walkspec *sp = &w->spec;
    if (w->pass - sp->hot_pass < WALKSPEC_HOT_PASSES)
        return;
    codecache_hot_rebuild(&w->cc, WALKSPEC_HOT_PASSES);
    framewalk_fset_prune(&w->fw, WALKSPEC_HOT_PASSES);
    for (size_t i = 0; i < sp->n; i++) {
        sp->t[i].hwm_prev = sp->t[i].hwm_cur;
        sp->t[i].hwm_cur = 0;
    }
    sp->hot_pass = w->pass;
}

/* ---- the fast path: one batched read per pass ---- */

/* The address of the word a thread's top frame pointer is read from
 * (T1, T2), or 0 when not known. */
static uint64_t top_word(const struct pywalk *w, const struct walkspec_thread *st)
{
    const struct py_offsets *o = w->o;
    if (o->frame_model == PYOFF_FRAMES_HEAP)
        return st->tstate + (uint64_t)o->ts_frame;
    if (o->ts_current_frame >= 0)
        return st->tstate + (uint64_t)o->ts_current_frame;
    return st->cframe ? st->cframe + (uint64_t)o->cf_current_frame : 0;
}

/* Add thread ST's ranges to B. Returns 0, or -1 when out of memory. */
static int plan_thread(struct pywalk *w, struct readbatch *b, struct walkspec_thread *st)
{
    const struct py_offsets *o = w->o;
    st->it_ts = plan(b, G_LIST, st->tstate, framewalk_ts_len(o));
    st->it_top = READBATCH_NONE;
    if (o->ts_cframe >= 0 && st->cframe)
        st->it_top = plan(b, G_TOP, top_word(w, st), 8);
    /* The second copy guards against a stack moving while it is read: a
     * thread that has not moved lately (an idle one) is read once, which
     * matters with many threads. */
    /* The data stack's chunk and top are read together, as one range. */
    int twice = w->nonblocking && o->ts_datastack_chunk >= 0 && st->quiet < QUIET_PASSES &&
                o->ts_datastack_top == o->ts_datastack_chunk + 8;
    /* datastack_top follows datastack_chunk in every 3.11–3.13 PyThreadState. */
    st->it_mid = twice ? plan(b, G_MID, st->tstate + (uint64_t)o->ts_datastack_chunk, 16) : READBATCH_NONE;
    for (uint32_t k = 0; k < st->nchunks; k++) {
        st->it_chunk[k] = plan(b, G_DATA, st->chunk[k], st->chunk_len[k]);
        st->it_chunk2[k] = twice ? plan(b, G_AGAIN, st->chunk[k], st->chunk_len[k]) : READBATCH_NONE;
    }
    /* Frames outside the chunks are below T1 (an entry shim, a suspended
     * generator): read with it, they merge with the _PyCFrame beside a shim. */
    for (uint32_t k = 0; k < st->nextra; k++) {
        st->it_extra[k] = plan(b, G_TOP, st->extra[k], framewalk_interp_frame_len(o));
        /* An entry shim lives as long as its C call and never changes meanwhile. */
        st->it_extra2[k] = twice && !(st->shims & (1u << k))
                               ? plan(b, G_AGAIN, st->extra[k], framewalk_interp_frame_len(o))
                               : READBATCH_NONE;
    }
    st->it_after = READBATCH_NONE;
    if (w->nonblocking && top_word(w, st))
        st->it_after = plan(b, G_AFTER, top_word(w, st), 8);
    return st->it_ts == READBATCH_NONE ? -1 : 0;
}

/* After B ran: its frame objects and code signatures may now be used. */
static void stamp_batch(struct pywalk *w, const struct readbatch *b, int code)
{
    framewalk_stamp_frames(&w->fw, b);
    if (code)
        codecache_stamp_spans(&w->cc, b);
}

/* Whether the reported frames, chain links FIRST on, read the same in both
 * copies (all of each frame but the top one, whose code and caller only),
 * and the top one lay below the data stack's top between them. */
static int same_twice(const struct pywalk *w, size_t first)
{
    const struct framewalk *fw = &w->fw;
    size_t ifsize = framewalk_interp_frame_len(w->o);
    if (fw->mid_ok && first < fw->nchain && fw->nchunks > 0 && fw->chunks[0].again) {
        const struct framewalk_chunk *cc = &fw->chunks[0];
        uint64_t f = fw->chain[first].addr;
        if (fw->mid_chunk != cc->base)
            return 0;       /* it moved to another chunk meanwhile */
        if (f >= cc->base && f - cc->base < cc->len && f + ifsize > fw->mid_top)
            return 0;
    }
    return framewalk_copies_agree(fw, first);
}

/* Non-blocking: decide whether the walk from T1 (its frames pushed from MARK
 * on, its chain in w->fw.chain) is a stack that existed, given T2, the top
 * frame read after it. Keeps what is proven and returns 0, or returns -1. */
static int settle(struct pywalk *w, uint64_t t1, uint64_t t2, struct sample *out, size_t mark)
{
    struct framewalk *fw = &w->fw;
    size_t first = 0;
    if (t2 != t1) {
        for (first = 0; first < fw->nchain && fw->chain[first].addr != t2; first++)
            ;
        /* Neither did the stack shrink to T2 (T2 on the chain) nor grow
         * from T1 (T1 on T2's chain): it moved both ways. */
        if (first == fw->nchain && !(t1 && framewalk_chain_reaches(fw, t2, t1)))
            return -1;
        if (first == fw->nchain)
            first = 0;
    }
    if (!same_twice(w, first))
        return -1;
    if (first > 0) {
        /* The stack shrank to T2: T2 and its callers were live all along. */
        size_t pos = fw->chain[first].pos, n = out->nframes - mark;
        memmove(out->frames + mark, out->frames + mark + pos, (n - pos) * sizeof *out->frames);
        out->nframes = mark + (n - pos);
    }
    return 0;
}

/* Walk thread ST from batch B. Returns 0 with T filled and its frames in
 * OUT, an enum pywalk_error, or WALKSPEC_MISS. */
static int fast_thread(struct pywalk *w, struct walkspec_thread *st, const struct readbatch *b,
                       uint64_t holder, struct sample *out, struct thread_sample *t)
{
    const struct py_offsets *o = w->o;
    struct framewalk *fw = &w->fw;
    const uint8_t *ts = readbatch_ptr(b, st->it_ts);
    uint64_t t1 = 0, t2 = 0, top_prev = st->last_top;
    fw->ab = b;
    fw->late_reads = 0;
    *t = (struct thread_sample){ .pid = w->pi.pid };
    t->thread_id = get_u64(ts, o->ts_thread_id);
    if (o->ts_native_thread_id < 0 && t->thread_id == st->thread_id && st->tid > 0)
        t->tid = st->tid;   /* the pthread_t has not changed, nor its tid: spare the lookup */
    else
        t->tid = pywalk_os_tid(w, ts);
    t->flags |= pywalk_run_flags(o, ts, st->tstate, holder);
    t->first = (uint32_t)out->nframes;
    int after_ok = st->it_after != READBATCH_NONE;
    if (o->ts_cframe >= 0) {
        uint64_t cf = get_u64(ts, o->ts_cframe);
        if (cf && cf == st->cframe && st->it_top != READBATCH_NONE) {
            t1 = readbatch_word(b, st->it_top);
        } else {
            /* A new _PyCFrame (the thread entered or left a nested eval loop). */
            after_ok = 0;
            if (framewalk_top_frame(fw, ts, &t1) != 0)
                return PYWALK_ERR_READ;
            fw->late_reads = 1;
        }
    } else if (framewalk_top_frame(fw, ts, &t1) != 0) {
        return PYWALK_ERR_READ;
    }
    if (o->ts_datastack_chunk >= 0) {
        uint64_t chunk = get_u64(ts, o->ts_datastack_chunk), top = get_u64(ts, o->ts_datastack_top);
        st->last_top = top;
        fw->nchunks = 0;
        if (st->nchunks && st->chunk[0] == chunk && st->it_chunk[0] != READBATCH_NONE &&
            top - chunk <= st->chunk_len[0]) {
            for (uint32_t k = 0; k < st->nchunks && st->it_chunk[k] != READBATCH_NONE; k++)
                if (framewalk_chunk_view(fw, st->chunk[k], readbatch_ptr(b, st->it_chunk[k]),
                                         st->it_chunk2[k] != READBATCH_NONE ? readbatch_ptr(b, st->it_chunk2[k])
                                                                            : NULL,
                                         st->chunk_len[k]) != 0)
                    break;
        }
        if (fw->nchunks == 0)
            framewalk_chunk_load(fw, chunk, top);
        const uint8_t *mid = st->it_mid != READBATCH_NONE ? readbatch_ptr(b, st->it_mid) : NULL;
        fw->mid_ok = mid != NULL;
        fw->mid_chunk = mid ? get_u64(mid, 0) : 0;
        fw->mid_top = mid ? get_u64(mid, 8) : 0;
        fw->nx = 0;
        for (uint32_t k = 0; k < st->nextra; k++) {
            if (st->it_extra[k] != READBATCH_NONE) {
                fw->xaddr[fw->nx] = st->extra[k];
                fw->xagain[fw->nx] = st->it_extra2[k] != READBATCH_NONE ? readbatch_ptr(b, st->it_extra2[k]) : NULL;
                fw->xdata[fw->nx++] = readbatch_ptr(b, st->it_extra[k]);
            }
        }
    }
    int rc = framewalk_walk(fw, t1, out, &t->flags);
    if (w->cc.changed)
        return WALKSPEC_MISS;
    if (o->ts_datastack_chunk >= 0) {
        /* Quiet: the same top frame, running the same code at the same
         * instruction, on the same data stack top, as last time. */
        const uint8_t *f = t1 ? framewalk_frame_in_chunks(fw, t1, framewalk_interp_frame_len(o)) : NULL;
        uint64_t code = f ? get_u64(f, o->if_code) : 0, instr = f ? get_u64(f, o->if_instr) : 0;
        if (f && t1 == st->last_t1 && code == st->last_code && instr == st->last_instr &&
            top_prev == st->last_top && rc == 0)
            st->quiet += st->quiet < QUIET_PASSES;
        else
            st->quiet = 0;
        st->last_t1 = t1;
        st->last_code = code;
        st->last_instr = instr;
    }
    if (rc == 0 && w->cc.npending) {
        int changed = codecache_check_pending(&w->cc, fw->ab);
        if (changed > 0)
            return WALKSPEC_MISS;
        if (changed < 0)
            rc = PYWALK_ERR_READ;
        fw->late_reads = 1;
    }
    w->cc.npending = 0;
    walkspec_learn(w, st, st->tstate, ts, t);
    if (rc != 0 || !w->nonblocking)
        return rc;
    if (after_ok && !fw->late_reads)
        t2 = readbatch_word(b, st->it_after);
    else if (framewalk_read_top(fw, st->tstate, &t2) != 0)
        return PYWALK_ERR_READ;
    return settle(w, t1, t2, out, t->first) == 0 ? 0 : PYWALK_ERR_TORN;
}

/* One pass in one batched read. Returns the threads added, or WALKSPEC_MISS
 * (OUT and ERRORS untouched) when the speculation did not hold. */
static int fast_pass(struct pywalk *w, struct sample *out, uint64_t *errors)
{
    const struct py_offsets *o = w->o;
    struct walkspec *sp = &w->spec;
    struct readbatch *b = &sp->main;
    int32_t ilo, ihi, glo, ghi;
    uint64_t errs[PYWALK_ERR_COUNT] = { 0 };
    if (gilstate_interp_window(o, &ilo, &ihi) != 0)
        return WALKSPEC_MISS;
    gilstate_gil_window(o, &glo, &ghi);
    readbatch_reset(b);
    size_t it_head = plan(b, G_LIST, w->pi.interp_head_addr, 8);
    size_t it_interp = plan(b, G_LIST, sp->interp + (uint64_t)ilo, (size_t)(ihi - ilo));
    size_t it_gil = sp->gil ? plan(b, G_LIST, sp->gil + (uint64_t)glo, (size_t)(ghi - glo)) : READBATCH_NONE;
    int fixed = w->pi.gil_holder_addr != 0;
    size_t it_locked = fixed ? plan(b, G_LIST, w->pi.gil_locked_addr, 4) : READBATCH_NONE;
    size_t it_holder = fixed ? plan(b, G_LIST, w->pi.gil_holder_addr, 8) : READBATCH_NONE;
    size_t it_cur = w->pi.tstate_current_addr ? plan(b, G_LIST, w->pi.tstate_current_addr, 8) : READBATCH_NONE;
    for (size_t i = 0; i < sp->n; i++)
        if (plan_thread(w, b, &sp->t[i]) != 0)
            return WALKSPEC_MISS;
    framewalk_plan_frames(&w->fw, b, G_DATA);
    int code_due = w->now_ns - sp->spans_ns >= CODECACHE_RECHECK_NS;
    codecache_plan_spans(&w->cc, b, G_CODE, code_due);
    if (code_due)
        sp->spans_ns = w->now_ns;
    if (it_head == READBATCH_NONE || it_interp == READBATCH_NONE || readbatch_run(b, w->m) != 0)
        return WALKSPEC_MISS;
    stamp_batch(w, b, 1);
    if (code_due && codecache_verify_spans(&w->cc, b) != 0) {
        codecache_clear(&w->cc);
        return WALKSPEC_MISS;
    }

    /* Is it still the same interpreter and the same list of threads? */
    struct gilstate_interp iv;
    if (readbatch_word(b, it_head) != sp->interp)
        return WALKSPEC_MISS;
    gilstate_interp_fields(&w->pi, readbatch_ptr(b, it_interp) - ilo, &iv);
    if (iv.next != 0 || iv.tstate_head != (sp->n ? sp->t[0].tstate : 0))
        return WALKSPEC_MISS;
    for (size_t i = 0; i < sp->n; i++)
        if (get_u64(readbatch_ptr(b, sp->t[i].it_ts), o->ts_next) != (i + 1 < sp->n ? sp->t[i + 1].tstate : 0))
            return WALKSPEC_MISS;
    uint64_t holder = iv.holder;
    if (fixed)
        holder = it_locked == READBATCH_NONE || it_holder == READBATCH_NONE ? 0
                 : gilstate_holder_fixed(get_i32(readbatch_ptr(b, it_locked), 0), readbatch_word(b, it_holder),
                                         it_cur != READBATCH_NONE ? readbatch_word(b, it_cur) : 0);
    else if (it_cur != READBATCH_NONE)
        holder = readbatch_word(b, it_cur);
    else if (iv.gil && iv.gil == sp->gil && it_gil != READBATCH_NONE)
        holder = gilstate_holder_of(o, readbatch_ptr(b, it_gil), glo);
    else if (iv.gil)
        holder = gilstate_holder_at(w->m, o, iv.gil);
    sp->gil = iv.gil;

    size_t nthreads0 = out->nthreads, nframes0 = out->nframes;
    size_t *redo = NULL, nredo = 0;
    int added = 0;
    for (size_t i = 0; i < sp->n; i++) {
        struct thread_sample t;
        int rc = fast_thread(w, &sp->t[i], b, holder, out, &t);
        if (rc == WALKSPEC_MISS)
            goto miss;
        if (rc == 0) {
            if (pywalk_push_walked(out, &t) != 0)
                goto nomem;
            added++;
            continue;
        }
        out->nframes = t.first;
        if (!w->nonblocking || (!redo && !(redo = malloc(sp->n * sizeof *redo)))) {
            int kept = pywalk_failed(w, out, &t, rc, errs);
            if (kept < 0)
                goto nomem;
            added += kept;
            continue;
        }
        /* Read it again once the others are done (their data is in B). */
        redo[nredo++] = i;
    }
    for (size_t r = 0; r < nredo; r++) {
        struct walkspec_thread *st = &sp->t[redo[r]];
        int rc = PYWALK_ERR_TORN;
        struct thread_sample t = { .pid = w->pi.pid, .tid = st->tid, .thread_id = st->thread_id,
                                   .first = (uint32_t)out->nframes };
        for (int attempt = 0; attempt < PYWALK_TORN_RETRIES && rc != 0; attempt++) {
            struct readbatch *rb = &sp->retry;
            readbatch_reset(rb);
            if (plan_thread(w, rb, st) != 0)
                break;
            framewalk_plan_frames(&w->fw, rb, G_DATA);
            if (readbatch_run(rb, w->m) != 0) {
                rc = PYWALK_ERR_READ;
                break;
            }
            stamp_batch(w, rb, 0);
            rc = fast_thread(w, st, rb, holder, out, &t);
            if (rc == WALKSPEC_MISS)
                goto miss;
            if (rc != 0)
                out->nframes = t.first;
        }
        if (rc == 0) {
            if (pywalk_push_walked(out, &t) != 0)
                goto nomem;
            added++;
        } else {
            int kept = pywalk_failed(w, out, &t, rc, errs);
            if (kept < 0)
                goto nomem;
            added += kept;
        }
    }
    free(redo);
    w->fw.ab = NULL;
    for (int k = 0; errors && k < PYWALK_ERR_COUNT; k++)
        errors[k] += errs[k];
    return added;
nomem:
    free(redo);
    w->fw.ab = NULL;
    return -PYWALK_ERR_NOMEM;
miss:
    free(redo);
    w->fw.ab = NULL;
    out->nthreads = nthreads0;
    out->nframes = nframes0;
    if (w->cc.changed)
        codecache_clear(&w->cc);
    w->cc.changed = 0;
    w->cc.npending = 0;
    return WALKSPEC_MISS;
}

int walkspec_pass(struct pywalk *w, struct sample *out, uint64_t *errors)
{
    struct walkspec *sp = &w->spec;
    if (!sp->valid || w->pass < sp->skip_until)
        return WALKSPEC_MISS;
    int r = fast_pass(w, out, errors);
    if (r != WALKSPEC_MISS) {
        sp->misses = 0;
        return r;
    }
    /* The target changes faster than we learn (threads coming and
     * going): stop trying for a while, longer each time. */
    if (++sp->misses >= 3) {
        uint32_t back = sp->misses - 3 < 6 ? 1u << (sp->misses - 3) : MISS_BACKOFF_MAX;
        sp->skip_until = w->pass + (back < MISS_BACKOFF_MAX ? back : MISS_BACKOFF_MAX);
    }
    return WALKSPEC_MISS;
}
