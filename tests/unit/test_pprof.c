/* Unit tests: the pprof writer (out_pprof.c), fed seeded synthetic samples
 * (Python, native and marker frames, thread states, a thread without a
 * name) beside the folded writer; its gzipped output unpacked with zlib and
 * protobuf-c and checked for the format's rules and, stack for stack, for
 * the folded writer's counts under each option. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "folded.h"
#include "output.h"
#include "profile.h"
#include "profile.pb-c.h"
#include "sample.h"
#include "strtab.h"
#include "unit.h"

#define PID 4242
#define RATE 250.0
#define PERIOD_NS 4000000
#define NTHREADS 3
#define PASSES 3000

static uint32_t intern(struct strtab *st, const char *s)
{
    return strtab_intern(st, s, strlen(s));
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The frames a stream draws from: Python functions on several lines, a C
 * function with a source line, one known only by its library, one of no
 * file, and a marker. */
struct tframe {
    const char *name, *file;
    int first_line;
    uint8_t kind;
};

static const struct tframe pool[] = {
    { "<module>", "/srv/app/main.py", 1, FRAME_PYTHON },
    { "main", "/srv/app/main.py", 10, FRAME_PYTHON },
    { "Worker.run", "/srv/app/work.py", 20, FRAME_PYTHON },
    { "関数", "/srv/app/ünï.py", 5, FRAME_PYTHON },
    { "parse", "/srv/app/work.py", 40, FRAME_PYTHON },
    { "gsnative_inner", "/src/native_ext.c", 0, FRAME_NATIVE },
    { "compress", "libz.so.1", 0, FRAME_NATIVE },
    { "[vdso]", "", 0, FRAME_NATIVE },
    { "[gil-wait]", "", 0, FRAME_MARKER },
};
#define NPOOL (sizeof pool / sizeof pool[0])

static const char *const thread_names[NTHREADS] = { "MainThread", "wörker-1", "" };

/* A recording of the same seeded stream by the pprof writer and, through a
 * profile, by the folded writer. */
struct rec {
    struct strtab *st;
    struct folded_opts opts;                    /* the writer keeps a pointer to it */
    struct profile *prof;                       /* for the folded writer */
    const struct output_format *fmt;            /* pprof's */
    void *w;                                    /* its state */
    FILE *f;                                    /* writing into buf */
    char *buf;
    size_t len;
    uint64_t fed;                               /* thread samples fed */
    uint64_t by_state[NTHREADS][TSTATE_COUNT];  /* of them, per thread and state */
};

static void feed(struct rec *r, uint64_t seed)
{
    struct sample s = { 0 };
    for (int k = 0; k < PASSES; k++) {
        sample_clear(&s);
        s.time_ns = 1000000000ull + (uint64_t)k * PERIOD_NS;
        for (int th = 0; th < NTHREADS; th++) {
            if (rnd(&seed) % 4 == 0)
                continue;
            uint32_t depth = 1 + (uint32_t)(rnd(&seed) % 5);
            /* The third thread is of a subprocess. */
            struct thread_sample t = { .pid = th == 2 ? PID + 1 : PID, .tid = 100 + th, .name = intern(r->st, thread_names[th]),
                                       .flags = SAMPLE_ACTIVE, .first = (uint32_t)s.nframes, .nframes = depth,
                                       .state = (uint32_t)(rnd(&seed) % TSTATE_COUNT) };
            for (uint32_t d = 0; d < depth; d++) {     /* leaf first */
                /* Roots from the first few entries, so stacks repeat. */
                const struct tframe *p = &pool[d + 1 == depth ? rnd(&seed) % 2 : rnd(&seed) % NPOOL];
                struct frame f = { .name = intern(r->st, p->name), .file = intern(r->st, p->file),
                                   .first_line = p->first_line, .kind = p->kind };
                if (p->kind == FRAME_PYTHON)
                    f.line = p->first_line + 1 + (int32_t)(rnd(&seed) % 3);
                else if (p->kind == FRAME_NATIVE && *p->file == '/')
                    f.line = 30 + (int32_t)(rnd(&seed) % 2);
                ck_assert_int_eq(sample_push_frame(&s, &f), 0);
            }
            ck_assert_int_eq(sample_push_thread(&s, &t), 0);
            r->by_state[th][t.state]++;
        }
        for (size_t i = 0; i < s.nthreads; i++) {
            ck_assert_int_eq(profile_add(r->prof, &s, i), 0);
            ck_assert_int_eq(r->fmt->sample(r->w, &s, i), 0);
            r->fed++;
        }
    }
    sample_free(&s);
}

