/* out_pprof — the 'pprof' format of `gilscope record`: a gzipped
 * profile.proto (github.com/google/pprof's format, tests/proto/profile.proto),
 * which `go tool pprof`, Pyroscope, Parca and Grafana read.
 *
 * Sample types samples/count and wall/nanoseconds (count × period); one
 * Function per (name, file, first line), one Location per (function, line);
 * each Sample carries the labels pid, thread_id, thread_name and state, so the
 * writer aggregates the samples itself (the profile `end` is given has no
 * thread states): a private struct profile keyed by frames as shown (display
 * file names, the line --function / --nolineno choose, the roots --threads
 * adds) with the thread state in the stack's flags. The message is built at the end and packed straight
 * into zlib's gzip stream. */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "clock.h"
#include "hashtab.h"
#include "profile.pb-c.h"

/* A key of a function (name, file, first line: pprof string indices) or of
 * a location (function index, 0, line). */
struct pp_key {
    uint32_t a, b;
    int32_t c;
};

/* Distinct keys in order of first use; an item's pprof id is its index + 1. */
struct pp_set {
    struct pp_key *keys;
    size_t n, cap;
    struct hashtab index;
};

/* What the writer knows of one strtab id. */
struct pp_str {
    uint32_t index;         /* its string's pprof string index, 0 while unassigned */
    uint32_t shown_file;    /* as a file: the strtab id of its display name + 1, 0 while unknown */
};

struct pprof {
    FILE *out;
    struct output_info info;
    int64_t period_ns;          /* one sampling period */
    int64_t time_nanos;         /* when sampling began, in Unix time */
    uint32_t empty;             /* strtab id of "": a marker frame's file */
    struct profile *stacks;     /* shown stacks, flags = enum thread_state */
    struct frame *scratch;      /* one sample's shown frames */
    size_t cap_scratch;
    struct pp_str *ids;         /* by strtab id */
    size_t cap_ids;
    uint32_t *strings;          /* pprof string table: strtab ids, [0] unused ("") */
    size_t nstrings, cap_strings;
    struct pp_set funcs, locs;
    int error;                  /* a negative errno seen while streaming */
};

/* Make room for NEED items of SIZE bytes in *V (capacity *CAP); new items are zeroed. */
static int reserve(void *v, size_t *cap, size_t need, size_t size)
{
    void **p = v;
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    unsigned char *nv = realloc(*p, n * size);
    if (!nv)
        return -ENOMEM;
    memset(nv + *cap * size, 0, (n - *cap) * size);
    *p = nv;
    *cap = n;
    return 0;
}

static void pprof_free(struct pprof *pp)
{
    profile_free(pp->stacks);
    free(pp->scratch);
    free(pp->ids);
    free(pp->strings);
    free(pp->funcs.keys);
    free(pp->locs.keys);
    hashtab_free(&pp->funcs.index);
    hashtab_free(&pp->locs.index);
    free(pp);
}

