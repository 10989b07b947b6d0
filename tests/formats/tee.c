/* tee — test driver for tests/formats/run: write the folded, speedscope,
 * chrometrace and pprof outputs from ONE stream of samples, so the four can
 * be checked against each other. Not installed; built by the run script
 * against build/libgilscope.a.
 *
 *   tee PREFIX [-r HZ] [-i] -- COMMAND ARGS…   record a launched program (as
 *                                              `gilscope record` does)
 *   tee PREFIX --synthetic SEED                 a seeded random stream: several
 *                                              threads, gaps, odd names
 *
 * Writes PREFIX.folded, PREFIX.speedscope.json, PREFIX.trace.json and
 * PREFIX.pb.gz.
 * Exit status 0, or 1 with a line on stderr. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "fileshort.h"
#include "output.h"
#include "profile.h"
#include "sampler.h"

enum { RAW, SPEEDSCOPE, CHROMETRACE, PPROF, NFORMATS };
static const char *const names[NFORMATS] = { "raw", "speedscope", "chrometrace", "pprof" };
static const char *const exts[NFORMATS] = { ".folded", ".speedscope.json", ".trace.json", ".pb.gz" };

struct tee {
    const struct output_format *fmt[NFORMATS];
    void *w[NFORMATS];
    FILE *out[NFORMATS];
    struct profile *profile;
    int idle;
    int failed;
};

/* The same filter as `gilscope record`: threads with frames, active ones
 * unless -i. */
static int tee_sample(void *ctx, struct sample *s)
{
    struct tee *t = ctx;
    for (size_t i = 0; i < s->nthreads; i++) {
        if (s->threads[i].nframes == 0 || (!(s->threads[i].flags & SAMPLE_ACTIVE) && !t->idle))
            continue;
        if (profile_add(t->profile, s, i) != 0)
            t->failed = 1;
        for (int f = 0; f < NFORMATS; f++)
            if (t->fmt[f]->sample && t->fmt[f]->sample(t->w[f], s, i) != 0)
                t->failed = 1;
        if (t->failed)
            return 1;
    }
    return 0;
}

static int tee_open(struct tee *t, const char *prefix, const struct output_info *info)
{
    for (int f = 0; f < NFORMATS; f++) {
        char path[4096], err[256];
        snprintf(path, sizeof path, "%s%s", prefix, exts[f]);
        t->fmt[f] = output_find(names[f]);
        t->out[f] = fopen(path, "w");
        if (!t->fmt[f] || !t->out[f]) {
            fprintf(stderr, "tee: cannot write %s: %s\n", path, strerror(errno));
            return -1;
        }
        t->w[f] = t->fmt[f]->begin(t->out[f], info, err, sizeof err);
        if (!t->w[f]) {
            fprintf(stderr, "tee: %s: %s\n", names[f], err);
            return -1;
        }
    }
    return 0;
}

