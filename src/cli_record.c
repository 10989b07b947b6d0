/* cli_record — `gilscope record`: sample a launched or running program and
 * write the profile. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fileshort.h"
#include "folded.h"
#include "outfile.h"
#include "output.h"
#include "profile.h"
#include "sampler.h"


static const char usage[] =
    "usage: gilscope record [-p PID | -- COMMAND [ARGS…]] [options]\n"
    "\n"
    "Sample the Python stacks of a running process (-p) or of a command it\n"
    "launches, until the duration passes, the program exits or Ctrl-C.\n"
    "\n"
    "  -p, --pid PID          attach to this process\n"
    "  -o, --output FILE      where to write (default gilscope-PID-TIME.EXT)\n"
    "  -f, --format FORMAT    flamegraph (default: an interactive SVG), raw\n"
    "                         (folded stacks; also 'folded'), speedscope, or\n"
    "                         chrometrace (Trace Event JSON for Perfetto); without\n"
    "                         -f, the extension of -o chooses (.svg, .folded, .txt,\n"
    "                         .speedscope.json, .trace.json)\n"
    "  -r, --rate HZ          samples per second (default 100)\n"
    "  -d, --duration SECS    stop after this long (default: until the end)\n"
    "  -t, --threads          root each stack at its thread: 'thread (TID): NAME'\n"
    "  -i, --idle             keep samples of idle threads\n"
    "  -g, --gil              keep only samples of the thread holding the GIL\n"
    "      --nonblocking      never pause the target (faster, may tear stacks)\n"
    "      --full-filenames   show whole paths instead of package-relative ones\n"
    "  -F, --function         one entry per function (its first line), not per line\n"
    "      --nolineno         no line numbers at all\n"
    "  -q, --quiet            no status line and no summary (errors are still shown)\n"
    "  -h, --help             this help\n";

struct record_opts {
    pid_t pid;
    const char *output;
    const struct output_format *format;
    double rate, duration;
    int threads, idle, gil, nonblocking, full_filenames, function, nolineno, quiet;
    char **command;
};

struct collect {
    struct profile *profile;
    const struct record_opts *opts;
    void *writer;       /* the format's state */
    int oom;            /* the profile could not grow */
    int write_error;    /* the streaming writer failed */
};

static int collect_sample(void *ctx, struct sample *s)
{
    struct collect *c = ctx;
    for (size_t i = 0; i < s->nthreads; i++) {
        uint32_t f = s->threads[i].flags;
        /* A thread with no Python frame (starting, ending, or only in C) has nothing to show. */
        if (s->threads[i].nframes == 0)
            continue;
        if (!(f & SAMPLE_ACTIVE) && !c->opts->idle)
            continue;
        if (c->opts->gil && !(f & SAMPLE_GIL))
            continue;
        if (profile_add(c->profile, s, i) != 0) {
            c->oom = 1;
            return 1;
        }
        if (c->opts->format->sample && c->opts->format->sample(c->writer, s, i) != 0) {
            c->write_error = 1;
            return 1;
        }
    }
    return 0;
}

