/* cli_gil — `gilscope gil`: record what every thread does with the GIL
 * (holds it, waits for it, runs native code without it, idles) and print a
 * per-thread table, the process's GIL figures and where threads waited;
 * --json for scripts, -o FILE.svg for the timeline picture. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fileshort.h"
#include "gilstats.h"
#include "gilwait.h"
#include "giltimeline.h"
#include "json.h"
#include "outfile.h"
#include "sampler.h"
#include "textesc.h"
#include "topk.h"

#define TOP_WAITS 3     /* lines shown per thread where it waited */
#define TABLE_ROWS 24   /* threads in the table; the others are summed in one row */
#define WAIT_THREADS 8  /* threads whose waiting lines are shown: those that waited most */

enum {
    OPT_PID, OPT_RATE, OPT_DURATION, OPT_OUTPUT, OPT_JSON, OPT_NONBLOCKING, OPT_NATIVE, OPT_QUIET, OPT_NO_PRIORITY,
    OPT_COUNT
};

static const struct cliopt gil_table[] = {
    [OPT_PID] = CLI_OPT_PID("attach to this process"),
    [OPT_RATE] = CLI_OPT_RATE,
    [OPT_DURATION] = CLI_OPT_DURATION("stop after this long, or unlimited (the default:\n"
                                     "until the program exits or Ctrl-C)"),
    [OPT_OUTPUT] = { .name = "output",
                     .short_name = 'o',
                     .arg = CLIOPT_FILE,
                     .value_name = "FILE",
                     .help = "also write the timeline: one lane per thread, coloured\n"
                         "by state over time (an SVG that opens in a browser)",
                     .brief = "write the timeline SVG" },
    [OPT_JSON] = { .name = "json", .short_name = 'j', .help = "one JSON object instead of the table" },
    [OPT_NONBLOCKING] = CLI_OPT_NONBLOCKING,
    [OPT_NATIVE] = { .name = "native", .short_name = 'n',
                     .help = "also read each thread's C stack: a thread inside the\n"
                         "interpreter's code that takes the GIL waits for it, on CPU\n"
                         "or not (blocking mode; 2.7's waiters are mostly on CPU)",
                     .brief = "confirm GIL waits from the C stack" },
    [OPT_QUIET] = { .name = "quiet", .short_name = 'q', .help = "no status line" },
    [OPT_NO_PRIORITY] = CLI_OPT_NO_PRIORITY,
    [OPT_COUNT] = { 0 },
};

const struct cliopt_cmd cli_gil_cmd = {
    .name = "gil",
    .brief = "who holds the GIL, who waits for it, who runs without it",
    .usage = "usage: gilscope gil [-p PID | [--] COMMAND [ARGS…]] [options]\n"
             "\n"
             "Sample every thread of a running process (-p) or of a command it launches\n"
             "and tell, for each, the share of its time it held the GIL (gil), waited\n"
             "to take it (gil-wait), ran C code with the GIL released (native) or slept\n"
             "on anything else (idle); then how busy the GIL was, how often threads\n"
             "waited for it, how often it changed hands, and the Python lines where each\n"
             "thread waited. On a free-threaded build there is no GIL: threads run\n"
             "Python, native code, or idle.\n"
             "\n",
    .examples = "gilscope gil -p PID -d 10\n"
                "gilscope gil -o gil.svg -- python3 app.py",
    .opts = gil_table,
    .launches = 1,
    .run = cli_gil,
};

struct gil_opts {
    pid_t pid;
    double rate, duration;
    const char *output;
    int json, nonblocking, native, quiet, no_priority;
    char **command;
};

static int on_option(void *ctx, const struct cliopt *opt, const char *arg)
{
    struct gil_opts *o = ctx;
    switch (opt - gil_table) {
    case OPT_PID: return cli_opt_pid(arg, &o->pid);
    case OPT_RATE: return cli_opt_rate(arg, &o->rate);
    case OPT_DURATION: return cli_opt_duration(arg, &o->duration);
    case OPT_OUTPUT: o->output = arg; break;
    case OPT_JSON: o->json = 1; break;
    case OPT_NONBLOCKING: o->nonblocking = 1; break;
    case OPT_NATIVE: o->native = 1; break;
    case OPT_NO_PRIORITY: o->no_priority = 1; break;
    case OPT_QUIET: o->quiet = 1; break;
    default: break;
    }
    return 0;
}

struct gil_run {
    struct session *s;
    struct gilstats *stats;
    int oom;
};

static int on_sample(void *ctx, struct sample *smp)
{
    struct gil_run *r = ctx;
    if (gilstats_add(r->stats, smp) != 0) {
        r->oom = 1;
        return 1;
    }
    const struct gilwait *g = threadinfo_gil(r->s->threads);
    uint64_t n;
    if (g && gilwait_switches(g, &r->s->mem, &n) == 0)
        gilstats_switch_count(r->stats, smp->time_ns, n);
    return 0;
}