static void rec_begin(struct rec *r, const struct folded_opts *opts)
{
    memset(r, 0, sizeof *r);
    r->st = strtab_new();
    r->prof = profile_new();
    ck_assert_ptr_nonnull(r->st);
    ck_assert_ptr_nonnull(r->prof);
    r->opts = *opts;
    if (r->opts.process)
        r->opts.process_ctx = r->st;
    struct output_info info = { .pid = PID, .title = "python3 app.py", .python_version = "3.12.1",
                                .rate_hz = RATE, .start_ns = 1000000000ull, .strings = r->st, .opts = &r->opts };
    r->fmt = output_find("pprof");
    ck_assert_ptr_nonnull(r->fmt);
    r->f = open_memstream(&r->buf, &r->len);
    ck_assert_ptr_nonnull(r->f);
    char err[128] = "";
    r->w = r->fmt->begin(r->f, &info, err, sizeof err);
    ck_assert_msg(r->w != NULL, "begin: %s", err);
}

/* End the writer and unpack what it wrote (gunzip, then protobuf-c). */
static Perftools__Profiles__Profile *rec_end(struct rec *r)
{
    struct output_totals totals = { .samples = r->fed, .errors = 3, .duration_s = 12.5 };
    ck_assert_int_eq(r->fmt->end(r->w, r->prof, &totals), 0);
    ck_assert_int_eq(fclose(r->f), 0);
    ck_assert_uint_ge(r->len, 18);
    ck_assert(memcmp(r->buf, "\x1f\x8b", 2) == 0);     /* the gzip magic */
    z_stream z = { 0 };
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
    size_t cap = 1 << 16, len = 0;
    unsigned char *out = malloc(cap);
    z.next_in = (unsigned char *)r->buf;
    z.avail_in = (uInt)r->len;
    int zrc;
    do {
        if (len == cap)
            out = realloc(out, cap *= 2);
        ck_assert_ptr_nonnull(out);
        z.next_out = out + len;
        z.avail_out = (uInt)(cap - len);
        zrc = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
    } while (zrc == Z_OK);
    ck_assert_int_eq(zrc, Z_STREAM_END);
    ck_assert_uint_eq(z.avail_in, 0);
    inflateEnd(&z);
    Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, len, out);
    free(out);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void rec_free(struct rec *r)
{
    free(r->buf);
    profile_free(r->prof);
    strtab_free(r->st);
}

static const char *str(const Perftools__Profiles__Profile *p, int64_t i)
{
    ck_assert(i >= 0 && (size_t)i < p->n_string_table);
    return p->string_table[i];
}

static const Perftools__Profiles__Location *location(const Perftools__Profiles__Profile *p, uint64_t id)
{
    /* The writer numbers them from 1 in order; checked in check_tables. */
    ck_assert(id >= 1 && id <= p->n_location);
    return p->location[id - 1];
}

static const Perftools__Profiles__Function *function(const Perftools__Profiles__Profile *p, uint64_t id)
{
    ck_assert(id >= 1 && id <= p->n_function);
    return p->function[id - 1];
}

/* The format's rules on the tables: string 0 is "", ids resolve, one
 * function per (name, file, first line), one location per (function, line). */
