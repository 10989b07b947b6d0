/*
 * output — the formats `gilscope record -f NAME` writes. Each format is a
 * table of three functions: begin (before sampling, with the output file
 * already open), sample (each kept thread sample, for writers that stream a
 * timeline; may be NULL), end (with the aggregated profile; writes what is
 * left and releases the state). Writers know nothing of Python versions.
 */
#ifndef GILSCOPE_OUTPUT_H
#define GILSCOPE_OUTPUT_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "fileshort.h"
#include "folded.h"
#include "profile.h"
#include "sample.h"
#include "strtab.h"

/* What a writer may want to know about the recording. */
struct output_info {
    pid_t pid;                      /* the target */
    const char *title;              /* the command line or "PID N" */
    const char *python_version;     /* "3.12.1" */
    double rate_hz;                 /* requested sampling rate */
    uint64_t start_ns;              /* CLOCK_MONOTONIC when sampling began */
    struct strtab *strings;         /* names in samples and profile */
    struct fileshort *files;        /* display names of files */
    const struct folded_opts *opts; /* --threads, --function, --nolineno */
};

/* Totals known at the end, for titles and summaries. */
struct output_totals {
    uint64_t samples;               /* thread samples kept */
    uint64_t errors;                /* thread samples lost to errors */
    double duration_s;              /* wall time sampled */
};

struct output_format {
    const char *name;               /* the -f name */
    const char *ext;                /* the file extension that chooses it (-o without -f), with the dot */
    const char *default_ext;        /* a default file name's extension, as py-spy names it: svg, txt, json;
                                     * pb.gz for pprof, which py-spy does not write */
    /* Prepare to write to OUT. Returns the writer's state (non-NULL), or NULL
     * with a one-line reason in ERR. */
    void *(*begin)(FILE *out, const struct output_info *info, char *err, size_t errlen);
    /* One kept thread sample (thread I of S). Returns 0 or a negative errno. */
    int (*sample)(void *state, const struct sample *s, size_t i);
    /* Write the rest from PROFILE and TOTALS, release STATE (always).
     * Returns 0 or a negative errno. */
    int (*end)(void *state, const struct profile *profile, const struct output_totals *totals);
};

/* output_find — the format named NAME, in any case, as py-spy accepts it
 * ("raw" and "folded" are one format), or NULL. Static data. */
const struct output_format *output_find(const char *name);

/* output_for_path — the format whose extension ends PATH (the longest
 * one: ".trace.json" before ".json"; ".txt" is raw, as py-spy names it), or
 * NULL. Lets `-o out.folded` mean raw without `-f`. Static data. */
const struct output_format *output_for_path(const char *path);

/* output_names — the accepted -f names, comma-separated, for help and errors. */
const char *output_names(void);

#endif
