/*
 * codecache — decoded code objects of a target, cached by remote address:
 * name (co_qualname where there is one), file, first line and a copy of
 * the line table, so a frame costs no reads once its code has been seen.
 *
 * A freed code object leaves its address to a new one, so an entry keeps
 * the name, file and line-table pointers it was decoded from (its
 * signature) and is re-checked against the object before use when its last
 * check is older than CODECACHE_RECHECK_NS: from a batched read that held
 * its signature window (the "hot list": code used in recent passes, whose
 * windows are merged into a few spans), else all of a stack's entries in
 * one read at the end of its walk (codecache_check_pending). A mismatch
 * drops the whole cache. The cache is also dropped whole when full
 * (CODECACHE_MAX entries), which bounds memory and retires entries for
 * code that was freed.
 *
 * Errors are enum pywalk_error values (pywalk.h).
 */
#ifndef GILSCOPE_CODECACHE_H
#define GILSCOPE_CODECACHE_H

#include <stddef.h>
#include <stdint.h>

#include "hashtab.h"
#include "proc.h"
#include "pyoffsets.h"
#include "readbatch.h"
#include "strtab.h"

#define CODECACHE_MAX 4096          /* entries; the cache is dropped whole when full */
#define CODECACHE_LINE_MEMO 4       /* remembered instruction → line pairs per code object */
#define CODECACHE_TLBC_MEMO 4       /* remembered thread-local bytecode copies per code object */
#define CODECACHE_MAX_TLBC 65536    /* bound on a thread-local bytecode index */
#define CODECACHE_MAX_PENDING 512   /* code objects re-checked in one batched read */
/* A freed code object leaves its address to a new one, so a cached decode
 * is re-checked against the object's name, file and line-table pointers
 * before use if its last check is older than this: at rates up to 1 kHz
 * every pass, above that a pass re-checks every code object in use at
 * most this long after the last. */
#define CODECACHE_RECHECK_NS 1000000ull

/* One decoded code object. Owned by the cache; valid until the next
 * codecache_lookup (which may clear the cache) or codecache_clear. Entries
 * never move: the array is allocated once, at its full size. */
struct codecache_entry {
    uint64_t addr;          /* remote code object */
    uint32_t name, file;    /* strtab ids */
    int32_t firstlineno;
    uint8_t *table;         /* copy of the line table */
    uint32_t table_len;
    uint64_t sig[3];        /* name, file and line-table pointers when decoded */
    uint64_t checked;       /* pass in which the entry was last re-checked */
    uint64_t checked_ns;    /* and when (CLOCK_MONOTONIC) */
    uint32_t nbytes;                /* bytes of its bytecode (3.11+), 0 unknown */
    int32_t tlbc_idx[CODECACHE_TLBC_MEMO];  /* thread-local bytecode copies remembered (index ... */
    uint64_t tlbc_at[CODECACHE_TLBC_MEMO];  /* ... and where that copy starts), free-threaded builds */
    uint32_t tlbc_next;
    int32_t memo_at[CODECACHE_LINE_MEMO];   /* instruction offsets remembered */
    int32_t memo_line[CODECACHE_LINE_MEMO]; /* their lines */
    int32_t memo_col[CODECACHE_LINE_MEMO];  /* and columns (from 1; 0 unknown) */
    uint32_t memo_next;
    uint64_t last_used;             /* pass in which a walk last met it */
    uint64_t hot_mark;              /* the hot-list epoch in which it was listed */
    int32_t span;                   /* index in spans of the range holding its signature, -1 none */
    uint32_t span_off;              /* where in that range its signature window starts */
};

/* Signature windows of listed code objects, merged into few ranges once
 * (when the list changes), so a pass adds a handful of ranges to its batch. */
struct codecache_span {
    uint64_t addr;
    uint32_t len;
    size_t item;                    /* batch item of this pass */
    uint64_t stamp;                 /* stamp of the batch ITEM belongs to */
};

/* The cache. Set up with codecache_init; fields are read-only to callers
 * except where marked. */