static double share(uint64_t n, uint64_t of)
{
    return of ? (double)n / (double)of : 0.0;
}

/* The states a report shows, in column order: a GIL build's or a free-threaded one's. */
static size_t columns(int no_gil, int *cols)
{
    static const int with_gil[] = { TSTATE_GIL, TSTATE_GIL_WAIT, TSTATE_NATIVE, TSTATE_IDLE };
    static const int without[] = { TSTATE_PYTHON, TSTATE_NATIVE, TSTATE_IDLE };
    const int *c = no_gil ? without : with_gil;
    size_t n = no_gil ? 3 : 4;
    memcpy(cols, c, n * sizeof *cols);
    return n;
}

struct report {
    struct session *s;
    const struct gilstats *g;
    const struct sampler_stats *st;
    const struct gil_opts *o;
    const char *build;
    int no_gil;             /* free-threaded, running without the GIL */
    int waits_known;        /* threads waiting for the GIL can be told */
    struct fileshort *fs;
};

static void print_json(const struct report *r)
{
    const struct strtab *st = r->s->strings;
    size_t nt = gilstats_thread_count(r->g);
    uint64_t passes, held, contended;
    gilstats_passes(r->g, &passes, &held, &contended);
    double rate = gilstats_switch_rate(r->g);
    printf("{\"pid\": %d, \"python_version\": ", (int)r->s->target.pid);
    json_string(stdout, r->s->interp.version);
    printf(", \"free_threaded\": %s, \"gil_enabled\": %s, \"gil_wait_detectable\": %s",
           r->s->interp.off.free_threaded ? "true" : "false", r->no_gil ? "false" : "true",
           r->waits_known ? "true" : "false");
    printf(", \"duration_s\": %.3f, \"rate_hz\": %g, \"passes\": %" PRIu64,
           (double)(r->st->stop_ns - r->st->start_ns) / 1e9, r->o->rate, passes);
    if (r->no_gil)
        printf(", \"gil_utilisation\": null, \"gil_contention\": null, \"switches_per_s\": null");
    else {
        printf(", \"gil_utilisation\": %.4f, \"gil_contention\": %.4f", share(held, passes),
               share(contended, passes));
        if (rate >= 0)
            printf(", \"switches_per_s\": %.1f", rate);
        else
            printf(", \"switches_per_s\": null");
    }
    printf(", \"threads\": [");
    for (size_t i = 0; i < nt; i++) {
        const struct gilstats_thread *t = gilstats_thread(r->g, i);
        printf("%s\n  {\"tid\": %d, \"name\": ", i ? "," : "", (int)t->tid);
        json_string(stdout, strtab_get(st, t->name));
        printf(", \"samples\": %" PRIu64, t->total);
        for (int k = 1; k < TSTATE_COUNT; k++) {
            printf(", \"");
            for (const char *c = sample_state_name(k); *c; c++)
                putchar(*c == '-' ? '_' : *c);
            printf("\": %.4f", share(t->n[k], t->total));
        }
        printf(", \"unknown\": %.4f, \"waits\": [", share(t->n[TSTATE_UNKNOWN], t->total));
        struct gilstats_wait w[TOP_WAITS];
        size_t nw = gilstats_top_waits(r->g, (uint32_t)i, w, TOP_WAITS);
        for (size_t k = 0; k < nw; k++) {
            printf("%s{\"name\": ", k ? ", " : "");
            json_string(stdout, strtab_get(st, w[k].name));
            printf(", \"file\": ");
            json_string(stdout, strtab_get(st, w[k].file));
            printf(", \"line\": %d, \"share\": %.4f}", w[k].line, share(w[k].count, t->total));
        }
        printf("]}");
    }
    printf("\n]}\n");
}

/* The colours of the states on a terminal (and of the timeline). */
static const char *state_colour(int state)
{
    switch (state) {
    case TSTATE_GIL: case TSTATE_PYTHON: return "\033[32m";
    case TSTATE_GIL_WAIT: return "\033[31m";
    case TSTATE_NATIVE: return "\033[34m";
    default: return "\033[2m";
    }
}

#define BAR_WIDTH 20

static void print_bar(const struct gilstats_thread *t, const int *cols, size_t ncols)
{
    int used = 0;
    for (size_t c = 0; c < ncols; c++) {
        int w = (int)(share(t->n[cols[c]], t->total) * BAR_WIDTH + 0.5);
        if (used + w > BAR_WIDTH)
            w = BAR_WIDTH - used;
        if (w > 0) {
            fputs(state_colour(cols[c]), stdout);
            for (int k = 0; k < w; k++)
                fputs(cols[c] == TSTATE_IDLE ? "\xe2\x96\x91" : "\xe2\x96\x88", stdout);
            fputs("\033[0m", stdout);
        }
        used += w;
    }
    for (; used < BAR_WIDTH; used++)
        putchar(' ');
}

