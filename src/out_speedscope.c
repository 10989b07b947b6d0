/* out_speedscope — the 'speedscope' format of `gilscope record`: speedscope's
 * own JSON file format (https://www.speedscope.app/file-format-schema.json),
 * one "sampled" profile per thread, frames shared, weights in seconds.
 *
 * The file lists each thread's samples in one array, threads one after the
 * other, while samples arrive interleaved. To keep memory bounded on a long
 * recording, each thread's samples are encoded compactly (weight, frames
 * shared with the previous sample, new frame ids), buffered per thread a
 * chunk at a time, and the chunks spilled to one temporary file; `end` reads
 * them back thread by thread. Memory holds only the frame table, and per
 * thread its current stack, one chunk and the list of its chunk offsets. */
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "timeline.h"

#define CHUNK_BYTES 8192        /* per-thread buffer before it spills to the file */
#define SCHEMA_URL "https://www.speedscope.app/file-format-schema.json"

struct chunk {
    off_t off;
    size_t len;
};

/* Per-thread state, by timeline thread index. */
struct ss_thread {
    int pending;            /* the latest sample waits for its weight */
    uint32_t pending_common;/* frames it shares with the sample written before it */
    uint64_t total_ns;      /* weights written */
    uint64_t nrecords;      /* samples written */
    uint32_t max_depth;     /* deepest stack, to size the reader's buffer */
    unsigned char *buf;     /* encoded samples not yet in the file */
    size_t len, cap;
    struct chunk *chunks;   /* where its samples are in the file, in order */
    size_t nchunks, cap_chunks;
};

struct speedscope {
    FILE *out;
    FILE *tmp;              /* every thread's spilled chunks */
    off_t tmp_end;
    struct output_info info;
    struct timeline *tl;
    struct ss_thread *threads;
    size_t cap_threads;
    int error;              /* a negative errno seen while streaming */
};

