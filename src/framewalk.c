/* framewalk — see include/framewalk.h. */
#include "framewalk.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "localcopy.h"


int framewalk_init(struct framewalk *fw, const struct py_offsets *o, struct proc_mem *m,
                   struct codecache *cc)
{
    memset(fw, 0, sizeof *fw);
    fw->o = o;
    fw->m = m;
    fw->cc = cc;
    fw->chain = calloc(FRAMEWALK_CHAIN_MAX, sizeof *fw->chain);
    int ok = fw->chain != NULL;
    if (ok && o->frame_model == PYOFF_FRAMES_HEAP) {
        /* Frame objects are remembered only where frames are objects (≤3.10). */
        struct framewalk_fset *fs = &fw->fs;
        fs->addr = calloc(FRAMEWALK_FSET_MAX, sizeof *fs->addr);
        fs->last = calloc(FRAMEWALK_FSET_MAX, sizeof *fs->last);
        fs->item = calloc(FRAMEWALK_FSET_MAX, sizeof *fs->item);
        fs->tmp = calloc(FRAMEWALK_FSET_MAX, sizeof *fs->tmp);
        /* The index starts small and grows with the frames seen, so it
         * stays as small (and as cache-friendly) as they need. */
        ok = fs->addr && fs->last && fs->item && fs->tmp &&
             hashtab_init(&fs->ix, 0) == 0;
    }
    return ok ? 0 : -ENOMEM;
}

void framewalk_free(struct framewalk *fw)
{
    for (size_t i = 0; i < FRAMEWALK_MAX_CHUNKS; i++)
        free(fw->chunks[i].buf);
    free(fw->chain);
    free(fw->fs.addr);
    free(fw->fs.last);
    free(fw->fs.item);
    hashtab_free(&fw->fs.ix);
    free(fw->fs.tmp);
    memset(fw, 0, sizeof *fw);
}

/* ---- thread states ---- */

size_t framewalk_ts_len(const struct py_offsets *o)
{
    size_t n = (size_t)o->ts_size;
    return n == 0 || n > 4096 ? 4096 : n;
}

size_t framewalk_ts_top_len(const struct py_offsets *o)
{
    return (size_t)off_max(off_max(o->ts_frame, o->ts_current_frame),
                           off_max(o->ts_cframe, off_max(o->ts_datastack_chunk, o->ts_datastack_top))) + 8;
}

int framewalk_top_frame(struct framewalk *fw, const uint8_t *ts, uint64_t *frame)
{
    const struct py_offsets *o = fw->o;
    if (o->frame_model == PYOFF_FRAMES_HEAP) {
        *frame = get_u64(ts, o->ts_frame);
        return 0;
    }
    if (o->ts_current_frame >= 0) {
        *frame = get_u64(ts, o->ts_current_frame);
        return 0;
    }
    uint64_t cframe = get_u64(ts, o->ts_cframe);
    *frame = 0;
    if (cframe == 0)
        return 0;
    return proc_mem_read(fw->m, cframe + (uint64_t)o->cf_current_frame, frame, 8) == 0 ? 0 : -1;
}

int framewalk_read_top(struct framewalk *fw, uint64_t tstate, uint64_t *frame)
{
    uint8_t again[FRAMEWALK_HDR * 4];
    size_t len = framewalk_ts_top_len(fw->o);
    if (len > sizeof again || proc_mem_read(fw->m, tstate, again, len) != 0)
        return -1;
    return framewalk_top_frame(fw, again, frame);
}

/* ---- cycle detection ---- */

/* Cycle detection needs no table: Brent's algorithm keeps one frame
 * address, met at the last power of two of steps, and compares each new
 * frame with it, so a chain that loops is caught within a few times the
 * loop's length and lead-in, at the cost of one comparison per frame. A
 * cycle longer than a walk can go is caught while counting what a cut
 * walk left out. */
