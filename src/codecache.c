/* codecache — see include/codecache.h. */
#include "codecache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "linetable.h"
#include "localcopy.h"
#include "pyobj.h"
#include "pystr.h"
#include "pywalk.h"

#define MAX_LINETABLE (1u << 20)    /* biggest line table we copy */
#define MAX_NAME 1024               /* bytes of a function name (longer ones are cut) */
#define MAX_FILE 4096               /* bytes of a file name: a path is shortened by its tail,
                                       so it must not be cut where paths can still be real */
#define SIG_MAX 256                 /* bytes of a code object's identifying window */

int codecache_init(struct codecache *cc, const struct py_offsets *o, struct proc_mem *m,
                   struct strtab *st)
{
    memset(cc, 0, sizeof *cc);
    cc->o = o;
    cc->m = m;
    cc->st = st;
    cc->hot_epoch = 1;
    int32_t name_off = o->co_qualname >= 0 ? o->co_qualname : o->co_name;
    cc->sig_lo = name_off < o->co_filename ? name_off : o->co_filename;
    if (o->co_linetable < cc->sig_lo)
        cc->sig_lo = o->co_linetable;
    cc->sig_hi = off_max(off_max(name_off, o->co_filename), o->co_linetable) + 8;
    /* Entries are allocated once at full size, so those handed out never
     * move; the index starts small and grows with the code seen. */
    cc->codes = calloc(CODECACHE_MAX, sizeof *cc->codes);
    if (!cc->codes || hashtab_init(&cc->index, 0) != 0) {
        free(cc->codes);
        cc->codes = NULL;
        hashtab_free(&cc->index);
        return -ENOMEM;
    }
    return 0;
}

void codecache_clear(struct codecache *cc)
{
    for (size_t i = 0; i < cc->ncodes; i++) {
        free(cc->codes[i].table);
        cc->codes[i].table = NULL;
    }
    cc->ncodes = 0;
    hashtab_clear(&cc->index);
    cc->nhot = 0;
    cc->nspans = 0;
    cc->hot_dirty = 1;
}

void codecache_free(struct codecache *cc)
{
    if (cc->codes)
        codecache_clear(cc);
    free(cc->codes);
    hashtab_free(&cc->index);
    free(cc->hot);
    free(cc->spans);
    cc->codes = NULL;
    cc->hot = NULL;
    cc->spans = NULL;
}

void codecache_set_clock(struct codecache *cc, uint64_t pass, uint64_t now_ns)
{
    cc->pass = pass;
    cc->now_ns = now_ns;
}

static int read_name(struct codecache *cc, uint64_t addr, size_t max, uint32_t *id)
{
    char buf[MAX_FILE];
    if (addr == 0 || max > sizeof buf)
        return -EINVAL;
    int rc = pystr_read(cc->m, cc->o, addr, buf, max);
    if (rc < 0)
        return rc;
    *id = strtab_intern(cc->st, buf, strlen(buf));
    return *id == STRTAB_NONE ? -ENOMEM : 0;
}

/* Whether the object at ADDR, whose copied ob_type is TYPE, is code. The
 * code type is learned once, by name, then compared by address. The name
 * is read through the object's type pointer, so TYPE is learned only when
 * that pointer still reads TYPE afterwards (the object may have changed
 * since it was copied). */
static int is_code_object(struct codecache *cc, uint64_t addr, uint64_t type)
{
    if (cc->code_type)
        return type == cc->code_type;
    uint64_t again;
    if (!pyobj_type_name_is(cc->m, cc->o, addr, "code") ||
        pyobj_read_word(cc->m, addr + (uint64_t)cc->o->ob_type, &again) != 0 || again != type)
        return 0;
    cc->code_type = type;
    return 1;
}

/* Whether the signature window B (a copy of the code object's bytes from
 * sig_lo on) still holds what C was decoded from. */
static int sig_matches(const struct codecache *cc, const struct codecache_entry *c, const uint8_t *b)
{
    const struct py_offsets *o = cc->o;
    int32_t name_off = o->co_qualname >= 0 ? o->co_qualname : o->co_name;
    b -= cc->sig_lo;
    return c->sig[0] == get_u64(b, name_off) && c->sig[1] == get_u64(b, o->co_filename) &&
           c->sig[2] == get_u64(b, o->co_linetable);
}

/* Note that C was used in this pass; code used lately is re-checked in the
 * next passes' batches. */