/* For topk: indices of CTX's (a struct gilstats) threads, most samples
 * waiting for the GIL first. */
static int more_waits(const void *a, const void *b, const void *ctx)
{
    uint64_t x = gilstats_thread(ctx, *(const uint32_t *)a)->n[TSTATE_GIL_WAIT],
             y = gilstats_thread(ctx, *(const uint32_t *)b)->n[TSTATE_GIL_WAIT];
    return (x < y) - (x > y);
}

static void print_text(const struct report *r)
{
    const struct strtab *st = r->s->strings;
    int color = cli_color_stdout();
    const char *bold = color ? "\033[1m" : "", *off = color ? "\033[0m" : "";
    size_t nt = gilstats_thread_count(r->g);
    uint64_t passes, held, contended;
    gilstats_passes(r->g, &passes, &held, &contended);
    double secs = (double)(r->st->stop_ns - r->st->start_ns) / 1e9;
    printf("%sGIL report for PID %d%s: Python %s%s%s, %.1f s, %" PRIu64 " passes at %g Hz (%s)\n", bold,
           (int)r->s->target.pid, off, r->s->interp.version, r->build[0] ? ", " : "", r->build, secs, passes,
           r->o->rate, r->o->nonblocking ? "non-blocking" : "blocking");
    if (r->no_gil) {
        printf("No GIL: this free-threaded build runs without it, so no thread holds or waits for one.\n");
    } else {
        double rate = gilstats_switch_rate(r->g);
        printf("GIL held %.1f%% of the time; threads waited for it %.1f%% of the time", 100 * share(held, passes),
               100 * share(contended, passes));
        if (rate >= 0)
            printf("; %.0f hand-overs/s", rate);
        printf("\n");
        if (!r->waits_known)
            printf("Waiting for the GIL cannot be told here (the binary has no symbols for it): such\n"
                   "threads count as idle.\n");
    }
    int cols[4];
    size_t ncols = columns(r->no_gil, cols);
    uint32_t rows[TABLE_ROWS];
    size_t nrows = gilstats_longest(r->g, rows, TABLE_ROWS);
    /* The threads left out (short-lived ones) summed in one row. */
    struct gilstats_thread rest = { .tid = 0 };
    for (size_t i = 0, k = 0; i < nt; i++) {
        if (k < nrows && rows[k] == i) {
            k++;
            continue;
        }
        const struct gilstats_thread *t = gilstats_thread(r->g, i);
        for (int s = 0; s < TSTATE_COUNT; s++)
            rest.n[s] += t->n[s];
        rest.total += t->total;
    }
    size_t namew = 6;
    for (size_t k = 0; k < nrows; k++) {
        size_t l = strlen(strtab_get(st, gilstats_thread(r->g, rows[k])->name));
        namew = l > namew ? l : namew;
    }
    if (namew > 32)
        namew = 32;
    printf("\n%s%-*s %8s", bold, (int)namew, "THREAD", "TID");
    for (size_t c = 0; c < ncols; c++)
        printf(" %8s", sample_state_name(cols[c]));
    printf("%s\n", off);
    for (size_t k = 0; k <= nrows; k++) {
        const struct gilstats_thread *x = k < nrows ? gilstats_thread(r->g, rows[k]) : &rest;
        char name[160], tid[16] = "";
        if (k == nrows && rest.total == 0)
            break;
        if (k < nrows) {
            textesc_copy(name, sizeof name, 0, strtab_get(st, x->name));
            snprintf(tid, sizeof tid, "%d", (int)x->tid);
        } else {
            snprintf(name, sizeof name, "%zu more", nt - nrows);
        }
        printf("%-*.*s %8s", (int)namew, (int)namew, name, tid);
        for (size_t c = 0; c < ncols; c++)
            printf(" %7.1f%%", 100 * share(x->n[cols[c]], x->total));
        if (color) {
            putchar(' ');
            print_bar(x, cols, ncols);
        }
        if (x->n[TSTATE_UNKNOWN])
            printf("  (%.1f%% unknown)", 100 * share(x->n[TSTATE_UNKNOWN], x->total));
        putchar('\n');
    }
    if (r->no_gil)
        return;
    /* The table's threads that waited most, most first. */
    size_t nwait = 0;
    uint32_t waiters[WAIT_THREADS];
    for (size_t row = 0; row < nrows; row++)
        if (gilstats_thread(r->g, rows[row])->n[TSTATE_GIL_WAIT])
            topk_insert(waiters, &nwait, WAIT_THREADS, sizeof *waiters, &rows[row], more_waits, r->g);
    int any = 0;
    for (size_t row = 0; row < nwait; row++) {
        size_t i = waiters[row];
        const struct gilstats_thread *t = gilstats_thread(r->g, i);
        struct gilstats_wait w[TOP_WAITS];
        size_t nw = gilstats_top_waits(r->g, (uint32_t)i, w, TOP_WAITS);
        if (nw == 0)
            continue;
        if (!any++)
            printf("\n%sWhere threads waited for the GIL%s (share of the thread's samples)\n", bold, off);
        char name[160];
        textesc_copy(name, sizeof name, 0, strtab_get(st, t->name));
        printf("  %s (%d):\n", name, (int)t->tid);
        for (size_t k = 0; k < nw; k++) {
            char fn[200], file[400];
            textesc_copy(fn, sizeof fn, 0, strtab_get(st, w[k].name));
            textesc_copy(file, sizeof file, 0, fileshort_get(r->fs, w[k].file));
            printf("    %6.1f%%  %s (%s:%d)\n", 100 * share(w[k].count, t->total), fn, file, w[k].line);
        }
    }
}

