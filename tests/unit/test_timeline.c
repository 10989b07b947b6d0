/* Unit tests: the streaming timeline writers (speedscope, chrometrace) and
 * the timeline they share, fed synthetic samples with known stacks and
 * times through their struct output_format, and their output read back with
 * a small JSON parser. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "profile.h"
#include "sample.h"
#include "strtab.h"
#include "timeline.h"

/* ---- a small JSON reader: enough to walk what the writers produce ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
    enum jtype type;
    double num;             /* J_NUM, J_BOOL */
    char *str;              /* J_STR: decoded UTF-8, NUL-terminated */
    struct jv **items;      /* J_ARR, J_OBJ values */
    char **keys;            /* J_OBJ keys */
    size_t n;
};

struct jparser {
    const char *s;
    size_t at;
    const char *error;
};

static void jfree(struct jv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        jfree(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

static void jws(struct jparser *p)
{
    while (p->s[p->at] == ' ' || p->s[p->at] == '\n' || p->s[p->at] == '\t' || p->s[p->at] == '\r')
        p->at++;
}

static void put_utf8(char *out, size_t *len, uint32_t c)
{
    if (c < 0x80) {
        out[(*len)++] = (char)c;
    } else if (c < 0x800) {
        out[(*len)++] = (char)(0xC0 | (c >> 6));
        out[(*len)++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out[(*len)++] = (char)(0xE0 | (c >> 12));
        out[(*len)++] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[(*len)++] = (char)(0x80 | (c & 0x3F));
    } else {
        out[(*len)++] = (char)(0xF0 | (c >> 18));
        out[(*len)++] = (char)(0x80 | ((c >> 12) & 0x3F));
        out[(*len)++] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[(*len)++] = (char)(0x80 | (c & 0x3F));
    }
}

static int hex4(struct jparser *p, uint32_t *out)
{
    *out = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->at++];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *out = *out * 16 + (uint32_t)d;
    }
    return 0;
}

static char *jstring(struct jparser *p)
{
    if (p->s[p->at] != '"') {
        p->error = "expected a string";
        return NULL;
    }
    p->at++;
    size_t start = p->at, len = 0;
    while (p->s[p->at] && p->s[p->at] != '"')
        p->at += p->s[p->at] == '\\' ? 2 : 1;
    char *out = malloc(p->at - start + 1);
    p->at = start;
    while (p->s[p->at] != '"') {
        unsigned char c = (unsigned char)p->s[p->at++];
        if (c == 0 || c < 0x20) {
            p->error = "raw control character or end in a string";
            free(out);
            return NULL;
        }
        if (c != '\\') {
            out[len++] = (char)c;
            continue;
        }
        char e = p->s[p->at++];
        uint32_t u, lo;
        switch (e) {
        case '"': out[len++] = '"'; break;
        case '\\': out[len++] = '\\'; break;
        case '/': out[len++] = '/'; break;
        case 'b': out[len++] = '\b'; break;
        case 'f': out[len++] = '\f'; break;
        case 'n': out[len++] = '\n'; break;
        case 'r': out[len++] = '\r'; break;
        case 't': out[len++] = '\t'; break;
        case 'u':
            if (hex4(p, &u) != 0) {
                p->error = "bad \\u escape";
                free(out);
                return NULL;
            }
            if (u >= 0xD800 && u < 0xDC00 && p->s[p->at] == '\\' && p->s[p->at + 1] == 'u') {
                p->at += 2;
                if (hex4(p, &lo) != 0) {
                    p->error = "bad surrogate";
                    free(out);
                    return NULL;
                }
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(out, &len, u);
            break;
        default:
            p->error = "bad escape";
            free(out);
            return NULL;
        }
    }
    p->at++;
    out[len] = '\0';
    return out;
}

static struct jv *jvalue(struct jparser *p, int depth);

static int jpush(struct jv *v, struct jv *item, char *key, size_t *cap)
{
    if (v->n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        v->items = realloc(v->items, *cap * sizeof *v->items);
        if (v->type == J_OBJ)
            v->keys = realloc(v->keys, *cap * sizeof *v->keys);
    }
    v->items[v->n] = item;
    if (v->type == J_OBJ)
        v->keys[v->n] = key;
    v->n++;
    return 0;
}

static struct jv *jvalue(struct jparser *p, int depth)
{
    jws(p);
    struct jv *v = calloc(1, sizeof *v);
    char c = p->s[p->at];
    size_t cap = 0;
    if (depth > 64) {
        p->error = "too deep";
    } else if (c == '{' || c == '[') {
        v->type = c == '{' ? J_OBJ : J_ARR;
        char close = c == '{' ? '}' : ']';
        p->at++;
        jws(p);
        if (p->s[p->at] == close) {
            p->at++;
            return v;
        }
        for (;;) {
            char *key = NULL;
            jws(p);
            if (v->type == J_OBJ) {
                if (!(key = jstring(p)))
                    break;
                jws(p);
                if (p->s[p->at++] != ':') {
                    p->error = "expected ':'";
                    free(key);
                    break;
                }
            }
            struct jv *item = jvalue(p, depth + 1);
            if (!item) {
                free(key);
                break;
            }
            jpush(v, item, key, &cap);
            jws(p);
            if (p->s[p->at] == ',') {
                p->at++;
                continue;
            }
            if (p->s[p->at] == close) {
                p->at++;
                return v;
            }
            p->error = "expected ',' or a close";
            break;
        }
    } else if (c == '"') {
        v->type = J_STR;
        if ((v->str = jstring(p)) != NULL)
            return v;
    } else if (strncmp(p->s + p->at, "true", 4) == 0 || strncmp(p->s + p->at, "false", 5) == 0) {
        v->type = J_BOOL;
        v->num = c == 't';
        p->at += c == 't' ? 4 : 5;
        return v;
    } else if (strncmp(p->s + p->at, "null", 4) == 0) {
        p->at += 4;
        return v;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        /* The JSON grammar, strictly: strtod alone would take "1." or "0x1". */
        size_t at = p->at;
        if (p->s[at] == '-')
            at++;
        if (p->s[at] == '0' && p->s[at + 1] >= '0' && p->s[at + 1] <= '9') {
            p->error = "leading zero";
        } else {
            while (p->s[at] >= '0' && p->s[at] <= '9')
                at++;
            int ok = 1;
            if (p->s[at] == '.') {
                at++;
                ok = p->s[at] >= '0' && p->s[at] <= '9';
                while (p->s[at] >= '0' && p->s[at] <= '9')
                    at++;
            }
            if (ok && (p->s[at] == 'e' || p->s[at] == 'E')) {
                at++;
                if (p->s[at] == '+' || p->s[at] == '-')
                    at++;
                ok = p->s[at] >= '0' && p->s[at] <= '9';
                while (p->s[at] >= '0' && p->s[at] <= '9')
                    at++;
            }
            if (ok) {
                v->type = J_NUM;
                v->num = strtod(p->s + p->at, NULL);
                p->at = at;
                return v;
            }
            p->error = "bad number";
        }
    } else {
        p->error = "unexpected character";
    }
    if (!p->error)
        p->error = "bad value";
    jfree(v);
    return NULL;
}

/* Parse TEXT as one JSON document; fails the test with the position on error. */
static struct jv *jparse(const char *text)
{
    struct jparser p = { .s = text };
    struct jv *v = jvalue(&p, 0);
    if (v) {
        jws(&p);
        if (p.s[p.at]) {
            p.error = "text after the document";
            jfree(v);
            v = NULL;
        }
    }
    if (!v) {
        size_t from = p.at > 60 ? p.at - 60 : 0;
        ck_abort_msg("JSON error at byte %zu: %s near: %.120s", p.at, p.error, text + from);
    }
    return v;
}

static struct jv *jget(const struct jv *o, const char *key)
{
    if (!o || o->type != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return o->items[i];
    return NULL;
}

/* Check records every assertion it evaluates (a write each), so the
 * helpers called per event test first and only fail through Check. */
static struct jv *jneed(const struct jv *o, const char *key, enum jtype type)
{
    struct jv *v = jget(o, key);
    if (!v)
        ck_abort_msg("missing key '%s'", key);
    if (v->type != type)
        ck_abort_msg("key '%s' has type %d, not %d", key, (int)v->type, (int)type);
    return v;
}

static const char *jstr(const struct jv *o, const char *key)
{
    return jneed(o, key, J_STR)->str;
}

static double jnum(const struct jv *o, const char *key)
{
    return jneed(o, key, J_NUM)->num;
}

/* ---- synthetic recordings ---- */

#define PID 4242
#define START_NS 5000000000ull          /* output_info.start_ns */
#define MS 1000000ull
#define RATE 100.0                      /* so one period is 10 ms */
#define PERIOD_NS ((uint64_t)(1e9 / RATE))
#define MAXF 8

/* One thread sample as a test describes it: frames root first, by name;
 * a frame's file is NAME.py and its line given alongside. */
struct tsample {
    pid_t tid;
    const char *thread;
    uint32_t flags;
    int nframes;
    const char *frames[MAXF];
    int lines[MAXF];            /* 0: line 10 */
};

struct tpass {
    uint64_t t_ms;              /* time after START_NS */
    int nthreads;
    struct tsample th[4];
};

struct rec {
    struct strtab *st;
    struct folded_opts opts;
    struct output_info info;
    struct profile *prof;
    char *buf;
    size_t len;
    FILE *f;
    const struct output_format *fmt;
    void *w;
};

static void rec_begin(struct rec *r, const char *format, const struct folded_opts *opts)
{
    memset(r, 0, sizeof *r);
    r->st = strtab_new();
    r->prof = profile_new();
    if (opts)
        r->opts = *opts;
    r->info = (struct output_info){ .pid = PID, .title = "python3 app.py \"quoted\"", .python_version = "3.12.1",
                                    .rate_hz = RATE, .start_ns = START_NS, .strings = r->st, .files = NULL,
                                    .opts = &r->opts };
    r->fmt = output_find(format);
    ck_assert_ptr_nonnull(r->fmt);
    r->f = open_memstream(&r->buf, &r->len);
    char err[256] = "";
    r->w = r->fmt->begin(r->f, &r->info, err, sizeof err);
    ck_assert_msg(r->w != NULL, "begin failed: %s", err);
}

static uint32_t intern(struct strtab *st, const char *s)
{
    return strtab_intern(st, s, strlen(s));
}

/* Feed one pass to the writer (and to the profile, as cli_record does). */
static void rec_pass(struct rec *r, const struct tpass *p)
{
    struct sample s = { 0 };
    s.time_ns = START_NS + p->t_ms * MS;
    for (int i = 0; i < p->nthreads; i++) {
        const struct tsample *ts = &p->th[i];
        struct thread_sample t = { .pid = PID, .tid = ts->tid, .thread_id = 1000u + (uint64_t)ts->tid,
                                   .name = intern(r->st, ts->thread), .flags = ts->flags,
                                   .first = (uint32_t)s.nframes, .nframes = (uint32_t)ts->nframes };
        /* Leaf first, as the walk stores them. */
        for (int k = ts->nframes - 1; k >= 0; k--) {
            char file[256];
            snprintf(file, sizeof file, "%s.py", ts->frames[k]);
            struct frame f = { .name = intern(r->st, ts->frames[k]), .file = intern(r->st, file),
                               .line = ts->lines[k] ? ts->lines[k] : 10, .first_line = 1, .kind = FRAME_PYTHON };
            if (sample_push_frame(&s, &f) != 0)
                ck_abort_msg("out of memory");
        }
        if (sample_push_thread(&s, &t) != 0)
            ck_abort_msg("out of memory");
    }
    for (size_t i = 0; i < s.nthreads; i++) {
        int rc = profile_add(r->prof, &s, i);
        if (rc != 0 || (rc = r->fmt->sample(r->w, &s, i)) != 0)
            ck_abort_msg("%s: sample at %llu ms failed: %d", r->fmt->name, (unsigned long long)p->t_ms, rc);
    }
    sample_free(&s);
}

/* End the writer and return its output parsed (R keeps the text in r->buf). */
static struct jv *rec_end(struct rec *r)
{
    struct output_totals totals = { .samples = profile_total(r->prof), .errors = 0, .duration_s = 1.0 };
    ck_assert_int_eq(r->fmt->end(r->w, r->prof, &totals), 0);
    fclose(r->f);
    return jparse(r->buf);
}

static void rec_free(struct rec *r)
{
    free(r->buf);
    profile_free(r->prof);
    strtab_free(r->st);
}

#define G (SAMPLE_GIL | SAMPLE_ACTIVE)
#define A SAMPLE_ACTIVE

/* Thread 11 "Main"Thread" runs throughout (intervals 10, 11, 9 ms); thread
 * 12 is seen at 0 and 30 ms only, so it has a gap; its name has a newline
 * and non-ASCII in it. */
static const struct tpass basic[] = {
    { 0, 2, { { 11, "Main\"Thread", G, 3, { "main", "f", "g" }, { 0 } },
              { 12, "wörker\n1", A, 2, { "run", "wait" }, { 0 } } } },
    { 10, 1, { { 11, "Main\"Thread", G, 3, { "main", "f", "g" }, { 0 } } } },
    { 21, 1, { { 11, "Main\"Thread", A, 3, { "main", "f", "h" }, { 0 } } } },
    { 30, 2, { { 11, "Main\"Thread", G, 2, { "main", "k" }, { 0 } },
               { 12, "wörker\n1", A, 2, { "run", "wait" }, { 0 } } } },
};
#define NBASIC (sizeof basic / sizeof basic[0])

static void feed(struct rec *r, const struct tpass *passes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rec_pass(r, &passes[i]);
}

/* The profile of thread TID in a speedscope document. */
static const struct jv *ss_profile(const struct jv *doc, pid_t tid)
{
    const struct jv *profiles = jneed(doc, "profiles", J_ARR);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "Process %d Thread %d \"", PID, (int)tid);
    for (size_t i = 0; i < profiles->n; i++)
        if (strncmp(jstr(profiles->items[i], "name"), prefix, strlen(prefix)) == 0)
            return profiles->items[i];
    ck_abort_msg("no profile for thread %d", (int)tid);
    return NULL;
}

/* Sample K of profile P as "a;b;c" (frame names root first) into OUT. */
static void ss_stack(const struct jv *doc, const struct jv *p, size_t k, char *out, size_t outlen)
{
    const struct jv *frames = jneed(jneed(doc, "shared", J_OBJ), "frames", J_ARR);
    const struct jv *s = jneed(p, "samples", J_ARR)->items[k];
    ck_assert_int_eq(s->type, J_ARR);
    out[0] = '\0';
    for (size_t i = 0; i < s->n; i++) {
        ck_assert_int_eq(s->items[i]->type, J_NUM);
        size_t id = (size_t)s->items[i]->num;
        ck_assert_uint_lt(id, frames->n);
        size_t at = strlen(out);
        snprintf(out + at, outlen - at, "%s%s", i ? ";" : "", jstr(frames->items[id], "name"));
    }
}

static void join(const struct tsample *t, char *out, size_t outlen)
{
    out[0] = '\0';
    for (int i = 0; i < t->nframes; i++) {
        size_t at = strlen(out);
        snprintf(out + at, outlen - at, "%s%s", i ? ";" : "", t->frames[i]);
    }
}

START_TEST(test_speedscope_basic)
{
    struct rec r;
    rec_begin(&r, "speedscope", NULL);
    feed(&r, basic, NBASIC);
    struct jv *doc = rec_end(&r);

    ck_assert_str_eq(jstr(doc, "$schema"), "https://www.speedscope.app/file-format-schema.json");
    ck_assert_str_eq(jstr(doc, "exporter"), "gilscope");
    ck_assert_str_eq(jstr(doc, "name"), r.info.title);
    const struct jv *frames = jneed(jneed(doc, "shared", J_OBJ), "frames", J_ARR);
    /* main f g h k run wait: each distinct frame once. */
    ck_assert_uint_eq(frames->n, 7);
    for (size_t i = 0; i < frames->n; i++) {
        char file[64];
        snprintf(file, sizeof file, "%s.py", jstr(frames->items[i], "name"));
        ck_assert_str_eq(jstr(frames->items[i], "file"), file);
        ck_assert_int_eq((int)jnum(frames->items[i], "line"), 10);
        ck_assert_int_eq((int)jnum(frames->items[i], "col"), 0);   /* synthetic frames: column unknown */
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(jstr(frames->items[i], "name"), jstr(frames->items[j], "name"));
    }
    ck_assert_uint_eq(jneed(doc, "profiles", J_ARR)->n, 2);

    /* Thread 11: samples as fed; weights = interval to the next sample, the
     * last one period. */
    const struct jv *p = ss_profile(doc, 11);
    ck_assert_str_eq(jstr(p, "name"), "Process 4242 Thread 11 \"Main\"Thread\"");
    ck_assert_str_eq(jstr(p, "type"), "sampled");
    ck_assert_str_eq(jstr(p, "unit"), "seconds");
    const struct jv *w = jneed(p, "weights", J_ARR);
    ck_assert_uint_eq(w->n, NBASIC);
    ck_assert_uint_eq(jneed(p, "samples", J_ARR)->n, NBASIC);
    double sum = 0;
    for (size_t k = 0; k < NBASIC; k++) {
        char got[256], want[256];
        ss_stack(doc, p, k, got, sizeof got);
        join(&basic[k].th[0], want, sizeof want);
        ck_assert_str_eq(got, want);
        uint64_t expect = k + 1 < NBASIC ? (basic[k + 1].t_ms - basic[k].t_ms) * MS : PERIOD_NS;
        ck_assert_double_eq_tol(w->items[k]->num, (double)expect / 1e9, 1e-12);
        sum += w->items[k]->num;
    }
    ck_assert_double_eq_tol(jnum(p, "startValue"), (double)basic[0].t_ms / 1e3, 1e-12);
    ck_assert_double_eq_tol(jnum(p, "endValue") - jnum(p, "startValue"), sum, 1e-9);
    ck_assert_double_eq_tol(sum, (double)(basic[NBASIC - 1].t_ms * MS + PERIOD_NS) / 1e9, 1e-9);

    /* Thread 12 missed the passes at 10 and 21 ms: its first sample lasts
     * one period, not until 30 ms. */
    p = ss_profile(doc, 12);
    ck_assert_str_eq(jstr(p, "name"), "Process 4242 Thread 12 \"wörker\n1\"");
    w = jneed(p, "weights", J_ARR);
    ck_assert_uint_eq(w->n, 2);
    ck_assert_double_eq_tol(w->items[0]->num, (double)PERIOD_NS / 1e9, 1e-12);
    ck_assert_double_eq_tol(w->items[1]->num, (double)PERIOD_NS / 1e9, 1e-12);
    ck_assert_double_eq_tol(jnum(p, "endValue") - jnum(p, "startValue"), 2.0 * (double)PERIOD_NS / 1e9, 1e-12);

    /* Opens on the busiest thread. */
    size_t active = (size_t)jnum(doc, "activeProfileIndex");
    ck_assert_str_eq(jstr(jneed(doc, "profiles", J_ARR)->items[active], "name"),
                     "Process 4242 Thread 11 \"Main\"Thread\"");
    jfree(doc);
    rec_free(&r);
}
END_TEST

/* --function shows a function once (at its first line) whatever line runs;
 * --nolineno shows no line at all. */
START_TEST(test_speedscope_opts)
{
    static const struct tpass lines[] = {
        { 0, 1, { { 11, "T", G, 2, { "main", "f" }, { 5, 7 } } } },
        { 10, 1, { { 11, "T", G, 2, { "main", "f" }, { 5, 8 } } } },
        { 20, 1, { { 11, "T", G, 2, { "main", "f" }, { 6, 9 } } } },
    };
    for (int mode = 0; mode < 3; mode++) {
        struct folded_opts o = { .function = mode == 1, .nolineno = mode == 2 };
        struct rec r;
        rec_begin(&r, "speedscope", &o);
        feed(&r, lines, 3);
        struct jv *doc = rec_end(&r);
        const struct jv *frames = jneed(jneed(doc, "shared", J_OBJ), "frames", J_ARR);
        /* By line: main@5, f@7, f@8, main@6, f@9. Otherwise main and f. */
        ck_assert_uint_eq(frames->n, mode == 0 ? 5 : 2);
        for (size_t i = 0; i < frames->n; i++) {
            if (mode == 2)
                ck_assert_ptr_null(jget(frames->items[i], "line"));
            else if (mode == 1)
                ck_assert_int_eq((int)jnum(frames->items[i], "line"), 1);
        }
        jfree(doc);
        rec_free(&r);
    }
}
END_TEST

/* ---- chrometrace: replay B/E per thread into slices ---- */

struct slice {
    pid_t tid;
    char name[64];
    int depth;
    double ts, end;     /* microseconds */
};

struct replay {
    struct slice done[256];
    size_t ndone;
    struct slice open[8][MAXF + 1];     /* per thread slot */
    int depth[8];
    pid_t tids[8];
    double last_ts[8];
    int nthreads;
};

static int slot(struct replay *rp, pid_t tid)
{
    for (int i = 0; i < rp->nthreads; i++)
        if (rp->tids[i] == tid)
            return i;
    ck_assert_int_lt(rp->nthreads, 8);
    rp->tids[rp->nthreads] = tid;
    rp->last_ts[rp->nthreads] = -1;
    return rp->nthreads++;
}

/* Check the event stream's B/E discipline and collect the slices. */
static void replay(const struct jv *doc, struct replay *rp)
{
    memset(rp, 0, sizeof *rp);
    const struct jv *ev = jneed(doc, "traceEvents", J_ARR);
    for (size_t i = 0; i < ev->n; i++) {
        const struct jv *e = ev->items[i];
        const char *ph = jstr(e, "ph");
        if (strcmp(ph, "B") != 0 && strcmp(ph, "E") != 0)
            continue;
        /* State tracks are checked by tests/formats; this replays the stacks. */
        if (strcmp(jstr(e, "cat"), "state") == 0)
            continue;
        ck_assert_int_eq((int)jnum(e, "pid"), PID);
        int t = slot(rp, (pid_t)jnum(e, "tid"));
        double ts = jnum(e, "ts");
        /* In file order, each thread's B/E times never go back. */
        ck_assert_msg(ts >= rp->last_ts[t], "thread %d: ts %f after %f", rp->tids[t], ts, rp->last_ts[t]);
        rp->last_ts[t] = ts;
        if (ph[0] == 'B') {
            ck_assert_int_lt(rp->depth[t], MAXF);
            struct slice *s = &rp->open[t][rp->depth[t]];
            memset(s, 0, sizeof *s);
            s->tid = rp->tids[t];
            snprintf(s->name, sizeof s->name, "%s", jstr(e, "name"));
            ck_assert_str_eq(jstr(e, "cat"), "python");
            char file[80];
            snprintf(file, sizeof file, "%s.py", s->name);
            ck_assert_str_eq(jstr(jneed(e, "args", J_OBJ), "file"), file);
            s->depth = rp->depth[t]++;
            s->ts = ts;
        } else {
            ck_assert_msg(rp->depth[t] > 0, "E without B on thread %d", rp->tids[t]);
            struct slice *s = &rp->open[t][--rp->depth[t]];
            /* Readers that match by name (speedscope) need the B's name. */
            ck_assert_str_eq(jstr(e, "name"), s->name);
            s->end = ts;
            ck_assert_uint_lt(rp->ndone, 256);
            rp->done[rp->ndone++] = *s;
        }
    }
    for (int t = 0; t < rp->nthreads; t++)
        ck_assert_msg(rp->depth[t] == 0, "thread %d left %d slices open", rp->tids[t], rp->depth[t]);
}

static const struct slice *find_slice(const struct replay *rp, pid_t tid, const char *name, double ts)
{
    for (size_t i = 0; i < rp->ndone; i++)
        if (rp->done[i].tid == tid && strcmp(rp->done[i].name, name) == 0 && rp->done[i].ts == ts)
            return &rp->done[i];
    return NULL;
}

static void expect_slice(const struct replay *rp, pid_t tid, const char *name, int depth, uint64_t from_ms,
                         double to_us)
{
    const struct slice *s = find_slice(rp, tid, name, (double)(from_ms * 1000));
    ck_assert_msg(s != NULL, "no slice %s at %llu ms on thread %d", name, (unsigned long long)from_ms, (int)tid);
    ck_assert_int_eq(s->depth, depth);
    ck_assert_double_eq_tol(s->end, to_us, 1e-6);
}

START_TEST(test_chrometrace_basic)
{
    struct rec r;
    rec_begin(&r, "chrometrace", NULL);
    feed(&r, basic, 1);
    /* Streaming: the first pass's slices are in the file before the end. */
    fflush(r.f);
    ck_assert_ptr_nonnull(strstr(r.buf, "\"ph\":\"B\""));
    ck_assert_ptr_nonnull(strstr(r.buf, "\"name\":\"g\""));
    feed(&r, basic + 1, NBASIC - 1);
    struct jv *doc = rec_end(&r);

    ck_assert_str_eq(jstr(doc, "displayTimeUnit"), "ms");
    const struct jv *other = jneed(doc, "otherData", J_OBJ);
    ck_assert_str_eq(jstr(other, "exporter"), "gilscope");
    ck_assert_str_eq(jstr(other, "title"), r.info.title);
    ck_assert_str_eq(jstr(other, "python_version"), "3.12.1");

    /* Metadata: the process by its title, each thread by its name, in the
     * order they appeared. */
    const struct jv *ev = jneed(doc, "traceEvents", J_ARR);
    int saw_process = 0, names = 0, sorts = 0;
    for (size_t i = 0; i < ev->n; i++) {
        const struct jv *e = ev->items[i];
        if (strcmp(jstr(e, "ph"), "M") != 0)
            continue;
        const char *what = jstr(e, "name");
        const struct jv *args = jneed(e, "args", J_OBJ);
        if (strcmp(what, "process_name") == 0) {
            ck_assert_str_eq(jstr(args, "name"), r.info.title);
            saw_process = 1;
        } else if (strcmp(what, "thread_name") == 0) {
            /* Each thread, and under it its state track (tid | 0x40000000). */
            int tid = (int)jnum(e, "tid"), state = (tid & 0x40000000) != 0;
            const char *name = (tid & ~0x40000000) == 11 ? "Main\"Thread" : "wörker\n1";
            char want[64];
            snprintf(want, sizeof want, state ? "%s: state" : "%s", name);
            ck_assert_str_eq(jstr(args, "name"), want);
            names++;
        } else if (strcmp(what, "thread_sort_index") == 0) {
            int tid = (int)jnum(e, "tid");
            ck_assert_int_eq((int)jnum(args, "sort_index"),
                             2 * ((tid & ~0x40000000) - 11) + ((tid & 0x40000000) != 0));
            sorts++;
        }
    }
    ck_assert(saw_process);
    ck_assert_int_eq(names, 4);
    ck_assert_int_eq(sorts, 4);

    /* The slices: a frame lasts while consecutive samples keep it; a gap or
     * the end closes everything one period after the last sample. */
    struct replay rp;
    replay(doc, &rp);
    double end11 = (double)(basic[NBASIC - 1].t_ms * MS + PERIOD_NS) / 1e3;
    expect_slice(&rp, 11, "main", 0, 0, end11);
    expect_slice(&rp, 11, "f", 1, 0, 30000);
    expect_slice(&rp, 11, "g", 2, 0, 21000);
    expect_slice(&rp, 11, "h", 2, 21, 30000);
    expect_slice(&rp, 11, "k", 1, 30, end11);
    expect_slice(&rp, 12, "run", 0, 0, (double)PERIOD_NS / 1e3);
    expect_slice(&rp, 12, "wait", 1, 0, (double)PERIOD_NS / 1e3);
    expect_slice(&rp, 12, "run", 0, 30, 30000 + (double)PERIOD_NS / 1e3);
    expect_slice(&rp, 12, "wait", 1, 30, 30000 + (double)PERIOD_NS / 1e3);
    ck_assert_uint_eq(rp.ndone, 9);

    /* GIL and running counters: thread 11 holds the GIL except at 21 ms; all
     * drop to 0 at a gap and at the end. */
    static const struct { int tid; double ts; int gil, active; } want[] = {
        { 11, 0, 1, 1 }, { 12, 0, 0, 1 }, { 11, 21000, 0, 1 }, { 11, 30000, 1, 1 },
        { 12, 10000, 0, 0 }, { 12, 30000, 0, 1 }, { 11, 40000, 0, 0 }, { 12, 40000, 0, 0 },
    };
    size_t ncounters = 0;
    for (size_t i = 0; i < ev->n; i++) {
        const struct jv *e = ev->items[i];
        if (strcmp(jstr(e, "ph"), "C") != 0)
            continue;
        int tid = (int)jnum(e, "tid");
        char name[32];
        snprintf(name, sizeof name, "thread %d", tid);
        ck_assert_str_eq(jstr(e, "name"), name);
        const struct jv *args = jneed(e, "args", J_OBJ);
        int found = 0;
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            if (want[k].tid == tid && want[k].ts == jnum(e, "ts")) {
                ck_assert_int_eq((int)jnum(args, "gil"), want[k].gil);
                ck_assert_int_eq((int)jnum(args, "active"), want[k].active);
                found = 1;
            }
        ck_assert_msg(found, "unexpected counter for %d at %f", tid, jnum(e, "ts"));
        ncounters++;
    }
    ck_assert_uint_eq(ncounters, sizeof want / sizeof want[0]);
    jfree(doc);
    rec_free(&r);
}
END_TEST

/* Times keep their nanoseconds: microseconds with three decimals, exactly. */
START_TEST(test_chrometrace_ns_times)
{
    struct rec r;
    rec_begin(&r, "chrometrace", NULL);
    static const uint64_t at[] = { 1234567, 11234568, 20999999 };
    struct sample s = { 0 };
    struct frame f = { .name = intern(r.st, "main"), .file = intern(r.st, "main.py"), .line = 1 };
    ck_assert_int_eq(sample_push_frame(&s, &f), 0);
    struct thread_sample t = { .pid = PID, .tid = 3, .name = intern(r.st, "T"), .flags = G, .nframes = 1 };
    ck_assert_int_eq(sample_push_thread(&s, &t), 0);
    for (size_t k = 0; k < 3; k++) {
        s.time_ns = START_NS + at[k];
        s.frames[0].line = (int32_t)k + 1;      /* a new slice each time */
        ck_assert_int_eq(r.fmt->sample(r.w, &s, 0), 0);
    }
    sample_free(&s);
    struct jv *doc = rec_end(&r);
    for (size_t k = 0; k < 3; k++) {
        char want[64];
        snprintf(want, sizeof want, "\"ts\":%llu.%03llu,", (unsigned long long)(at[k] / 1000),
                 (unsigned long long)(at[k] % 1000));
        ck_assert_msg(strstr(r.buf, want) != NULL, "no %s in the trace", want);
    }
    char end[64];
    uint64_t e = at[2] + PERIOD_NS;
    snprintf(end, sizeof end, "{\"ph\":\"E\",\"ts\":%llu.%03llu,", (unsigned long long)(e / 1000),
             (unsigned long long)(e % 1000));
    ck_assert_msg(strstr(r.buf, end) != NULL, "no %s in the trace", end);
    jfree(doc);
    rec_free(&r);
}
END_TEST

/* Names and files with quotes, backslashes, control characters, non-ASCII
 * and invalid UTF-8 come back intact (invalid bytes as U+FFFD). */
START_TEST(test_escaping)
{
    static const char *weird[] = { "quo\"te", "back\\slash", "new\nline\ttab\x01", "関数💩", "bad\377byte" };
    static const char *back[] = { "quo\"te", "back\\slash", "new\nline\ttab\x01", "関数💩", "bad\357\277\275byte" };
    struct tpass p = { 0, 1, { { 11, "thr\"ead\n💩", G, 5, { 0 }, { 0 } } } };
    for (int i = 0; i < 5; i++)
        p.th[0].frames[i] = weird[i];
    for (int fmt = 0; fmt < 2; fmt++) {
        struct rec r;
        rec_begin(&r, fmt ? "chrometrace" : "speedscope", NULL);
        r.info.title = "ti\"tle\n";
        rec_pass(&r, &p);
        struct jv *doc = rec_end(&r);
        if (fmt == 0) {
            const struct jv *prof = ss_profile(doc, 11);
            ck_assert_str_eq(jstr(prof, "name"), "Process 4242 Thread 11 \"thr\"ead\n💩\"");
            char got[512], want[512] = "";
            ss_stack(doc, prof, 0, got, sizeof got);
            for (int i = 0; i < 5; i++) {
                size_t at = strlen(want);
                snprintf(want + at, sizeof want - at, "%s%s", i ? ";" : "", back[i]);
            }
            ck_assert_str_eq(got, want);
            const struct jv *frames = jneed(jneed(doc, "shared", J_OBJ), "frames", J_ARR);
            for (int i = 0; i < 5; i++) {
                char file[64];
                snprintf(file, sizeof file, "%s.py", back[i]);
                ck_assert_str_eq(jstr(frames->items[i], "file"), file);
            }
        } else {
            const struct jv *ev = jneed(doc, "traceEvents", J_ARR);
            int k = 0, thread = 0;
            for (size_t i = 0; i < ev->n; i++) {
                const struct jv *e = ev->items[i];
                if (strcmp(jstr(e, "ph"), "B") == 0 && strcmp(jstr(e, "cat"), "python") == 0)
                    ck_assert_str_eq(jstr(e, "name"), back[k++]);
                if (strcmp(jstr(e, "ph"), "M") == 0 && strcmp(jstr(e, "name"), "thread_name") == 0) {
                    int state = ((int)jnum(e, "tid") & 0x40000000) != 0;
                    ck_assert_str_eq(jstr(jneed(e, "args", J_OBJ), "name"),
                                     state ? "thr\"ead\n💩: state" : "thr\"ead\n💩");
                    thread = 1;
                }
            }
            ck_assert_int_eq(k, 5);
            ck_assert(thread);
        }
        jfree(doc);
        rec_free(&r);
    }
}
END_TEST

/* ---- a long random stream: both formats agree with each other and with
 * the profile, and every weight follows the time rule ---- */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define RTHREADS 3
#define RPASSES 3000

struct rstream {
    struct tpass passes[RPASSES];
    int present[RPASSES][RTHREADS];
};

static const char *const pool[] = { "main", "loop", "parse", "read", "write", "compute", "helper" };

static void make_stream(struct rstream *rs, uint64_t seed)
{
    uint64_t t_ms = 0;
    int depth[RTHREADS] = { 3, 3, 3 };
    for (int k = 0; k < RPASSES; k++) {
        struct tpass *p = &rs->passes[k];
        /* 5..14 ms apart, now and then a long pause (>20 ms: a gap for all). */
        t_ms += 5 + rnd(&seed) % 10 + (rnd(&seed) % 50 == 0 ? 40 : 0);
        p->t_ms = t_ms;
        p->nthreads = 0;
        for (int t = 0; t < RTHREADS; t++) {
            rs->present[k][t] = rnd(&seed) % 5 != 0;
            if (!rs->present[k][t])
                continue;
            struct tsample *ts = &p->th[p->nthreads++];
            ts->tid = 100 + t;
            ts->thread = t == 0 ? "MainThread" : t == 1 ? "worker-1" : "worker-2";
            ts->flags = rnd(&seed) % 3 ? G : A;
            /* Stacks drift: mostly the same, sometimes a frame more or less. */
            int r = (int)(rnd(&seed) % 6);
            if (r == 0 && depth[t] < MAXF)
                depth[t]++;
            else if (r == 1 && depth[t] > 1)
                depth[t]--;
            ts->nframes = depth[t];
            for (int f = 0; f < depth[t]; f++) {
                ts->frames[f] = pool[(f * 3 + t + (f == depth[t] - 1 ? (int)(rnd(&seed) % 3) : 0)) % 7];
                ts->lines[f] = 10 + f;
            }
        }
    }
}

struct key {
    char *text;
    uint64_t count;
};

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const struct key *)a)->text, ((const struct key *)b)->text);
}

