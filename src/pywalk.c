/* pywalk — see include/pywalk.h. */
#include "pywalk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
#define TORN_RETRIES 2
#define FRAME_OWNED_BY_CSTACK 3     /* 3.12–3.13: the C entry shim frame */
#define MAX_PENDING 512             /* code objects re-checked in one batched read */
#define SIG_MAX 256                 /* bytes of a code object's identifying window */

struct code_entry {
    uint64_t addr;          /* remote code object, 0 = empty slot */
    uint32_t name, file;    /* strtab ids */
    int32_t firstlineno;
    uint8_t *table;         /* copy of the line table */
    uint32_t table_len;
    uint64_t sig[3];        /* name, file and line-table pointers when decoded */
    uint64_t checked;       /* pass in which the entry was last re-checked */
    int32_t memo_at[LINE_MEMO];     /* instruction offsets remembered */
    int32_t memo_line[LINE_MEMO];   /* their lines */
    uint32_t memo_next;
};

struct chunk_copy {
    uint64_t base;          /* remote address of the chunk (header included) */
    uint64_t len;           /* bytes copied from base: header and the frames in use */
    uint64_t previous;      /* remote previous chunk */
    uint8_t *buf;           /* local copy (owned, reused) */
    size_t cap;
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
    if (!w->codes || !w->visited || !w->visited_used) {
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

static struct code_entry *code_lookup(struct pywalk *w, uint64_t addr, int *err)
{
    size_t mask = CODE_CACHE_SLOTS - 1;
    size_t i = (size_t)((addr >> 4) * 0x9E3779B97F4A7C15ull >> 20) & mask;
    while (w->codes[i].addr) {
        if (w->codes[i].addr == addr) {
            struct code_entry *hit = &w->codes[i];
            /* Freed code objects leave their address to new ones: re-check
             * each entry once per pass, all of a stack's in one read. */
            if (hit->checked != w->pass && w->npending < MAX_PENDING) {
                hit->checked = w->pass;
                w->pending[w->npending++] = addr;
            }
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
    struct code_entry e = { .addr = addr, .checked = w->pass };
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
    return &w->codes[i];
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
    else if (o->major == 2 || o->minor <= 9)
        line = linetable_lnotab(c->table, c->table_len, c->firstlineno, at, o->major == 3);
    else if (o->minor == 10)
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

/* ---- ≤3.10: heap frame objects ---- */

static int walk_heap_frames(struct pywalk *w, uint64_t frame, struct sample *out, uint32_t *flags)
{
    const struct py_offsets *o = w->o;
    int32_t hdr = span(span(o->f_back, o->f_code), span(span(o->f_lasti, o->f_lineno), o->f_trace)) + 8;
    uint8_t buf[FRAME_HDR];
    int depth = 0;
    while (frame) {
        if (depth >= PYWALK_MAX_DEPTH) {
            *flags |= SAMPLE_TRUNCATED;
            break;
        }
        if ((frame & 7) || hdr > FRAME_HDR || proc_mem_read(w->m, frame, buf, (size_t)hdr) != 0)
            return PYWALK_ERR_READ;
        if (visited_check(w, frame))
            return PYWALK_ERR_CYCLE;
        int err = 0;
        struct code_entry *c = code_lookup(w, get_u64(buf, o->f_code), &err);
        if (!c)
            return err;
        int32_t at = get_i32(buf, o->f_lasti);
        int rc;
        if (get_u64(buf, o->f_trace) != 0) {
            struct frame f = { .name = c->name, .file = c->file, .line = get_i32(buf, o->f_lineno),
                               .first_line = c->firstlineno, .kind = FRAME_PYTHON };
            rc = sample_push_frame(out, &f) == 0 ? 0 : PYWALK_ERR_NOMEM;
        } else {
            rc = push_frame(w, out, c, at);
        }
        if (rc)
            return rc;
        depth++;
        frame = get_u64(buf, o->f_back);
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
    cc->previous = get_u64(cc->buf, o->chunk_previous);
    w->nchunks++;
    return 0;
}

/* Point *P at a local copy of the interpreter frame at ADDR (IFSIZE bytes). */
static int frame_bytes(struct pywalk *w, uint64_t addr, size_t ifsize, uint8_t *scratch, const uint8_t **p)
{
    for (;;) {
        for (size_t i = 0; i < w->nchunks; i++) {
            struct chunk_copy *cc = &w->chunks[i];
            if (addr >= cc->base + (uint64_t)w->o->chunk_data && addr - cc->base + ifsize <= cc->len) {
                *p = cc->buf + (addr - cc->base);
                return 0;
            }
        }
        /* Not in the chunks copied so far: the next older chunk, if it could hold it. */
        if (w->nchunks == 0 || w->chunks[w->nchunks - 1].previous == 0 ||
            chunk_load(w, w->chunks[w->nchunks - 1].previous, 0) != 0)
            break;
    }
    /* Generator and coroutine frames live in their own objects. */
    if (proc_mem_read(w->m, addr, scratch, ifsize) != 0)
        return -1;
    *p = scratch;
    return 0;
}

static int walk_interp_frames(struct pywalk *w, uint64_t frame, uint64_t chunk, uint64_t top_ptr,
                              struct sample *out, uint32_t *flags)
{
    const struct py_offsets *o = w->o;
    size_t ifsize = (size_t)span(span(o->if_code, o->if_previous), span(o->if_instr, o->if_owner)) + 8;
    uint8_t scratch[FRAME_HDR];
    if (ifsize > FRAME_HDR)
        return PYWALK_ERR_READ;
    w->nchunks = 0;
    chunk_load(w, chunk, top_ptr);
    /* Every frame visited counts, shims included, so a loop of shims ends too. */
    for (int steps = 0; frame; steps++) {
        if (steps >= PYWALK_MAX_DEPTH) {
            *flags |= SAMPLE_TRUNCATED;
            break;
        }
        const uint8_t *f;
        if ((frame & 7) || frame_bytes(w, frame, ifsize, scratch, &f) != 0)
            return PYWALK_ERR_READ;
        if (visited_check(w, frame))
            return PYWALK_ERR_CYCLE;
        uint64_t prev = get_u64(f, o->if_previous);
        int owner = o->if_owner >= 0 ? f[o->if_owner] : 0;
        if (owner > 3)
            return PYWALK_ERR_TORN;
        if (o->minor >= 12 && owner == FRAME_OWNED_BY_CSTACK) {
            frame = prev;
            continue;
        }
        uint64_t code = get_u64(f, o->if_code);
        if (o->minor >= 14)
            code &= ~(uint64_t)3;   /* _PyStackRef tag bits */
        int err = 0;
        struct code_entry *c = code_lookup(w, code, &err);
        if (!c) {
            /* 3.13+: f_executable may be something other than code (a shim); skip it. */
            if (err == PYWALK_ERR_BADCODE && o->minor >= 13) {
                frame = prev;
                continue;
            }
            return err;
        }
        uint64_t instr = get_u64(f, o->if_instr);
        uint64_t base = code + (uint64_t)o->co_code_adaptive;
        int32_t at = instr >= base && instr - base < (1u << 30) ? (int32_t)((instr - base) / 2) : -1;
        int rc = push_frame(w, out, c, at);
        if (rc)
            return rc;
        frame = prev;
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
};

#define INTERP_WINDOW 2048  /* widest span of those fields in any layout */

/* Read a GIL's {last_holder, locked} pair (both live within one small window). */
static uint64_t gil_holder_at(struct pywalk *w, uint64_t base, int32_t locked_off, int32_t holder_off)
{
    int32_t lo = locked_off < holder_off ? locked_off : holder_off;
    int32_t hi = span(locked_off + 4, holder_off + 8);
    uint8_t buf[64];
    if (hi - lo > (int32_t)sizeof buf || proc_mem_read(w->m, base + (uint64_t)lo, buf, (size_t)(hi - lo)) != 0)
        return 0;
    /* last_holder is not cleared on release: only a locked GIL has a holder. */
    if (get_i32(buf, locked_off - lo) == 0)
        return 0;
    return get_u64(buf, holder_off - lo);
}

static int read_interp(struct pywalk *w, uint64_t interp, struct interp_view *v)
{
    const struct py_offsets *o = w->o;
    /* 3.13 has both the GIL pointer and the GIL inside the state: use the latter. */
    int inline_gil = o->is_gil_locked >= 0;
    int32_t offs[] = { o->is_next, o->is_tstate_head, inline_gil ? o->is_gil_locked : o->is_gil_ptr,
                       inline_gil ? o->is_gil_last_holder : PYOFF_NONE };
    int32_t lo = INT32_MAX, hi = 0;
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        if (offs[i] < 0)
            continue;
        if (offs[i] < lo)
            lo = offs[i];
        if (offs[i] + 8 > hi)
            hi = offs[i] + 8;
    }
    uint8_t buf[INTERP_WINDOW];
    if (hi - lo > INTERP_WINDOW || (interp & 7) ||
        proc_mem_read(w->m, interp + (uint64_t)lo, buf, (size_t)(hi - lo)) != 0)
        return -1;
    const uint8_t *b = buf - lo;
    v->next = get_u64(b, o->is_next);
    v->tstate_head = get_u64(b, o->is_tstate_head);
    v->holder = 0;
    if (w->pi.tstate_current_addr) {
        if (proc_mem_read(w->m, w->pi.tstate_current_addr, &v->holder, 8) != 0)
            v->holder = 0;
    } else if (inline_gil) {
        if (get_i32(b, o->is_gil_locked))
            v->holder = get_u64(b, o->is_gil_last_holder);
    } else if (o->is_gil_ptr >= 0) {
        uint64_t gil = get_u64(b, o->is_gil_ptr);
        if (gil)
            v->holder = gil_holder_at(w, gil, o->gil_locked, o->gil_last_holder);
    }
    return 0;
}

/* The current top frame of a thread state copy. */
static int top_frame(struct pywalk *w, const uint8_t *ts, uint64_t *frame)
{
    const struct py_offsets *o = w->o;
    if (o->ts_frame >= 0) {
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

static int walk_thread(struct pywalk *w, uint64_t tstate, const uint8_t *ts, struct sample *out,
                       uint32_t *flags)
{
    const struct py_offsets *o = w->o;
    uint8_t again[FRAME_HDR * 4];   /* a fresh copy of the thread state, for retries */
    size_t tslen = (size_t)span(span(o->ts_frame, o->ts_current_frame),
                                span(o->ts_cframe, o->ts_datastack_chunk)) + 16;
    for (int attempt = 0;; attempt++) {
        uint64_t frame;
        size_t mark = out->nframes;
        if (top_frame(w, ts, &frame) != 0)
            return PYWALK_ERR_READ;
        visited_reset(w);
        int rc;
        if (o->ts_frame >= 0) {
            rc = walk_heap_frames(w, frame, out, flags);
        } else {
            uint64_t chunk = get_u64(ts, o->ts_datastack_chunk);
            /* datastack_top follows datastack_chunk in every 3.11–3.13 PyThreadState. */
            uint64_t top = get_u64(ts, o->ts_datastack_chunk + 8);
            rc = walk_interp_frames(w, frame, chunk, top, out, flags);
        }
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

int pywalk_sample(struct pywalk *w, struct sample *out, uint64_t *errors)
{
    const struct py_offsets *o = w->o;
    uint64_t interp = 0;
    int added = 0;
    w->pass++;
    if (proc_mem_read(w->m, w->pi.interp_head_addr, &interp, sizeof interp) != 0)
        return -PYWALK_ERR_READ;
    size_t tslen = (size_t)o->ts_size;
    uint8_t ts[4096];
    if (tslen == 0 || tslen > sizeof ts)
        tslen = sizeof ts;
    for (int ni = 0; interp && ni < MAX_INTERPS; ni++) {
        struct interp_view iv;
        if (read_interp(w, interp, &iv) != 0)
            return -PYWALK_ERR_THREADS;
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
                t.nframes = (uint32_t)(out->nframes - t.first);
                if (sample_push_thread(out, &t) != 0)
                    return -PYWALK_ERR_NOMEM;
                added++;
            } else {
                out->nframes = t.first;
                if (errors)
                    errors[rc]++;
            }
            tstate = get_u64(ts, o->ts_next);
        }
        interp = next_interp;
    }
    return added;
}