struct codecache {
    const struct py_offsets *o;     /* layout (not owned) */
    struct proc_mem *m;             /* target memory (not owned) */
    struct strtab *st;              /* names are interned here (not owned) */
    struct codecache_entry *codes;  /* CODECACHE_MAX entries, the first NCODES in use */
    size_t ncodes;
    struct hashtab index;           /* hashtab_key64(addr) -> index in CODES */
    uint64_t code_type;             /* verified address of the `code` type, 0 until seen */
    uint64_t pass;                  /* sampling pass number (codecache_set_clock) */
    uint64_t now_ns;                /* CLOCK_MONOTONIC at the start of the pass (likewise) */
    uint64_t pending[CODECACHE_MAX_PENDING]; /* code objects used this walk, not yet re-checked this pass */
    size_t npending;                /* callers may set it to 0 to forget them */
    int32_t sig_lo, sig_hi;         /* window of a code object holding the signature pointers */
    uint64_t *hot;                  /* code objects used in recent passes, sorted */
    size_t nhot, cap_hot;
    uint64_t hot_epoch;             /* listing epoch of HOT (from 1; entries note theirs) */
    int hot_dirty;                  /* HOT changed since SPANS were built */
    struct codecache_span *spans;
    size_t nspans, cap_spans;
    int changed;                    /* a cached code object no longer matches its signature
                                       (set by codecache_lookup; callers clear it) */
};

/* codecache_init — an empty cache for layout O (code objects read through
 * M, names interned in ST; all three must outlive the cache). Returns 0, or
 * -ENOMEM (CC then needs no codecache_free). */
int codecache_init(struct codecache *cc, const struct py_offsets *o, struct proc_mem *m,
                   struct strtab *st);

/* codecache_free — release CC's entries and memory (not CC itself). */
void codecache_free(struct codecache *cc);

/* codecache_clear — drop every entry, the hot list and its spans. */
void codecache_clear(struct codecache *cc);

/* codecache_set_clock — the pass number PASS and its time NOW_NS
 * (CLOCK_MONOTONIC), which decide when entries are re-checked. */
void codecache_set_clock(struct codecache *cc, uint64_t pass, uint64_t now_ns);

/* codecache_lookup_full — codecache_lookup's whole path: the entry for the
 * code object at ADDR, decoded now on a miss (a few reads) and noted as
 * used in this pass. An entry due for a re-check is checked from AB when
 * AB (a batch that ran, or NULL) holds its signature window, else queued
 * in PENDING for codecache_check_pending. Returns the entry (owned by CC),
 * or NULL with *ERR = PYWALK_ERR_READ (unreadable or misaligned),
 * PYWALK_ERR_BADCODE (not a code object, bad name or line table; or the
 * entry's signature changed: then CHANGED is set), or PYWALK_ERR_NOMEM. */
struct codecache_entry *codecache_lookup_full(struct codecache *cc, uint64_t addr, const struct readbatch *ab,
                                              int *err);

/* codecache_lookup — codecache_lookup_full, with its common case inline:
 * called for every frame of every sample, so an entry found in its home
 * slot, not due for a re-check and already on the hot list costs no call. */
static inline struct codecache_entry *codecache_lookup(struct codecache *cc, uint64_t addr,
                                                       const struct readbatch *ab, int *err)
{
    struct hashtab_iter it;
    uint32_t k = hashtab_first(&cc->index, hashtab_key64(addr), &it);
    if (k != HASHTAB_NONE && cc->codes[k].addr == addr) {
        struct codecache_entry *c = &cc->codes[k];
        if ((c->checked == cc->pass || cc->now_ns - c->checked_ns < CODECACHE_RECHECK_NS) &&
            c->hot_mark == cc->hot_epoch) {
            c->last_used = cc->pass;
            return c;
        }
    }
    return codecache_lookup_full(cc, addr, ab, err);
}

/* codecache_find — the entry for ADDR, or NULL; reads nothing, changes
 * nothing. */
struct codecache_entry *codecache_find(struct codecache *cc, uint64_t addr);