static void cycle_reset(struct framewalk_cycle *c)
{
    c->saved = 0;
    c->power = 1;
    c->lam = 0;
}

/* Whether ADDR closes a loop of the frames met since the last reset. */
static int cycle_check(struct framewalk_cycle *c, uint64_t addr)
{
    if (addr == c->saved)
        return 1;
    if (++c->lam == c->power) {
        c->saved = addr;
        c->power = c->power < (1u << 30) ? c->power * 2 : c->power;
        c->lam = 0;
    }
    return 0;
}

static int push_frame(struct framewalk *fw, struct sample *out, struct codecache_entry *c, int32_t at)
{
    struct frame f = { .name = c->name, .file = c->file, .first_line = c->firstlineno, .kind = FRAME_PYTHON };
    if (fw->o->frame_model == PYOFF_FRAMES_HEAP)
        f.flags = FRAME_ENTRY;
    f.line = codecache_location(fw->cc, c, at, &f.col);
    return sample_push_frame(out, &f) == 0 ? 0 : PYWALK_ERR_NOMEM;
}

/* Remember that the walk met frame ADDR after POS frames were pushed. */
static void chain_note(struct framewalk *fw, uint64_t addr, size_t pos)
{
    if (fw->nchain < FRAMEWALK_CHAIN_MAX)
        fw->chain[fw->nchain++] = (struct framewalk_link){ .addr = addr, .pos = (uint32_t)pos };
}

/* ---- ≤3.10: heap frame objects ---- */

size_t framewalk_heap_hdr_len(const struct py_offsets *o)
{
    return (size_t)(off_max(off_max(o->f_back, o->f_code),
                            off_max(off_max(o->f_lasti, o->f_lineno), o->f_trace)) + 8);
}

/* Index of frame ADDR in the set, or -1 (IT then where to insert it). */
static inline long fset_find(const struct framewalk_fset *fs, uint64_t addr, struct hashtab_iter *it)
{
    for (uint32_t k = hashtab_first(&fs->ix, hashtab_key64(addr), it); k != HASHTAB_NONE;
         k = hashtab_next(&fs->ix, it))
        if (fs->addr[k] == addr)
            return (long)k;
    return -1;
}

static const uint64_t *fset_sort_base;

static int fset_cmp(const void *pa, const void *pb)
{
    uint64_t a = fset_sort_base[*(const size_t *)pa], b = fset_sort_base[*(const size_t *)pb];
    return a < b ? -1 : a > b;
}

/* Every few passes: forget frames not met lately. */
void framewalk_fset_prune(struct framewalk *fw, uint64_t recent)
{
    struct framewalk_fset *fs = &fw->fs;
    size_t k = 0;
    if (!fs->addr)
        return;
    for (size_t i = 0; i < fs->n; i++) {
        if (fs->last[i] + recent < fw->pass)
            continue;
        fs->addr[k] = fs->addr[i];
        fs->last[k] = fs->last[i];
        k++;
    }
    fs->n = k;
    fs->stamp = 0;
    /* Sorted by address, so batches need not sort them. */
    for (size_t i = 0; i < fs->n; i++)
        fs->item[i] = i;
    fset_sort_base = fs->addr;
    if (fs->n > 1)  /* item may be NULL when there are none */
        qsort(fs->item, fs->n, sizeof *fs->item, fset_cmp);
    for (size_t i = 0; i < fs->n; i++)
        fs->tmp[i] = fs->addr[fs->item[i]];
    memcpy(fs->addr, fs->tmp, fs->n * sizeof *fs->addr);
    for (size_t i = 0; i < fs->n; i++)
        fs->tmp[i] = fs->last[fs->item[i]];
    memcpy(fs->last, fs->tmp, fs->n * sizeof *fs->last);
    /* Indexed again; the table already held more, so an add cannot fail. */
    hashtab_clear(&fs->ix);
    for (size_t i = 0; i < fs->n; i++) {
        fs->item[i] = READBATCH_NONE;
        hashtab_add(&fs->ix, hashtab_key64(fs->addr[i]), (uint32_t)i);
    }
}

