/*
 * flamegraph — folded stacks to one self-contained interactive SVG, in the
 * style of Brendan Gregg's FlameGraph: a tree of frames (root at the bottom,
 * each frame as wide as its samples), hover details, click to zoom, search
 * with the matched percentage, colours by Python package. A differential
 * graph compares two profiles (see flamegraph_write).
 *
 * Input is any folded text: "frame;frame;frame COUNT" per line, root first —
 * gilscope's own, py-spy's raw output, `stackcollapse-perf.pl` output.
 * Identical stacks are merged; several inputs can be added to one graph.
 * Memory grows with the number of distinct tree nodes, not with input size.
 */
#ifndef GILSCOPE_FLAMEGRAPH_H
#define GILSCOPE_FLAMEGRAPH_H

#include <stddef.h>
#include <stdio.h>

struct flamegraph;      /* opaque */

/* Which profile a stack belongs to. A plain graph uses only FLAMEGRAPH_MAIN;
 * a differential one has the newer profile (which gives the widths) in MAIN
 * and the older one in BEFORE. */
enum flamegraph_input {
    FLAMEGRAPH_MAIN = 0,
    FLAMEGRAPH_BEFORE = 1,
};

/* How a frame is coloured, decided from its name alone. */
enum flamegraph_kind {
    FLAMEGRAPH_PYTHON,  /* "NAME (FILE:LINE)" or "NAME (FILE)": warm, by package */
    FLAMEGRAPH_NATIVE,  /* no "(FILE…)" part, a C/C++ source file, or marked "[native]": aqua */
    FLAMEGRAPH_THREAD,  /* "thread (TID): NAME", "thread (0x…)", "process …": purple */
    FLAMEGRAPH_IDLE,    /* "<idle>" or "[idle]" in the name: grey */
    FLAMEGRAPH_GIL_WAIT, /* "[gil-wait]" (record --states): red */
};

/* At most this many frames are drawn, the widest, so that a huge profile
 * still opens in a second or two; the SVG says how many were left out. */
#define FLAMEGRAPH_MAX_FRAMES 12000

struct flamegraph_opts {
    const char *title;      /* top line; NULL or "": "Flame Graph" */
    const char *info;       /* appended to the subtitle ("Python 3.12, 100 Hz"), or NULL */
    double duration_s;      /* > 0: shown in the subtitle */
    double width;           /* image width in px; 0: 1200 */
    double minwidth;        /* frames narrower than this (px) are not drawn; < 0: 0.1 */
    int diff;               /* colour by the change from BEFORE to MAIN */
    int negate;             /* diff: swap the hues (blue = grew, red = shrank) */
};

/* What flamegraph_write did. */
struct flamegraph_stats {
    size_t frames;          /* frames drawn, the root included */
    size_t dropped;         /* frames left out: narrower than minwidth, or past the cap */
    double dropped_samples; /* samples under the topmost of those */
    int capped;             /* FLAMEGRAPH_MAX_FRAMES cut some frames */
    int height;             /* image height in px */
};

/* flamegraph_new — an empty graph, or NULL when out of memory. */
struct flamegraph *flamegraph_new(void);

/* flamegraph_free — release FG (NULL is fine). */
void flamegraph_free(struct flamegraph *fg);

/* flamegraph_add — count one stack COUNT times (>= 0) in profile IN. STACK is
 * LEN bytes (need not be NUL-terminated) of frames joined by ';', root first;
 * empty frames are skipped. Returns 0, -EINVAL when there is no frame or COUNT
 * is negative or not finite, or -ENOMEM (the graph may then hold part of the
 * stack; free it). */
int flamegraph_add(struct flamegraph *fg, const char *stack, size_t len, double count,
                   enum flamegraph_input in);

/* flamegraph_add_line — parse one folded line (LEN bytes, a trailing "\n" or
 * "\r\n" allowed) and add it to profile IN. The count is the last
 * blank-separated field: digits with an optional fraction. Blank lines are
 * ignored. Returns 1 when a stack was added, 0 for a blank line, -EINVAL with
 * a static reason in *WHY (bad count, no stack, NUL byte), or -ENOMEM. */
int flamegraph_add_line(struct flamegraph *fg, const char *line, size_t len,
                        enum flamegraph_input in, const char **why);

/* flamegraph_read — add every line of IN (named NAME in messages) to profile
 * WHICH. Returns 0, or a negative errno with a one-line reason in ERR:
 * -EINVAL "NAME:LINE: reason" for a bad line, -EFBIG for a line over 16 MiB,
 * -ENODATA when the input held no samples, -EIO for a read error, -ENOMEM. */
int flamegraph_read(struct flamegraph *fg, FILE *in, const char *name,
                    enum flamegraph_input which, char *err, size_t errlen);

/* flamegraph_total — samples in profile IN. */
double flamegraph_total(const struct flamegraph *fg, enum flamegraph_input in);

/* flamegraph_nodes — distinct tree nodes, the root included. */
size_t flamegraph_nodes(const struct flamegraph *fg);

/* flamegraph_lookup — the samples of the node at the end of path STACK
 * (NUL-terminated, frames joined by ';', root first; "" is the root) in each
 * profile. Returns 0, or -ENOENT when there is no such node. Slow (a scan per
 * frame): meant for tests and checks, not for rendering. */
int flamegraph_lookup(const struct flamegraph *fg, const char *stack, double *main_count,
                      double *before_count);

/* flamegraph_scale — multiply every count of profile IN by FACTOR (> 0), as
 * difffolded.pl -n does to compare runs of different lengths. */
void flamegraph_scale(struct flamegraph *fg, enum flamegraph_input in, double factor);

/* flamegraph_write — render FG as one SVG document to OUT (scripts and styles
 * inline, nothing fetched). Frames narrower than O->minwidth px are left out
 * and counted in the subtitle. With O->diff, widths come from MAIN and a
 * frame is red when its samples grew from BEFORE, blue when they shrank,
 * white when equal, deeper the larger the relative change
 * (MAIN - BEFORE) / max(MAIN, BEFORE) — like difffolded.pl BEFORE AFTER |
 * flamegraph.pl, but by the frame's own total samples, not its self samples.
 * A graph without samples is drawn empty with "no samples". STATS (may be
 * NULL) receives what was drawn. Returns 0, -ENOMEM or -EIO. */
int flamegraph_write(const struct flamegraph *fg, FILE *out, const struct flamegraph_opts *o,
                     struct flamegraph_stats *stats);

/* flamegraph_kind — how the frame NAME is coloured. */
enum flamegraph_kind flamegraph_kind(const char *name);

/* flamegraph_escape — write LEN bytes of S to OUT as XML character data:
 * & < > " ' as entities, valid UTF-8 kept, invalid bytes and the control
 * characters XML forbids as U+FFFD. Returns 0 or -EIO. */
int flamegraph_escape(FILE *out, const char *s, size_t len);

#endif
