/* output — see include/output.h. The format registry and the folded writer's adapter. */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct folded_state {
    FILE *out;
    struct output_info info;
};

static void *folded_begin(FILE *out, const struct output_info *info, char *err, size_t errlen)
{
    struct folded_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->out = out;
    st->info = *info;
    return st;
}

static int folded_end(void *state, const struct profile *profile, const struct output_totals *totals)
{
    struct folded_state *st = state;
    (void)totals;
    int rc = folded_write(st->out, profile, st->info.strings, st->info.files, st->info.opts);
    free(st);
    return rc;
}

static const struct output_format folded_format = {
    .name = "raw", .ext = ".folded", .default_ext = "txt", .begin = folded_begin, .sample = NULL, .end = folded_end,
};

extern const struct output_format output_flamegraph;
extern const struct output_format output_speedscope;
extern const struct output_format output_chrometrace;
extern const struct output_format output_pprof;

static const struct output_format *const formats[] = {
    &folded_format, &output_flamegraph, &output_speedscope, &output_chrometrace, &output_pprof,
};

const struct output_format *output_find(const char *name)
{
    if (strcasecmp(name, "folded") == 0)
        return &folded_format;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcasecmp(formats[i]->name, name) == 0)
            return formats[i];
    return NULL;
}

const char *output_names(void)
{
    return "flamegraph, raw (or folded), speedscope, chrometrace, pprof";
}

const struct output_format *output_for_path(const char *path)
{
    size_t len = strlen(path), best = 0;
    const struct output_format *found = NULL;
    if (len >= 4 && strcmp(path + len - 4, ".txt") == 0)
        return &folded_format;  /* py-spy's name for raw output */
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        size_t n = strlen(formats[i]->ext);
        if (n > best && n <= len && strcmp(path + len - n, formats[i]->ext) == 0) {
            best = n;
            found = formats[i];
        }
    }
    return found;
}