void framewalk_plan_frames(struct framewalk *fw, struct readbatch *b, unsigned group)
{
    struct framewalk_fset *fs = &fw->fs;
    size_t hdr = framewalk_heap_hdr_len(fw->o);
    fs->stamp = 0;
    for (size_t k = 0; fs->addr && k < fs->n; k++)
        fs->item[k] = readbatch_add(b, group, fs->addr[k], hdr, READBATCH_GAP);
}

void framewalk_stamp_frames(struct framewalk *fw, const struct readbatch *b)
{
    fw->fs.stamp = b->stamp;
}

/* The copy of frame object K of the set in the batch AB, or NULL. */
static inline const uint8_t *fset_copy(const struct framewalk_fset *fs, long k, const struct readbatch *ab)
{
    if (k < 0 || !ab || fs->stamp != ab->stamp || fs->item[k] == READBATCH_NONE)
        return NULL;
    return readbatch_ptr(ab, fs->item[k]);
}

/* Point *P at HDR bytes of the frame object at ADDR: from the batch when it
 * read them, else read now into SCRATCH. Either way the frame is
 * remembered for the next batches. */
static int heap_frame(struct framewalk *fw, uint64_t addr, size_t hdr, uint8_t *scratch, const uint8_t **p)
{
    struct framewalk_fset *fs = &fw->fs;
    if (fs->addr) {
        struct hashtab_iter it;
        long k = fset_find(fs, addr, &it);
        if (k >= 0) {
            fs->last[k] = fw->pass;
            if ((*p = fset_copy(fs, k, fw->ab)) != NULL)
                return 0;
        } else if (fs->n < FRAMEWALK_FSET_MAX && hashtab_insert(&fs->ix, &it, (uint32_t)fs->n) == 0) {
            fs->addr[fs->n] = addr;
            fs->last[fs->n] = fw->pass;
            fs->item[fs->n] = READBATCH_NONE;
            fs->n++;
        }
    }
    fw->late_reads = 1;
    if (proc_mem_read(fw->m, addr, scratch, hdr) != 0)
        return -1;
    *p = scratch;
    return 0;
}

/* A walk cut at PYWALK_MAX_DEPTH ends with a marker frame at the root end,
 * "[truncated N frames]", N the frames left out (counted up to
 * FRAMEWALK_COUNT_MAX further links; "N+" when the count stopped short). */
#define FRAMEWALK_COUNT_MAX 65536

static int push_truncated(struct framewalk *fw, struct sample *out, uint64_t n, int more)
{
    char name[64];
    snprintf(name, sizeof name, "[truncated %llu%s frames]", (unsigned long long)n, more ? "+" : "");
    struct frame fr = { .name = strtab_intern(fw->cc->st, name, strlen(name)),
                        .file = strtab_intern(fw->cc->st, "", 0), .kind = FRAME_MARKER };
    if (fr.name == STRTAB_NONE || fr.file == STRTAB_NONE)
        return PYWALK_ERR_NOMEM;
    return sample_push_frame(out, &fr) == 0 ? 0 : PYWALK_ERR_NOMEM;
}

/* Frame objects from FRAME on (≤3.10): their f_back links counted. */
static int truncated_heap(struct framewalk *fw, uint64_t frame, struct sample *out)
{
    uint64_t n = 0;
    fw->late_reads = 1;
    while (frame && n < FRAMEWALK_COUNT_MAX) {
        uint64_t next;
        if (cycle_check(&fw->cyc, frame))
            return PYWALK_ERR_CYCLE;
        if ((frame & 7) || proc_mem_read(fw->m, frame + (uint64_t)fw->o->f_back, &next, 8) != 0)
            break;
        n++;
        frame = next;
    }
    return push_truncated(fw, out, n, frame != 0);
}