static void code_touch(struct codecache *cc, struct codecache_entry *c)
{
    c->last_used = cc->pass;
    if (c->hot_mark != cc->hot_epoch) {
        if (cc->nhot == cc->cap_hot) {
            size_t cap = cc->cap_hot ? cc->cap_hot * 2 : 256;
            uint64_t *nh = cap <= 2 * CODECACHE_MAX ? realloc(cc->hot, cap * sizeof *nh) : NULL;
            if (!nh)
                return;
            cc->hot = nh;
            cc->cap_hot = cap;
        }
        /* Kept sorted, so batches need not sort it. */
        size_t at = cc->nhot;
        while (at > 0 && cc->hot[at - 1] > c->addr)
            at--;
        memmove(cc->hot + at + 1, cc->hot + at, (cc->nhot - at) * sizeof *cc->hot);
        cc->hot[at] = c->addr;
        cc->nhot++;
        c->hot_mark = cc->hot_epoch;
        c->span = -1;
        cc->hot_dirty = 1;
    }
}

struct codecache_entry *codecache_lookup_full(struct codecache *cc, uint64_t addr, const struct readbatch *ab,
                                              int *err)
{
    struct hashtab_iter it;
    uint64_t h = hashtab_key64(addr);
    for (uint32_t k = hashtab_first(&cc->index, h, &it); k != HASHTAB_NONE; k = hashtab_next(&cc->index, &it)) {
        if (cc->codes[k].addr == addr) {
            struct codecache_entry *hit = &cc->codes[k];
            /* Freed code objects leave their address to new ones: re-check
             * an entry not checked lately, from the pass's batch when it
             * read the entry's signature, else all of a stack's in one read. */
            if (hit->checked != cc->pass && cc->now_ns - hit->checked_ns >= CODECACHE_RECHECK_NS) {
                if (ab && hit->hot_mark == cc->hot_epoch && hit->span >= 0 &&
                    (size_t)hit->span < cc->nspans && cc->spans[hit->span].stamp == ab->stamp) {
                    const uint8_t *b = readbatch_ptr(ab, cc->spans[hit->span].item) + hit->span_off;
                    if (!sig_matches(cc, hit, b)) {
                        cc->changed = 1;
                        *err = PYWALK_ERR_BADCODE;
                        return NULL;
                    }
                    hit->checked = cc->pass;
                    hit->checked_ns = cc->now_ns;
                } else if (cc->npending < CODECACHE_MAX_PENDING) {
                    hit->checked = cc->pass;
                    hit->checked_ns = cc->now_ns;
                    cc->pending[cc->npending++] = addr;
                }
            }
            if (hit->last_used != cc->pass)
                code_touch(cc, hit);
            return hit;
        }
    }
    /* Miss: decode the object. A full cache is dropped whole, which bounds
     * memory and also retires entries for code objects that were freed. */
    if (cc->ncodes >= CODECACHE_MAX) {
        codecache_clear(cc);
        hashtab_first(&cc->index, h, &it);     /* empty: IT is the slot to fill */
    }
    const struct py_offsets *o = cc->o;
    uint8_t hdr[1024];
    size_t need = (size_t)o->co_size;
    if (need < 64 || need > sizeof hdr) {
        need = 0;
        int32_t offs[] = { o->co_filename, o->co_name, o->co_qualname, o->co_firstlineno, o->co_linetable };
        for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++)
            if (offs[k] >= 0 && (size_t)offs[k] + 8 > need)
                need = (size_t)offs[k] + 8;
    }
    if ((addr & 7) || proc_mem_read(cc->m, addr, hdr, need) != 0) {
        *err = PYWALK_ERR_READ;
        return NULL;
    }
    if (!is_code_object(cc, addr, get_u64(hdr, o->ob_type))) {
        *err = PYWALK_ERR_NOTCODE;
        return NULL;
    }
    struct codecache_entry e = { .addr = addr, .checked = cc->pass, .checked_ns = cc->now_ns };
    int32_t name_off = o->co_qualname >= 0 ? o->co_qualname : o->co_name;
    e.sig[0] = get_u64(hdr, name_off);
    e.sig[1] = get_u64(hdr, o->co_filename);
    e.sig[2] = get_u64(hdr, o->co_linetable);
    if (read_name(cc, get_u64(hdr, name_off), MAX_NAME, &e.name) != 0 ||
        read_name(cc, get_u64(hdr, o->co_filename), MAX_FILE, &e.file) != 0) {
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
    int rc = tbuf ? pybytes_read(cc->m, o, tab, tbuf, cap, &len) : -ENOMEM;
    if (rc == -ENOSPC && len <= MAX_LINETABLE) {
        free(tbuf);
        cap = len;
        tbuf = malloc(cap);
        rc = tbuf ? pybytes_read(cc->m, o, tab, tbuf, cap, &len) : -ENOMEM;
    }
    if (rc != 0) {
        free(tbuf);
        *err = rc == -ENOMEM ? PYWALK_ERR_NOMEM : PYWALK_ERR_BADCODE;
        return NULL;
    }
    e.table = tbuf;
    e.table_len = (uint32_t)len;
    for (int k = 0; k < CODECACHE_LINE_MEMO; k++)
        e.memo_at[k] = -2;
    /* Indexed first: an entry the index cannot take (out of memory when
     * it grows) is not kept. */
    size_t n = cc->ncodes;
    if (hashtab_insert(&cc->index, &it, (uint32_t)n) != 0) {
        free(tbuf);
        *err = PYWALK_ERR_NOMEM;
        return NULL;
    }
    cc->codes[n] = e;
    cc->ncodes++;
    code_touch(cc, &cc->codes[n]);
    return &cc->codes[n];
}