/* Sort K and add up the counts of equal keys into the first N returned;
 * the texts of the merged-away keys stay at the end for freeing. */
static size_t merge_keys(struct key *k, size_t n)
{
    qsort(k, n, sizeof *k, cmp_key);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out && strcmp(k[out - 1].text, k[i].text) == 0) {
            k[out - 1].count += k[i].count;
            continue;
        }
        struct key tmp = k[out];
        k[out++] = k[i];
        k[i] = tmp;
    }
    return out;
}

START_TEST(test_random_stream)
{
    static struct rstream rs;
    make_stream(&rs, 0x1234567u + (uint64_t)_i);
    struct rec ss, ct;
    rec_begin(&ss, "speedscope", NULL);
    rec_begin(&ct, "chrometrace", NULL);
    for (int k = 0; k < RPASSES; k++) {
        rec_pass(&ss, &rs.passes[k]);
        rec_pass(&ct, &rs.passes[k]);
    }
    struct jv *sdoc = rec_end(&ss), *cdoc = rec_end(&ct);
    /* Slices here outnumber replay's table: measure covered time instead. */
    const struct jv *ev = jneed(cdoc, "traceEvents", J_ARR);

    for (int t = 0; t < RTHREADS; t++) {
        pid_t tid = 100 + t;
        const struct jv *p = ss_profile(sdoc, tid);
        const struct jv *w = jneed(p, "weights", J_ARR);
        const struct jv *samples = jneed(p, "samples", J_ARR);
        ck_assert_uint_eq(w->n, samples->n);

        /* The time rule, from the stream itself: until the thread's next
         * sample when it is in the next pass the writer sees (one where any
         * thread was kept) and within 20 ms, otherwise one period. */
        size_t n = 0;
        uint64_t total = 0;
        for (int k = 0; k < RPASSES; k++) {
            if (!rs.present[k][t])
                continue;
            uint64_t expect = PERIOD_NS;
            int next = k + 1;
            while (next < RPASSES && !rs.present[next][0] && !rs.present[next][1] && !rs.present[next][2])
                next++;
            if (next < RPASSES && rs.present[next][t]) {
                uint64_t dt = (rs.passes[next].t_ms - rs.passes[k].t_ms) * MS;
                if (dt <= 20 * MS)
                    expect = dt;
            }
            if (n >= w->n || fabs(w->items[n]->num - (double)expect / 1e9) > 1e-12)
                ck_abort_msg("thread %d sample %zu: weight %.9f, want %.9f", (int)tid, n,
                             n < w->n ? w->items[n]->num : -1.0, (double)expect / 1e9);
            total += expect;
            n++;
        }
        ck_assert_uint_eq(n, w->n);
        double span = jnum(p, "endValue") - jnum(p, "startValue");
        ck_assert_double_eq_tol(span, (double)total / 1e9, 1e-6);

        /* Chrometrace: the time during which thread T had any frame open,
         * from its outermost slices, equals the sum of the weights. */
        double open_since = -1, covered = 0, last = -1;
        int depth = 0;
        for (size_t i = 0; i < ev->n; i++) {
            const struct jv *e = ev->items[i];
            const char *ph = jstr(e, "ph");
            if ((ph[0] != 'B' && ph[0] != 'E') || (pid_t)jnum(e, "tid") != tid)
                continue;
            double ts = jnum(e, "ts");
            if (ts < last)
                ck_abort_msg("thread %d: ts %f after %f", (int)tid, ts, last);
            last = ts;
            if (ph[0] == 'B' && depth++ == 0)
                open_since = ts;
            if (ph[0] == 'E') {
                if (depth <= 0)
                    ck_abort_msg("thread %d: E without B at %f", (int)tid, ts);
                if (--depth == 0)
                    covered += ts - open_since;
            }
        }
        ck_assert_int_eq(depth, 0);
        ck_assert_double_eq_tol(covered, (double)total / 1e3, 1e-3);
    }

    /* Same samples as the profile: per thread and stack, the number of
     * speedscope samples equals the profile's count (which also splits a
     * stack by GIL/active flags). Both sides as sorted "tid|name:line;…"
     * keys, compared run by run. */
    const struct jv *frames = jneed(jneed(sdoc, "shared", J_OBJ), "frames", J_ARR);
    size_t nprof = profile_size(ss.prof), nss = 0, cap = 1024;
    struct key *pk = calloc(nprof, sizeof *pk), *sk = calloc(cap, sizeof *sk);
    for (size_t i = 0; i < nprof; i++) {
        struct profile_stack st;
        profile_get(ss.prof, i, &st);
        char buf[1024];
        int at = snprintf(buf, sizeof buf, "%d|", (int)st.tid);
        for (uint32_t f = st.nframes; f-- > 0;)
            at += snprintf(buf + at, sizeof buf - (size_t)at, "%s:%d;", strtab_get(ss.st, st.frames[f].name),
                           st.frames[f].line);
        pk[i] = (struct key){ .text = strdup(buf), .count = st.count };
    }
    for (int t = 0; t < RTHREADS; t++) {
        const struct jv *samples = jneed(ss_profile(sdoc, 100 + t), "samples", J_ARR);
        for (size_t k = 0; k < samples->n; k++) {
            char buf[1024];
            int at = snprintf(buf, sizeof buf, "%d|", 100 + t);
            for (size_t f = 0; f < samples->items[k]->n; f++) {
                const struct jv *fr = frames->items[(size_t)samples->items[k]->items[f]->num];
                at += snprintf(buf + at, sizeof buf - (size_t)at, "%s:%d;", jstr(fr, "name"), (int)jnum(fr, "line"));
            }
            if (nss == cap)
                sk = realloc(sk, (cap *= 2) * sizeof *sk);
            sk[nss++] = (struct key){ .text = strdup(buf), .count = 1 };
        }
    }
    size_t np = merge_keys(pk, nprof), ns = merge_keys(sk, nss);
    ck_assert_uint_eq(np, ns);
    for (size_t i = 0; i < np; i++)
        if (strcmp(pk[i].text, sk[i].text) != 0 || pk[i].count != sk[i].count)
            ck_abort_msg("profile %s x%llu, speedscope %s x%llu", pk[i].text, (unsigned long long)pk[i].count,
                         sk[i].text, (unsigned long long)sk[i].count);
    for (size_t i = 0; i < nprof; i++)
        free(pk[i].text);
    for (size_t i = 0; i < nss; i++)
        free(sk[i].text);
    free(pk);
    free(sk);
    jfree(sdoc);
    jfree(cdoc);
    rec_free(&ss);
    rec_free(&ct);
}
END_TEST