static void *pprof_begin(FILE *out, const struct output_info *info, char *err, size_t errlen)
{
    struct pprof *pp = calloc(1, sizeof *pp);
    if (!pp || !(pp->stacks = profile_new()) || hashtab_init(&pp->funcs.index, 256) != 0 ||
        hashtab_init(&pp->locs.index, 256) != 0 ||
        (pp->empty = strtab_intern(info->strings, "", 0)) == STRTAB_NONE) {
        if (pp)
            pprof_free(pp);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pp->out = out;
    pp->info = *info;
    /* As the timelines count a period (timeline.c). */
    pp->period_ns = (int64_t)(1e9 / (info->rate_hz > 0 ? info->rate_hz : 100));
    if (pp->period_ns == 0)
        pp->period_ns = 1;
    /* start_ns is monotonic: Unix time now less the time since then. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pp->time_nanos = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - (int64_t)(clock_mono_ns() - info->start_ns);
    return pp;
}

/* The pprof string index of the string with strtab id ID, added to the
 * string table if new ("" is always 0). */
static int string_of(struct pprof *pp, uint32_t id, uint32_t *out)
{
    if (!*strtab_get(pp->info.strings, id)) {
        *out = 0;
        return 0;
    }
    if (reserve(&pp->ids, &pp->cap_ids, (size_t)id + 1, sizeof *pp->ids) != 0)
        return -ENOMEM;
    if (!pp->ids[id].index) {
        if (pp->nstrings == 0)
            pp->nstrings = 1;
        if (pp->nstrings >= UINT32_MAX ||
            reserve(&pp->strings, &pp->cap_strings, pp->nstrings + 1, sizeof *pp->strings) != 0)
            return -ENOMEM;
        pp->strings[pp->nstrings] = id;
        pp->ids[id].index = (uint32_t)pp->nstrings++;
    }
    *out = pp->ids[id].index;
    return 0;
}

/* string_of for a string of the writer's own (a label key, a comment). */
static int string_lit(struct pprof *pp, const char *s, uint32_t *out)
{
    uint32_t id = strtab_intern(pp->info.strings, s, strlen(s));
    return id == STRTAB_NONE ? -ENOMEM : string_of(pp, id, out);
}

/* The strtab id of the display name of file FILE (short, or full as the
 * recording asked). */
static int shown_file(struct pprof *pp, uint32_t file, uint32_t *out)
{
    if (reserve(&pp->ids, &pp->cap_ids, (size_t)file + 1, sizeof *pp->ids) != 0)
        return -ENOMEM;
    if (!pp->ids[file].shown_file) {
        const char *s = pp->info.files ? fileshort_get(pp->info.files, file) : strtab_get(pp->info.strings, file);
        uint32_t id = strtab_intern(pp->info.strings, s, strlen(s));
        if (id == STRTAB_NONE)
            return -ENOMEM;
        pp->ids[file].shown_file = id + 1;
    }
    *out = pp->ids[file].shown_file - 1;
    return 0;
}

/* Frame F as shown, into OUT: the file's display name ("" for a marker),
 * and the line and first line the options keep (a C function has no first
 * line; --function shows it no line). Frames that show alike become equal,
 * whatever their kind. */
static int shown_frame(struct pprof *pp, const struct frame *f, struct frame *out)
{
    const struct folded_opts *o = pp->info.opts;
    *out = (struct frame){ .name = f->name, .file = pp->empty, .kind = FRAME_PYTHON };
    if (f->kind == FRAME_PYTHON && !o->nolineno) {
        out->first_line = f->first_line;
        out->line = o->function ? f->first_line : f->line;
    } else if (f->kind == FRAME_NATIVE && !o->nolineno && !o->function && f->line > 0) {
        out->line = f->line;
    }
    return f->kind == FRAME_MARKER ? 0 : shown_file(pp, f->file, &out->file);
}

/* Put in OUT the frame shown for a marker named HEAD, or "HEAD: NAME"
 * (NAME the strtab string NAME_ID, left out when empty or STRTAB_NONE). */
static int root_frame(struct pprof *pp, const char *head, uint32_t name_id, struct frame *out)
{
    char name[1100];
    const char *s = name_id == STRTAB_NONE ? "" : strtab_get(pp->info.strings, name_id);
    int n = snprintf(name, sizeof name, *s ? "%s: %.1023s" : "%s", head, s);
    *out = (struct frame){ .name = strtab_intern(pp->info.strings, name, (size_t)n), .file = pp->empty };
    return out->name == STRTAB_NONE ? -ENOMEM : 0;
}

static int pprof_sample(void *state, const struct sample *s, size_t i)
{
    struct pprof *pp = state;
    const struct folded_opts *o = pp->info.opts;
    const struct thread_sample *t = &s->threads[i];
    const struct frame *frames = sample_thread_frames(s, i);
    /* --threads: the roots the folded output has, "thread (TID): NAME"
     * and, recording subprocesses, "process PID: COMMAND" above it. */
    uint32_t roots = o->threads ? (o->process ? 2 : 1) : 0;
    char head[48];
    int rc = pp->error;
    if (rc == 0)
        rc = reserve(&pp->scratch, &pp->cap_scratch, (size_t)t->nframes + roots, sizeof *pp->scratch);
    for (uint32_t k = 0; rc == 0 && k < t->nframes; k++)
        rc = shown_frame(pp, &frames[k], &pp->scratch[k]);
    if (rc == 0 && roots) {
        snprintf(head, sizeof head, "thread (%d)", (int)t->tid);
        rc = root_frame(pp, head, t->name, &pp->scratch[t->nframes]);
    }
    if (rc == 0 && roots == 2) {
        snprintf(head, sizeof head, "process %d", (int)t->pid);
        rc = root_frame(pp, head, o->process(o->process_ctx, t->pid), &pp->scratch[t->nframes + 1]);
    }
    if (rc == 0) {
        struct profile_stack st = { .pid = t->pid, .tid = t->tid, .thread_name = t->name, .flags = t->state,
                                    .nframes = t->nframes + roots, .frames = pp->scratch };
        rc = profile_add_stack(pp->stacks, &st, 1);
    }
    return pp->error = rc;
}

/* The index of key K in SET, added if new. */
static int set_add(struct pp_set *set, struct pp_key k, uint32_t *out)
{
    struct hashtab_iter it;
    uint64_t h = hashtab_mix64(hashtab_mix64(0, ((uint64_t)k.a << 32) | k.b), (uint32_t)k.c);
    for (uint32_t i = hashtab_first(&set->index, h, &it); i != HASHTAB_NONE; i = hashtab_next(&set->index, &it)) {
        if (set->keys[i].a == k.a && set->keys[i].b == k.b && set->keys[i].c == k.c) {
            *out = i;
            return 0;
        }
    }
    if (set->n >= HASHTAB_NONE || reserve(&set->keys, &set->cap, set->n + 1, sizeof *set->keys) != 0 ||
        hashtab_insert(&set->index, &it, (uint32_t)set->n) != 0)
        return -ENOMEM;
    set->keys[set->n] = k;
    *out = (uint32_t)set->n++;
    return 0;
}

/* The pprof location id of shown frame F: its function and location added if new. */
static int location_of(struct pprof *pp, const struct frame *f, uint64_t *out)
{
    struct pp_key fn = { .c = f->first_line };
    uint32_t func, loc;
    int rc = string_of(pp, f->name, &fn.a);
    if (rc == 0)
        rc = string_of(pp, f->file, &fn.b);
    if (rc == 0)
        rc = set_add(&pp->funcs, fn, &func);
    if (rc == 0)
        rc = set_add(&pp->locs, (struct pp_key){ .a = func, .c = f->line }, &loc);
    if (rc == 0)
        *out = (uint64_t)loc + 1;
    return rc;
}

/* A gzip stream behind protobuf-c's output buffer: what the packer
 * appends is compressed and written to OUT as it comes. */
struct gz_buffer {
    ProtobufCBuffer base;   /* first: protobuf-c hands this pointer to append */
    z_stream z;
    FILE *out;
    int error;              /* a negative errno: the rest is dropped */
    unsigned char chunk[16384];
};

/* Feed the pending input through deflate with FLUSH, writing what comes out. */
static void gz_run(struct gz_buffer *g, int flush)
{
    do {
        g->z.next_out = g->chunk;
        g->z.avail_out = sizeof g->chunk;
        if (deflate(&g->z, flush) == Z_STREAM_ERROR) {
            g->error = -EIO;
            return;
        }
        size_t have = sizeof g->chunk - g->z.avail_out;
        if (fwrite(g->chunk, 1, have, g->out) != have) {
            g->error = -EIO;
            return;
        }
    } while (g->z.avail_out == 0);
}

static void gz_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
    struct gz_buffer *g = (struct gz_buffer *)buffer;
    /* avail_in is an unsigned int: a longer piece goes in slices. */
    while (len && !g->error) {
        uInt n = len > 1u << 30 ? 1u << 30 : (uInt)len;
        g->z.next_in = (Bytef *)data;
        g->z.avail_in = n;
        gz_run(g, Z_NO_FLUSH);
        data += n;
        len -= n;
    }
}

/* Pack P gzipped to OUT. Returns 0, -ENOMEM or -EIO. */
static int write_gzipped(FILE *out, const Perftools__Profiles__Profile *p)
{
    struct gz_buffer *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->base.append = gz_append;
    g->out = out;
    /* 15 + 16: the largest window, with a gzip header and trailer. */
    if (deflateInit2(&g->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(g);
        return -ENOMEM;
    }
    perftools__profiles__profile__pack_to_buffer(p, &g->base);
    if (!g->error) {
        g->z.avail_in = 0;
        gz_run(g, Z_FINISH);
    }
    int rc = g->error;
    deflateEnd(&g->z);
    free(g);
    if (fflush(out) != 0 || ferror(out))
        rc = rc ? rc : -EIO;
    return rc;
}

/* Everything the message points to, released together. */
struct pp_msg {
    Perftools__Profiles__Sample *samples, **sample_ptrs;
    uint64_t *loc_ids;
    int64_t *values;
    Perftools__Profiles__Label *labels, **label_ptrs;
    Perftools__Profiles__Function *funcs, **func_ptrs;
    Perftools__Profiles__Location *locs, **loc_ptrs;
    Perftools__Profiles__Line *lines, **line_ptrs;
    char **strings;
};

static void msg_free(struct pp_msg *m)
{
    free(m->samples);
    free(m->sample_ptrs);
    free(m->loc_ids);
    free(m->values);
    free(m->labels);
    free(m->label_ptrs);
    free(m->funcs);
    free(m->func_ptrs);
    free(m->locs);
    free(m->loc_ptrs);
    free(m->lines);
    free(m->line_ptrs);
    free(m->strings);
}

/* The pprof string indices of the writer's own strings. */
enum { S_SAMPLES, S_COUNT, S_WALL, S_NANOSECONDS, S_PID, S_THREAD_NAME, S_THREAD_ID, S_STATE, S_TITLE, S_ABOUT,
       S_FIXED };

static int fixed_strings(struct pprof *pp, const struct output_totals *totals, uint32_t *s)
{
    char about[256];
    int n = snprintf(about, sizeof about, "Python %s, %g Hz", pp->info.python_version ? pp->info.python_version : "?",
                     pp->info.rate_hz);
    if (totals->errors && n > 0 && (size_t)n < sizeof about)
        snprintf(about + n, sizeof about - (size_t)n, ", %llu sampling errors", (unsigned long long)totals->errors);
    const char *text[S_FIXED] = { "samples", "count", "wall", "nanoseconds", "pid", "thread_name", "thread_id", "state",
                                  pp->info.title ? pp->info.title : "", about };
    int rc = 0;
    for (int k = 0; rc == 0 && k < S_FIXED; k++)
        rc = string_lit(pp, text[k], &s[k]);
    return rc;
}

/* Labels on each sample: pid, thread_id, state, thread_name. */
#define NLABELS 4

/* One Sample per distinct shown stack and labels, pointing into M. */
static int build_samples(struct pprof *pp, struct pp_msg *m, const uint32_t *s)
{
    size_t n = profile_size(pp->stacks), nframes = 0, at = 0;
    uint32_t state_str[TSTATE_COUNT] = { 0 };
    for (size_t i = 0; i < n; i++) {
        struct profile_stack st;
        profile_get(pp->stacks, i, &st);
        nframes += st.nframes;
    }
    m->samples = calloc(n ? n : 1, sizeof *m->samples);
    m->sample_ptrs = calloc(n ? n : 1, sizeof *m->sample_ptrs);
    m->loc_ids = calloc(nframes ? nframes : 1, sizeof *m->loc_ids);
    m->values = calloc(2 * n + 1, sizeof *m->values);
    m->labels = calloc(NLABELS * n + 1, sizeof *m->labels);
    m->label_ptrs = calloc(NLABELS * n + 1, sizeof *m->label_ptrs);
    if (!m->samples || !m->sample_ptrs || !m->loc_ids || !m->values || !m->labels || !m->label_ptrs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct profile_stack st;
        profile_get(pp->stacks, i, &st);
        Perftools__Profiles__Sample *smp = &m->samples[i];
        perftools__profiles__sample__init(smp);
        m->sample_ptrs[i] = smp;
        /* Both leaf first. */
        smp->location_id = m->loc_ids + at;
        smp->n_location_id = st.nframes;
        for (uint32_t k = 0; k < st.nframes; k++) {
            int rc = location_of(pp, &st.frames[k], &m->loc_ids[at++]);
            if (rc)
                return rc;
        }
        smp->value = m->values + 2 * i;
        smp->n_value = 2;
        smp->value[0] = (int64_t)st.count;
        smp->value[1] = (int64_t)st.count * pp->period_ns;

        uint32_t state = st.flags < TSTATE_COUNT ? st.flags : TSTATE_UNKNOWN;
        uint32_t name;
        int rc = string_of(pp, st.thread_name, &name);
        if (rc == 0 && !state_str[state])
            rc = string_lit(pp, sample_state_name((int)state), &state_str[state]);
        if (rc)
            return rc;
        Perftools__Profiles__Label *l = m->labels + NLABELS * i;
        smp->label = m->label_ptrs + NLABELS * i;
        for (int k = 0; k < NLABELS; k++)
            perftools__profiles__label__init(&l[k]);
        l[0].key = s[S_PID];
        l[0].num = st.pid;
        l[1].key = s[S_THREAD_ID];
        l[1].num = st.tid;
        l[2].key = s[S_STATE];
        l[2].str = state_str[state];
        l[3].key = s[S_THREAD_NAME];
        l[3].str = name;
        /* A thread without a name has no thread_name label. */
        smp->n_label = name ? NLABELS : NLABELS - 1;
        for (size_t k = 0; k < smp->n_label; k++)
            smp->label[k] = &l[k];
    }
    return 0;
}

/* The Function, Location (one Line each) and string table messages, once
 * every sample's locations are known. */
static int build_tables(struct pprof *pp, struct pp_msg *m)
{
    size_t nf = pp->funcs.n, nl = pp->locs.n;
    m->funcs = calloc(nf + 1, sizeof *m->funcs);
    m->func_ptrs = calloc(nf + 1, sizeof *m->func_ptrs);
    m->locs = calloc(nl + 1, sizeof *m->locs);
    m->loc_ptrs = calloc(nl + 1, sizeof *m->loc_ptrs);
    m->lines = calloc(nl + 1, sizeof *m->lines);
    m->line_ptrs = calloc(nl + 1, sizeof *m->line_ptrs);
    m->strings = calloc(pp->nstrings + 1, sizeof *m->strings);
    if (!m->funcs || !m->func_ptrs || !m->locs || !m->loc_ptrs || !m->lines || !m->line_ptrs || !m->strings)
        return -ENOMEM;
    for (size_t i = 0; i < nf; i++) {
        const struct pp_key *k = &pp->funcs.keys[i];
        Perftools__Profiles__Function *f = &m->funcs[i];
        perftools__profiles__function__init(f);
        f->id = i + 1;
        f->name = f->system_name = k->a;
        f->filename = k->b;
        f->start_line = k->c;
        m->func_ptrs[i] = f;
    }
    for (size_t i = 0; i < nl; i++) {
        const struct pp_key *k = &pp->locs.keys[i];
        Perftools__Profiles__Location *l = &m->locs[i];
        perftools__profiles__location__init(l);
        perftools__profiles__line__init(&m->lines[i]);
        m->lines[i].function_id = (uint64_t)k->a + 1;
        m->lines[i].line = k->c;
        m->line_ptrs[i] = &m->lines[i];
        l->id = i + 1;
        l->n_line = 1;
        l->line = &m->line_ptrs[i];
        m->loc_ptrs[i] = l;
    }
    /* The strings stay the strtab's; packing only reads them. */
    m->strings[0] = "";
    for (size_t i = 1; i < pp->nstrings; i++)
        m->strings[i] = (char *)strtab_get(pp->info.strings, pp->strings[i]);
    return 0;
}

static int write_profile(struct pprof *pp, const struct output_totals *totals)
{
    uint32_t s[S_FIXED];
    struct pp_msg m = { 0 };
    int rc = fixed_strings(pp, totals, s);
    if (rc == 0)
        rc = build_samples(pp, &m, s);
    if (rc == 0)
        rc = build_tables(pp, &m);
    if (rc == 0) {
        Perftools__Profiles__ValueType types[2], period;
        Perftools__Profiles__ValueType *type_ptrs[2] = { &types[0], &types[1] };
        int64_t comments[2] = { s[S_TITLE], s[S_ABOUT] };
        for (int k = 0; k < 2; k++)
            perftools__profiles__value_type__init(&types[k]);
        perftools__profiles__value_type__init(&period);
        types[0].type = s[S_SAMPLES];
        types[0].unit = s[S_COUNT];
        types[1].type = period.type = s[S_WALL];
        types[1].unit = period.unit = s[S_NANOSECONDS];

        Perftools__Profiles__Profile p;
        perftools__profiles__profile__init(&p);
        p.n_sample_type = 2;
        p.sample_type = type_ptrs;
        p.n_sample = profile_size(pp->stacks);
        p.sample = m.sample_ptrs;
        p.n_location = pp->locs.n;
        p.location = m.loc_ptrs;
        p.n_function = pp->funcs.n;
        p.function = m.func_ptrs;
        p.n_string_table = pp->nstrings ? pp->nstrings : 1;
        p.string_table = m.strings;
        p.time_nanos = pp->time_nanos;
        p.duration_nanos = (int64_t)(totals->duration_s * 1e9);
        p.period_type = &period;
        p.period = pp->period_ns;
        /* A recording of no title has the "Python …" line alone. */
        p.n_comment = s[S_TITLE] ? 2 : 1;
        p.comment = s[S_TITLE] ? comments : comments + 1;
        rc = write_gzipped(pp->out, &p);
    }
    msg_free(&m);
    return rc;
}

static int pprof_end(void *state, const struct profile *profile, const struct output_totals *totals)
{
    struct pprof *pp = state;
    (void)profile;
    int rc = pp->error ? pp->error : write_profile(pp, totals);
    pprof_free(pp);
    return rc;
}

const struct output_format output_pprof = {
    .name = "pprof", .ext = ".pb.gz", .default_ext = "pb.gz",
    .begin = pprof_begin, .sample = pprof_sample, .end = pprof_end,
};