struct codecache_entry *codecache_find(struct codecache *cc, uint64_t addr)
{
    struct hashtab_iter it;
    for (uint32_t k = hashtab_first(&cc->index, hashtab_key64(addr), &it); k != HASHTAB_NONE;
         k = hashtab_next(&cc->index, &it))
        if (cc->codes[k].addr == addr)
            return &cc->codes[k];
    return NULL;
}

uint64_t codecache_bytecode_tlbc(struct codecache *cc, struct codecache_entry *c, uint64_t code,
                                 int32_t tlbc_index, uint64_t instr, int *read)
{
    const struct py_offsets *o = cc->o;
    for (int k = 0; k < CODECACHE_TLBC_MEMO; k++)
        if (c->tlbc_idx[k] == tlbc_index && instr >= c->tlbc_at[k] && instr - c->tlbc_at[k] < c->nbytes)
            return c->tlbc_at[k];
    uint64_t arr = 0, size = 0, at = 0;
    *read = 1;
    if (tlbc_index < 0 || tlbc_index >= CODECACHE_MAX_TLBC ||
        proc_mem_read(cc->m, code + (uint64_t)o->co_tlbc, &arr, 8) != 0 || arr == 0 || (arr & 7) ||
        proc_mem_read(cc->m, arr, &size, 8) != 0 || (uint64_t)tlbc_index >= size ||
        proc_mem_read(cc->m, arr + (uint64_t)o->tlbc_entries + 8 * (uint64_t)tlbc_index, &at, 8) != 0)
        return 0;
    c->tlbc_idx[c->tlbc_next] = tlbc_index;
    c->tlbc_at[c->tlbc_next] = at;
    c->tlbc_next = (c->tlbc_next + 1) % CODECACHE_TLBC_MEMO;
    return at;
}

/* AT is the instruction offset in the unit the version's table uses. */
int32_t codecache_line(struct codecache *cc, struct codecache_entry *c, int32_t at)
{
    return codecache_location(cc, c, at, NULL);
}

int32_t codecache_location_decode(struct codecache *cc, struct codecache_entry *c, int32_t at, int32_t *col)
{
    int line, col0 = -1;
    const struct py_offsets *o = cc->o;
    if (at < 0)
        line = c->firstlineno;
    else if (o->linetable_kind == PYOFF_LT_LNOTAB || o->linetable_kind == PYOFF_LT_LNOTAB_U8)
        line = linetable_lnotab(c->table, c->table_len, c->firstlineno, at,
                                o->linetable_kind == PYOFF_LT_LNOTAB);
    else if (o->linetable_kind == PYOFF_LT_LINETABLE)
        line = linetable_310(c->table, c->table_len, c->firstlineno, at);
    else
        line = linetable_311_loc(c->table, c->table_len, c->firstlineno, at, &col0);
    if (line < 0)
        line = 0;
    c->memo_at[c->memo_next] = at;
    c->memo_line[c->memo_next] = line;
    c->memo_col[c->memo_next] = col0 >= 0 ? col0 + 1 : 0;
    if (col)
        *col = c->memo_col[c->memo_next];
    c->memo_next = (c->memo_next + 1) % CODECACHE_LINE_MEMO;
    return line;
}

