/*
 * framewalk — walk one thread's Python frames, leaf first, into a sample,
 * for both layout families:
 *
 *   ≤3.10  heap frame objects linked by f_back. Frame objects met lately
 *          are remembered (the frame set), so a batched read can copy them
 *          ahead and the walk finds them there.
 *   3.11+  interpreter frames in the thread's data-stack chunks, linked by
 *          previous. The newest chunk is copied in one read (its size from
 *          the thread's data stack top) and walked locally; older chunks are
 *          copied when a frame falls outside what is held, or taken from a
 *          batch (framewalk_chunk_view). Frames outside the chunks
 *          (generators, coroutines, 3.12+ C-stack entry shims) are read one
 *          by one, or taken from a batch (XADDR/XDATA).
 *
 * Each walk checks for cycles and notes the frames it visited (the chain),
 * which the non-blocking fast path uses to prove a stack was live. Code
 * objects are resolved through a codecache. Errors are enum pywalk_error
 * values (pywalk.h).
 */
#ifndef GILSCOPE_FRAMEWALK_H
#define GILSCOPE_FRAMEWALK_H

#include <stddef.h>
#include <stdint.h>

#include "codecache.h"
#include "hashtab.h"
#include "proc.h"
#include "pyoffsets.h"
#include "pywalk.h"
#include "readbatch.h"
#include "sample.h"

#define FRAMEWALK_MAX_CHUNKS 16             /* data-stack chunks copied per thread */
#define FRAMEWALK_MAX_CHUNK_BYTES (4u << 20) /* bound on one chunk's copy */
#define FRAMEWALK_HDR 256                   /* bytes read of a heap frame / interpreter frame */
#define FRAMEWALK_EXTRA 8                   /* 3.11+: frames outside the chunks a batch may hold */
#define FRAMEWALK_CHAIN_MAX (PYWALK_MAX_DEPTH + 1) /* frames visited in one walk, skipped ones included */
#define FRAMEWALK_FSET_MAX 8192             /* frame objects (≤3.10) remembered for speculative reads */

/* A copy of (the used part of) one data-stack chunk. */
struct framewalk_chunk {
    uint64_t base;          /* remote address of the chunk (header included) */
    uint64_t len;           /* bytes copied from base: header and the frames in use */
    uint64_t previous;      /* remote previous chunk */
    const uint8_t *data;    /* the copy: BUF, or a range of the batch buffer */
    const uint8_t *again;   /* a second copy taken right after, or NULL */
    uint8_t *buf;           /* local copy (owned, reused) */
    size_t cap;
};

/* A frame visited by a walk, and how many frames had been pushed before it. */
struct framewalk_link {
    uint64_t addr;
    uint32_t pos;
};

/* Frame objects (≤3.10) seen recently: read speculatively in the next batch. */
struct framewalk_fset {
    uint64_t *addr;                 /* NULL: not kept (3.11+) */
    uint64_t *last;                 /* pass last seen */
    size_t *item;                   /* batch item of this pass (READBATCH_NONE: not planned) */
    uint64_t stamp;                 /* stamp of the batch the ITEMs belong to, 0 before it ran */
    size_t n;
    struct hashtab ix;              /* hashtab_key64(addr) -> index in ADDR */
    uint64_t *tmp;                  /* scratch for sorting */
};

/* One walker's state. Set up with framewalk_init. Callers set AB and PASS;
 * the fast path also fills NX/XADDR/XDATA/XAGAIN and MID_* before a walk
 * and reads CHUNKS, CHAIN and XSEEN after it; the rest is the walker's. */
struct framewalk {
    const struct py_offsets *o;     /* layout (not owned) */
    struct proc_mem *m;             /* target memory (not owned) */
    struct codecache *cc;           /* code objects (not owned) */
    const struct readbatch *ab;     /* the batch whose data walks may use, NULL = none */
    uint64_t pass;                  /* sampling pass number */
    int late_reads;                 /* the current walk read outside the batch */
    struct framewalk_cycle {        /* Brent's cycle check over the frames a walk meets */
        uint64_t saved;             /* the frame met at the last power of two */
        uint32_t power, lam;        /* steps until the next save, and taken since the last */
    } cyc;
    struct framewalk_link *chain;   /* frames of the current walk, leaf first (FRAMEWALK_CHAIN_MAX) */
    size_t nchain;
    struct framewalk_chunk chunks[FRAMEWALK_MAX_CHUNKS]; /* newest first */
    size_t nchunks;
    struct framewalk_fset fs;
    uint64_t xaddr[FRAMEWALK_EXTRA];        /* frames outside the chunks that the batch holds ... */
    const uint8_t *xdata[FRAMEWALK_EXTRA];  /* ... and their copies, */
    const uint8_t *xagain[FRAMEWALK_EXTRA]; /* and second copies (NULL: none) */
    size_t nx;
    uint64_t mid_chunk, mid_top;    /* datastack_chunk and _top read between the copies ... */
    int mid_ok;                     /* ... if they were */
    uint64_t xseen[FRAMEWALK_EXTRA];        /* frames outside the chunks the current walk met */
    size_t nxseen;
    uint32_t xshims;                /* bit k: xseen[k] is a C-stack shim */
};

