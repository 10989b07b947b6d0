/* giltimeline — see include/giltimeline.h. */
#include "giltimeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"

#define LANE_H 18
#define LANE_GAP 4
#define LABEL_W 250
#define LEFT (LABEL_W + 10)
#define TOP 60

static const char *fill(int state)
{
    switch (state) {
    case TSTATE_GIL: case TSTATE_PYTHON: return "#2ca02c";
    case TSTATE_GIL_WAIT: return "#d62728";
    case TSTATE_NATIVE: return "#1f77b4";
    case TSTATE_IDLE: return "#e4e4e4";
    default: return "#ffffff";
    }
}

/* Add the part of [A, B) inside each column of [T0, T0 + COLS*W) to ACC[col*TSTATE_COUNT + STATE]. */
static void spread(double *acc, uint64_t t0, double w, uint64_t a, uint64_t b, uint32_t state)
{
    if (b <= a)
        return;
    double x0 = (double)(a - t0) / w, x1 = (double)(b - t0) / w;
    for (long c = (long)x0; c < GILTIMELINE_COLUMNS && (double)c < x1; c++) {
        if (c < 0)
            continue;
        double lo = x0 > (double)c ? x0 : (double)c, hi = x1 < (double)(c + 1) ? x1 : (double)(c + 1);
        if (hi > lo)
            acc[(size_t)c * TSTATE_COUNT + state] += hi - lo;
    }
}

static int dominant(const double *acc)
{
    int best = -1;
    double most = 0;
    for (int s = 0; s < TSTATE_COUNT; s++)
        if (acc[s] > most) {
            most = acc[s];
            best = s;
        }
    return best;
}

static void legend(FILE *out, int no_gil)
{
    static const int with_gil[] = { TSTATE_GIL, TSTATE_GIL_WAIT, TSTATE_NATIVE, TSTATE_IDLE };
    static const int without[] = { TSTATE_PYTHON, TSTATE_NATIVE, TSTATE_IDLE };
    const int *s = no_gil ? without : with_gil;
    int n = no_gil ? 3 : 4;
    for (int i = 0; i < n; i++) {
        fprintf(out, "<rect x=\"%d\" y=\"34\" width=\"12\" height=\"12\" fill=\"%s\" stroke=\"#999\"/>"
                "<text x=\"%d\" y=\"45\">%s</text>\n", LEFT + i * 110, fill(s[i]), LEFT + i * 110 + 16,
                sample_state_name(s[i]));
    }
}

int giltimeline_write(FILE *out, const struct gilstats *g, const struct strtab *st, const char *title, int no_gil)
{
    size_t nt = gilstats_thread_count(g), nr;
    uint64_t dropped;
    const struct gilstats_run *r = gilstats_runs(g, &nr, &dropped);
    uint64_t t0 = UINT64_MAX, t1 = 0;
    for (size_t i = 0; i < nr; i++) {
        t0 = r[i].start_ns < t0 ? r[i].start_ns : t0;
        t1 = r[i].end_ns > t1 ? r[i].end_ns : t1;
    }
    if (nr == 0)
        t0 = t1 = 0;
    double w = t1 > t0 ? (double)(t1 - t0) / GILTIMELINE_COLUMNS : 1;
    /* The runs of each thread, together: a counting sort by thread. */
    size_t *start = calloc(nt + 1, sizeof *start), *order = malloc((nr ? nr : 1) * sizeof *order);
    double *acc = malloc(sizeof *acc * GILTIMELINE_COLUMNS * TSTATE_COUNT);
    if (!start || !order || !acc) {
        free(start);
        free(order);
        free(acc);
        return -ENOMEM;
    }
    for (size_t i = 0; i < nr; i++)
        start[r[i].thread + 1]++;
    for (size_t k = 0; k < nt; k++)
        start[k + 1] += start[k];
    for (size_t i = 0; i < nr; i++)
        order[start[r[i].thread]++] = i;
    for (size_t k = nt; k > 0; k--)
        start[k] = start[k - 1];
    start[0] = 0;

    uint32_t lanes[GILTIMELINE_LANES];
    size_t nl = gilstats_longest(g, lanes, GILTIMELINE_LANES);
    int width = LEFT + GILTIMELINE_COLUMNS + 20;
    int height = TOP + (int)nl * (LANE_H + LANE_GAP) + 80;
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"Verdana, sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n<text x=\"%d\" y=\"20\" font-size=\"16\">",
            width, height, width, height, LEFT);
    fputs("Threads and the GIL: ", out);
    flamegraph_escape(out, title, strlen(title));
    fprintf(out, " (%.2f s)</text>\n", (double)(t1 - t0) / 1e9);
    legend(out, no_gil);
    for (size_t l = 0; l < nl; l++) {
        size_t k = lanes[l];
        const struct gilstats_thread *t = gilstats_thread(g, k);
        int y = TOP + (int)l * (LANE_H + LANE_GAP);
        const char *name = strtab_get(st, t->name);
        fprintf(out, "<g class=\"lane\"><text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL_W, y + 13);
        flamegraph_escape(out, name, strlen(name) > 28 ? 28 : strlen(name));
        fprintf(out, " (%d)</text>\n", (int)t->tid);
        memset(acc, 0, sizeof *acc * GILTIMELINE_COLUMNS * TSTATE_COUNT);
        for (size_t j = start[k]; j < start[k + 1]; j++) {
            const struct gilstats_run *x = &r[order[j]];
            spread(acc, t0, w, x->start_ns, x->end_ns, x->state);
        }
        for (int c = 0; c < GILTIMELINE_COLUMNS;) {
            int s = dominant(&acc[(size_t)c * TSTATE_COUNT]);
            int e = c + 1;
            while (e < GILTIMELINE_COLUMNS && dominant(&acc[(size_t)e * TSTATE_COUNT]) == s)
                e++;
            if (s >= 0) {
                fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>", LEFT + c, y,
                        e - c, LANE_H, fill(s));
                flamegraph_escape(out, name, strlen(name));
                fprintf(out, " (%d): %s, %.3f–%.3f s</title></rect>\n", (int)t->tid, sample_state_name(s),
                        (double)c * w / 1e9, (double)e * w / 1e9);
            }
            c = e;
        }
        fputs("</g>\n", out);
    }
    int ya = TOP + (int)nl * (LANE_H + LANE_GAP) + 16;
    for (int i = 0; i <= 10; i++)
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%.2fs</text>\n",
                LEFT + i * GILTIMELINE_COLUMNS / 10, ya, (double)(t1 - t0) / 1e9 * i / 10);
    if (nl < nt)
        fprintf(out, "<text x=\"%d\" y=\"%d\">Not drawn: %zu shorter-lived threads</text>\n", LEFT, ya + 18,
                nt - nl);
    if (dropped)
        fprintf(out, "<text x=\"%d\" y=\"%d\">Not drawn: %" PRIu64 " samples after the first %d state changes"
                "</text>\n", LEFT, ya + 36, dropped, GILSTATS_MAX_RUNS);
    fputs("</svg>\n", out);
    free(start);
    free(order);
    free(acc);
    return ferror(out) ? -EIO : 0;
}