static void check_tables(const Perftools__Profiles__Profile *p)
{
    ck_assert_uint_ge(p->n_string_table, 1);
    ck_assert_str_eq(p->string_table[0], "");
    /* Check records every assertion: pairs are compared plainly, asserted once. */
    size_t repeated = 0;
    for (size_t i = 1; i < p->n_string_table; i++)
        for (size_t j = i + 1; j < p->n_string_table; j++)
            repeated += strcmp(p->string_table[i], p->string_table[j]) == 0;
    ck_assert_uint_eq(p->n_sample_type, 2);
    ck_assert_str_eq(str(p, p->sample_type[0]->type), "samples");
    ck_assert_str_eq(str(p, p->sample_type[0]->unit), "count");
    ck_assert_str_eq(str(p, p->sample_type[1]->type), "wall");
    ck_assert_str_eq(str(p, p->sample_type[1]->unit), "nanoseconds");
    ck_assert_ptr_nonnull(p->period_type);
    ck_assert_str_eq(str(p, p->period_type->type), "wall");
    ck_assert_str_eq(str(p, p->period_type->unit), "nanoseconds");
    ck_assert_int_eq(p->period, PERIOD_NS);
    ck_assert_int_eq(p->duration_nanos, 12500000000ll);
    ck_assert_int_gt(p->time_nanos, 0);
    ck_assert_uint_eq(p->n_comment, 2);
    ck_assert_str_eq(str(p, p->comment[0]), "python3 app.py");
    ck_assert_str_eq(str(p, p->comment[1]), "Python 3.12.1, 250 Hz, 3 sampling errors");
    ck_assert_uint_eq(p->n_mapping, 0);
    for (size_t i = 0; i < p->n_function; i++) {
        const Perftools__Profiles__Function *f = p->function[i];
        ck_assert_uint_eq(f->id, i + 1);
        ck_assert_int_eq(f->system_name, f->name);
        str(p, f->filename);
        for (size_t j = 0; j < i; j++)
            repeated += p->function[j]->name == f->name && p->function[j]->filename == f->filename &&
                        p->function[j]->start_line == f->start_line;
    }
    for (size_t i = 0; i < p->n_location; i++) {
        const Perftools__Profiles__Location *l = p->location[i];
        ck_assert_uint_eq(l->id, i + 1);
        ck_assert_uint_eq(l->mapping_id, 0);
        ck_assert_uint_eq(l->n_line, 1);
        function(p, l->line[0]->function_id);
        for (size_t j = 0; j < i; j++)
            repeated += p->location[j]->line[0]->function_id == l->line[0]->function_id &&
                        p->location[j]->line[0]->line == l->line[0]->line;
    }
    ck_assert_msg(repeated == 0, "%zu strings, functions or locations repeated", repeated);
}

/* One stack as the folded writer would write it, from the pprof sample's
 * locations (leaf first in the file). */
static void folded_text(const Perftools__Profiles__Profile *p, const Perftools__Profiles__Sample *s, char *out,
                        size_t outlen)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t k = s->n_location_id; k-- > 0;) {
        const Perftools__Profiles__Location *l = location(p, s->location_id[k]);
        const Perftools__Profiles__Function *f = function(p, l->line[0]->function_id);
        const char *file = str(p, f->filename);
        int n;
        if (!*file)
            n = snprintf(out + at, outlen - at, "%s%s", at ? ";" : "", str(p, f->name));
        else if (l->line[0]->line)
            n = snprintf(out + at, outlen - at, "%s%s (%s:%lld)", at ? ";" : "", str(p, f->name), file,
                         (long long)l->line[0]->line);
        else
            n = snprintf(out + at, outlen - at, "%s%s (%s)", at ? ";" : "", str(p, f->name), file);
        ck_assert(n > 0 && (size_t)n < outlen - at);
        at += (size_t)n;
    }
}

struct line {
    char *text;
    uint64_t count;
};

struct lines {
    struct line *v;
    size_t n, cap;
};

