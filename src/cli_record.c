/* cli_record — `gilscope record`: sample a launched or running program and
 * write the profile. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
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


enum {
    OPT_PID, OPT_OUTPUT, OPT_FORMAT, OPT_RATE, OPT_DURATION, OPT_SUBPROCESSES, OPT_THREADS, OPT_IDLE,
    OPT_GIL, OPT_NATIVE, OPT_NATIVE_ALL_FRAMES, OPT_NONBLOCKING, OPT_FULL_FILENAMES, OPT_FUNCTION, OPT_NOLINENO, OPT_QUIET,
    OPT_HIDEPROGRESS, OPT_CAPTURE, OPT_STATES, OPT_NO_PRIORITY, OPT_COUNT
};

static const struct cliopt record_table[] = {
    [OPT_PID] = CLI_OPT_PID("attach to this process"),
    [OPT_OUTPUT] = { .name = "output",
                     .short_name = 'o',
                     .arg = CLIOPT_FILE,
                     .value_name = "FILE",
                     .help = "where to write (default NAME-TIME.EXT: NAME the\n"
                         "program or the PID, TIME the local time as\n"
                         "2024-06-11T14:20:00+02:00, EXT svg, txt, json or\n"
                         "pb.gz)",
                     .brief = "output file" },
    [OPT_FORMAT] = { .name = "format",
                     .short_name = 'f',
                     .arg = CLIOPT_FORMAT,
                     .value_name = "FORMAT",
                     .help = "flamegraph (default: an interactive SVG), raw\n"
                         "(folded stacks; also 'folded'), speedscope,\n"
                         "chrometrace (Trace Event JSON for Perfetto), or pprof\n"
                         "(gzipped profile.proto for go tool pprof, Pyroscope,\n"
                         "Parca, Grafana); without -f, the extension of -o\n"
                         "chooses (.svg, .folded, .txt, .speedscope.json,\n"
                         ".trace.json, .pb.gz)",
                     .brief = "output format" },
    [OPT_RATE] = CLI_OPT_RATE,
    [OPT_DURATION] = CLI_OPT_DURATION("stop after this long, or unlimited (the default:\n"
                                     "until the program exits or Ctrl-C)"),
    [OPT_SUBPROCESSES] = CLI_OPT_SUBPROCESSES("profile subprocesses too"),
    [OPT_THREADS] = { .name = "threads",
                      .short_name = 't',
                      .help = "root each stack at its thread: 'thread (TID): NAME'",
                      .brief = "root each stack at its thread" },
    [OPT_IDLE] = { .name = "idle", .short_name = 'i', .help = "keep samples of idle threads" },
    [OPT_GIL] = { .name = "gil",
                  .short_name = 'g',
                  .help = "keep only samples of the thread holding the GIL" },
    [OPT_NATIVE] = CLI_OPT_NATIVE,
    [OPT_NATIVE_ALL_FRAMES] = CLI_OPT_NATIVE_ALL_FRAMES,
    [OPT_NONBLOCKING] = CLI_OPT_NONBLOCKING,
    [OPT_FULL_FILENAMES] = CLI_OPT_FULL_FILENAMES,
    [OPT_FUNCTION] = { .name = "function",
                       .short_name = 'F',
                       .help = "one entry per function (its first line), not per line",
                       .brief = "one entry per function, not per line" },
    [OPT_NOLINENO] = { .name = "nolineno", .help = "no line numbers at all" },
    [OPT_QUIET] = { .name = "quiet",
                    .short_name = 'q',
                    .help = "no status line and no summary (errors are still shown)",
                    .brief = "no status line and no summary" },
    [OPT_HIDEPROGRESS] = { .name = "hideprogress", .help = "no status line", .hidden = 1 },
    [OPT_CAPTURE] = { .name = "capture",
                      .help = "capture the launched program's output",
                      .hidden = 1,
                      .unsupported = "a launched program's output is left alone" },
    [OPT_STATES] = { .name = "states",
                     .help = "end each stack with what the thread was doing when it\n"
                         "did not hold the GIL: [gil-wait], [native] or [idle]\n"
                         "(idle ones with --idle); every thread's state is then\n"
                         "read in every pass",
                     .brief = "add the thread's state as a leaf frame" },
    [OPT_NO_PRIORITY] = CLI_OPT_NO_PRIORITY,
    [OPT_COUNT] = { 0 },
};

const struct cliopt_cmd cli_record_cmd = {
    .name = "record",
    .brief = "sample a program's stacks and write a profile",
    .usage = "usage: gilscope record [-p PID | [--] COMMAND [ARGS…]] [options]\n"
             "\n"
             "Sample the Python stacks of a running process (-p) or of a command it\n"
             "launches, until the duration passes, the program exits or Ctrl-C.\n"
             "\n",
    .examples = "gilscope record -p PID -o out.folded -f raw\n"
                "gilscope record -o out.folded -f raw -- python3 app.py",
    .opts = record_table,
    .launches = 1,
    .run = cli_record,
};

struct record_opts {
    pid_t pid;
    const char *output;
    const struct output_format *format;
    double rate, duration;
    int format_given;
    int threads, idle, gil, native, all_frames, subprocesses, nonblocking, full_filenames, function, nolineno, quiet, hideprogress, states, no_priority;
    char **command;
};

struct collect {
    struct profile *profile;
    const struct record_opts *opts;
    struct session *session;
    uint32_t state_frame[TSTATE_COUNT];   /* --states: the leaf pseudo-frame's name, STRTAB_NONE for none */
    uint32_t no_file;                     /* "": a pseudo-frame's file */
    void *writer;       /* the format's state */
    int oom;            /* the profile could not grow */
    int write_error;    /* the streaming writer failed */
};