/* codecache_bytecode — where the bytecode that instruction pointer INSTR
 * of a frame running C (the code object at CODE) points into starts: the
 * code object's own co_code_adaptive, or, where the layout has thread-local
 * bytecode (free-threaded builds) and the frame's TLBC_INDEX is not 0, that
 * thread's copy co_tlbc->entries[TLBC_INDEX]. Copies are remembered per
 * entry and used again only while INSTR falls inside them (an index, and
 * its copy, goes to another thread when a thread ends). Sets *READ when it
 * had to read the target. Returns 0 when the copy cannot be read.
 * codecache_bytecode_tlbc is its path for a thread-local copy. */
uint64_t codecache_bytecode_tlbc(struct codecache *cc, struct codecache_entry *c, uint64_t code,
                                 int32_t tlbc_index, uint64_t instr, int *read);

/* Inline: most frames run the code object's own bytecode. */
static inline uint64_t codecache_bytecode(struct codecache *cc, struct codecache_entry *c, uint64_t code,
                                          int32_t tlbc_index, uint64_t instr, int *read)
{
    const struct py_offsets *o = cc->o;
    if (tlbc_index == 0 || o->co_tlbc < 0 || o->tlbc_entries < 0)
        return code + (uint64_t)o->co_code_adaptive;
    return codecache_bytecode_tlbc(cc, c, code, tlbc_index, instr, read);
}

/* codecache_location_decode — codecache_location's path when AT is not
 * among the entry's remembered offsets: decode, and remember. */
int32_t codecache_location_decode(struct codecache *cc, struct codecache_entry *c, int32_t at, int32_t *col);

/* codecache_location — codecache_line, and in *COL (may be NULL) the
 * instruction's start column counted from 1, 0 when the version's line
 * table has no columns or this entry none. Columns are decoded with the
 * line and remembered with it, so a remembered offset (inline here) costs
 * no decoding, whatever the output needs. */
static inline int32_t codecache_location(struct codecache *cc, struct codecache_entry *c, int32_t at,
                                         int32_t *col)
{
    for (int k = 0; k < CODECACHE_LINE_MEMO; k++)
        if (c->memo_at[k] == at) {
            if (col)
                *col = c->memo_col[k];
            return c->memo_line[k];
        }
    return codecache_location_decode(cc, c, at, col);
}

/* codecache_line — the line C's instruction offset AT lies on (AT in the
 * unit the version's line table uses; negative: the first line), 0 when
 * the table does not say. Memoised per entry; never fails. */
int32_t codecache_line(struct codecache *cc, struct codecache_entry *c, int32_t at);

/* codecache_check_pending — re-read in one proc_mem_readv the signature
 * windows of the code objects queued in PENDING (AB as for
 * codecache_lookup), and empty the queue. Returns 0 when all still match,
 * 1 when one changed (the cache is then cleared), -1 when they could not
 * be read or out of memory. */
int codecache_check_pending(struct codecache *cc, const struct readbatch *ab);

/* codecache_hot_rebuild — list again only the code objects used in the last
 * RECENT passes, so the list does not grow with code no longer run. */
void codecache_hot_rebuild(struct codecache *cc, uint64_t recent);

/* codecache_plan_spans — with DUE, add the listed code objects' signature
 * windows to B in GROUP (merged READBATCH_GAP_CODE apart; rebuilt first if
 * the list changed); without, plan none this pass. Out of memory a span is
 * just not read. */
void codecache_plan_spans(struct codecache *cc, struct readbatch *b, unsigned group, int due);

/* codecache_stamp_spans — after B ran: the spans it planned may now be
 * used (by codecache_lookup and codecache_verify_spans). */
void codecache_stamp_spans(struct codecache *cc, const struct readbatch *b);

/* codecache_verify_spans — after a batch B that read the signatures: check
 * every listed code object at once, not only those this pass's walks meet,
 * so that later passes need no reads of their own for them. Returns 0, or
 * -1 when one no longer matches (the caller clears the cache). */
int codecache_verify_spans(struct codecache *cc, const struct readbatch *b);

#endif