static void lines_add(struct lines *ls, const char *text, uint64_t count)
{
    if (ls->n == ls->cap) {
        ls->cap = ls->cap ? ls->cap * 2 : 256;
        ls->v = realloc(ls->v, ls->cap * sizeof *ls->v);
        ck_assert_ptr_nonnull(ls->v);
    }
    ls->v[ls->n].text = strdup(text);
    ls->v[ls->n++].count = count;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

/* Sort and merge equal texts (pprof keeps stacks apart by labels). */
static void lines_merge(struct lines *ls)
{
    size_t k = 0;
    qsort(ls->v, ls->n, sizeof *ls->v, cmp_line);
    for (size_t i = 0; i < ls->n; i++) {
        if (k && strcmp(ls->v[k - 1].text, ls->v[i].text) == 0) {
            ls->v[k - 1].count += ls->v[i].count;
            free(ls->v[i].text);
        } else {
            ls->v[k++] = ls->v[i];
        }
    }
    ls->n = k;
}

static void lines_free(struct lines *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        free(ls->v[i].text);
    free(ls->v);
}

static int collect_folded(void *ctx, const char *stack, size_t len, uint64_t count)
{
    (void)len;
    lines_add(ctx, stack, count);
    return 0;
}

/* Label KEY of sample S: its string (*STR) or number (*NUM); 0 when absent. */
static int label(const Perftools__Profiles__Profile *p, const Perftools__Profiles__Sample *s, const char *key,
                 const char **strv, int64_t *num)
{
    for (size_t i = 0; i < s->n_label; i++) {
        if (strcmp(str(p, s->label[i]->key), key) == 0) {
            *strv = str(p, s->label[i]->str);
            *num = s->label[i]->num;
            return 1;
        }
    }
    return 0;
}

/* --subprocesses' command names: the subprocess has none. */
static uint32_t process_command(const void *ctx, pid_t pid)
{
    return pid == PID ? intern((struct strtab *)ctx, "python3 app.py") : STRTAB_NONE;
}

static const struct folded_opts variants[] = {
    { 0 },
    { .threads = 1 },
    { .function = 1 },
    { .nolineno = 1 },
    { .threads = 1, .function = 1 },
    { .threads = 1, .process = process_command },
};

/* The same samples: pprof's counts per stack (labels merged) are the folded
 * writer's, values are consistent, labels say thread, id and state. */
START_TEST(test_same_as_folded)
{
    struct rec r;
    rec_begin(&r, &variants[_i]);
    feed(&r, 0x9e3779b97f4a7c15ull + (uint64_t)_i);
    Perftools__Profiles__Profile *p = rec_end(&r);
    check_tables(p);

    struct lines want = { 0 }, got = { 0 };
    ck_assert_int_eq(folded_lines(r.prof, r.st, NULL, &r.opts, collect_folded, &want), 0);
    uint64_t total = 0, by_state[NTHREADS][TSTATE_COUNT] = { { 0 } };
    char text[8192];
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        ck_assert_uint_eq(s->n_value, 2);
        ck_assert_int_gt(s->value[0], 0);
        ck_assert_int_eq(s->value[1], s->value[0] * PERIOD_NS);
        total += (uint64_t)s->value[0];
        const char *sv = NULL, *name = NULL;
        int64_t tid = 0, unused;
        int64_t pid = 0;
        ck_assert(label(p, s, "thread_id", &sv, &tid));
        ck_assert(tid >= 100 && tid < 100 + NTHREADS);
        ck_assert(label(p, s, "pid", &sv, &pid));
        ck_assert_int_eq(pid, tid == 102 ? PID + 1 : PID);
        ck_assert(label(p, s, "state", &sv, &unused));
        int state = sample_state_parse(sv, strlen(sv));
        ck_assert_int_ge(state, 0);
        by_state[tid - 100][state] += (uint64_t)s->value[0];
        /* The thread without a name has no thread_name label. */
        int named = label(p, s, "thread_name", &name, &unused);
        ck_assert_int_eq(named, *thread_names[tid - 100] != '\0');
        if (named)
            ck_assert_str_eq(name, thread_names[tid - 100]);
        ck_assert_uint_eq(s->n_label, named ? 4 : 3);
        /* Identical (stack, labels) are one sample. */
        size_t twins = 0;
        for (size_t j = 0; j < i; j++) {
            const Perftools__Profiles__Sample *o = p->sample[j];
            int same = o->n_location_id == s->n_location_id &&
                       memcmp(o->location_id, s->location_id, s->n_location_id * sizeof *s->location_id) == 0 &&
                       o->n_label == s->n_label;
            for (size_t k = 0; same && k < s->n_label; k++)
                same = o->label[k]->key == s->label[k]->key && o->label[k]->str == s->label[k]->str &&
                       o->label[k]->num == s->label[k]->num;
            twins += same;
        }
        ck_assert_msg(twins == 0, "sample %zu has the stack and labels of an earlier one", i);
        folded_text(p, s, text, sizeof text);
        lines_add(&got, text, (uint64_t)s->value[0]);
    }
    ck_assert_uint_eq(total, r.fed);
    ck_assert(memcmp(by_state, r.by_state, sizeof by_state) == 0);
    lines_merge(&got);
    ck_assert_uint_eq(got.n, want.n);
    for (size_t i = 0; i < want.n; i++) {
        ck_assert_str_eq(got.v[i].text, want.v[i].text);
        ck_assert_uint_eq(got.v[i].count, want.v[i].count);
    }
    lines_free(&want);
    lines_free(&got);
    perftools__profiles__profile__free_unpacked(p, NULL);
    rec_free(&r);
}
END_TEST

