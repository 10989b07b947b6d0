/* pywalk — see include/pywalk.h. */
#include "pywalk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linetable.h"
#include "pystr.h"

#define MAX_THREADS 65536           /* bound on a thread list */
#define MAX_INTERPS 256             /* bound on the interpreter list */
#define CODE_CACHE_SLOTS 8192       /* power of two; cleared when half full */
#define MAX_LINETABLE (1u << 20)    /* biggest line table we copy */
#define MAX_NAME 1024               /* bytes of a function or file name */
#define MAX_CHUNKS 16               /* data-stack chunks copied per thread */
#define MAX_CHUNK_BYTES (4u << 20)  /* bound on one chunk's copy */
#define FRAME_HDR 256               /* bytes read of a heap frame / interpreter frame */
#define LINE_MEMO 4                 /* remembered instruction → line pairs per code object */
#define TLBC_MEMO 4                 /* remembered thread-local bytecode copies per code object */
#define MAX_TLBC_INDEX 65536        /* bound on a thread-local bytecode index */
#define TORN_RETRIES 2
#define MAX_PENDING 512             /* code objects re-checked in one batched read */
/* A freed code object leaves its address to a new one, so a cached decode
 * is re-checked against the object's name, file and line-table pointers
 * before use if its last check is older than this: at rates up to 1 kHz
 * every pass, above that a pass re-checks every code object in use at
 * most this long after the last. */
#define CODE_RECHECK_NS 1000000ull
#define SIG_MAX 256                 /* bytes of a code object's identifying window */
#define CHAIN_MAX (PYWALK_MAX_DEPTH + 1) /* frames visited in one walk, skipped ones included */

/*
 * The fast path. On this kind of machine a system call costs as much as
 * copying kilobytes, and each extra range in a process_vm_readv costs a
 * good part of one, so a pass is built to be ONE process_vm_readv of few
 * ranges: what the previous pass learned (the interpreter, the thread
 * states in list order, where each thread's frame pointer lives, its
 * data-stack chunks or, before 3.11, its frame objects, and the code
 * objects in use) is read speculatively, ranges close together are merged,
 * and what was read is checked against itself (list links, chunk headers)
 * before use. Anything that does not match sends that pass to the slow
 * path (the plain walk, one read per step), which relearns.
 *
 * Non-blocking, the batch reads each thread's top-frame pointer before its
 * frames and again after them (T1, T2). A stack is reported only when the
 * two agree in a way that proves the reported frames were live over the
 * whole read: T2 == T1; T2 lies on the chain read from T1 (the stack only
 * shrank: the part from T2 down is reported); or T1 lies on the chain from
 * T2 (the stack only grew: the chain from T1 is reported). Otherwise the
 * thread is read again, then counted as torn.
 *
 * On 3.11+ a frame slot is reused by whatever is called next, so a copy
 * taken while the stack bounced can mix an old caller with a new callee at
 * the same addresses, with T1 == T2 all the same. The batch therefore
 * copies the chunks twice, one copy right after the other, and a reported
 * frame must read the same in both (the top one: the same code and caller;
 * its instruction moves on): a slot that changed while the first copy was
 * taken shows in the second. Between the two it reads the thread's data
 * stack top: the reported top frame must lie below it, else its slot had
 * been given up (the stack shrank, and grew back over it only later).
 */
/* Ranges closer than this are read as one (less than a page: never spans
 * an unmapped hole). Copying costs about 55 ns/KiB for data in cache and
 * several times that for data not, a range 150–250 ns: code objects are in
 * use and cached, other ranges often not (idle threads). */
#define MERGE_GAP 512
#define MERGE_GAP_CODE 2048
#define SPEC_CHUNKS 4               /* data-stack chunks of a thread read speculatively */
#define SPEC_EXTRA 8                /* 3.11+: frames outside the chunks (C-stack shims, generators) likewise */
#define QUIET_PASSES 8              /* a thread whose top frame (code and instruction too) and data
                                       stack top stayed put this many passes (an idle one, mostly)
                                       is not copied twice */
#define CHUNK_SLACK 256             /* bytes read beyond the highest recent top of the newest chunk */
#define HOT_PASSES 64               /* a code object or frame used this recently is read speculatively */
#define FSET_MAX 8192               /* frame objects (≤3.10) remembered for speculative reads */
#define FAST_MISS (-1000)           /* the speculation did not hold: take the slow path */
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
    G_CODE = 5,                     /* code object signatures (any time) */
    G_COUNT = 6
};

struct batch_item {
    uint64_t addr;
    uint32_t len;
    uint16_t group;
    uint16_t gap;                   /* largest gap before it still worth merging */
    size_t off;                     /* into the batch buffer, once run */
};

/* Ranges to read in one system call, merged, into one reused buffer. */
struct batch {
    struct batch_item *items;
    size_t n, cap;
    uint32_t *order;                /* item indices sorted by (group, address) */
    struct proc_iov *iov;
    size_t niov, cap_iov;
    uint8_t *buf;
    size_t cap_buf;
    uint64_t stamp;                 /* changes at every run: tags what refers to this batch's data */
    int one_group;                  /* blocking: every item in one group */
};

#define NO_ITEM SIZE_MAX

/* What the last pass learned of one thread, for the next batch. */
struct spec_thread {
    uint64_t tstate;
    uint64_t thread_id;
    pid_t tid;                      /* for thread_id (found through struct pthread before 3.11) */
    uint64_t cframe;                /* 3.11–3.12: the _PyCFrame holding current_frame */
    uint64_t chunk[SPEC_CHUNKS];    /* data-stack chunks, newest first */
    uint32_t chunk_len[SPEC_CHUNKS];/* bytes to read of each */
    uint32_t nchunks;
    uint32_t hwm_cur, hwm_prev;     /* highest top offset in the newest chunk, this and the last epoch */
    uint64_t extra[SPEC_EXTRA];     /* frames the walk met outside the chunks */
    uint32_t nextra;
    size_t it_ts, it_top, it_after, it_mid; /* this pass's batch items (T1, T2, data stack top) */
    uint32_t shims;                 /* bit k: extra[k] was a C-stack shim (it does not change) */
    uint64_t last_t1, last_top;     /* top frame, data stack top and the top frame's code and ... */
    uint64_t last_code, last_instr; /* ... instruction in the last pass, and for how many passes ... */
    uint32_t quiet;                 /* ... in a row none of them has changed */
    size_t it_chunk[SPEC_CHUNKS], it_chunk2[SPEC_CHUNKS];
    size_t it_extra[SPEC_EXTRA], it_extra2[SPEC_EXTRA];
};

struct spec {
    int valid;
    uint64_t interp;                /* the only interpreter */
    uint64_t gil;                   /* 3.12: the GIL structure the interpreter points to */
    struct spec_thread *t;
    size_t n, cap;
    uint32_t misses;                /* consecutive fast-path misses */
    uint64_t skip_until;            /* pass number before which the fast path is not tried */
};

/* Frame objects (≤3.10) seen recently: read speculatively in the next batch. */
struct fset {
    uint64_t *addr;
    uint64_t *last;                 /* pass last seen */
    size_t *item;                   /* batch item of this pass */
    uint64_t *stamp;                /* batch stamp ITEM belongs to */
    size_t n;
    uint32_t *slots;                /* open addressing: index + 1, 0 = empty */
    uint64_t *tmp;                  /* scratch for sorting */
};

struct code_entry {
    uint64_t addr;          /* remote code object, 0 = empty slot */
    uint32_t name, file;    /* strtab ids */
    int32_t firstlineno;
    uint8_t *table;         /* copy of the line table */
    uint32_t table_len;
    uint64_t sig[3];        /* name, file and line-table pointers when decoded */
    uint64_t checked;       /* pass in which the entry was last re-checked */
    uint64_t checked_ns;    /* and when (CLOCK_MONOTONIC) */
    uint32_t nbytes;                /* bytes of its bytecode (3.11+), 0 unknown */
    int32_t tlbc_idx[TLBC_MEMO];    /* thread-local bytecode copies remembered (index ... */
    uint64_t tlbc_at[TLBC_MEMO];    /* ... and where that copy starts), free-threaded builds */
    uint32_t tlbc_next;
    int32_t memo_at[LINE_MEMO];     /* instruction offsets remembered */
    int32_t memo_line[LINE_MEMO];   /* their lines */
    uint32_t memo_next;
    uint64_t last_used;             /* pass in which a walk last met it */
    uint64_t hot_mark;              /* the hot-list epoch in which it was listed */
    int32_t span;                   /* index in w->spans of the range holding its signature, -1 none */
    uint32_t span_off;              /* where in that range its signature window starts */
};

/* Signature windows of listed code objects, merged into few ranges once
 * (when the list changes), so a pass adds a handful of ranges to its batch. */
struct code_span {
    uint64_t addr;
    uint32_t len;
    size_t item;                    /* batch item of this pass */
    uint64_t stamp;                 /* stamp of the batch ITEM belongs to */
};

struct chunk_copy {
    uint64_t base;          /* remote address of the chunk (header included) */
    uint64_t len;           /* bytes copied from base: header and the frames in use */
    uint64_t previous;      /* remote previous chunk */
    const uint8_t *data;    /* the copy: BUF, or a range of the batch buffer */
    const uint8_t *again;   /* a second copy taken right after, or NULL */
    uint8_t *buf;           /* local copy (owned, reused) */
    size_t cap;
};

/* A frame visited by a walk, and how many frames had been pushed before it. */
struct chain_link {
    uint64_t addr;
    uint32_t pos;
};

struct pywalk {
    struct pyinterp pi;             /* what we walk */
    const struct py_offsets *o;     /* = &pi.off */
    struct proc_mem *m;
    struct strtab *st;
    int nonblocking;
    struct code_entry *codes;       /* CODE_CACHE_SLOTS */
    size_t ncodes;
    uint64_t code_type;             /* verified address of the `code` type, 0 until seen */
    int pthread_tid_off;            /* offset of tid in struct pthread; -1 unknown, -2 failed */
    int tid_tries;                  /* discovery attempts made */
    struct chunk_copy chunks[MAX_CHUNKS];
    size_t nchunks;
    uint64_t pass;                  /* sampling pass number */
    uint64_t pending[MAX_PENDING];  /* code objects used this walk, not yet re-checked this pass */
    size_t npending;
    int32_t sig_lo, sig_hi;         /* window of a code object holding the signature pointers */
    uint64_t *visited;              /* frame addresses of the current walk (cycle check) */
    size_t visited_cap;             /* power of two, > 2 × PYWALK_MAX_DEPTH */
    uint32_t *visited_used;         /* slots filled in this walk, to clear just those */
    size_t nvisited;
    struct chain_link *chain;       /* frames of the current walk, leaf first (CHAIN_MAX) */
    size_t nchain;
    struct batch main, retry;       /* the pass's batch; one thread's re-read */
    const struct batch *ab;         /* the batch whose data walks may use, NULL = none */
    struct spec spec;
    struct fset fs;
    uint64_t *hot;                  /* code objects used in recent passes */
    size_t nhot, cap_hot;
    uint64_t hot_epoch;             /* listing epoch of HOT (from 1; entries note theirs) */
    uint64_t hot_pass;              /* pass at which HOT was last rebuilt */
    int hot_dirty;                  /* HOT changed since SPANS were built */
    struct code_span *spans;
    size_t nspans, cap_spans;
    int late_reads;                 /* the current walk read outside the batch */
    uint64_t now_ns;                /* CLOCK_MONOTONIC at the start of the pass */
    uint64_t spans_ns;              /* when a batch last re-read the code signatures */
    uint64_t xaddr[SPEC_EXTRA];     /* frames outside the chunks that the batch holds ... */
    const uint8_t *xdata[SPEC_EXTRA]; /* ... and their copies, */
    const uint8_t *xagain[SPEC_EXTRA]; /* and second copies (NULL: none) */
    uint64_t mid_chunk, mid_top;    /* datastack_chunk and _top read between the copies ... */
    int mid_ok;                     /* ... if they were */
    size_t nx;
    uint64_t xseen[SPEC_EXTRA];     /* frames outside the chunks the current walk met */
    size_t nxseen;
    uint32_t xshims;                /* bit k: xseen[k] is a C-stack shim */
    int code_changed;               /* a cached code object no longer matches its signature */
};