static int parse_number(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct record_opts *o)
{
    static const struct option longopts[] = {
        { "pid", required_argument, NULL, 'p' },
        { "output", required_argument, NULL, 'o' },
        { "format", required_argument, NULL, 'f' },
        { "rate", required_argument, NULL, 'r' },
        { "duration", required_argument, NULL, 'd' },
        { "threads", no_argument, NULL, 't' },
        { "idle", no_argument, NULL, 'i' },
        { "gil", no_argument, NULL, 'g' },
        { "nonblocking", no_argument, NULL, 'N' },
        { "full-filenames", no_argument, NULL, 'L' },
        { "function", no_argument, NULL, 'F' },
        { "nolineno", no_argument, NULL, 'n' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    memset(o, 0, sizeof *o);
    o->rate = 100;
    o->format = output_find("flamegraph");
    int c, format_given = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+p:o:f:r:d:tigFqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if ((o->pid = cli_parse_pid(optarg)) < 0) {
                cli_error("invalid PID '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'o': o->output = optarg; break;
        case 'f':
            format_given = 1;
            o->format = output_find(optarg);
            if (!o->format) {
                cli_error("unknown format '%s' (formats: %s)", optarg, output_names());
                return EXIT_USAGE;
            }
            break;
        case 'r':
            if (parse_number(optarg, 0.1, 100000, &o->rate) != 0) {
                cli_error("invalid rate '%s' (samples per second, 0.1 to 100000)", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'd':
            if (parse_number(optarg, 0.001, 1e9, &o->duration) != 0) {
                cli_error("invalid duration '%s' (seconds)", optarg);
                return EXIT_USAGE;
            }
            break;
        case 't': o->threads = 1; break;
        case 'i': o->idle = 1; break;
        case 'g': o->gil = 1; break;
        case 'N': o->nonblocking = 1; break;
        case 'L': o->full_filenames = 1; break;
        case 'F': o->function = 1; break;
        case 'n': o->nolineno = 1; break;
        case 'q': o->quiet = 1; break;
        case 'h': fputs(usage, stdout); return -1;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (!format_given && o->output && output_for_path(o->output))
        o->format = output_for_path(o->output);
    if (optind < argc)
        o->command = argv + optind;
    if (!o->pid == !o->command) {
        cli_error(o->pid ? "give either -p PID or a command, not both"
                         : "record needs -p PID or a command after --");
        return EXIT_USAGE;
    }
    return 0;
}

/* Refuse early an output path that cannot be written, so no profile is lost at the end. */
static int check_output(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    if (access(path, F_OK) == 0 ? access(path, W_OK) != 0 : access(dir, W_OK) != 0) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The title a writer shows: the command line, or the PID. */
static void make_title(const struct record_opts *o, pid_t pid, char *out, size_t outlen)
{
    size_t at = 0;
    if (!o->command) {
        snprintf(out, outlen, "PID %d", (int)pid);
        return;
    }
    out[0] = '\0';
    for (char **a = o->command; *a && at + 1 < outlen; a++) {
        int n = snprintf(out + at, outlen - at, "%s%s", at ? " " : "", *a);
        if (n < 0)
            break;
        at += (size_t)n;
    }
}
static void summary(const char *path, const struct sampler_stats *st, const struct profile *p,
                    const char *build)
{
    double secs = (double)(st->stop_ns - st->start_ns) / 1e9;
    uint64_t all = st->thread_samples + st->errors;
    fprintf(stderr, "gilscope: wrote %s: %" PRIu64 " samples (%" PRIu64 " kept) in %.2f s, "
            "%" PRIu64 " errors (%.2f%%)", path, st->thread_samples, profile_total(p), secs,
            st->errors, all ? 100.0 * (double)st->errors / (double)all : 0.0);
    if (st->late)
        fprintf(stderr, ", %" PRIu64 " samples late", st->late);
    if (build[0])
        fprintf(stderr, "; Python is %s", build);
    fputc('\n', stderr);
}

int cli_record(int argc, char **argv)
{
    struct record_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (o.output && check_output(o.output) != 0)
        return EXIT_ERROR;
    volatile sig_atomic_t *stop = cli_stop_flag();
    char err[512];
    struct session s;
    rc = cli_session_start(&s, o.pid, o.command, o.nonblocking, stop);
    if (rc != 0)
        return rc;
    if (o.gil && (rc = cli_gil_only_check(&s)) != 0) {
        session_close(&s);
        return rc;
    }
    char build[64];
    cli_build_desc(&s, build, sizeof build);
    char defname[128], title[512];
    const char *path = o.output;
    if (!path) {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", localtime(&now));
        snprintf(defname, sizeof defname, "gilscope-%d-%s%s", (int)s.target.pid, stamp, o.format->ext);
        path = defname;
    }
    make_title(&o, s.target.pid, title, sizeof title);
    int code = EXIT_OK;
    struct folded_opts fo = { .threads = o.threads, .function = o.function, .nolineno = o.nolineno };
    struct collect c = { .profile = profile_new(), .opts = &o };
    struct fileshort *fs = fileshort_new(s.target.pid, s.strings, o.full_filenames);
    /* Written under a temporary name and put in place when complete: a run
     * that is killed or fails leaves the previous file as it was. */
    struct outfile of;
    int orc = outfile_open(&of, path);
    FILE *out = orc == 0 ? of.f : NULL;
    if (!out) {
        cli_error("cannot write %s: %s", path, strerror(-orc));
        code = EXIT_ERROR;
    } else if (!c.profile || !fs) {
        cli_error("out of memory");
        code = EXIT_ERROR;
    } else {
        struct output_info info = {
            .pid = s.target.pid, .title = title, .python_version = s.interp.version, .rate_hz = o.rate,
            .start_ns = clock_mono_ns(), .strings = s.strings, .files = fs, .opts = &fo,
        };
        c.writer = o.format->begin(out, &info, err, sizeof err);
        if (!c.writer) {
            cli_error("%s", err);
            code = EXIT_ERROR;
        }
    }
    if (code == EXIT_OK) {
        struct sampler_config cfg = { .rate_hz = o.rate, .duration_s = o.duration,
                                      .nonblocking = o.nonblocking, .status_line = !o.quiet && isatty(2),
                                      .suspend = cli_suspend_flag() };
        struct sampler_stats st;
        rc = sampler_run(&s.target, s.walk, s.threads, &cfg, stop, collect_sample, &c, &st, err, sizeof err);
        if (rc != 0)
            cli_error("%s", err);
        if (c.oom)
            cli_error("out of memory: the profile is cut short");
        struct output_totals totals = { .samples = profile_total(c.profile), .errors = st.errors,
                                        .duration_s = rc == 0 ? (double)(st.stop_ns - st.start_ns) / 1e9 : 0 };
        int wrc = o.format->end(c.writer, c.profile, &totals);
        if (c.write_error && wrc == 0)
            wrc = -EIO;
        /* The writers only know a write failed; closing says why (ENOSPC …). */
        int crc = out ? outfile_commit(&of) : 0;
        out = NULL;
        if (wrc == 0 || (wrc == -EIO && crc != 0))
            wrc = crc;
        if (wrc != 0) {
            cli_error("cannot write %s: %s", path, strerror(-wrc));
            code = EXIT_ERROR;
        } else if (rc == 0 && !o.quiet) {
            summary(path, &st, c.profile, build);
        }
        if (rc != 0)
            code = EXIT_ERROR;
        else if (st.target_exited && !s.target.launched && !o.quiet)
            fprintf(stderr, "gilscope: process %d exited during the recording\n", (int)s.target.pid);
    }
    if (out)
        outfile_abort(&of);
    fileshort_free(fs);
    /* A program still running when the recording ends (-d, or an error)
     * is ended; the recording's own result is then the exit code. */
    int ended = cli_finish_child(&s.target, stop, 1);
    if (s.target.launched && code == EXIT_OK && !ended)
        code = target_exit_code(&s.target);
    profile_free(c.profile);
    session_close(&s);
    return code;
}