/* A stack far deeper than a spill chunk round-trips, and nothing was
 * sampled at all still makes valid files. */
START_TEST(test_deep_and_empty)
{
    enum { DEPTH = 5000 };
    struct rec r;
    rec_begin(&r, "speedscope", NULL);
    struct sample s = { 0 };
    s.time_ns = START_NS;
    uint32_t name = intern(r.st, "rec"), file = intern(r.st, "rec.py");
    for (int k = 0; k < DEPTH; k++) {
        struct frame f = { .name = name, .file = file, .line = k + 1, .first_line = 1 };
        ck_assert_int_eq(sample_push_frame(&s, &f), 0);
    }
    struct thread_sample t = { .pid = PID, .tid = 7, .name = intern(r.st, "T"), .flags = G, .nframes = DEPTH };
    ck_assert_int_eq(sample_push_thread(&s, &t), 0);
    ck_assert_int_eq(r.fmt->sample(r.w, &s, 0), 0);
    s.time_ns += PERIOD_NS;
    ck_assert_int_eq(r.fmt->sample(r.w, &s, 0), 0);
    sample_free(&s);
    struct jv *doc = rec_end(&r);
    const struct jv *p = ss_profile(doc, 7);
    const struct jv *samples = jneed(p, "samples", J_ARR);
    ck_assert_uint_eq(samples->n, 2);
    for (size_t k = 0; k < 2; k++) {
        ck_assert_uint_eq(samples->items[k]->n, DEPTH);
        /* Root first: the root is the last frame pushed (line DEPTH). */
        const struct jv *frames = jneed(jneed(doc, "shared", J_OBJ), "frames", J_ARR);
        ck_assert_int_eq((int)jnum(frames->items[(size_t)samples->items[k]->items[0]->num], "line"), DEPTH);
        ck_assert_int_eq((int)jnum(frames->items[(size_t)samples->items[k]->items[DEPTH - 1]->num], "line"), 1);
    }
    jfree(doc);
    rec_free(&r);

    for (int fmt = 0; fmt < 2; fmt++) {
        rec_begin(&r, fmt ? "chrometrace" : "speedscope", NULL);
        doc = rec_end(&r);
        if (fmt == 0)
            ck_assert_uint_eq(jneed(doc, "profiles", J_ARR)->n, 0);
        else
            ck_assert_uint_ge(jneed(doc, "traceEvents", J_ARR)->n, 1);
        jfree(doc);
        rec_free(&r);
    }
}
END_TEST