static const char *const error_names[PYWALK_ERR_COUNT] = {
    "ok", "read", "cycle", "bad code object", "torn stack", "thread list", "out of memory",
};

const char *pywalk_error_name(int code)
{
    if (code < 0)
        code = -code;
    return code < PYWALK_ERR_COUNT ? error_names[code] : "unknown";
}

static int32_t span(int32_t a, int32_t b)
{
    return a > b ? a : b;
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
    w->pthread_tid_off = -1;
    w->hot_epoch = 1;
    w->main.one_group = w->retry.one_group = !nonblocking;
    const struct py_offsets *o = w->o;
    int32_t name_off = o->co_qualname >= 0 ? o->co_qualname : o->co_name;
    w->sig_lo = name_off < o->co_filename ? name_off : o->co_filename;
    if (o->co_linetable < w->sig_lo)
        w->sig_lo = o->co_linetable;
    w->sig_hi = span(span(name_off, o->co_filename), o->co_linetable) + 8;
    w->codes = calloc(CODE_CACHE_SLOTS, sizeof *w->codes);
    w->visited_cap = 4096;
    w->visited = calloc(w->visited_cap, sizeof *w->visited);
    w->visited_used = calloc(PYWALK_MAX_DEPTH + 1, sizeof *w->visited_used);
    w->chain = calloc(CHAIN_MAX, sizeof *w->chain);
    int ok = w->codes && w->visited && w->visited_used && w->chain;
    if (ok && o->frame_model == PYOFF_FRAMES_HEAP) {
        /* Frame objects are remembered only where frames are objects (≤3.10). */
        w->fs.addr = calloc(FSET_MAX, sizeof *w->fs.addr);
        w->fs.last = calloc(FSET_MAX, sizeof *w->fs.last);
        w->fs.item = calloc(FSET_MAX, sizeof *w->fs.item);
        w->fs.stamp = calloc(FSET_MAX, sizeof *w->fs.stamp);
        w->fs.slots = calloc(2 * FSET_MAX, sizeof *w->fs.slots);
        w->fs.tmp = calloc(FSET_MAX, sizeof *w->fs.tmp);
        ok = w->fs.addr && w->fs.last && w->fs.item && w->fs.stamp && w->fs.slots && w->fs.tmp;
    }
    if (!ok) {
        pywalk_free(w);
        return NULL;
    }
    return w;
}

static void code_cache_clear(struct pywalk *w)
{
    for (size_t i = 0; i < CODE_CACHE_SLOTS; i++) {
        free(w->codes[i].table);
        memset(&w->codes[i], 0, sizeof w->codes[i]);
    }
    w->ncodes = 0;
    w->nhot = 0;
    w->nspans = 0;
    w->hot_dirty = 1;
}

static void batch_free(struct batch *b)
{
    free(b->items);
    free(b->order);
    free(b->iov);
    free(b->buf);
}

void pywalk_free(struct pywalk *w)
{
    if (!w)
        return;
    if (w->codes)
        code_cache_clear(w);
    free(w->codes);
    for (size_t i = 0; i < MAX_CHUNKS; i++)
        free(w->chunks[i].buf);
    free(w->visited);
    free(w->visited_used);
    free(w->chain);
    batch_free(&w->main);
    batch_free(&w->retry);
    free(w->spec.t);
    free(w->fs.addr);
    free(w->fs.last);
    free(w->fs.item);
    free(w->fs.stamp);
    free(w->fs.slots);
    free(w->fs.tmp);
    free(w->hot);
    free(w->spans);
    free(w);
}

uint64_t pywalk_interp_head(struct pywalk *w)
{
    uint64_t head = 0;
    if (proc_mem_read(w->m, w->pi.interp_head_addr, &head, sizeof head) != 0)
        return 0;
    return head;
}

/* ---- small readers over local copies ---- */