static int walk_heap_frames(struct framewalk *fw, uint64_t frame, struct sample *out, uint32_t *flags)
{
    const struct py_offsets *o = fw->o;
    size_t hdr = framewalk_heap_hdr_len(o), mark = out->nframes;
    uint8_t buf[FRAMEWALK_HDR];
    int depth = 0;
    while (frame) {
        if (depth >= PYWALK_MAX_DEPTH) {
            *flags |= SAMPLE_TRUNCATED;
            return truncated_heap(fw, frame, out);
        }
        const uint8_t *f;
        if ((frame & 7) || hdr > FRAMEWALK_HDR || heap_frame(fw, frame, hdr, buf, &f) != 0)
            return PYWALK_ERR_READ;
        if (cycle_check(&fw->cyc, frame))
            return PYWALK_ERR_CYCLE;
        chain_note(fw, frame, out->nframes - mark);
        int err = 0;
        struct codecache_entry *c = codecache_lookup(fw->cc, get_u64(f, o->f_code), fw->ab, &err);
        if (!c)
            return err;
        int32_t at = get_i32(f, o->f_lasti);
        int rc;
        if (get_u64(f, o->f_trace) != 0) {
            struct frame fr = { .name = c->name, .file = c->file, .line = get_i32(f, o->f_lineno),
                                .first_line = c->firstlineno, .kind = FRAME_PYTHON, .flags = FRAME_ENTRY };
            rc = sample_push_frame(out, &fr) == 0 ? 0 : PYWALK_ERR_NOMEM;
        } else {
            rc = push_frame(fw, out, c, at);
        }
        if (rc)
            return rc;
        depth++;
        frame = get_u64(f, o->f_back);
    }
    return 0;
}

/* ---- 3.11+: interpreter frames in data-stack chunks ---- */

/* Copy the thread's data-stack chunks lazily: the newest when the walk
 * starts, older ones when a frame address falls outside what we hold. */
int framewalk_chunk_load(struct framewalk *fw, uint64_t chunk, uint64_t top_ptr)
{
    const struct py_offsets *o = fw->o;
    if (fw->nchunks >= FRAMEWALK_MAX_CHUNKS || chunk == 0 || (chunk & 7) || o->chunk_data <= 0 ||
        o->chunk_data > 64)
        return -1;
    struct framewalk_chunk *cc = &fw->chunks[fw->nchunks];
    uint64_t data = chunk + (uint64_t)o->chunk_data;
    uint64_t len;   /* bytes from the chunk's start to its top */
    fw->late_reads = 1;
    if (top_ptr >= data && top_ptr - chunk <= FRAMEWALK_MAX_CHUNK_BYTES) {
        /* The newest chunk: the thread's own top pointer says how much is in
         * use, so header and frames come in a single read. */
        len = top_ptr - chunk;
    } else {
        uint8_t hdr[64];
        if (proc_mem_read(fw->m, chunk, hdr, (size_t)o->chunk_data) != 0)
            return -1;
        len = (uint64_t)o->chunk_data + get_u64(hdr, o->chunk_top) * 8;
        if (len > FRAMEWALK_MAX_CHUNK_BYTES)
            return -1;
    }
    if (cc->cap < len) {
        uint8_t *nb = realloc(cc->buf, len);
        if (!nb)
            return -1;
        cc->buf = nb;
        cc->cap = len;
    }
    if (proc_mem_read(fw->m, chunk, cc->buf, len) != 0)
        return -1;
    if (get_u64(cc->buf, o->chunk_size) < len)
        return -1;      /* the top lies outside the chunk: torn or not a chunk */
    cc->base = chunk;
    cc->len = len;
    cc->data = cc->buf;
    cc->again = NULL;
    cc->previous = get_u64(cc->buf, o->chunk_previous);
    fw->nchunks++;
    return 0;
}