static int tee_close(struct tee *t, const struct output_totals *totals)
{
    int rc = t->failed ? -1 : 0;
    for (int f = 0; f < NFORMATS; f++) {
        if (t->w[f] && t->fmt[f]->end(t->w[f], t->profile, totals) != 0)
            rc = -1;
        if (t->out[f] && fclose(t->out[f]) != 0)
            rc = -1;
    }
    if (rc)
        fprintf(stderr, "tee: writing failed\n");
    return rc;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A random stream with what real recordings rarely show at once: threads
 * coming and going, gaps, stacks changing at every depth, names needing
 * escapes. */
static int synthetic(const char *prefix, uint64_t seed)
{
    static const char *const funcs[] = { "<module>", "main", "Worker.run", "parse \"quoted\"", "関数",
                                         "back\\slash", "tab\there", "leaf", "compute", "helper" };
    static const char *const threads[] = { "MainThread", "worker-1", "naïve \"thread\"", "Thread-4 (x)" };
    enum { NT = 4, PASSES = 4000, MAXD = 12 };
    struct strtab *st = strtab_new();
    /* --threads: the folded lines then say whose samples they are. */
    struct folded_opts opts = { .threads = 1 };
    struct tee t = { .profile = profile_new() };
    struct output_info info = { .pid = 777, .title = "synthetic \"stream\"", .python_version = "3.12.0",
                                .rate_hz = 100, .start_ns = 1000000000ull, .strings = st, .files = NULL,
                                .opts = &opts };
    int depth[NT] = { 2, 2, 2, 2 };
    struct sample s = { 0 };
    int rc = (!st || !t.profile) ? -1 : tee_open(&t, prefix, &info);
    uint64_t now = info.start_ns;
    for (int k = 0; rc == 0 && k < PASSES; k++) {
        sample_clear(&s);
        now += 5000000 + rnd(&seed) % 10000000 + (rnd(&seed) % 100 == 0 ? 50000000 : 0);
        s.time_ns = now;
        for (int th = 0; th < NT; th++) {
            /* Thread 3 only lives in the middle; the others skip passes. */
            if ((th == 3 && (k < PASSES / 3 || k > 2 * PASSES / 3)) || rnd(&seed) % 6 == 0)
                continue;
            int r = (int)(rnd(&seed) % 5);
            if (r == 0 && depth[th] < MAXD)
                depth[th]++;
            else if (r == 1 && depth[th] > 1)
                depth[th]--;
            struct thread_sample ts = { .pid = 777, .tid = 800 + th, .thread_id = 9000u + (uint64_t)th,
                                        .name = strtab_intern(st, threads[th], strlen(threads[th])),
                                        .flags = (rnd(&seed) % 3 ? SAMPLE_GIL : 0) | SAMPLE_ACTIVE,
                                        .first = (uint32_t)s.nframes, .nframes = (uint32_t)depth[th] };
            for (int d = depth[th] - 1; d >= 0; d--) {  /* leaf first */
                const char *fn = funcs[(d * 3 + th + (d == depth[th] - 1 ? (int)(rnd(&seed) % 4) : 0)) % 10];
                char file[64];
                snprintf(file, sizeof file, "/srv/app/mod%d.py", d % 3);
                struct frame f = { .name = strtab_intern(st, fn, strlen(fn)),
                                   .file = strtab_intern(st, file, strlen(file)),
                                   .line = 10 + d + (int)(rnd(&seed) % 2), .first_line = 1 + d };
                if (sample_push_frame(&s, &f) != 0)
                    rc = -1;
            }
            if (rc == 0 && sample_push_thread(&s, &ts) != 0)
                rc = -1;
        }
        if (rc == 0 && tee_sample(&t, &s) != 0)
            rc = -1;
    }
    struct output_totals totals = { .samples = profile_total(t.profile), .duration_s = (double)(now - info.start_ns) / 1e9 };
    if (tee_close(&t, &totals) != 0)
        rc = -1;
    sample_free(&s);
    profile_free(t.profile);
    strtab_free(st);
    return rc ? 1 : 0;
}

static int record(const char *prefix, double rate, int idle, char **argv)
{
    char err[512];
    struct session s;
    volatile sig_atomic_t *stop = cli_stop_flag();
    if (session_open(&s, 0, argv, 0, stop, err, sizeof err) != 0) {
        fprintf(stderr, "tee: %s\n", err);
        if (s.target.launched)
            target_wait(&s.target);
        session_close(&s);
        return 1;
    }
    struct folded_opts opts = { .threads = 1 };
    struct fileshort *fs = fileshort_new(s.target.pid, s.strings, 0);
    struct tee t = { .profile = profile_new(), .idle = idle };
    struct output_info info = { .pid = s.target.pid, .title = argv[0], .python_version = s.interp.version,
                                .rate_hz = rate, .start_ns = clock_mono_ns(), .strings = s.strings,
                                .files = fs, .opts = &opts };
    int rc = (!fs || !t.profile) ? -1 : tee_open(&t, prefix, &info);
    struct sampler_stats st = { 0 };
    if (rc == 0) {
        struct sampler_config cfg = { .rate_hz = rate };
        if (sampler_run(&s.target, s.walk, s.threads, &cfg, stop, tee_sample, &t, &st, err, sizeof err) != 0) {
            fprintf(stderr, "tee: %s\n", err);
            rc = -1;
        }
    }
    struct output_totals totals = { .samples = profile_total(t.profile), .errors = st.errors,
                                    .duration_s = (double)(st.end_ns - st.start_ns) / 1e9 };
    if (tee_close(&t, &totals) != 0)
        rc = -1;
    fprintf(stderr, "tee: %llu samples kept, %llu errors\n", (unsigned long long)profile_total(t.profile),
            (unsigned long long)st.errors);
    target_wait(&s.target);
    fileshort_free(fs);
    profile_free(t.profile);
    session_close(&s);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[2], "--synthetic") == 0)
        return synthetic(argv[1], strtoull(argv[3], NULL, 0) | 1);
    double rate = 100;
    int idle = 0, a = 2;
    for (; a < argc && strcmp(argv[a], "--") != 0; a++) {
        if (strcmp(argv[a], "-r") == 0 && a + 1 < argc)
            rate = atof(argv[++a]);
        else if (strcmp(argv[a], "-i") == 0)
            idle = 1;
    }
    if (argc < 2 || a + 1 >= argc || rate <= 0) {
        fprintf(stderr, "usage: tee PREFIX [-r HZ] [-i] -- COMMAND ARGS… | tee PREFIX --synthetic SEED\n");
        return 2;
    }
    return record(argv[1], rate, idle, argv + a + 1);
}