/* A file that cannot be written is reported, not ignored. */
START_TEST(test_write_error)
{
    for (int fmt = 0; fmt < 2; fmt++) {
        struct strtab *st = strtab_new();
        struct folded_opts o = { 0 };
        struct output_info info = { .pid = PID, .title = "t", .rate_hz = RATE, .start_ns = START_NS,
                                    .strings = st, .opts = &o };
        const struct output_format *of = output_find(fmt ? "chrometrace" : "speedscope");
        FILE *full = fopen("/dev/full", "w");
        ck_assert_ptr_nonnull(full);
        char err[128];
        void *w = of->begin(full, &info, err, sizeof err);
        ck_assert_ptr_nonnull(w);
        int rc = 0;
        for (size_t k = 0; k < NBASIC && rc == 0; k++) {
            struct sample s = { 0 };
            s.time_ns = START_NS + basic[k].t_ms * MS;
            struct frame f = { .name = intern(st, "main"), .file = intern(st, "main.py"), .line = 1 };
            ck_assert_int_eq(sample_push_frame(&s, &f), 0);
            struct thread_sample t = { .pid = PID, .tid = 1, .name = intern(st, "T"), .flags = G, .nframes = 1 };
            ck_assert_int_eq(sample_push_thread(&s, &t), 0);
            rc = of->sample(w, &s, 0);
            sample_free(&s);
        }
        ck_assert(rc == 0 || rc == -EIO);
        /* end runs (and releases the writer) even after a failed sample. */
        ck_assert_int_eq(of->end(w, NULL, NULL), -EIO);
        fclose(full);
        strtab_free(st);
    }
}
END_TEST