int framewalk_chunk_view(struct framewalk *fw, uint64_t base, const uint8_t *data, const uint8_t *again,
                         uint64_t len)
{
    const struct py_offsets *o = fw->o;
    if (fw->nchunks >= FRAMEWALK_MAX_CHUNKS || !data || len < (uint64_t)o->chunk_data || o->chunk_data > 64 ||
        get_u64(data, o->chunk_size) < len)
        return -1;
    if (fw->nchunks > 0 && fw->chunks[fw->nchunks - 1].previous != base)
        return -1;
    struct framewalk_chunk *cc = &fw->chunks[fw->nchunks++];
    cc->base = base;
    cc->len = len;
    cc->data = data;
    cc->again = again;
    cc->previous = get_u64(data, o->chunk_previous);
    return 0;
}

void framewalk_chunks_start(struct framewalk *fw, const uint8_t *ts)
{
    const struct py_offsets *o = fw->o;
    fw->nchunks = 0;
    fw->nx = 0;
    if (o->ts_datastack_chunk < 0)
        return;
    /* datastack_top follows datastack_chunk in every 3.11–3.13 PyThreadState. */
    framewalk_chunk_load(fw, get_u64(ts, o->ts_datastack_chunk), get_u64(ts, o->ts_datastack_top));
}

const uint8_t *framewalk_frame_in_chunks(const struct framewalk *fw, uint64_t addr, size_t ifsize)
{
    for (size_t i = 0; i < fw->nchunks; i++) {
        const struct framewalk_chunk *cc = &fw->chunks[i];
        if (addr >= cc->base + (uint64_t)fw->o->chunk_data && addr - cc->base + ifsize <= cc->len)
            return cc->data + (addr - cc->base);
    }
    return NULL;
}

/* *A and *B: the first and second copies of the frame at ADDR held (chunks
 * or batch frames). Returns 0 when there is no second copy. */
static int frame_copies(const struct framewalk *fw, uint64_t addr, size_t ifsize, const uint8_t **a,
                        const uint8_t **b)
{
    for (size_t i = 0; i < fw->nchunks; i++) {
        const struct framewalk_chunk *cc = &fw->chunks[i];
        if (cc->again && addr >= cc->base + (uint64_t)fw->o->chunk_data && addr - cc->base + ifsize <= cc->len) {
            *a = cc->data + (addr - cc->base);
            *b = cc->again + (addr - cc->base);
            return 1;
        }
    }
    for (size_t k = 0; k < fw->nx; k++) {
        if (fw->xaddr[k] == addr && fw->xagain[k]) {
            *a = fw->xdata[k];
            *b = fw->xagain[k];
            return 1;
        }
    }
    return 0;
}

int framewalk_copies_agree(const struct framewalk *fw, size_t first)
{
    const struct py_offsets *o = fw->o;
    size_t ifsize = framewalk_interp_frame_len(o);
    /* Nothing held twice (blocking, ≤3.10 frame objects, a quiet thread): no frame to compare. */
    int twice = 0;
    for (size_t i = 0; !twice && i < fw->nchunks; i++)
        twice = fw->chunks[i].again != NULL;
    for (size_t k = 0; !twice && k < fw->nx; k++)
        twice = fw->xagain[k] != NULL;
    for (size_t k = first; twice && k < fw->nchain; k++) {
        const uint8_t *a, *b;
        if (!frame_copies(fw, fw->chain[k].addr, ifsize, &a, &b))
            continue;   /* read apart from the batch; T2 was read after it */
        if (k == first ? get_u64(a, o->if_code) != get_u64(b, o->if_code) ||
                             get_u64(a, o->if_previous) != get_u64(b, o->if_previous)
                       : memcmp(a, b, ifsize) != 0)
            return 0;
    }
    return 1;
}