/* Give thread I of S the leaf frame NAME: its frames are copied to the
 * end of the frame list behind it. Returns 0 or -ENOMEM. */
static int add_leaf(const struct collect *c, struct sample *s, size_t i, uint32_t name)
{
    struct thread_sample *t = &s->threads[i];
    struct frame leaf = { .name = name, .file = c->no_file, .kind = FRAME_MARKER };
    uint32_t first = (uint32_t)s->nframes;
    if (sample_push_frame(s, &leaf) != 0)
        return -ENOMEM;
    for (uint32_t k = 0; k < t->nframes; k++) {
        struct frame f = s->frames[t->first + k];
        if (sample_push_frame(s, &f) != 0)
            return -ENOMEM;
    }
    t->first = first;
    t->nframes++;
    return 0;
}

static int collect_sample(void *ctx, struct sample *s)
{
    struct collect *c = ctx;
    if (!c->opts->quiet)
        cli_native_note(c->session);
    for (size_t i = 0; i < s->nthreads; i++) {
        uint32_t f = s->threads[i].flags, state = s->threads[i].state;
        /* A thread with no Python frame (starting, ending, or only in C) has nothing to show. */
        if (s->threads[i].nframes == 0)
            continue;
        /* With --states, waiting for the GIL and native code are kept as activity. */
        int busy = (f & SAMPLE_ACTIVE) || (c->opts->states && state == TSTATE_GIL_WAIT);
        if (!busy && !c->opts->idle)
            continue;
        if (c->opts->gil && !(f & SAMPLE_GIL))
            continue;
        if (c->opts->states && state < TSTATE_COUNT && c->state_frame[state] != STRTAB_NONE &&
            add_leaf(c, s, i, c->state_frame[state]) != 0) {
            c->oom = 1;
            return 1;
        }
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

static int on_option(void *ctx, const struct cliopt *opt, const char *arg)
{
    struct record_opts *o = ctx;
    switch (opt - record_table) {
    case OPT_PID: return cli_opt_pid(arg, &o->pid);
    case OPT_OUTPUT: o->output = arg; break;
    case OPT_FORMAT:
        o->format_given = 1;
        if (!(o->format = output_find(arg))) {
            cli_error("unknown format '%s' (formats: %s)", arg, output_names());
            return EXIT_USAGE;
        }
        break;
    case OPT_RATE: return cli_opt_rate(arg, &o->rate);
    case OPT_DURATION: return cli_opt_duration(arg, &o->duration);
    case OPT_THREADS: o->threads = 1; break;
    case OPT_IDLE: o->idle = 1; break;
    case OPT_GIL: o->gil = 1; break;
    case OPT_NATIVE: o->native = 1; break;
    case OPT_SUBPROCESSES: o->subprocesses = 1; break;
    case OPT_NATIVE_ALL_FRAMES: o->all_frames = 1; break;
    case OPT_NONBLOCKING: o->nonblocking = 1; break;
    case OPT_FULL_FILENAMES: o->full_filenames = 1; break;
    case OPT_FUNCTION: o->function = 1; break;
    case OPT_NOLINENO: o->nolineno = 1; break;
    case OPT_QUIET: o->quiet = 1; break;
    case OPT_HIDEPROGRESS: o->hideprogress = 1; break;
    case OPT_STATES: o->states = 1; break;
    case OPT_NO_PRIORITY: o->no_priority = 1; break;
    default: break;     /* not supported yet: refused after the checks */
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct record_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rate = 100;
    o->format = output_find("flamegraph");
    struct cliopt_result res;
    int rc = cli_parse_target(&cli_record_cmd, argc, argv, on_option, o, &o->pid, &o->command, &res);
    if (rc)
        return rc;
    if (!o->format_given && o->output && output_for_path(o->output))
        o->format = output_for_path(o->output);
    /* py-spy's own refusals, with its words. */
    if (o->function && o->nolineno) {
        cli_error("--function & --nolineno can't be used together");
        return EXIT_ERROR;
    }
    if ((rc = cli_native_check(o->native, o->nonblocking)) != 0)
        return rc;
    return cliopt_refuse(&res);
}

/* py-spy's default output name: NAME-TIME.EXT, NAME the launched program
 * (its file name only) or the PID, TIME local RFC 3339 to the second
 * ("Z" for a zero offset), EXT the format's (svg, txt, json, pb.gz). */
static void default_name(const struct record_opts *o, pid_t pid, char *out, size_t outlen)
{
    char name[256], stamp[40];
    const char *base = o->command ? strrchr(o->command[0], '/') : NULL;
    base = base ? base + 1 : o->command ? o->command[0] : "";
    if (*base)
        snprintf(name, sizeof name, "%.200s", base);
    else
        snprintf(name, sizeof name, "%d", (int)pid);
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    long off = tm.tm_gmtoff / 60;
    if (off == 0)
        snprintf(stamp + n, sizeof stamp - n, "Z");
    else
        snprintf(stamp + n, sizeof stamp - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
    snprintf(out, outlen, "%s-%s.%s", name, stamp, o->format->default_ext);
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
                    const char *build, double rate)
{
    double secs = (double)(st->stop_ns - st->start_ns) / 1e9;
    uint64_t all = st->thread_samples + st->errors;
    fprintf(stderr, "gilscope: wrote %s: %" PRIu64 " samples (%" PRIu64 " kept) in %.2f s, "
            "%" PRIu64 " errors (%.2f%%)", path, st->thread_samples, profile_total(p), secs,
            st->errors, all ? 100.0 * (double)st->errors / (double)all : 0.0);
    /* Passes that took longer than the interval lowered the rate (for
     * every thread alike): say what it came to. */
    double got = secs > 0 ? (double)st->passes / secs : 0;
    if (st->late && got < 0.95 * rate)
        fprintf(stderr, ", %.1f Hz of %g asked (%" PRIu64 " ticks missed)", got, rate, st->late);
    else if (st->late)
        fprintf(stderr, ", %" PRIu64 " samples late", st->late);
    if (build[0])
        fprintf(stderr, "; Python is %s", build);
    fputc('\n', stderr);
}

/* A folded_opts process name: the command of a process of the family CTX. */
static uint32_t process_command(const void *ctx, pid_t pid)
{
    return family_command(ctx, pid);
}

int cli_record(int argc, char **argv)
{
    struct record_opts o;
    int rc = parse_args(argc, argv, &o);
    struct session s;
    struct family_opts xo = { .nonblocking = o.nonblocking, .native = o.native, .all_frames = o.all_frames };
    volatile sig_atomic_t *stop = cli_start(&rc, o.output, o.pid, o.command, o.nonblocking, o.gil, &s);
    if (!stop || (rc = cli_session_extend(&s, o.subprocesses, &xo, stop)) != 0)
        return rc;
    char err[512];
    char build[64];
    cli_build_desc(&s.interp, &s.mem, build, sizeof build);
    char defname[320], title[512];
    const char *path = o.output;
    if (!path) {
        default_name(&o, s.target.pid, defname, sizeof defname);
        path = defname;
    }
    make_title(&o, s.target.pid, title, sizeof title);
    int code = EXIT_OK;
    struct folded_opts fo = { .threads = o.threads, .function = o.function, .nolineno = o.nolineno,
                              .process = s.family ? process_command : NULL, .process_ctx = s.family };
    struct collect c = { .profile = profile_new(), .opts = &o, .session = &s };
    for (int k = 0; k < TSTATE_COUNT; k++) {
        char name[32];
        int pseudo = k == TSTATE_GIL_WAIT || k == TSTATE_NATIVE || k == TSTATE_IDLE;
        snprintf(name, sizeof name, "[%s]", sample_state_name(k));
        c.state_frame[k] = pseudo ? strtab_intern(s.strings, name, strlen(name)) : STRTAB_NONE;
    }
    c.no_file = strtab_intern(s.strings, "", 0);
    /* Shares of states need every state read in every pass. */
    threadinfo_set_precise(s.threads, o.states);
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
                                      .nonblocking = o.nonblocking, .suspend = cli_suspend_flag(),
                                      .native = s.native, .family = s.family, .nice = cli_priority(o.no_priority) };
        struct cli_notes notes;
        cli_sampler_env(&cfg, &notes, !o.quiet && !o.hideprogress);
        struct sampler_stats st;
        rc = sampler_run(&s.target, s.walk, s.threads, &cfg, stop, collect_sample, &c, &st, err, sizeof err);
        if (rc != 0)
            cli_error("%s", err);
        else
            cli_warn_priority(&st);
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
            summary(path, &st, c.profile, build, o.rate);
            cli_warn_unknown_states(&s);
            cli_warn_merge_errors(&s);
        }
        if (rc != 0)
            code = EXIT_ERROR;
        else if (st.target_exited && !s.target.launched && !o.quiet)
            fprintf(stderr, "gilscope: process %d exited during the recording\n", (int)s.target.pid);
        else if (st.target_execd && !o.quiet)
            fprintf(stderr, "gilscope: process %d ran a new program (exec): recording stopped there, "
                    "the samples before it are written\n", (int)s.target.pid);
    }
    if (out)
        outfile_abort(&of);
    fileshort_free(fs);
    /* A program still running when the recording ends (-d, or an error)
     * is ended; the recording's own result is then the exit code. */
    int ended = cli_finish_child(&s.target, stop, !s.target.execd);
    if (s.target.launched && code == EXIT_OK && !ended)
        code = target_exit_code(&s.target);
    profile_free(c.profile);
    session_close(&s);
    return code;
}