static uint64_t get_u64(const uint8_t *buf, int32_t off)
{
    uint64_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

static int32_t get_i32(const uint8_t *buf, int32_t off)
{
    int32_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

/* ---- batched reads ---- */

static void batch_reset(struct batch *b)
{
    b->n = 0;
}

/* Plan to read LEN bytes at ADDR in GROUP. Returns the item's index, or
 * NO_ITEM when out of memory (the item is then simply not read). */
static size_t batch_add(struct batch *b, enum batch_group group, uint64_t addr, size_t len)
{
    if (len == 0 || len > UINT32_MAX || addr == 0)
        return NO_ITEM;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct batch_item *ni = realloc(b->items, cap * sizeof *ni);
        if (!ni)
            return NO_ITEM;
        b->items = ni;
        uint32_t *no = realloc(b->order, cap * sizeof *no);
        if (!no)
            return NO_ITEM;
        b->order = no;
        b->cap = cap;
    }
    b->items[b->n] = (struct batch_item){ .addr = addr, .len = (uint32_t)len,
                                          .group = b->one_group ? 0 : (uint16_t)group,
                                          .gap = group == G_CODE ? MERGE_GAP_CODE : MERGE_GAP };
    return b->n++;
}

static const struct batch_item *sort_base;

static int item_cmp(const void *pa, const void *pb)
{
    const struct batch_item *a = &sort_base[*(const uint32_t *)pa], *b = &sort_base[*(const uint32_t *)pb];
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* Order B's items by group, then address. Items come mostly in order
 * already (code objects and frames are listed sorted), so a group is
 * sorted only when it is not, and a short one by insertion. */
static void batch_sort(struct batch *b)
{
    size_t start[G_COUNT + 1] = { 0 };
    for (size_t i = 0; i < b->n; i++)
        start[b->items[i].group + 1]++;
    for (int g = 0; g < G_COUNT; g++)
        start[g + 1] += start[g];
    size_t fill[G_COUNT];
    memcpy(fill, start, sizeof fill);
    for (size_t i = 0; i < b->n; i++)
        b->order[fill[b->items[i].group]++] = (uint32_t)i;
    for (int g = 0; g < G_COUNT; g++) {
        uint32_t *o = b->order + start[g];
        size_t n = start[g + 1] - start[g], k = 1;
        while (k < n && b->items[o[k - 1]].addr <= b->items[o[k]].addr)
            k++;
        if (k >= n)
            continue;
        if (n > 32) {
            sort_base = b->items;
            qsort(o, n, sizeof *o, item_cmp);
            continue;
        }
        for (; k < n; k++) {
            uint32_t v = o[k];
            size_t j = k;
            while (j > 0 && b->items[o[j - 1]].addr > b->items[v].addr) {
                o[j] = o[j - 1];
                j--;
            }
            o[j] = v;
        }
    }
}

/* Read every planned item with as few ranges as possible, in group order.
 * Ranges of a group less than MERGE_GAP apart are read as one: a gap
 * shorter than a page cannot hide an unmapped page, so merging never
 * makes a read fail that would have succeeded. Returns 0 or negative errno
 * (then nothing of the batch may be used). */
static int batch_run(struct batch *b, struct proc_mem *m)
{
    static uint64_t stamps;
    b->stamp = ++stamps;
    b->niov = 0;
    if (b->n == 0)
        return 0;
    batch_sort(b);
    /* Merge in sorted order; each item notes its range (in OFF, for now)
     * and the range its offset in the buffer (in BUF, for now). */
    size_t niov = 0, total = 0;
    for (size_t k = 0; k < b->n; k++) {
        struct batch_item *it = &b->items[b->order[k]];
        struct proc_iov *last = niov ? &b->iov[niov - 1] : NULL;
        const struct batch_item *prev = k ? &b->items[b->order[k - 1]] : NULL;
        if (last && prev->group == it->group && it->addr <= last->addr + last->len + it->gap) {
            uint64_t end = it->addr + it->len;
            if (end > last->addr + last->len) {
                total += (size_t)(end - (last->addr + last->len));
                last->len = (size_t)(end - last->addr);
            }
        } else {
            if (niov == b->cap_iov) {
                size_t cap = b->cap_iov ? b->cap_iov * 2 : 64;
                struct proc_iov *nv = realloc(b->iov, cap * sizeof *nv);
                if (!nv)
                    return -ENOMEM;
                b->iov = nv;
                b->cap_iov = cap;
            }
            b->iov[niov++] = (struct proc_iov){ .addr = it->addr, .buf = (void *)(uintptr_t)total,
                                                .len = it->len };
            total += it->len;
        }
        it->off = niov - 1;
    }
    if (total > b->cap_buf) {
        uint8_t *nb = realloc(b->buf, total);
        if (!nb)
            return -ENOMEM;
        b->buf = nb;
        b->cap_buf = total;
    }
    for (size_t i = 0; i < b->n; i++) {
        struct batch_item *it = &b->items[i];
        const struct proc_iov *v = &b->iov[it->off];
        it->off = (size_t)(uintptr_t)v->buf + (size_t)(it->addr - v->addr);
    }
    for (size_t k = 0; k < niov; k++)
        b->iov[k].buf = b->buf + (size_t)(uintptr_t)b->iov[k].buf;
    b->niov = niov;
    return proc_mem_readv(m, b->iov, niov);
}

static const uint8_t *batch_ptr(const struct batch *b, size_t item)
{
    return item < b->n ? b->buf + b->items[item].off : NULL;
}


/* ---- code objects ---- */

static int read_name(struct pywalk *w, uint64_t addr, uint32_t *id)
{
    char buf[MAX_NAME];
    if (addr == 0)
        return -EINVAL;
    int rc = pystr_read(w->m, w->o, addr, buf, sizeof buf);
    if (rc < 0)
        return rc;
    *id = strtab_intern(w->st, buf, strlen(buf));
    return *id == STRTAB_NONE ? -ENOMEM : 0;
}

/* The code type is learned once, by name, then compared by address. */
static int is_code_object(struct pywalk *w, uint64_t type)
{
    if (w->code_type)
        return type == w->code_type;
    uint64_t name_ptr;
    char name[8] = { 0 };
    if (proc_mem_read(w->m, type + (uint64_t)w->o->tp_name, &name_ptr, 8) != 0 ||
        proc_mem_read(w->m, name_ptr, name, 5) != 0 || memcmp(name, "code", 5) != 0)
        return 0;
    w->code_type = type;
    return 1;
}

/* Whether the signature window B (a copy of the code object's bytes from
 * sig_lo on) still holds what C was decoded from. */
static int sig_matches(const struct pywalk *w, const struct code_entry *c, const uint8_t *b)
{
    const struct py_offsets *o = w->o;
    int32_t name_off = o->co_qualname >= 0 ? o->co_qualname : o->co_name;
    b -= w->sig_lo;
    return c->sig[0] == get_u64(b, name_off) && c->sig[1] == get_u64(b, o->co_filename) &&
           c->sig[2] == get_u64(b, o->co_linetable);
}

/* Note that C was used in this pass; code used lately is re-checked in the
 * next passes' batches. */
static void code_touch(struct pywalk *w, struct code_entry *c)
{
    c->last_used = w->pass;
    if (c->hot_mark != w->hot_epoch) {
        if (w->nhot == w->cap_hot) {
            size_t cap = w->cap_hot ? w->cap_hot * 2 : 256;
            uint64_t *nh = cap <= CODE_CACHE_SLOTS ? realloc(w->hot, cap * sizeof *nh) : NULL;
            if (!nh)
                return;
            w->hot = nh;
            w->cap_hot = cap;
        }
        /* Kept sorted, so batches need not sort it. */
        size_t at = w->nhot;
        while (at > 0 && w->hot[at - 1] > c->addr)
            at--;
        memmove(w->hot + at + 1, w->hot + at, (w->nhot - at) * sizeof *w->hot);
        w->hot[at] = c->addr;
        w->nhot++;
        c->hot_mark = w->hot_epoch;
        c->span = -1;
        w->hot_dirty = 1;
    }
}

static struct code_entry *code_lookup(struct pywalk *w, uint64_t addr, int *err)
{
    size_t mask = CODE_CACHE_SLOTS - 1;
    size_t i = (size_t)((addr >> 4) * 0x9E3779B97F4A7C15ull >> 20) & mask;
    while (w->codes[i].addr) {
        if (w->codes[i].addr == addr) {
            struct code_entry *hit = &w->codes[i];
            /* Freed code objects leave their address to new ones: re-check
             * an entry not checked lately, from the pass's batch when it
             * read the entry's signature, else all of a stack's in one read. */
            if (hit->checked != w->pass && w->now_ns - hit->checked_ns >= CODE_RECHECK_NS) {
                if (w->ab && hit->hot_mark == w->hot_epoch && hit->span >= 0 &&
                    (size_t)hit->span < w->nspans && w->spans[hit->span].stamp == w->ab->stamp) {
                    const uint8_t *b = batch_ptr(w->ab, w->spans[hit->span].item) + hit->span_off;
                    if (!sig_matches(w, hit, b)) {
                        w->code_changed = 1;
                        *err = PYWALK_ERR_BADCODE;
                        return NULL;
                    }
                    hit->checked = w->pass;
                    hit->checked_ns = w->now_ns;
                } else if (w->npending < MAX_PENDING) {
                    hit->checked = w->pass;
                    hit->checked_ns = w->now_ns;
                    w->pending[w->npending++] = addr;
                }
            }
            if (hit->last_used != w->pass)
                code_touch(w, hit);
            return hit;
        }
        i = (i + 1) & mask;
    }
    /* Miss: decode the object. A full cache is dropped whole, which bounds
     * memory and also retires entries for code objects that were freed. */
    if (w->ncodes >= CODE_CACHE_SLOTS / 2) {
        code_cache_clear(w);
        return code_lookup(w, addr, err);
    }
    const struct py_offsets *o = w->o;
    uint8_t hdr[1024];
    size_t need = (size_t)o->co_size;
    if (need < 64 || need > sizeof hdr) {
        need = 0;
        int32_t offs[] = { o->co_filename, o->co_name, o->co_qualname, o->co_firstlineno, o->co_linetable };
        for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++)
            if (offs[k] >= 0 && (size_t)offs[k] + 8 > need)
                need = (size_t)offs[k] + 8;
    }
    if ((addr & 7) || proc_mem_read(w->m, addr, hdr, need) != 0) {
        *err = PYWALK_ERR_READ;
        return NULL;
    }
    if (!is_code_object(w, get_u64(hdr, o->ob_type))) {
        *err = PYWALK_ERR_BADCODE;
        return NULL;
    }
    struct code_entry e = { .addr = addr, .checked = w->pass, .checked_ns = w->now_ns };
    int32_t name_off = o->co_qualname >= 0 ? o->co_qualname : o->co_name;
    e.sig[0] = get_u64(hdr, name_off);
    e.sig[1] = get_u64(hdr, o->co_filename);
    e.sig[2] = get_u64(hdr, o->co_linetable);
    if (read_name(w, get_u64(hdr, name_off), &e.name) != 0 ||
        read_name(w, get_u64(hdr, o->co_filename), &e.file) != 0) {
        *err = PYWALK_ERR_BADCODE;
        return NULL;
    }
    e.firstlineno = get_i32(hdr, o->co_firstlineno);
    if (o->co_code_adaptive >= 0) {
        /* ob_size of a 3.11+ code object counts its code units. */
        uint64_t units = get_u64(hdr, o->ob_size);
        e.nbytes = units < (1u << 28) ? (uint32_t)units * 2 : 0;
    }
    uint64_t tab = get_u64(hdr, o->co_linetable);
    size_t cap = 4096, len = 0;
    uint8_t *tbuf = malloc(cap);
    int rc = tbuf ? pybytes_read(w->m, o, tab, tbuf, cap, &len) : -ENOMEM;
    if (rc == -ENOSPC && len <= MAX_LINETABLE) {
        free(tbuf);
        cap = len;
        tbuf = malloc(cap);
        rc = tbuf ? pybytes_read(w->m, o, tab, tbuf, cap, &len) : -ENOMEM;
    }
    if (rc != 0) {
        free(tbuf);
        *err = rc == -ENOMEM ? PYWALK_ERR_NOMEM : PYWALK_ERR_BADCODE;
        return NULL;
    }
    e.table = tbuf;
    e.table_len = (uint32_t)len;
    for (int k = 0; k < LINE_MEMO; k++)
        e.memo_at[k] = -2;
    w->codes[i] = e;
    w->ncodes++;
    code_touch(w, &w->codes[i]);
    return &w->codes[i];
}

/* The cache entry for ADDR, or NULL; no side effects. */
static struct code_entry *code_find(struct pywalk *w, uint64_t addr)
{
    size_t mask = CODE_CACHE_SLOTS - 1;
    size_t i = (size_t)((addr >> 4) * 0x9E3779B97F4A7C15ull >> 20) & mask;
    while (w->codes[i].addr) {
        if (w->codes[i].addr == addr)
            return &w->codes[i];
        i = (i + 1) & mask;
    }
    return NULL;
}

static int u64_cmp(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return a < b ? -1 : a > b;
}

/* Every HOT_PASSES passes: keep listed only the code objects used in the
 * last HOT_PASSES passes, so the list does not grow with code no longer run. */
static void hot_rebuild(struct pywalk *w)
{
    w->hot_epoch++;
    w->nhot = 0;
    for (size_t i = 0; i < CODE_CACHE_SLOTS; i++) {
        struct code_entry *c = &w->codes[i];
        if (c->addr && c->last_used + HOT_PASSES >= w->pass && w->nhot < w->cap_hot) {
            w->hot[w->nhot++] = c->addr;
            c->hot_mark = w->hot_epoch;
        }
    }
    qsort(w->hot, w->nhot, sizeof *w->hot, u64_cmp);
    w->hot_dirty = 1;
}

/* Merge the signature windows of the listed code objects into SPANS. */
static void spans_rebuild(struct pywalk *w)
{
    int32_t siglen = w->sig_hi - w->sig_lo;
    w->nspans = 0;
    w->hot_dirty = 0;
    if (siglen <= 0 || siglen > SIG_MAX)
        return;
    for (size_t k = 0; k < w->nhot; k++) {
        struct code_entry *c = code_find(w, w->hot[k]);
        if (!c)
            continue;
        uint64_t at = c->addr + (uint64_t)w->sig_lo;
        struct code_span *last = w->nspans ? &w->spans[w->nspans - 1] : NULL;
        if (last && at >= last->addr && at <= last->addr + last->len + MERGE_GAP_CODE &&
            at + (uint64_t)siglen - last->addr <= UINT32_MAX) {
            if (at + (uint64_t)siglen > last->addr + last->len)
                last->len = (uint32_t)(at + (uint64_t)siglen - last->addr);
        } else {
            if (w->nspans == w->cap_spans) {
                size_t cap = w->cap_spans ? w->cap_spans * 2 : 16;
                struct code_span *ns = realloc(w->spans, cap * sizeof *ns);
                if (!ns) {
                    c->span = -1;
                    continue;
                }
                w->spans = ns;
                w->cap_spans = cap;
            }
            w->spans[w->nspans++] = (struct code_span){ .addr = at, .len = (uint32_t)siglen };
            last = &w->spans[w->nspans - 1];
        }
        c->span = (int32_t)(w->nspans - 1);
        c->span_off = (uint32_t)(at - last->addr);
    }
}

/* AT is the instruction offset in the unit the version's table uses. */
static int32_t code_line(struct pywalk *w, struct code_entry *c, int32_t at)
{
    for (int k = 0; k < LINE_MEMO; k++)
        if (c->memo_at[k] == at)
            return c->memo_line[k];
    int line;
    const struct py_offsets *o = w->o;
    if (at < 0)
        line = c->firstlineno;
    else if (o->linetable_kind == PYOFF_LT_LNOTAB || o->linetable_kind == PYOFF_LT_LNOTAB_U8)
        line = linetable_lnotab(c->table, c->table_len, c->firstlineno, at,
                                o->linetable_kind == PYOFF_LT_LNOTAB);
    else if (o->linetable_kind == PYOFF_LT_LINETABLE)
        line = linetable_310(c->table, c->table_len, c->firstlineno, at);
    else
        line = linetable_311(c->table, c->table_len, c->firstlineno, at);
    if (line < 0)
        line = 0;
    c->memo_at[c->memo_next] = at;
    c->memo_line[c->memo_next] = line;
    c->memo_next = (c->memo_next + 1) % LINE_MEMO;
    return line;
}

/* ---- cycle detection ---- */

static void visited_reset(struct pywalk *w)
{
    for (size_t i = 0; i < w->nvisited; i++)
        w->visited[w->visited_used[i]] = 0;
    w->nvisited = 0;
}

/* Returns 1 if ADDR was already seen in this walk. Callers insert at most
 * PYWALK_MAX_DEPTH addresses between resets. */
static int visited_check(struct pywalk *w, uint64_t addr)
{
    size_t mask = w->visited_cap - 1;
    size_t i = (size_t)((addr >> 3) * 0x9E3779B97F4A7C15ull >> 32) & mask;
    while (w->visited[i]) {
        if (w->visited[i] == addr)
            return 1;
        i = (i + 1) & mask;
    }
    if (w->nvisited > PYWALK_MAX_DEPTH)
        return 0;
    w->visited[i] = addr;
    w->visited_used[w->nvisited++] = (uint32_t)i;
    return 0;
}

static int push_frame(struct pywalk *w, struct sample *out, struct code_entry *c, int32_t at)
{
    struct frame f = {
        .name = c->name, .file = c->file, .line = code_line(w, c, at),
        .first_line = c->firstlineno, .kind = FRAME_PYTHON,
    };
    return sample_push_frame(out, &f) == 0 ? 0 : PYWALK_ERR_NOMEM;
}

/* Remember that the walk met frame ADDR after POS frames were pushed. */
static void chain_note(struct pywalk *w, uint64_t addr, size_t pos)
{
    if (w->nchain < CHAIN_MAX)
        w->chain[w->nchain++] = (struct chain_link){ .addr = addr, .pos = (uint32_t)pos };
}

/* ---- ≤3.10: heap frame objects ---- */

static size_t heap_hdr_len(const struct py_offsets *o)
{
    return (size_t)(span(span(o->f_back, o->f_code), span(span(o->f_lasti, o->f_lineno), o->f_trace)) + 8);
}

static size_t fset_hash(uint64_t addr)
{
    return (size_t)((addr >> 4) * 0x9E3779B97F4A7C15ull >> 32) & (2 * FSET_MAX - 1);
}

/* Index of frame ADDR in the set, or -1. */
static long fset_find(const struct fset *fs, uint64_t addr)
{
    for (size_t i = fset_hash(addr);; i = (i + 1) & (2 * FSET_MAX - 1)) {
        uint32_t k = fs->slots[i];
        if (k == 0)
            return -1;
        if (fs->addr[k - 1] == addr)
            return (long)(k - 1);
    }
}

static void fset_insert(struct fset *fs, size_t k)
{
    size_t i = fset_hash(fs->addr[k]);
    while (fs->slots[i])
        i = (i + 1) & (2 * FSET_MAX - 1);
    fs->slots[i] = (uint32_t)k + 1;
}

static const uint64_t *fset_sort_base;

static int fset_cmp(const void *pa, const void *pb)
{
    uint64_t a = fset_sort_base[*(const size_t *)pa], b = fset_sort_base[*(const size_t *)pb];
    return a < b ? -1 : a > b;
}

/* Every HOT_PASSES passes: forget frames not met in the last HOT_PASSES. */
static void fset_prune(struct pywalk *w)
{
    struct fset *fs = &w->fs;
    size_t k = 0;
    if (!fs->addr)
        return;
    memset(fs->slots, 0, 2 * FSET_MAX * sizeof *fs->slots);
    for (size_t i = 0; i < fs->n; i++) {
        if (fs->last[i] + HOT_PASSES < w->pass)
            continue;
        fs->addr[k] = fs->addr[i];
        fs->last[k] = fs->last[i];
        fs->stamp[k] = 0;
        k++;
    }
    fs->n = k;
    /* Sorted by address, so batches need not sort them. */
    for (size_t i = 0; i < fs->n; i++)
        fs->item[i] = i;
    fset_sort_base = fs->addr;
    qsort(fs->item, fs->n, sizeof *fs->item, fset_cmp);
    for (size_t i = 0; i < fs->n; i++)
        fs->tmp[i] = fs->addr[fs->item[i]];
    memcpy(fs->addr, fs->tmp, fs->n * sizeof *fs->addr);
    for (size_t i = 0; i < fs->n; i++)
        fs->tmp[i] = fs->last[fs->item[i]];
    memcpy(fs->last, fs->tmp, fs->n * sizeof *fs->last);
    for (size_t i = 0; i < fs->n; i++) {
        fs->item[i] = NO_ITEM;
        fset_insert(fs, i);
    }
}

/* Point *P at HDR bytes of the frame object at ADDR: from the batch when it
 * read them, else read now into SCRATCH. Either way the frame is
 * remembered for the next batches. */
static int heap_frame(struct pywalk *w, uint64_t addr, size_t hdr, uint8_t *scratch, const uint8_t **p)
{
    struct fset *fs = &w->fs;
    if (fs->addr) {
        long k = fset_find(fs, addr);
        if (k >= 0) {
            fs->last[k] = w->pass;
            if (w->ab && fs->stamp[k] == w->ab->stamp) {
                *p = batch_ptr(w->ab, fs->item[k]);
                return 0;
            }
        } else if (fs->n < FSET_MAX) {
            fs->addr[fs->n] = addr;
            fs->last[fs->n] = w->pass;
            fs->stamp[fs->n] = 0;
            fset_insert(fs, fs->n);
            fs->n++;
        }
    }
    w->late_reads = 1;
    if (proc_mem_read(w->m, addr, scratch, hdr) != 0)
        return -1;
    *p = scratch;
    return 0;
}

static int walk_heap_frames(struct pywalk *w, uint64_t frame, struct sample *out, uint32_t *flags)
{
    const struct py_offsets *o = w->o;
    size_t hdr = heap_hdr_len(o), mark = out->nframes;
    uint8_t buf[FRAME_HDR];
    int depth = 0;
    while (frame) {
        if (depth >= PYWALK_MAX_DEPTH) {
            *flags |= SAMPLE_TRUNCATED;
            break;
        }
        const uint8_t *f;
        if ((frame & 7) || hdr > FRAME_HDR || heap_frame(w, frame, hdr, buf, &f) != 0)
            return PYWALK_ERR_READ;
        if (visited_check(w, frame))
            return PYWALK_ERR_CYCLE;
        chain_note(w, frame, out->nframes - mark);
        int err = 0;
        struct code_entry *c = code_lookup(w, get_u64(f, o->f_code), &err);
        if (!c)
            return err;
        int32_t at = get_i32(f, o->f_lasti);
        int rc;
        if (get_u64(f, o->f_trace) != 0) {
            struct frame fr = { .name = c->name, .file = c->file, .line = get_i32(f, o->f_lineno),
                                .first_line = c->firstlineno, .kind = FRAME_PYTHON };
            rc = sample_push_frame(out, &fr) == 0 ? 0 : PYWALK_ERR_NOMEM;
        } else {
            rc = push_frame(w, out, c, at);
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
static int chunk_load(struct pywalk *w, uint64_t chunk, uint64_t top_ptr)
{
    const struct py_offsets *o = w->o;
    if (w->nchunks >= MAX_CHUNKS || chunk == 0 || (chunk & 7) || o->chunk_data <= 0 || o->chunk_data > 64)
        return -1;
    struct chunk_copy *cc = &w->chunks[w->nchunks];
    uint64_t data = chunk + (uint64_t)o->chunk_data;
    uint64_t len;   /* bytes from the chunk's start to its top */
    w->late_reads = 1;
    if (top_ptr >= data && top_ptr - chunk <= MAX_CHUNK_BYTES) {
        /* The newest chunk: the thread's own top pointer says how much is in
         * use, so header and frames come in a single read. */
        len = top_ptr - chunk;
    } else {
        uint8_t hdr[64];
        if (proc_mem_read(w->m, chunk, hdr, (size_t)o->chunk_data) != 0)
            return -1;
        len = (uint64_t)o->chunk_data + get_u64(hdr, o->chunk_top) * 8;
        if (len > MAX_CHUNK_BYTES)
            return -1;
    }
    if (cc->cap < len) {
        uint8_t *nb = realloc(cc->buf, len);
        if (!nb)
            return -1;
        cc->buf = nb;
        cc->cap = len;
    }
    if (proc_mem_read(w->m, chunk, cc->buf, len) != 0)
        return -1;
    if (get_u64(cc->buf, o->chunk_size) < len)
        return -1;      /* the top lies outside the chunk: torn or not a chunk */
    cc->base = chunk;
    cc->len = len;
    cc->data = cc->buf;
    cc->again = NULL;
    cc->previous = get_u64(cc->buf, o->chunk_previous);
    w->nchunks++;
    return 0;
}

/* Use LEN bytes at DATA, read from the chunk at BASE by a batch, as the
 * next older chunk copy; AGAIN is the batch's second copy, or NULL.
 * Returns 0, or -1 if they do not look like that chunk. */
static int chunk_view(struct pywalk *w, uint64_t base, const uint8_t *data, const uint8_t *again,
                      uint64_t len)
{
    const struct py_offsets *o = w->o;
    if (w->nchunks >= MAX_CHUNKS || !data || len < (uint64_t)o->chunk_data || o->chunk_data > 64 ||
        get_u64(data, o->chunk_size) < len)
        return -1;
    if (w->nchunks > 0 && w->chunks[w->nchunks - 1].previous != base)
        return -1;
    struct chunk_copy *cc = &w->chunks[w->nchunks++];
    cc->base = base;
    cc->len = len;
    cc->data = data;
    cc->again = again;
    cc->previous = get_u64(data, o->chunk_previous);
    return 0;
}

/* The copy of the interpreter frame at ADDR (IFSIZE bytes) among the chunks
 * held, or NULL. */
static const uint8_t *frame_in_chunks(const struct pywalk *w, uint64_t addr, size_t ifsize)
{
    for (size_t i = 0; i < w->nchunks; i++) {
        const struct chunk_copy *cc = &w->chunks[i];
        if (addr >= cc->base + (uint64_t)w->o->chunk_data && addr - cc->base + ifsize <= cc->len)
            return cc->data + (addr - cc->base);
    }
    return NULL;
}

/* Point *P at a local copy of the interpreter frame at ADDR (IFSIZE bytes). */
static int frame_bytes(struct pywalk *w, uint64_t addr, size_t ifsize, uint8_t *scratch, const uint8_t **p)
{
    for (;;) {
        if ((*p = frame_in_chunks(w, addr, ifsize)) != NULL)
            return 0;
        /* Not in the chunks copied so far: the next older chunk, if it could hold it. */
        if (w->nchunks == 0 || w->chunks[w->nchunks - 1].previous == 0 ||
            chunk_load(w, w->chunks[w->nchunks - 1].previous, 0) != 0)
            break;
    }
    /* Generator and coroutine frames live in their own objects, 3.12+ entry
     * shims on the C stack: from the batch if it read them, else now. */
    if (w->nxseen < SPEC_EXTRA)
        w->xseen[w->nxseen++] = addr;
    for (size_t k = 0; k < w->nx; k++) {
        if (w->xaddr[k] == addr) {
            *p = w->xdata[k];
            return 0;
        }
    }
    w->late_reads = 1;
    if (proc_mem_read(w->m, addr, scratch, ifsize) != 0)
        return -1;
    *p = scratch;
    return 0;
}

static size_t interp_frame_len(const struct py_offsets *o)
{
    return (size_t)span(span(span(o->if_code, o->if_previous), span(o->if_instr, o->if_owner)),
                        o->if_tlbc_index) + 8;
}

/* Free-threaded builds: a thread runs its own copy of the bytecode, copy
 * IDX of the code object C at CODE (co_tlbc->entries[IDX]), so INSTR is an
 * offset into that copy. Copies are remembered per code object; one is
 * used again only while INSTR falls inside it (a thread's index, and its
 * copy, can go to another thread after it ends). Returns the copy's start,
 * or 0 when it cannot be read (the line is then the first line). */
static uint64_t tlbc_base(struct pywalk *w, struct code_entry *c, uint64_t code, int32_t idx,
                          uint64_t instr)
{
    const struct py_offsets *o = w->o;
    for (int k = 0; k < TLBC_MEMO; k++)
        if (c->tlbc_idx[k] == idx && instr >= c->tlbc_at[k] && instr - c->tlbc_at[k] < c->nbytes)
            return c->tlbc_at[k];
    uint64_t arr = 0, size = 0, at = 0;
    w->late_reads = 1;
    if (idx < 0 || idx >= MAX_TLBC_INDEX || o->co_tlbc < 0 || o->tlbc_entries < 0 ||
        proc_mem_read(w->m, code + (uint64_t)o->co_tlbc, &arr, 8) != 0 || arr == 0 || (arr & 7) ||
        proc_mem_read(w->m, arr, &size, 8) != 0 || (uint64_t)idx >= size ||
        proc_mem_read(w->m, arr + (uint64_t)o->tlbc_entries + 8 * (uint64_t)idx, &at, 8) != 0 || at == 0)
        return 0;
    c->tlbc_idx[c->tlbc_next] = idx;
    c->tlbc_at[c->tlbc_next] = at;
    c->tlbc_next = (c->tlbc_next + 1) % TLBC_MEMO;
    return at;
}

/* Walk from FRAME through the chunks already held (w->chunks), loading
 * older ones and reading frames outside them as needed. */
static int walk_interp_frames(struct pywalk *w, uint64_t frame, struct sample *out, uint32_t *flags)
{
    const struct py_offsets *o = w->o;
    size_t ifsize = interp_frame_len(o), mark = out->nframes;
    uint8_t scratch[FRAME_HDR];
    if (ifsize > FRAME_HDR)
        return PYWALK_ERR_READ;
    /* Frames on a data stack lie below their callees, so a walk usually
     * meets strictly falling addresses, which cannot repeat: the cycle
     * check's table is filled only once an address does not fall. */
    uint64_t lowest = UINT64_MAX;
    int hashed = 0;
    /* Every frame visited counts, shims included, so a loop of shims ends too. */
    for (int steps = 0; frame; steps++) {
        if (steps >= PYWALK_MAX_DEPTH) {
            *flags |= SAMPLE_TRUNCATED;
            break;
        }
        const uint8_t *f;
        if ((frame & 7) || frame_bytes(w, frame, ifsize, scratch, &f) != 0)
            return PYWALK_ERR_READ;
        if (!hashed && frame < lowest) {
            lowest = frame;
        } else {
            for (size_t k = 0; !hashed && k < w->nchain; k++)
                visited_check(w, w->chain[k].addr);
            hashed = 1;
            if (visited_check(w, frame))
                return PYWALK_ERR_CYCLE;
        }
        chain_note(w, frame, out->nframes - mark);
        uint64_t prev = get_u64(f, o->if_previous);
        int owner = o->if_owner >= 0 ? f[o->if_owner] : 0;
        if (owner > o->owner_max)
            return PYWALK_ERR_TORN;
        if (owner == o->owner_cstack) {
            if (w->nxseen > 0 && w->xseen[w->nxseen - 1] == frame)
                w->xshims |= 1u << (w->nxseen - 1);
            frame = prev;
            continue;
        }
        uint64_t code = get_u64(f, o->if_code) & ~(uint64_t)o->stackref_tag_bits;
        int err = 0;
        struct code_entry *c = code_lookup(w, code, &err);
        if (!c) {
            /* 3.13+: f_executable may be something other than code (a shim); skip it. */
            if (err == PYWALK_ERR_BADCODE && o->exec_may_be_other && !w->code_changed) {
                frame = prev;
                continue;
            }
            return err;
        }
        uint64_t instr = get_u64(f, o->if_instr);
        uint64_t base = code + (uint64_t)o->co_code_adaptive;
        if (o->if_tlbc_index >= 0) {
            int32_t idx = get_i32(f, o->if_tlbc_index);
            if (idx != 0)
                base = tlbc_base(w, c, code, idx, instr);
        }
        int32_t at = instr >= base && instr - base < (1u << 30) ? (int32_t)((instr - base) / 2) : -1;
        int rc = push_frame(w, out, c, at);
        if (rc)
            return rc;
        frame = prev;
    }
    return 0;
}

/* Whether following previous/f_back links from FROM, through what is
 * already held (chunk copies, or frame objects in the batch), reaches TO.
 * Reads nothing. */
static int chain_reaches(struct pywalk *w, uint64_t from, uint64_t to)
{
    const struct py_offsets *o = w->o;
    for (int steps = 0; from && steps < CHAIN_MAX; steps++) {
        if (from == to)
            return 1;
        const uint8_t *f = NULL;
        if (o->frame_model == PYOFF_FRAMES_HEAP) {
            long k = w->fs.addr ? fset_find(&w->fs, from) : -1;
            if (k >= 0 && w->ab && w->fs.stamp[k] == w->ab->stamp)
                f = batch_ptr(w->ab, w->fs.item[k]);
            if (!f)
                return 0;
            from = get_u64(f, o->f_back);
        } else {
            f = frame_in_chunks(w, from, interp_frame_len(o));
            for (size_t k = 0; !f && k < w->nx; k++)
                if (w->xaddr[k] == from)
                    f = w->xdata[k];
            if (!f)
                return 0;
            from = get_u64(f, o->if_previous);
        }
    }
    return 0;
}

/* ---- threads ---- */

/* Before 3.11 a thread is known by its pthread_t: the address of glibc's
 * struct pthread, whose tid field sits at a build-specific offset. Find the
 * offset once: the one where every thread's structure holds a distinct tid
 * of the process. Other words can hold a tid by chance (lock owners), which
 * is why all threads must agree. */
#define PTHREAD_SCAN_WORDS 384      /* int32 words of struct pthread examined */
#define PTHREAD_SCAN_THREADS 32     /* threads used to confirm an offset */

static int tid_known(const struct proc_tasks *tasks, int32_t v)
{
    for (size_t k = 0; k < tasks->n; k++)
        if (tasks->tid[k] == v)
            return 1;
    return 0;
}

static void discover_tid_offset(struct pywalk *w)
{
    const struct py_offsets *o = w->o;
    uint64_t ids[PTHREAD_SCAN_THREADS];
    size_t n = 0;
    uint64_t interp = pywalk_interp_head(w), ts = 0;
    if (!interp || proc_mem_read(w->m, interp + (uint64_t)o->is_tstate_head, &ts, 8) != 0)
        return;
    for (int guard = 0; ts && n < PTHREAD_SCAN_THREADS && guard < MAX_THREADS; guard++) {
        uint64_t id = 0;
        if (proc_mem_read(w->m, ts + (uint64_t)o->ts_thread_id, &id, 8) != 0 ||
            proc_mem_read(w->m, ts + (uint64_t)o->ts_next, &ts, 8) != 0)
            return;
        if (id && !(id & 7))
            ids[n++] = id;
    }
    struct proc_tasks tasks = { 0 };
    if (n == 0 || proc_tasks_list(w->pi.pid, &tasks) != 0)
        return;
    int32_t (*words)[PTHREAD_SCAN_WORDS] = calloc(n, sizeof *words);
    size_t have = 0;
    for (size_t i = 0; words && i < n; i++)
        if (proc_mem_read(w->m, ids[i], words[have], sizeof words[have]) == 0)
            have++;
    int found = -2;
    for (size_t off = 2; words && have && off < PTHREAD_SCAN_WORDS && found < 0; off++) {
        int ok = 1;
        for (size_t i = 0; i < have && ok; i++) {
            int32_t v = words[i][off];
            ok = v > 0 && tid_known(&tasks, v);
            for (size_t j = 0; j < i && ok; j++)
                ok = words[j][off] != v;
        }
        if (ok)
            found = (int)(off * sizeof(int32_t));
    }
    free(words);
    proc_tasks_free(&tasks);
    /* A thread ending mid-scan can spoil it: try a few more times, then give up. */
    w->pthread_tid_off = found >= 0 ? found : ++w->tid_tries < 8 ? -1 : -2;
}

pid_t pywalk_thread_tid(struct pywalk *w, uint64_t thread_id)
{
    if (thread_id == 0 || (thread_id & 7))
        return 0;
    if (w->pthread_tid_off == -1)
        discover_tid_offset(w);
    if (w->pthread_tid_off < 0)
        return 0;
    int32_t tid = 0;
    if (proc_mem_read(w->m, thread_id + (uint64_t)w->pthread_tid_off, &tid, sizeof tid) != 0)
        return 0;
    return tid > 0 ? tid : 0;
}

/* The fields of an interpreter state a pass needs, read in one go. */
struct interp_view {
    uint64_t next;          /* next interpreter */
    uint64_t tstate_head;   /* first thread state */
    uint64_t holder;        /* thread state holding the GIL, 0 if none */
    uint64_t gil;           /* 3.12: the GIL structure it points to, else 0 */
};

#define INTERP_WINDOW 2048  /* widest span of those fields in any layout */

/* The window [*LO, *HI) of an interpreter state holding those fields.
 * Returns 0, or -1 when it is wider than INTERP_WINDOW. */
static int interp_window(const struct py_offsets *o, int32_t *lo, int32_t *hi)
{
    /* 3.13 has both the GIL pointer and the GIL inside the state: use the latter. */
    int inline_gil = o->is_gil_locked >= 0;
    int32_t offs[] = { o->is_next, o->is_tstate_head, inline_gil ? o->is_gil_locked : o->is_gil_ptr,
                       inline_gil ? o->is_gil_last_holder : PYOFF_NONE };
    *lo = INT32_MAX;
    *hi = 0;
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        if (offs[i] < 0)
            continue;
        if (offs[i] < *lo)
            *lo = offs[i];
        if (offs[i] + 8 > *hi)
            *hi = offs[i] + 8;
    }
    return *hi - *lo > INTERP_WINDOW ? -1 : 0;
}

/* The window [*LO, *HI) of a GIL structure holding {locked, last_holder}. */
static void gil_window(const struct py_offsets *o, int32_t *lo, int32_t *hi)
{
    *lo = o->gil_locked < o->gil_last_holder ? o->gil_locked : o->gil_last_holder;
    *hi = span(o->gil_locked + 4, o->gil_last_holder + 8);
}

/* The GIL holder from a copy B of a GIL window starting at offset LO. */
static uint64_t gil_holder_of(const struct py_offsets *o, const uint8_t *b, int32_t lo)
{
    /* last_holder is not cleared on release: only a locked GIL has a holder. */
    if (get_i32(b, o->gil_locked - lo) == 0)
        return 0;
    return get_u64(b, o->gil_last_holder - lo);
}

/* Read a GIL's {last_holder, locked} pair (both live within one small window). */
static uint64_t gil_holder_at(struct pywalk *w, uint64_t base)
{
    int32_t lo, hi;
    uint8_t buf[64];
    gil_window(w->o, &lo, &hi);
    if (hi - lo > (int32_t)sizeof buf || proc_mem_read(w->m, base + (uint64_t)lo, buf, (size_t)(hi - lo)) != 0)
        return 0;
    return gil_holder_of(w->o, buf, lo);
}

/* Fill V from a copy B of an interpreter state (B points at offset 0). */
static void interp_fields(struct pywalk *w, const uint8_t *b, struct interp_view *v)
{
    const struct py_offsets *o = w->o;
    v->next = get_u64(b, o->is_next);
    v->tstate_head = get_u64(b, o->is_tstate_head);
    v->holder = 0;
    v->gil = 0;
    if (w->pi.tstate_current_addr)
        return;     /* the caller reads the holder from the runtime */
    if (o->is_gil_locked >= 0) {
        if (get_i32(b, o->is_gil_locked))
            v->holder = get_u64(b, o->is_gil_last_holder);
    } else if (o->is_gil_ptr >= 0) {
        v->gil = get_u64(b, o->is_gil_ptr);
    }
}

static int read_interp(struct pywalk *w, uint64_t interp, struct interp_view *v)
{
    int32_t lo, hi;
    uint8_t buf[INTERP_WINDOW];
    if (interp_window(w->o, &lo, &hi) != 0 || (interp & 7) ||
        proc_mem_read(w->m, interp + (uint64_t)lo, buf, (size_t)(hi - lo)) != 0)
        return -1;
    interp_fields(w, buf - lo, v);
    if (w->pi.tstate_current_addr) {
        if (proc_mem_read(w->m, w->pi.tstate_current_addr, &v->holder, 8) != 0)
            v->holder = 0;
    } else if (v->gil) {
        v->holder = gil_holder_at(w, v->gil);
    }
    return 0;
}

/* The current top frame of a thread state copy. */
static int top_frame(struct pywalk *w, const uint8_t *ts, uint64_t *frame)
{
    const struct py_offsets *o = w->o;
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
    return proc_mem_read(w->m, cframe + (uint64_t)o->cf_current_frame, frame, 8) == 0 ? 0 : -1;
}

/* Re-read the signature of the code objects this walk used from the cache.
 * Returns 0 when all still match, 1 when one changed (the cache is then
 * dropped), -1 when they could not be read. */
static int check_pending(struct pywalk *w)
{
    const struct py_offsets *o = w->o;
    size_t n = w->npending, len = (size_t)(w->sig_hi - w->sig_lo);
    int32_t name_off = o->co_qualname >= 0 ? o->co_qualname : o->co_name;
    if (n == 0)
        return 0;
    if (len > SIG_MAX)
        return -1;
    uint8_t *buf = malloc(n * len);
    struct proc_iov *iov = malloc(n * sizeof *iov);
    int rc = -1;
    if (buf && iov) {
        for (size_t i = 0; i < n; i++)
            iov[i] = (struct proc_iov){ .addr = w->pending[i] + (uint64_t)w->sig_lo, .buf = buf + i * len, .len = len };
        if (proc_mem_readv(w->m, iov, n) == 0) {
            rc = 0;
            for (size_t i = 0; i < n && rc == 0; i++) {
                int err = 0;
                const uint8_t *b = buf + i * len - w->sig_lo;
                struct code_entry *c = code_lookup(w, w->pending[i], &err);
                if (!c || c->sig[0] != get_u64(b, name_off) || c->sig[1] != get_u64(b, o->co_filename) ||
                    c->sig[2] != get_u64(b, o->co_linetable))
                    rc = 1;
            }
        }
    }
    free(buf);
    free(iov);
    w->npending = 0;
    if (rc == 1)
        code_cache_clear(w);
    return rc;
}

/* Bytes of a thread state copied per pass. */
static size_t ts_len(const struct py_offsets *o)
{
    size_t n = (size_t)o->ts_size;
    return n == 0 || n > 4096 ? 4096 : n;
}

/* Bytes of a thread state that hold its top-frame fields (for re-reads). */
static size_t ts_top_len(const struct py_offsets *o)
{
    return (size_t)span(span(o->ts_frame, o->ts_current_frame),
                        span(o->ts_cframe, span(o->ts_datastack_chunk, o->ts_datastack_top))) + 8;
}

/* Re-read the current top frame of the thread state at TSTATE. */
static int read_top(struct pywalk *w, uint64_t tstate, uint64_t *frame)
{
    uint8_t again[FRAME_HDR * 4];
    size_t len = ts_top_len(w->o);
    if (len > sizeof again || proc_mem_read(w->m, tstate, again, len) != 0)
        return -1;
    return top_frame(w, again, frame);
}

/* Start the chunk copies of a walk from a thread state copy TS: load the
 * newest chunk (3.11+; nothing before). */
static void chunks_start(struct pywalk *w, const uint8_t *ts)
{
    const struct py_offsets *o = w->o;
    w->nchunks = 0;
    w->nx = 0;
    if (o->ts_datastack_chunk < 0)
        return;
    chunk_load(w, get_u64(ts, o->ts_datastack_chunk), get_u64(ts, o->ts_datastack_top));
}

static int walk_from(struct pywalk *w, uint64_t frame, struct sample *out, uint32_t *flags)
{
    visited_reset(w);
    w->nchain = 0;
    w->nxseen = 0;
    w->xshims = 0;
    return w->o->frame_model == PYOFF_FRAMES_HEAP ? walk_heap_frames(w, frame, out, flags)
                               : walk_interp_frames(w, frame, out, flags);
}

/* The slow path's walk of one thread: plain reads; non-blocking, the stack
 * counts only if the top frame did not move meanwhile. */
static int walk_thread(struct pywalk *w, uint64_t tstate, const uint8_t *ts, struct sample *out,
                       uint32_t *flags)
{
    const struct py_offsets *o = w->o;
    uint8_t again[FRAME_HDR * 4];   /* a fresh copy of the thread state, for retries */
    size_t tslen = ts_top_len(o);
    for (int attempt = 0;; attempt++) {
        uint64_t frame;
        size_t mark = out->nframes;
        if (top_frame(w, ts, &frame) != 0)
            return PYWALK_ERR_READ;
        chunks_start(w, ts);
        int rc = walk_from(w, frame, out, flags);
        if (rc == 0) {
            int changed = check_pending(w);
            if (changed != 0) {
                out->nframes = mark;
                if (changed < 0 || attempt >= TORN_RETRIES)
                    return PYWALK_ERR_READ;
                continue;
            }
        }
        w->npending = 0;
        if (!w->nonblocking)
            return rc;
        /* Running target: the stack is good only if the top frame did not move meanwhile. */
        uint64_t frame2 = 0;
        int fresh = tslen <= sizeof again && proc_mem_read(w->m, tstate, again, tslen) == 0;
        int stable = fresh && top_frame(w, again, &frame2) == 0 && frame2 == frame;
        if (rc == 0 && stable)
            return 0;
        out->nframes = mark;
        if (attempt >= TORN_RETRIES || !fresh)
            return rc ? rc : PYWALK_ERR_TORN;
        ts = again;
    }
}

/* ---- learning for the next batch ---- */

static struct spec_thread *spec_thread_at(struct spec *sp, size_t i)
{
    if (i >= sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 16;
        while (cap <= i)
            cap *= 2;
        struct spec_thread *nt = realloc(sp->t, cap * sizeof *nt);
        if (!nt)
            return NULL;
        memset(nt + sp->cap, 0, (cap - sp->cap) * sizeof *nt);
        sp->t = nt;
        sp->cap = cap;
    }
    return &sp->t[i];
}

/* Note what the walk of thread ST (state copy TS, sample T) used: its frame
 * pointer's home and its chunks. */
static void spec_learn(struct pywalk *w, struct spec_thread *st, uint64_t tstate, const uint8_t *ts,
                       const struct thread_sample *t)
{
    const struct py_offsets *o = w->o;
    if (st->tstate != tstate) {
        memset(st, 0, sizeof *st);
        st->tstate = tstate;
    }
    st->thread_id = t->thread_id;
    st->tid = t->tid;
    st->cframe = o->ts_cframe >= 0 ? get_u64(ts, o->ts_cframe) : 0;
    if (o->ts_datastack_chunk < 0)
        return;
    memcpy(st->extra, w->xseen, w->nxseen * sizeof *w->xseen);
    st->shims = w->xshims;
    st->nextra = (uint32_t)w->nxseen;
    uint64_t chunk = get_u64(ts, o->ts_datastack_chunk), top = get_u64(ts, o->ts_datastack_top);
    if (chunk != st->chunk[0])
        st->hwm_cur = st->hwm_prev = 0;
    uint64_t used = top > chunk && top - chunk <= MAX_CHUNK_BYTES ? top - chunk : 0;
    if (used > st->hwm_cur)
        st->hwm_cur = (uint32_t)used;
    st->nchunks = 0;
    for (size_t k = 0; k < w->nchunks && k < SPEC_CHUNKS; k++) {
        const struct chunk_copy *cc = &w->chunks[k];
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
            if (len > MAX_CHUNK_BYTES)
                len = MAX_CHUNK_BYTES;
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
static void spec_upkeep(struct pywalk *w)
{
    hot_rebuild(w);
    fset_prune(w);
    for (size_t i = 0; i < w->spec.n; i++) {
        w->spec.t[i].hwm_prev = w->spec.t[i].hwm_cur;
        w->spec.t[i].hwm_cur = 0;
    }
}

/* Append thread T, whose frames are the last ones in OUT, to OUT.
 * Returns 0, or -1 when out of memory. */
static int push_walked(struct sample *out, struct thread_sample *t)
{
    t->nframes = (uint32_t)(out->nframes - t->first);
    return sample_push_thread(out, t);
}

/* ---- the slow path: one read per step ---- */

static int slow_pass(struct pywalk *w, struct sample *out, uint64_t *errors)
{
    const struct py_offsets *o = w->o;
    struct spec *sp = &w->spec;
    uint64_t interp = 0;
    int added = 0, learn = 1;
    w->ab = NULL;
    sp->valid = 0;
    sp->n = 0;
    if (proc_mem_read(w->m, w->pi.interp_head_addr, &interp, sizeof interp) != 0)
        return -PYWALK_ERR_READ;
    size_t tslen = ts_len(o);
    uint8_t ts[4096];
    for (int ni = 0; interp && ni < MAX_INTERPS; ni++) {
        struct interp_view iv;
        if (read_interp(w, interp, &iv) != 0)
            return -PYWALK_ERR_THREADS;
        if (ni == 0) {
            sp->interp = interp;
            sp->gil = iv.gil;
        }
        learn &= iv.next == 0;      /* the fast path knows one interpreter only */
        uint64_t tstate = iv.tstate_head, holder = iv.holder, next_interp = iv.next;
        for (int nt = 0; tstate; nt++) {
            if (nt >= MAX_THREADS || (tstate & 7) || proc_mem_read(w->m, tstate, ts, tslen) != 0)
                return added ? added : -PYWALK_ERR_THREADS;
            struct thread_sample t = { .pid = w->pi.pid };
            t.thread_id = get_u64(ts, o->ts_thread_id);
            if (o->ts_native_thread_id >= 0)
                t.tid = (pid_t)get_u64(ts, o->ts_native_thread_id);
            else
                t.tid = pywalk_thread_tid(w, t.thread_id);
            if (tstate == holder)
                t.flags |= SAMPLE_GIL;
            t.first = (uint32_t)out->nframes;
            int rc = walk_thread(w, tstate, ts, out, &t.flags);
            if (rc == 0) {
                if (push_walked(out, &t) != 0)
                    return -PYWALK_ERR_NOMEM;
                added++;
            } else {
                out->nframes = t.first;
                if (errors)
                    errors[rc]++;
            }
            struct spec_thread *st = learn ? spec_thread_at(sp, sp->n) : NULL;
            if (st) {
                spec_learn(w, st, tstate, ts, &t);
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
    const struct spec *sp = &w->spec;
    uint8_t ts[4096];
    size_t tslen = ts_len(o);
    struct interp_view iv;
    int added = 0;

    /* Where each thread's state lives is known from the last pass only
     * when it saw a single interpreter and learned every thread. */
    if (!sp->valid || ntids == 0 || tslen > sizeof ts || read_interp(w, sp->interp, &iv) != 0)
        return -PYWALK_ERR_THREADS;
    w->ab = NULL;
    for (size_t k = 0; k < ntids; k++) {
        const struct spec_thread *st = NULL;
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
        if (t.thread_id != st->thread_id ||
            (o->ts_native_thread_id >= 0 && (pid_t)get_u64(ts, o->ts_native_thread_id) != st->tid))
            continue;
        if (st->tstate == iv.holder)
            t.flags |= SAMPLE_GIL;
        t.first = (uint32_t)out->nframes;
        int rc = walk_thread(w, st->tstate, ts, out, &t.flags);
        if (rc != 0) {
            out->nframes = t.first;
            if (errors)
                errors[rc]++;
            continue;
        }
        if (push_walked(out, &t) != 0)
            return -PYWALK_ERR_NOMEM;
        added++;
    }
    return added;
}

/* ---- the fast path: one batched read per pass ---- */

/* The address of the word a thread's top frame pointer is read from
 * (T1, T2), or 0 when not known. */
static uint64_t top_word(const struct pywalk *w, const struct spec_thread *st)
{
    const struct py_offsets *o = w->o;
    if (o->frame_model == PYOFF_FRAMES_HEAP)
        return st->tstate + (uint64_t)o->ts_frame;
    if (o->ts_current_frame >= 0)
        return st->tstate + (uint64_t)o->ts_current_frame;
    return st->cframe ? st->cframe + (uint64_t)o->cf_current_frame : 0;
}

/* Add thread ST's ranges to B. Returns 0, or -1 when out of memory. */
static int plan_thread(struct pywalk *w, struct batch *b, struct spec_thread *st)
{
    const struct py_offsets *o = w->o;
    st->it_ts = batch_add(b, G_LIST, st->tstate, ts_len(o));
    st->it_top = NO_ITEM;
    if (o->ts_cframe >= 0 && st->cframe)
        st->it_top = batch_add(b, G_TOP, top_word(w, st), 8);
    /* The second copy guards against a stack moving while it is read: a
     * thread that has not moved lately (an idle one) is read once, which
     * matters with many threads. */
    /* The data stack's chunk and top are read together, as one range. */
    int twice = w->nonblocking && o->ts_datastack_chunk >= 0 && st->quiet < QUIET_PASSES &&
                o->ts_datastack_top == o->ts_datastack_chunk + 8;
    /* datastack_top follows datastack_chunk in every 3.11–3.13 PyThreadState. */
    st->it_mid = twice ? batch_add(b, G_MID, st->tstate + (uint64_t)o->ts_datastack_chunk, 16) : NO_ITEM;
    for (uint32_t k = 0; k < st->nchunks; k++) {
        st->it_chunk[k] = batch_add(b, G_DATA, st->chunk[k], st->chunk_len[k]);
        st->it_chunk2[k] = twice ? batch_add(b, G_AGAIN, st->chunk[k], st->chunk_len[k]) : NO_ITEM;
    }
    /* Frames outside the chunks are below T1 (an entry shim, a suspended
     * generator): read with it, they merge with the _PyCFrame beside a shim. */
    for (uint32_t k = 0; k < st->nextra; k++) {
        st->it_extra[k] = batch_add(b, G_TOP, st->extra[k], interp_frame_len(o));
        /* An entry shim lives as long as its C call and never changes meanwhile. */
        st->it_extra2[k] = twice && !(st->shims & (1u << k))
                               ? batch_add(b, G_AGAIN, st->extra[k], interp_frame_len(o)) : NO_ITEM;
    }
    st->it_after = NO_ITEM;
    if (w->nonblocking && top_word(w, st))
        st->it_after = batch_add(b, G_AFTER, top_word(w, st), 8);
    return st->it_ts == NO_ITEM ? -1 : 0;
}

/* Add every remembered frame object (≤3.10) to B. */
static void plan_frames(struct pywalk *w, struct batch *b)
{
    struct fset *fs = &w->fs;
    size_t hdr = heap_hdr_len(w->o);
    for (size_t k = 0; fs->addr && k < fs->n; k++) {
        fs->item[k] = batch_add(b, G_DATA, fs->addr[k], hdr);
        fs->stamp[k] = 0;
    }
}

/* After B ran: its frame objects and code signatures may now be used. */
static void stamp_batch(struct pywalk *w, const struct batch *b, int code)
{
    struct fset *fs = &w->fs;
    for (size_t k = 0; fs->addr && k < fs->n; k++)
        fs->stamp[k] = fs->item[k] != NO_ITEM ? b->stamp : 0;
    for (size_t k = 0; code && k < w->nspans; k++)
        w->spans[k].stamp = w->spans[k].item != NO_ITEM ? b->stamp : 0;
}

/* After a batch B that read the code signatures: check every listed code
 * object at once, not only those this pass's walks meet, so that later
 * passes need no reads of their own for them. Returns 0, or -1 when one no
 * longer matches (the caller drops the cache). */
static int verify_hot(struct pywalk *w, const struct batch *b)
{
    for (size_t k = 0; k < w->nhot; k++) {
        struct code_entry *c = code_find(w, w->hot[k]);
        if (!c || c->span < 0 || (size_t)c->span >= w->nspans || w->spans[c->span].item == NO_ITEM ||
            w->spans[c->span].stamp != b->stamp)
            continue;
        if (!sig_matches(w, c, batch_ptr(b, w->spans[c->span].item) + c->span_off))
            return -1;
        c->checked = w->pass;
        c->checked_ns = w->now_ns;
    }
    return 0;
}

static uint64_t batch_word(const struct batch *b, size_t item)
{
    const uint8_t *p = batch_ptr(b, item);
    return p ? get_u64(p, 0) : 0;
}

/* The first and second copies of the frame at ADDR held, or 0. */
static int frame_copies(const struct pywalk *w, uint64_t addr, size_t ifsize, const uint8_t **a,
                        const uint8_t **b)
{
    for (size_t i = 0; i < w->nchunks; i++) {
        const struct chunk_copy *cc = &w->chunks[i];
        if (cc->again && addr >= cc->base + (uint64_t)w->o->chunk_data && addr - cc->base + ifsize <= cc->len) {
            *a = cc->data + (addr - cc->base);
            *b = cc->again + (addr - cc->base);
            return 1;
        }
    }
    for (size_t k = 0; k < w->nx; k++) {
        if (w->xaddr[k] == addr && w->xagain[k]) {
            *a = w->xdata[k];
            *b = w->xagain[k];
            return 1;
        }
    }
    return 0;
}

/* Whether the reported frames, chain links FIRST on, read the same in both
 * copies (all of each frame but the top one, whose code and caller only),
 * and the top one lay below the data stack's top between them. */
static int same_twice(const struct pywalk *w, size_t first)
{
    const struct py_offsets *o = w->o;
    size_t ifsize = interp_frame_len(o);
    if (w->mid_ok && first < w->nchain && w->nchunks > 0 && w->chunks[0].again) {
        const struct chunk_copy *cc = &w->chunks[0];
        uint64_t f = w->chain[first].addr;
        if (w->mid_chunk != cc->base)
            return 0;       /* it moved to another chunk meanwhile */
        if (f >= cc->base && f - cc->base < cc->len && f + ifsize > w->mid_top)
            return 0;
    }
    for (size_t k = first; k < w->nchain; k++) {
        const uint8_t *a, *b;
        if (!frame_copies(w, w->chain[k].addr, ifsize, &a, &b))
            continue;   /* read apart from the batch; T2 was read after it */
        if (k == first ? get_u64(a, o->if_code) != get_u64(b, o->if_code) ||
                             get_u64(a, o->if_previous) != get_u64(b, o->if_previous)
                       : memcmp(a, b, ifsize) != 0)
            return 0;
    }
    return 1;
}

/* Non-blocking: decide whether the walk from T1 (its frames pushed from MARK
 * on, its chain in w->chain) is a stack that existed, given T2, the top
 * frame read after it. Keeps what is proven and returns 0, or returns -1. */
static int settle(struct pywalk *w, uint64_t t1, uint64_t t2, struct sample *out, size_t mark)
{
    size_t first = 0;
    if (t2 != t1) {
        for (first = 0; first < w->nchain && w->chain[first].addr != t2; first++)
            ;
        /* Neither did the stack shrink to T2 (T2 on the chain) nor grow
         * from T1 (T1 on T2's chain): it moved both ways. */
        if (first == w->nchain && !(t1 && chain_reaches(w, t2, t1)))
            return -1;
        if (first == w->nchain)
            first = 0;
    }
    if (!same_twice(w, first))
        return -1;
    if (first > 0) {
        /* The stack shrank to T2: T2 and its callers were live all along. */
        size_t pos = w->chain[first].pos, n = out->nframes - mark;
        memmove(out->frames + mark, out->frames + mark + pos, (n - pos) * sizeof *out->frames);
        out->nframes = mark + (n - pos);
    }
    return 0;
}

/* Walk thread ST from batch B. Returns 0 with T filled and its frames in
 * OUT, an enum pywalk_error, or FAST_MISS. */
static int fast_thread(struct pywalk *w, struct spec_thread *st, const struct batch *b, uint64_t holder,
                       struct sample *out, struct thread_sample *t)
{
    const struct py_offsets *o = w->o;
    const uint8_t *ts = batch_ptr(b, st->it_ts);
    uint64_t t1 = 0, t2 = 0, top_prev = st->last_top;
    w->ab = b;
    w->late_reads = 0;
    *t = (struct thread_sample){ .pid = w->pi.pid };
    t->thread_id = get_u64(ts, o->ts_thread_id);
    if (o->ts_native_thread_id >= 0)
        t->tid = (pid_t)get_u64(ts, o->ts_native_thread_id);
    else if (t->thread_id == st->thread_id && st->tid > 0)
        t->tid = st->tid;
    else
        t->tid = pywalk_thread_tid(w, t->thread_id);
    if (st->tstate == holder)
        t->flags |= SAMPLE_GIL;
    t->first = (uint32_t)out->nframes;
    int after_ok = st->it_after != NO_ITEM;
    if (o->ts_cframe >= 0) {
        uint64_t cf = get_u64(ts, o->ts_cframe);
        if (cf && cf == st->cframe && st->it_top != NO_ITEM) {
            t1 = batch_word(b, st->it_top);
        } else {
            /* A new _PyCFrame (the thread entered or left a nested eval loop). */
            after_ok = 0;
            if (top_frame(w, ts, &t1) != 0)
                return PYWALK_ERR_READ;
            w->late_reads = 1;
        }
    } else if (top_frame(w, ts, &t1) != 0) {
        return PYWALK_ERR_READ;
    }
    if (o->ts_datastack_chunk >= 0) {
        uint64_t chunk = get_u64(ts, o->ts_datastack_chunk), top = get_u64(ts, o->ts_datastack_top);
        st->last_top = top;
        w->nchunks = 0;
        if (st->nchunks && st->chunk[0] == chunk && st->it_chunk[0] != NO_ITEM &&
            top - chunk <= st->chunk_len[0]) {
            for (uint32_t k = 0; k < st->nchunks && st->it_chunk[k] != NO_ITEM; k++)
                if (chunk_view(w, st->chunk[k], batch_ptr(b, st->it_chunk[k]),
                               st->it_chunk2[k] != NO_ITEM ? batch_ptr(b, st->it_chunk2[k]) : NULL,
                               st->chunk_len[k]) != 0)
                    break;
        }
        if (w->nchunks == 0)
            chunk_load(w, chunk, top);
        const uint8_t *mid = st->it_mid != NO_ITEM ? batch_ptr(b, st->it_mid) : NULL;
        w->mid_ok = mid != NULL;
        w->mid_chunk = mid ? get_u64(mid, 0) : 0;
        w->mid_top = mid ? get_u64(mid, 8) : 0;
        w->nx = 0;
        for (uint32_t k = 0; k < st->nextra; k++) {
            if (st->it_extra[k] != NO_ITEM) {
                w->xaddr[w->nx] = st->extra[k];
                w->xagain[w->nx] = st->it_extra2[k] != NO_ITEM ? batch_ptr(b, st->it_extra2[k]) : NULL;
                w->xdata[w->nx++] = batch_ptr(b, st->it_extra[k]);
            }
        }
    }
    int rc = walk_from(w, t1, out, &t->flags);
    if (w->code_changed)
        return FAST_MISS;
    if (o->ts_datastack_chunk >= 0) {
        /* Quiet: the same top frame, running the same code at the same
         * instruction, on the same data stack top, as last time. */
        const uint8_t *f = t1 ? frame_in_chunks(w, t1, interp_frame_len(o)) : NULL;
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
    if (rc == 0 && w->npending) {
        int changed = check_pending(w);
        if (changed > 0)
            return FAST_MISS;
        if (changed < 0)
            rc = PYWALK_ERR_READ;
        w->late_reads = 1;
    }
    w->npending = 0;
    spec_learn(w, st, st->tstate, ts, t);
    if (rc != 0 || !w->nonblocking)
        return rc;
    if (after_ok && !w->late_reads)
        t2 = batch_word(b, st->it_after);
    else if (read_top(w, st->tstate, &t2) != 0)
        return PYWALK_ERR_READ;
    return settle(w, t1, t2, out, t->first) == 0 ? 0 : PYWALK_ERR_TORN;
}

/* One pass in one batched read. Returns the threads added, or FAST_MISS
 * (OUT and ERRORS untouched) when the speculation did not hold. */
static int fast_pass(struct pywalk *w, struct sample *out, uint64_t *errors)
{
    const struct py_offsets *o = w->o;
    struct spec *sp = &w->spec;
    struct batch *b = &w->main;
    int32_t ilo, ihi, glo, ghi;
    uint64_t errs[PYWALK_ERR_COUNT] = { 0 };
    if (interp_window(o, &ilo, &ihi) != 0)
        return FAST_MISS;
    gil_window(o, &glo, &ghi);
    batch_reset(b);
    size_t it_head = batch_add(b, G_LIST, w->pi.interp_head_addr, 8);
    size_t it_interp = batch_add(b, G_LIST, sp->interp + (uint64_t)ilo, (size_t)(ihi - ilo));
    size_t it_gil = sp->gil ? batch_add(b, G_LIST, sp->gil + (uint64_t)glo, (size_t)(ghi - glo)) : NO_ITEM;
    size_t it_cur = w->pi.tstate_current_addr ? batch_add(b, G_LIST, w->pi.tstate_current_addr, 8) : NO_ITEM;
    for (size_t i = 0; i < sp->n; i++)
        if (plan_thread(w, b, &sp->t[i]) != 0)
            return FAST_MISS;
    plan_frames(w, b);
    if (w->hot_dirty)
        spans_rebuild(w);
    int code_due = w->now_ns - w->spans_ns >= CODE_RECHECK_NS;
    for (size_t k = 0; k < w->nspans; k++)
        w->spans[k].item = code_due ? batch_add(b, G_CODE, w->spans[k].addr, w->spans[k].len) : NO_ITEM;
    if (code_due)
        w->spans_ns = w->now_ns;
    if (it_head == NO_ITEM || it_interp == NO_ITEM || batch_run(b, w->m) != 0)
        return FAST_MISS;
    stamp_batch(w, b, 1);
    if (code_due && verify_hot(w, b) != 0) {
        code_cache_clear(w);
        return FAST_MISS;
    }

    /* Is it still the same interpreter and the same list of threads? */
    struct interp_view iv;
    if (batch_word(b, it_head) != sp->interp)
        return FAST_MISS;
    interp_fields(w, batch_ptr(b, it_interp) - ilo, &iv);
    if (iv.next != 0 || iv.tstate_head != (sp->n ? sp->t[0].tstate : 0))
        return FAST_MISS;
    for (size_t i = 0; i < sp->n; i++)
        if (get_u64(batch_ptr(b, sp->t[i].it_ts), o->ts_next) != (i + 1 < sp->n ? sp->t[i + 1].tstate : 0))
            return FAST_MISS;
    uint64_t holder = iv.holder;
    if (it_cur != NO_ITEM)
        holder = batch_word(b, it_cur);
    else if (iv.gil && iv.gil == sp->gil && it_gil != NO_ITEM)
        holder = gil_holder_of(o, batch_ptr(b, it_gil), glo);
    else if (iv.gil)
        holder = gil_holder_at(w, iv.gil);
    sp->gil = iv.gil;

    size_t nthreads0 = out->nthreads, nframes0 = out->nframes;
    size_t *redo = NULL, nredo = 0;
    int added = 0;
    for (size_t i = 0; i < sp->n; i++) {
        struct thread_sample t;
        int rc = fast_thread(w, &sp->t[i], b, holder, out, &t);
        if (rc == FAST_MISS)
            goto miss;
        if (rc == 0) {
            if (push_walked(out, &t) != 0)
                goto nomem;
            added++;
            continue;
        }
        out->nframes = t.first;
        if (!w->nonblocking) {
            errs[rc]++;
            continue;
        }
        /* Read it again once the others are done (their data is in B). */
        if (!redo && !(redo = malloc(sp->n * sizeof *redo))) {
            errs[rc]++;
            continue;
        }
        redo[nredo++] = i;
    }
    for (size_t r = 0; r < nredo; r++) {
        struct spec_thread *st = &sp->t[redo[r]];
        int rc = PYWALK_ERR_TORN;
        struct thread_sample t;
        for (int attempt = 0; attempt < TORN_RETRIES && rc != 0; attempt++) {
            struct batch *rb = &w->retry;
            batch_reset(rb);
            if (plan_thread(w, rb, st) != 0)
                break;
            plan_frames(w, rb);
            if (batch_run(rb, w->m) != 0) {
                rc = PYWALK_ERR_READ;
                break;
            }
            stamp_batch(w, rb, 0);
            rc = fast_thread(w, st, rb, holder, out, &t);
            if (rc == FAST_MISS)
                goto miss;
            if (rc != 0)
                out->nframes = t.first;
        }
        if (rc == 0) {
            if (push_walked(out, &t) != 0)
                goto nomem;
            added++;
        } else {
            errs[rc]++;
        }
    }
    free(redo);
    w->ab = NULL;
    for (int k = 0; errors && k < PYWALK_ERR_COUNT; k++)
        errors[k] += errs[k];
    return added;
nomem:
    free(redo);
    w->ab = NULL;
    return -PYWALK_ERR_NOMEM;
miss:
    free(redo);
    w->ab = NULL;
    out->nthreads = nthreads0;
    out->nframes = nframes0;
    if (w->code_changed)
        code_cache_clear(w);
    w->code_changed = 0;
    w->npending = 0;
    return FAST_MISS;
}

int pywalk_sample(struct pywalk *w, struct sample *out, uint64_t *errors)
{
    struct spec *sp = &w->spec;
    if (out->time_ns) {
        w->now_ns = out->time_ns;   /* the sampler's clock reading for this pass */
    } else {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        w->now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
    }
    w->pass++;
    if (w->pass - w->hot_pass >= HOT_PASSES) {
        spec_upkeep(w);
        w->hot_pass = w->pass;
    }
    if (sp->valid && w->pass >= sp->skip_until) {
        int r = fast_pass(w, out, errors);
        if (r != FAST_MISS) {
            sp->misses = 0;
            return r;
        }
        /* The target changes faster than we learn (threads coming and
         * going): stop trying for a while, longer each time. */
        if (++sp->misses >= 3) {
            uint32_t back = sp->misses - 3 < 6 ? 1u << (sp->misses - 3) : MISS_BACKOFF_MAX;
            sp->skip_until = w->pass + (back < MISS_BACKOFF_MAX ? back : MISS_BACKOFF_MAX);
        }
    }
    return slow_pass(w, out, errors);
}