/* frame_bytes past the chunks held: older chunks, then frames outside them. */
static int frame_bytes_far(struct framewalk *fw, uint64_t addr, size_t ifsize, uint8_t *scratch,
                           const uint8_t **p)
{
    /* The next older chunk, while one could hold it. */
    while (fw->nchunks > 0 && fw->chunks[fw->nchunks - 1].previous != 0 &&
           framewalk_chunk_load(fw, fw->chunks[fw->nchunks - 1].previous, 0) == 0)
        if ((*p = framewalk_frame_in_chunks(fw, addr, ifsize)) != NULL)
            return 0;
    /* Generator and coroutine frames live in their own objects, 3.12+ entry
     * shims on the C stack: from the batch if it read them, else now. */
    if (fw->nxseen < FRAMEWALK_EXTRA)
        fw->xseen[fw->nxseen++] = addr;
    for (size_t k = 0; k < fw->nx; k++) {
        if (fw->xaddr[k] == addr) {
            *p = fw->xdata[k];
            return 0;
        }
    }
    fw->late_reads = 1;
    if (proc_mem_read(fw->m, addr, scratch, ifsize) != 0)
        return -1;
    *p = scratch;
    return 0;
}

/* Point *P at a local copy of the interpreter frame at ADDR (IFSIZE bytes).
 * Inline: nearly every frame is in the chunks already held. */
static inline int frame_bytes(struct framewalk *fw, uint64_t addr, size_t ifsize, uint8_t *scratch,
                              const uint8_t **p)
{
    if ((*p = framewalk_frame_in_chunks(fw, addr, ifsize)) != NULL)
        return 0;
    return frame_bytes_far(fw, addr, ifsize, scratch, p);
}

size_t framewalk_interp_frame_len(const struct py_offsets *o)
{
    return (size_t)off_max(off_max(off_max(o->if_code, o->if_previous), off_max(o->if_instr, o->if_owner)),
                           off_max(o->if_tlbc_index, o->if_is_entry)) + 8;
}

/* Interpreter frames from FRAME on (3.11+): counted as the walk would show
 * them, so not C-stack shims, nor frames running something other than code. */
static int truncated_interp(struct framewalk *fw, uint64_t frame, size_t ifsize, uint8_t *scratch,
                            struct sample *out)
{
    const struct py_offsets *o = fw->o;
    uint64_t n = 0;
    for (int steps = 0; frame && steps < FRAMEWALK_COUNT_MAX; steps++) {
        const uint8_t *f;
        if (cycle_check(&fw->cyc, frame))
            return PYWALK_ERR_CYCLE;
        if ((frame & 7) || frame_bytes(fw, frame, ifsize, scratch, &f) != 0)
            break;
        int owner = o->if_owner >= 0 ? f[o->if_owner] : 0;
        uint64_t code = get_u64(f, o->if_code) & ~(uint64_t)o->stackref_tag_bits;
        int err = 0;
        if (owner != o->owner_cstack &&
            (!o->exec_may_be_other || codecache_lookup(fw->cc, code, fw->ab, &err) != NULL))
            n++;
        frame = get_u64(f, o->if_previous);
    }
    return push_truncated(fw, out, n, frame != 0);
}

/* Walk from FRAME through the chunks already held (fw->chunks), loading
 * older ones and reading frames outside them as needed. */