static int parse_args(int argc, char **argv, struct gil_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rate = 100;
    struct cliopt_result res;
    int rc = cli_parse_target(&cli_gil_cmd, argc, argv, on_option, o, &o->pid, &o->command, &res);
    if (rc)
        return rc;
    if ((rc = cli_native_check(o->native, o->nonblocking)) != 0)
        return rc;
    return cliopt_refuse(&res);
}

int cli_gil(int argc, char **argv)
{
    struct gil_opts o;
    int rc = parse_args(argc, argv, &o);
    struct session s;
    struct family_opts xo = { .nonblocking = o.nonblocking, .native = o.native };
    volatile sig_atomic_t *stop = cli_start(&rc, o.output, o.pid, o.command, o.nonblocking, 0, &s);
    if (!stop || (rc = cli_session_extend(&s, 0, &xo, stop)) != 0)
        return rc;
    /* Shares of states need every state read in every pass. */
    threadinfo_set_precise(s.threads, 1);
    char err[512], build[64];
    cli_build_desc(&s.interp, &s.mem, build, sizeof build);
    struct gil_run r = { .s = &s, .stats = gilstats_new((uint64_t)(1e9 / o.rate)) };
    struct fileshort *fs = fileshort_new(s.target.pid, s.strings, 0);
    int code = EXIT_OK;
    if (!r.stats || !fs) {
        cli_error("out of memory");
        code = EXIT_ERROR;
    }
    struct sampler_stats st = { 0 };
    if (code == EXIT_OK) {
        struct sampler_config cfg = { .rate_hz = o.rate, .duration_s = o.duration, .nonblocking = o.nonblocking,
                                      .suspend = cli_suspend_flag(), .nice = cli_priority(o.no_priority),
                                      .native = s.native };
        struct cli_notes notes;
        cli_sampler_env(&cfg, &notes, !o.quiet);
        rc = sampler_run(&s.target, s.walk, s.threads, &cfg, stop, on_sample, &r, &st, err, sizeof err);
        if (rc != 0) {
            cli_error("%s", err);
            code = EXIT_ERROR;
        } else if (r.oom) {
            cli_error("out of memory: the report is cut short");
        }
        if (rc == 0)
            cli_warn_priority(&st);
    }
    if (code == EXIT_OK) {
        struct report rep = { .s = &s, .g = r.stats, .st = &st, .o = &o, .build = build, .fs = fs,
                              .no_gil = s.interp.off.free_threaded && pyinterp_gil_enabled(&s.interp, &s.mem) != 1,
                              .waits_known = threadinfo_gil(s.threads) != NULL };
        if (o.output) {
            struct outfile of;
            int orc = outfile_open(&of, o.output);
            if (orc == 0) {
                char title[64];
                snprintf(title, sizeof title, "PID %d", (int)s.target.pid);
                orc = giltimeline_write(of.f, r.stats, s.strings, title, rep.no_gil);
                if (orc != 0)
                    outfile_abort(&of);
                else
                    orc = outfile_commit(&of);
            }
            if (orc != 0) {
                cli_error("cannot write %s: %s", o.output, strerror(-orc));
                code = EXIT_ERROR;
            }
        }
        if (o.json)
            print_json(&rep);
        else
            print_text(&rep);
        cli_warn_unknown_states(&s);
        if (st.target_execd)
            fprintf(stderr, "gilscope: process %d ran a new program (exec): the report stops there\n",
                    (int)s.target.pid);
    }
    fileshort_free(fs);
    int ended = cli_finish_child(&s.target, stop, !s.target.execd);
    if (s.target.launched && code == EXIT_OK && !ended)
        code = target_exit_code(&s.target);
    gilstats_free(r.stats);
    session_close(&s);
    return code;
}