/* The time rule itself: the gap threshold and the end. */
START_TEST(test_timeline_gaps)
{
    struct strtab *st = strtab_new();
    struct folded_opts o = { 0 };
    struct output_info info = { .pid = PID, .rate_hz = 200, .start_ns = START_NS, .strings = st, .opts = &o };
    struct timeline *tl = timeline_new(&info);
    ck_assert_ptr_nonnull(tl);
    uint64_t period = timeline_period_ns(tl);
    ck_assert_uint_eq(period, 5 * MS);
    struct sample s = { 0 };
    struct frame f = { .name = intern(st, "main"), .file = intern(st, "m.py"), .line = 3 };
    ck_assert_int_eq(sample_push_frame(&s, &f), 0);
    struct thread_sample t = { .pid = PID, .tid = 1, .name = intern(st, "T"), .flags = G, .nframes = 1 };
    ck_assert_int_eq(sample_push_thread(&s, &t), 0);
    /* Alone, a thread's samples 19 ms apart still follow each other (a late
     * sampler); 21 ms apart they do not. */
    static const struct { uint64_t dt_ms; int gap; } steps[] = { { 0, 0 }, { 5, 0 }, { 19, 0 }, { 21, 1 }, { 20, 0 } };
    uint64_t now = START_NS;
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        struct tl_step step;
        uint64_t prev = now;
        now += steps[k].dt_ms * MS;
        s.time_ns = now;
        ck_assert_int_eq(timeline_step(tl, &s, 0, &step), 0);
        ck_assert_int_eq(step.first, k == 0);
        if (k == 0)
            continue;
        ck_assert_int_eq(step.gap, steps[k].gap);
        ck_assert_uint_eq(step.prev_ns, prev);
        ck_assert_uint_eq(step.prev_end_ns, steps[k].gap ? prev + period : now);
        ck_assert_uint_eq(step.common, 1);
    }
    ck_assert_uint_eq(timeline_end_ns(tl, timeline_thread(tl, 0)), now + period);
    ck_assert_uint_eq(timeline_rel_ns(tl, START_NS - 1), 0);
    ck_assert_uint_eq(timeline_nframes(tl), 1);
    ck_assert_uint_eq(timeline_nthreads(tl), 1);
    sample_free(&s);
    timeline_free(tl);
    strtab_free(st);
}
END_TEST

START_TEST(test_registry)
{
    const struct output_format *s = output_find("speedscope"), *c = output_find("chrometrace");
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(s->sample);
    ck_assert_ptr_nonnull(c->sample);
    ck_assert_str_eq(s->ext, ".speedscope.json");
    ck_assert_str_eq(c->ext, ".trace.json");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("timeline");
    TCase *tc = tcase_create("timeline");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_timeline_gaps);
    tcase_add_test(tc, test_speedscope_basic);
    tcase_add_test(tc, test_speedscope_opts);
    tcase_add_test(tc, test_chrometrace_basic);
    tcase_add_test(tc, test_chrometrace_ns_times);
    tcase_add_test(tc, test_escaping);
    tcase_add_loop_test(tc, test_random_stream, 0, 3);
    tcase_add_test(tc, test_deep_and_empty);
    tcase_add_test(tc, test_write_error);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