/* What each option leaves of a Python frame's lines, and of a C frame's. */
START_TEST(test_lines)
{
    static const struct { struct folded_opts o; int py_line, py_start, c_line; } cases[] = {
        { { 0 }, 12, 10, 30 },
        { { .function = 1 }, 10, 10, 0 },
        { { .nolineno = 1 }, 0, 0, 0 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct rec r;
        rec_begin(&r, &cases[c].o);
        struct sample s = { 0 };
        struct frame fr[2] = {
            { .name = intern(r.st, "inner"), .file = intern(r.st, "/src/ext.c"), .line = 30, .kind = FRAME_NATIVE },
            { .name = intern(r.st, "main"), .file = intern(r.st, "/srv/app/main.py"), .line = 12, .first_line = 10,
              .kind = FRAME_PYTHON },
        };
        for (int k = 0; k < 2; k++)
            ck_assert_int_eq(sample_push_frame(&s, &fr[k]), 0);
        struct thread_sample t = { .pid = PID, .tid = 7, .name = intern(r.st, "T"), .nframes = 2,
                                   .state = TSTATE_NATIVE };
        ck_assert_int_eq(sample_push_thread(&s, &t), 0);
        ck_assert_int_eq(r.fmt->sample(r.w, &s, 0), 0);
        ck_assert_int_eq(r.fmt->sample(r.w, &s, 0), 0);
        r.fed = 2;
        sample_free(&s);
        Perftools__Profiles__Profile *p = rec_end(&r);
        check_tables(p);
        ck_assert_uint_eq(p->n_sample, 1);
        ck_assert_int_eq(p->sample[0]->value[0], 2);
        ck_assert_uint_eq(p->sample[0]->n_location_id, 2);
        const Perftools__Profiles__Location *leaf = location(p, p->sample[0]->location_id[0]);
        const Perftools__Profiles__Location *root = location(p, p->sample[0]->location_id[1]);
        const Perftools__Profiles__Function *cf = function(p, leaf->line[0]->function_id);
        const Perftools__Profiles__Function *pf = function(p, root->line[0]->function_id);
        ck_assert_str_eq(str(p, cf->name), "inner");
        ck_assert_str_eq(str(p, cf->filename), "/src/ext.c");
        ck_assert_int_eq(cf->start_line, 0);
        ck_assert_int_eq(leaf->line[0]->line, cases[c].c_line);
        ck_assert_str_eq(str(p, pf->name), "main");
        ck_assert_str_eq(str(p, pf->filename), "/srv/app/main.py");
        ck_assert_int_eq(pf->start_line, cases[c].py_start);
        ck_assert_int_eq(root->line[0]->line, cases[c].py_line);
        perftools__profiles__profile__free_unpacked(p, NULL);
        rec_free(&r);
    }
}
END_TEST

/* A write that fails is reported, and end still releases the writer. */
START_TEST(test_write_error)
{
    struct strtab *st = strtab_new();
    struct folded_opts o = { 0 };
    struct output_info info = { .pid = PID, .title = "t", .rate_hz = RATE, .strings = st, .opts = &o };
    const struct output_format *of = output_find("pprof");
    FILE *full = fopen("/dev/full", "w");
    ck_assert_ptr_nonnull(full);
    char err[128];
    void *w = of->begin(full, &info, err, sizeof err);
    ck_assert_ptr_nonnull(w);
    struct sample s = { 0 };
    struct frame f = { .name = intern(st, "main"), .file = intern(st, "main.py"), .line = 1 };
    ck_assert_int_eq(sample_push_frame(&s, &f), 0);
    struct thread_sample t = { .pid = PID, .tid = 1, .name = intern(st, "T"), .nframes = 1 };
    ck_assert_int_eq(sample_push_thread(&s, &t), 0);
    ck_assert_int_eq(of->sample(w, &s, 0), 0);
    struct output_totals totals = { .samples = 1 };
    ck_assert_int_eq(of->end(w, NULL, &totals), -EIO);
    fclose(full);
    sample_free(&s);
    strtab_free(st);
}
END_TEST

START_TEST(test_registry)
{
    const struct output_format *f = output_find("PPROF");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->name, "pprof");
    ck_assert_ptr_eq(output_for_path("out.pb.gz"), f);
    ck_assert_str_eq(f->default_ext, "pb.gz");
    ck_assert_ptr_nonnull(strstr(output_names(), "pprof"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pprof");
    TCase *tc = tcase_create("pprof");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_registry);
    tcase_add_loop_test(tc, test_same_as_folded, 0, sizeof variants / sizeof variants[0]);
    tcase_add_test(tc, test_lines);
    tcase_add_test(tc, test_write_error);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