static int walk_interp_frames(struct framewalk *fw, uint64_t frame, struct sample *out, uint32_t *flags)
{
    const struct py_offsets *o = fw->o;
    size_t ifsize = framewalk_interp_frame_len(o), mark = out->nframes;
    uint8_t scratch[FRAMEWALK_HDR];
    if (ifsize > FRAMEWALK_HDR)
        return PYWALK_ERR_READ;
    /* Every frame visited counts, shims included, so a loop of shims ends too. */
    for (int steps = 0; frame; steps++) {
        if (steps >= PYWALK_MAX_DEPTH) {
            *flags |= SAMPLE_TRUNCATED;
            return truncated_interp(fw, frame, ifsize, scratch, out);
        }
        const uint8_t *f;
        if ((frame & 7) || frame_bytes(fw, frame, ifsize, scratch, &f) != 0)
            return PYWALK_ERR_READ;
        if (cycle_check(&fw->cyc, frame))
            return PYWALK_ERR_CYCLE;
        chain_note(fw, frame, out->nframes - mark);
        uint64_t prev = get_u64(f, o->if_previous);
        int owner = o->if_owner >= 0 ? f[o->if_owner] : 0;
        if (owner > o->owner_max)
            return PYWALK_ERR_TORN;
        /* Where a C call of the evaluation function began: the frame above
         * is that call's first. */
        if (owner == o->owner_entry && out->nframes > mark)
            out->frames[out->nframes - 1].flags |= FRAME_ENTRY;
        if (owner == o->owner_cstack) {
            if (fw->nxseen > 0 && fw->xseen[fw->nxseen - 1] == frame)
                fw->xshims |= 1u << (fw->nxseen - 1);
            frame = prev;
            continue;
        }
        uint64_t code = get_u64(f, o->if_code) & ~(uint64_t)o->stackref_tag_bits;
        if (code == 0) {
            /* A frame being pushed is linked before its executable is set
             * (a NULL stack reference, seen on 3.14): as the newest frame it
             * has not started, and its caller is the running one; deeper
             * down it means the stack changed under a running read. */
            if (out->nframes == mark) {
                frame = prev;
                continue;
            }
            return PYWALK_ERR_TORN;
        }
        int err = 0;
        struct codecache_entry *c = codecache_lookup(fw->cc, code, fw->ab, &err);
        if (!c) {
            /* f_executable may be something other than code (a shim); skip
             * it. A code object whose names cannot be read is an error. */
            if (err == PYWALK_ERR_NOTCODE && o->exec_may_be_other && !fw->cc->changed) {
                frame = prev;
                continue;
            }
            return err;
        }
        uint64_t instr = get_u64(f, o->if_instr);
        int32_t tlbc = o->if_tlbc_index >= 0 ? get_i32(f, o->if_tlbc_index) : 0;
        uint64_t base = codecache_bytecode(fw->cc, c, code, tlbc, instr, &fw->late_reads);
        int32_t at = instr >= base && instr - base < (1u << 30) ? (int32_t)((instr - base) / 2) : -1;
        int rc = push_frame(fw, out, c, at);
        if (rc)
            return rc;
        if (o->if_is_entry >= 0 && f[o->if_is_entry])
            out->frames[out->nframes - 1].flags |= FRAME_ENTRY;
        frame = prev;
    }
    return 0;
}

int framewalk_walk(struct framewalk *fw, uint64_t frame, struct sample *out, uint32_t *flags)
{
    cycle_reset(&fw->cyc);
    fw->nchain = 0;
    fw->nxseen = 0;
    fw->xshims = 0;
    return fw->o->frame_model == PYOFF_FRAMES_HEAP ? walk_heap_frames(fw, frame, out, flags)
                                : walk_interp_frames(fw, frame, out, flags);
}

int framewalk_chain_reaches(struct framewalk *fw, uint64_t from, uint64_t to)
{
    const struct py_offsets *o = fw->o;
    for (int steps = 0; from && steps < FRAMEWALK_CHAIN_MAX; steps++) {
        if (from == to)
            return 1;
        const uint8_t *f = NULL;
        if (o->frame_model == PYOFF_FRAMES_HEAP) {
            struct hashtab_iter it;
            f = fset_copy(&fw->fs, fw->fs.addr ? fset_find(&fw->fs, from, &it) : -1, fw->ab);
            if (!f)
                return 0;
            from = get_u64(f, o->f_back);
        } else {
            f = framewalk_frame_in_chunks(fw, from, framewalk_interp_frame_len(o));
            for (size_t k = 0; !f && k < fw->nx; k++)
                if (fw->xaddr[k] == from)
                    f = fw->xdata[k];
            if (!f)
                return 0;
            from = get_u64(f, o->if_previous);
        }
    }
    return 0;
}