/* framewalk_init — a walker for layout O reading through M and resolving
 * code through CC (all must outlive it). The frame set is allocated only
 * where frames are objects (≤3.10). Returns 0, or -ENOMEM (then call
 * framewalk_free all the same). */
int framewalk_init(struct framewalk *fw, const struct py_offsets *o, struct proc_mem *m,
                   struct codecache *cc);

/* framewalk_free — release FW's memory (not FW itself; a zeroed FW is fine). */
void framewalk_free(struct framewalk *fw);

/* framewalk_heap_hdr_len — bytes of a ≤3.10 frame object a walk needs. */
size_t framewalk_heap_hdr_len(const struct py_offsets *o);

/* framewalk_interp_frame_len — bytes of a 3.11+ interpreter frame a walk needs. */
size_t framewalk_interp_frame_len(const struct py_offsets *o);

/* framewalk_ts_len — bytes of a thread state copied per pass (at most 4096). */
size_t framewalk_ts_len(const struct py_offsets *o);

/* framewalk_ts_top_len — bytes of a thread state that hold its top-frame
 * fields (for re-reads). */
size_t framewalk_ts_top_len(const struct py_offsets *o);

/* framewalk_top_frame — the current top frame of a thread state copy TS in
 * *FRAME (3.11–3.12: read through its _PyCFrame). Returns 0, or -1 when
 * that read failed. */
int framewalk_top_frame(struct framewalk *fw, const uint8_t *ts, uint64_t *frame);

/* framewalk_read_top — re-read the current top frame of the thread state at
 * TSTATE into *FRAME. Returns 0 or -1. */
int framewalk_read_top(struct framewalk *fw, uint64_t tstate, uint64_t *frame);

/* framewalk_chunks_start — forget the chunks and batch frames held, and
 * start a walk's chunk copies from a thread state copy TS: load the newest
 * chunk (3.11+; nothing before). A chunk that cannot be loaded is left out
 * (the walk then reads frames one by one). */
void framewalk_chunks_start(struct framewalk *fw, const uint8_t *ts);

/* framewalk_chunk_load — copy the chunk at CHUNK as the next older chunk;
 * TOP_PTR is the thread's data stack top when CHUNK is the newest (it says
 * how much is in use), else 0. Returns 0, or -1 (unreadable, too big,
 * not a chunk, FRAMEWALK_MAX_CHUNKS held, out of memory). */
int framewalk_chunk_load(struct framewalk *fw, uint64_t chunk, uint64_t top_ptr);

/* framewalk_chunk_view — use LEN bytes at DATA, read from the chunk at BASE
 * by a batch, as the next older chunk copy (not copied: DATA must outlive
 * the walk); AGAIN is the batch's second copy, or NULL. Returns 0, or -1 if
 * they do not look like that chunk. */
int framewalk_chunk_view(struct framewalk *fw, uint64_t base, const uint8_t *data, const uint8_t *again,
                         uint64_t len);

/* framewalk_frame_in_chunks — the copy of the interpreter frame at ADDR
 * (IFSIZE bytes) among the chunks held, or NULL. Reads nothing. */
const uint8_t *framewalk_frame_in_chunks(const struct framewalk *fw, uint64_t addr, size_t ifsize);

/* framewalk_copies_agree — whether the frames of the current walk's chain,
 * link FIRST on, that are held twice (chunks or batch frames with a second
 * copy) read the same in both copies: all of each frame, but only the code
 * and caller of FIRST's, which may be running. Frames held once are not
 * compared. Reads nothing. */
int framewalk_copies_agree(const struct framewalk *fw, size_t first);

/* framewalk_walk — push the Python frames from FRAME (a thread's top frame)
 * to OUT, leaf first, noting the chain, the frames met outside the chunks
 * (3.11+) and late reads. Sets SAMPLE_TRUNCATED in *FLAGS past
 * PYWALK_MAX_DEPTH frames. Returns 0 or an enum pywalk_error (OUT may then
 * hold part of the stack: the caller drops it). */
int framewalk_walk(struct framewalk *fw, uint64_t frame, struct sample *out, uint32_t *flags);

/* framewalk_chain_reaches — whether following previous/f_back links from
 * FROM, through what is already held (chunk copies, or frame objects in the
 * batch AB), reaches TO. Reads nothing. */
int framewalk_chain_reaches(struct framewalk *fw, uint64_t from, uint64_t to);

/* framewalk_fset_prune — forget frame objects not met in the last RECENT
 * passes; the rest are kept sorted by address. */
void framewalk_fset_prune(struct framewalk *fw, uint64_t recent);

/* framewalk_plan_frames — add every remembered frame object (≤3.10) to B in
 * GROUP (READBATCH_GAP apart merged). */
void framewalk_plan_frames(struct framewalk *fw, struct readbatch *b, unsigned group);

/* framewalk_stamp_frames — after B ran: the frame objects it planned may now
 * be used by walks (with AB = B). */
void framewalk_stamp_frames(struct framewalk *fw, const struct readbatch *b);

#endif