static void *speedscope_begin(FILE *out, const struct output_info *info, char *err, size_t errlen)
{
    struct speedscope *st = calloc(1, sizeof *st);
    if (st && (st->tl = timeline_new(info)))
        timeline_columns(st->tl, 1);
    if (!st || !st->tl) {
        free(st);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->tmp = tmpfile();
    if (!st->tmp) {
        snprintf(err, errlen, "cannot create a temporary file for the speedscope writer: %s", strerror(errno));
        timeline_free(st->tl);
        free(st);
        return NULL;
    }
    st->out = out;
    st->info = *info;
    return st;
}

static struct ss_thread *ss_thread_at(struct speedscope *st, size_t index)
{
    if (index >= st->cap_threads) {
        size_t cap = st->cap_threads ? st->cap_threads * 2 : 16;
        while (cap <= index)
            cap *= 2;
        struct ss_thread *nt = realloc(st->threads, cap * sizeof *nt);
        if (!nt)
            return NULL;
        memset(nt + st->cap_threads, 0, (cap - st->cap_threads) * sizeof *nt);
        st->threads = nt;
        st->cap_threads = cap;
    }
    return &st->threads[index];
}

/* Move T's buffer to the temporary file as one chunk. */
static int spill(struct speedscope *st, struct ss_thread *t)
{
    if (t->len == 0)
        return 0;
    if (t->nchunks == t->cap_chunks) {
        size_t cap = t->cap_chunks ? t->cap_chunks * 2 : 8;
        struct chunk *nc = realloc(t->chunks, cap * sizeof *nc);
        if (!nc)
            return -ENOMEM;
        t->chunks = nc;
        t->cap_chunks = cap;
    }
    if (fwrite(t->buf, 1, t->len, st->tmp) != t->len)
        return -EIO;
    t->chunks[t->nchunks++] = (struct chunk){ .off = st->tmp_end, .len = t->len };
    st->tmp_end += (off_t)t->len;
    t->len = 0;
    return 0;
}

static int put_bytes(struct ss_thread *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : CHUNK_BYTES;
        while (cap < t->len + n)
            cap *= 2;
        unsigned char *nb = realloc(t->buf, cap);
        if (!nb)
            return -ENOMEM;
        t->buf = nb;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
    return 0;
}

/* Append one sample: its weight, how many frames it shares with the one
 * before, and the ids of the rest (STACK[COMMON..DEPTH), root first). */
static int put_record(struct speedscope *st, struct ss_thread *t, uint64_t weight_ns,
                      const uint32_t *stack, uint32_t common, uint32_t depth)
{
    uint32_t head[2] = { common, depth - common };
    size_t need = sizeof weight_ns + sizeof head + (size_t)(depth - common) * sizeof *stack;
    int rc;
    if (t->len && t->len + need > CHUNK_BYTES && (rc = spill(st, t)) != 0)
        return rc;
    if ((rc = put_bytes(t, &weight_ns, sizeof weight_ns)) != 0 || (rc = put_bytes(t, head, sizeof head)) != 0 ||
        (depth > common && (rc = put_bytes(t, stack + common, (size_t)(depth - common) * sizeof *stack)) != 0))
        return rc;
    t->total_ns += weight_ns;
    t->nrecords++;
    if (depth > t->max_depth)
        t->max_depth = depth;
    return 0;
}

static int speedscope_sample(void *state, const struct sample *s, size_t i)
{
    struct speedscope *st = state;
    struct tl_step step;
    if (st->error)
        return st->error;
    int rc = timeline_step(st->tl, s, i, &step);
    struct ss_thread *t = rc == 0 ? ss_thread_at(st, step.th->index) : NULL;
    if (rc == 0 && !t)
        rc = -ENOMEM;
    /* The previous sample's weight is known now: until this one, or one
     * period when the thread was missing in between. */
    if (rc == 0 && t->pending)
        rc = put_record(st, t, step.prev_end_ns - step.prev_ns, step.old, t->pending_common, step.old_depth);
    if (rc != 0)
        return st->error = rc;
    t->pending = 1;
    t->pending_common = step.common;
    return 0;
}

/* Seconds from nanoseconds, exactly: "0.01", "2", "1.000000001". */
static void put_seconds(FILE *out, uint64_t ns)
{
    uint64_t frac = ns % 1000000000u;
    if (frac == 0) {
        fprintf(out, "%" PRIu64, ns / 1000000000u);
        return;
    }
    int digits = 9;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    fprintf(out, "%" PRIu64 ".%0*" PRIu64, ns / 1000000000u, digits, frac);
}

/* Walk thread T's samples in order from the temporary file; for each call
 * SAMPLES ? write its stack : write its weight. */
static int write_records(struct speedscope *st, const struct ss_thread *t, int samples)
{
    uint32_t *stack = malloc(((size_t)t->max_depth + 1) * sizeof *stack);
    unsigned char *buf = NULL;
    size_t bufcap = 0;
    uint64_t n = 0;
    int rc = stack ? 0 : -ENOMEM;
    for (size_t c = 0; rc == 0 && c < t->nchunks; c++) {
        const struct chunk *ch = &t->chunks[c];
        if (ch->len > bufcap) {
            unsigned char *nb = realloc(buf, ch->len);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            buf = nb;
            bufcap = ch->len;
        }
        if (fseeko(st->tmp, ch->off, SEEK_SET) != 0 || fread(buf, 1, ch->len, st->tmp) != ch->len) {
            rc = -EIO;
            break;
        }
        size_t at = 0;
        while (at < ch->len) {
            uint64_t weight;
            uint32_t head[2];
            memcpy(&weight, buf + at, sizeof weight);
            memcpy(head, buf + at + sizeof weight, sizeof head);
            at += sizeof weight + sizeof head;
            memcpy(stack + head[0], buf + at, (size_t)head[1] * sizeof *stack);
            at += (size_t)head[1] * sizeof *stack;
            uint32_t depth = head[0] + head[1];
            if (n++)
                fputc(',', st->out);
            if (samples) {
                fputc('[', st->out);
                for (uint32_t k = 0; k < depth; k++)
                    fprintf(st->out, k ? ",%" PRIu32 : "%" PRIu32, stack[k]);
                fputc(']', st->out);
            } else {
                put_seconds(st->out, weight);
            }
        }
    }
    free(buf);
    free(stack);
    return rc;
}

static void write_frame(struct speedscope *st, uint32_t id)
{
    const struct tl_frame *f = timeline_frame(st->tl, id);
    fputs("{\"name\":", st->out);
    json_string(st->out, timeline_string(st->tl, f->name));
    fputs(",\"file\":", st->out);
    json_string(st->out, timeline_file(st->tl, f));
    /* py-spy's frames carry line and col; col counts from 1 and is 0 when
     * unknown (before 3.11, with --function or --nolineno). */
    if (f->line != TL_NOLINE)
        fprintf(st->out, ",\"line\":%" PRId32, f->line);
    fprintf(st->out, ",\"col\":%" PRId32, f->col);
    fputc('}', st->out);
}

static void write_profile(struct speedscope *st, const struct tl_thread *th, const struct ss_thread *t, int *rc)
{
    char name[1024];
    snprintf(name, sizeof name, "Process %d Thread %d \"%s\"", (int)th->pid, (int)th->tid,
             timeline_string(st->tl, th->name));
    fputs("{\"type\":\"sampled\",\"name\":", st->out);
    json_string(st->out, name);
    /* endValue - startValue is the sum of the weights: speedscope takes the
     * larger of the two as the total, so percentages are of sampled time. */
    uint64_t start = timeline_rel_ns(st->tl, th->first_ns);
    fputs(",\"unit\":\"seconds\",\"startValue\":", st->out);
    put_seconds(st->out, start);
    fputs(",\"endValue\":", st->out);
    put_seconds(st->out, start + t->total_ns);
    fputs(",\"samples\":[", st->out);
    if (*rc == 0)
        *rc = write_records(st, t, 1);
    fputs("],\"weights\":[", st->out);
    if (*rc == 0)
        *rc = write_records(st, t, 0);
    fputs("]}", st->out);
}

static int speedscope_end(void *state, const struct profile *profile, const struct output_totals *totals)
{
    struct speedscope *st = state;
    (void)profile;
    (void)totals;
    int rc = st->error;
    size_t nthreads = timeline_nthreads(st->tl);

    /* Each thread's last sample lasts one period; then all goes to the file. */
    for (size_t i = 0; rc == 0 && i < nthreads; i++) {
        const struct tl_thread *th = timeline_thread(st->tl, i);
        struct ss_thread *t = ss_thread_at(st, i);
        if (!t) {
            rc = -ENOMEM;
            break;
        }
        if (t->pending) {
            rc = put_record(st, t, timeline_period_ns(st->tl), th->stack, t->pending_common, th->depth);
            t->pending = 0;
        }
        if (rc == 0)
            rc = spill(st, t);
    }
    if (rc == 0 && fflush(st->tmp) != 0)
        rc = -EIO;

    if (rc == 0) {
        /* Open on the busiest thread. */
        size_t active = 0, shown = 0;
        uint64_t most = 0;
        for (size_t i = 0; i < nthreads; i++) {
            if (timeline_thread(st->tl, i)->nsamples == 0)
                continue;
            if (st->threads[i].total_ns > most) {
                most = st->threads[i].total_ns;
                active = shown;
            }
            shown++;
        }
        fputs("{\"$schema\":\"" SCHEMA_URL "\",\"exporter\":\"gilscope\",\"name\":", st->out);
        json_string(st->out, st->info.title ? st->info.title : "");
        fprintf(st->out, ",\"activeProfileIndex\":%zu,\n\"shared\":{\"frames\":[", active);
        for (size_t f = 0; f < timeline_nframes(st->tl); f++) {
            fputs(f ? ",\n" : "\n", st->out);
            write_frame(st, (uint32_t)f);
        }
        fputs("]},\n\"profiles\":[", st->out);
        shown = 0;
        for (size_t i = 0; i < nthreads; i++) {
            const struct tl_thread *th = timeline_thread(st->tl, i);
            if (th->nsamples == 0)
                continue;
            fputs(shown++ ? ",\n" : "\n", st->out);
            write_profile(st, th, &st->threads[i], &rc);
        }
        fputs("]}\n", st->out);
        if (fflush(st->out) != 0 || ferror(st->out))
            rc = rc ? rc : -EIO;
    }

    for (size_t i = 0; i < st->cap_threads; i++) {
        free(st->threads[i].buf);
        free(st->threads[i].chunks);
    }
    free(st->threads);
    fclose(st->tmp);
    timeline_free(st->tl);
    free(st);
    return rc;
}

const struct output_format output_speedscope = {
    .name = "speedscope", .ext = ".speedscope.json", .default_ext = "json",
    .begin = speedscope_begin, .sample = speedscope_sample, .end = speedscope_end,
};