/* Re-read the signature of the code objects this walk used from the cache. */
int codecache_check_pending(struct codecache *cc, const struct readbatch *ab)
{
    const struct py_offsets *o = cc->o;
    size_t n = cc->npending, len = (size_t)(cc->sig_hi - cc->sig_lo);
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
            iov[i] = (struct proc_iov){ .addr = cc->pending[i] + (uint64_t)cc->sig_lo, .buf = buf + i * len, .len = len };
        if (proc_mem_readv(cc->m, iov, n) == 0) {
            rc = 0;
            for (size_t i = 0; i < n && rc == 0; i++) {
                int err = 0;
                const uint8_t *b = buf + i * len - cc->sig_lo;
                struct codecache_entry *c = codecache_lookup(cc, cc->pending[i], ab, &err);
                if (!c || c->sig[0] != get_u64(b, name_off) || c->sig[1] != get_u64(b, o->co_filename) ||
                    c->sig[2] != get_u64(b, o->co_linetable))
                    rc = 1;
            }
        }
    }
    free(buf);
    free(iov);
    cc->npending = 0;
    if (rc == 1)
        codecache_clear(cc);
    return rc;
}

static int u64_cmp(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return a < b ? -1 : a > b;
}

void codecache_hot_rebuild(struct codecache *cc, uint64_t recent)
{
    cc->hot_epoch++;
    cc->nhot = 0;
    for (size_t i = 0; i < cc->ncodes; i++) {
        struct codecache_entry *c = &cc->codes[i];
        if (c->last_used + recent >= cc->pass && cc->nhot < cc->cap_hot) {
            cc->hot[cc->nhot++] = c->addr;
            c->hot_mark = cc->hot_epoch;
        }
    }
    /* No list at all before the first code object is cached: qsort must
     * not be handed a null array, even empty (UBSan). */
    if (cc->nhot > 1)
        qsort(cc->hot, cc->nhot, sizeof *cc->hot, u64_cmp);
    cc->hot_dirty = 1;
}

/* Merge the signature windows of the listed code objects into SPANS. */
static void spans_rebuild(struct codecache *cc)
{
    int32_t siglen = cc->sig_hi - cc->sig_lo;
    cc->nspans = 0;
    cc->hot_dirty = 0;
    if (siglen <= 0 || siglen > SIG_MAX)
        return;
    for (size_t k = 0; k < cc->nhot; k++) {
        struct codecache_entry *c = codecache_find(cc, cc->hot[k]);
        if (!c)
            continue;
        uint64_t at = c->addr + (uint64_t)cc->sig_lo;
        struct codecache_span *last = cc->nspans ? &cc->spans[cc->nspans - 1] : NULL;
        if (last && at >= last->addr && at <= last->addr + last->len + READBATCH_GAP_CODE &&
            at + (uint64_t)siglen - last->addr <= UINT32_MAX) {
            if (at + (uint64_t)siglen > last->addr + last->len)
                last->len = (uint32_t)(at + (uint64_t)siglen - last->addr);
        } else {
            if (cc->nspans == cc->cap_spans) {
                size_t cap = cc->cap_spans ? cc->cap_spans * 2 : 16;
                struct codecache_span *ns = realloc(cc->spans, cap * sizeof *ns);
                if (!ns) {
                    c->span = -1;
                    continue;
                }
                cc->spans = ns;
                cc->cap_spans = cap;
            }
            cc->spans[cc->nspans++] = (struct codecache_span){ .addr = at, .len = (uint32_t)siglen };
            last = &cc->spans[cc->nspans - 1];
        }
        c->span = (int32_t)(cc->nspans - 1);
        c->span_off = (uint32_t)(at - last->addr);
    }
}

void codecache_plan_spans(struct codecache *cc, struct readbatch *b, unsigned group, int due)
{
    if (cc->hot_dirty)
        spans_rebuild(cc);
    for (size_t k = 0; k < cc->nspans; k++)
        cc->spans[k].item = due ? readbatch_add(b, group, cc->spans[k].addr, cc->spans[k].len,
                                                READBATCH_GAP_CODE)
                                : READBATCH_NONE;
}

void codecache_stamp_spans(struct codecache *cc, const struct readbatch *b)
{
    for (size_t k = 0; k < cc->nspans; k++)
        cc->spans[k].stamp = cc->spans[k].item != READBATCH_NONE ? b->stamp : 0;
}

int codecache_verify_spans(struct codecache *cc, const struct readbatch *b)
{
    for (size_t k = 0; k < cc->nhot; k++) {
        struct codecache_entry *c = codecache_find(cc, cc->hot[k]);
        if (!c || c->span < 0 || (size_t)c->span >= cc->nspans || cc->spans[c->span].item == READBATCH_NONE ||
            cc->spans[c->span].stamp != b->stamp)
            continue;
        if (!sig_matches(cc, c, readbatch_ptr(b, cc->spans[c->span].item) + c->span_off))
            return -1;
        c->checked = cc->pass;
        c->checked_ns = cc->now_ns;
    }
    return 0;
}
