/* cli_dump — `gilscope dump -p PID [--json]`: every thread's stack, once. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "sampler.h"
#include "textesc.h"

enum {
    OPT_PID, OPT_CORE, OPT_FULL_FILENAMES, OPT_LOCALS, OPT_JSON, OPT_SUBPROCESSES, OPT_NATIVE,
    OPT_NATIVE_ALL_FRAMES, OPT_NONBLOCKING, OPT_COUNT
};

static const struct cliopt dump_table[] = {
    [OPT_PID] = CLI_OPT_PID("the process to look at"),
    [OPT_CORE] = { .name = "core",
                   .short_name = 'c',
                   .arg = CLIOPT_FILE,
                   .value_name = "CORE",
                   .help = "read a core dump instead of a process",
                   .unsupported = "gilscope reads live processes only" },
    [OPT_FULL_FILENAMES] = { .name = "full-filenames",
                             .help = "(accepted for symmetry; dump always shows full paths)",
                             .brief = "accepted for symmetry" },
    [OPT_LOCALS] = { .name = "locals",
                     .short_name = 'l',
                     .help = "each frame's local variables",
                     .unsupported = "gilscope does not read local variables" },
    [OPT_JSON] = { .name = "json", .short_name = 'j', .help = "one JSON object instead of text" },
    [OPT_SUBPROCESSES] = CLI_OPT_SUBPROCESSES("dump subprocesses too"),
    [OPT_NATIVE] = CLI_OPT_NATIVE,
    [OPT_NATIVE_ALL_FRAMES] = CLI_OPT_NATIVE_ALL_FRAMES,
    [OPT_NONBLOCKING] = { .name = "nonblocking",
                          .help = "do not pause the process while reading it",
                          .brief = "do not pause the process" },
    [OPT_COUNT] = { 0 },
};

const struct cliopt_cmd cli_dump_cmd = {
    .name = "dump",
    .brief = "print every thread's current stack once",
    .usage = "usage: gilscope dump -p PID [options]\n"
             "\n"
             "Print every thread of a running Python process with its stack, leaf first.\n"
             "\n",
    .examples = "gilscope dump -p PID [--json]",
    .opts = dump_table,
    .run = cli_dump,
};

struct dump_opts {
    pid_t pid;
    int core, json, native, all_frames, nonblocking;
};

static int on_option(void *ctx, const struct cliopt *opt, const char *arg)
{
    struct dump_opts *o = ctx;
    switch (opt - dump_table) {
    case OPT_PID: return cli_opt_pid(arg, &o->pid);
    case OPT_CORE: o->core = 1; break;
    case OPT_JSON: o->json = 1; break;
    case OPT_NATIVE: o->native = 1; break;
    case OPT_NATIVE_ALL_FRAMES: o->all_frames = 1; break;
    case OPT_NONBLOCKING: o->nonblocking = 1; break;
    default: break;     /* --full-filenames; not supported yet: refused after the checks */
    }
    return 0;
}

static void print_text(struct session *s, const struct sample *smp)
{
    const struct strtab *st = s->strings;
    int color = cli_color_stdout();
    const char *bold = color ? "\033[1m" : "", *dim = color ? "\033[2m" : "",
               *green = color ? "\033[32m" : "", *yellow = color ? "\033[33m" : "",
               *off = color ? "\033[0m" : "";
    char build[64];
    cli_build_desc(s, build, sizeof build);
    printf("Process %d: Python %s%s%s (", (int)s->target.pid, s->interp.version, build[0] ? ", " : "", build);
    textesc_fputs(s->interp.binary, stdout);
    printf(")\n");
    for (size_t i = 0; i < smp->nthreads; i++) {
        const struct thread_sample *t = &smp->threads[i];
        int active = (t->flags & SAMPLE_ACTIVE) != 0;
        int unknown = (t->flags & SAMPLE_UNKNOWN) != 0;
        /* What it did beyond active or idle: +gil, native, python; a
         * thread waiting for the GIL is not idle: "gil-wait" alone. */
        const char *what = t->state == TSTATE_GIL ? "+gil"
                           : t->state == TSTATE_NATIVE || t->state == TSTATE_PYTHON ? sample_state_name((int)t->state)
                                                                                    : NULL;
        int waiting = t->state == TSTATE_GIL_WAIT;
        /* Names and files are the target's data: control characters escaped. */
        printf("\n%sThread %d \"", bold, (int)t->tid);
        textesc_fputs(strtab_get(st, t->name), stdout);
        printf("\"%s (%s%s%s%s%s%s%s)\n", off, active ? green : waiting ? yellow : dim,
               active ? "active" : waiting ? "gil-wait" : unknown ? "state unknown" : "idle", off,
               what ? ", " : "", what ? yellow : "", what ? what : "", what ? off : "");
        if (t->flags & SAMPLE_FAILED)
            printf("    %s[stack not readable: %s]%s\n", dim, pywalk_error_name((int)t->error), off);
        const struct frame *f = sample_thread_frames(smp, i);
        for (uint32_t k = 0; k < t->nframes; k++) {
            fputs("    ", stdout);
            textesc_fputs(strtab_get(st, f[k].name), stdout);
            if (f[k].kind == FRAME_MARKER || (f[k].kind == FRAME_NATIVE && !*strtab_get(st, f[k].file))) {
                fputc('\n', stdout);
                continue;
            }
            fputs(" (", stdout);
            textesc_fputs(strtab_get(st, f[k].file), stdout);
            if (f[k].kind == FRAME_NATIVE && f[k].line == 0)
                fputs(")\n", stdout);
            else
                printf(":%d)\n", f[k].line);
        }
    }
}

static void print_json(struct session *s, const struct sample *smp)
{
    const struct strtab *st = s->strings;
    printf("{\"pid\": %d, \"python_version\": ", (int)s->target.pid);
    json_string(stdout, s->interp.version);
    printf(", \"free_threaded\": %s, \"gil_enabled\": %s", s->interp.off.free_threaded ? "true" : "false",
           pyinterp_gil_enabled(&s->interp, &s->mem) == 0 ? "false" : "true");
    printf(", \"threads\": [");
    for (size_t i = 0; i < smp->nthreads; i++) {
        const struct thread_sample *t = &smp->threads[i];
        printf("%s\n  {\"tid\": %d, \"name\": ", i ? "," : "", (int)t->tid);
        json_string(stdout, strtab_get(st, t->name));
        printf(", \"active\": %s, \"gil\": %s, \"state\": \"%s\", ",
               (t->flags & SAMPLE_ACTIVE) ? "true" : (t->flags & SAMPLE_UNKNOWN) ? "null" : "false",
               (t->flags & SAMPLE_GIL) ? "true" : "false", sample_state_name((int)t->state));
        if (t->flags & SAMPLE_FAILED) {
            printf("\"error\": ");
            json_string(stdout, pywalk_error_name((int)t->error));
            printf(", ");
        }
        printf("\"frames\": [");
        const struct frame *f = sample_thread_frames(smp, i);
        for (uint32_t k = 0; k < t->nframes; k++) {
            printf("%s\n    {\"name\": ", k ? "," : "");
            json_string(stdout, strtab_get(st, f[k].name));
            printf(", \"file\": ");
            json_string(stdout, strtab_get(st, f[k].file));
            printf(", \"line\": %d, \"kind\": \"%s\"}", f[k].line, sample_frame_kind_name(f[k].kind));
        }
        printf("]}");
    }
    printf("\n]}\n");
}

int cli_dump(int argc, char **argv)
{
    struct dump_opts o = { 0 };
    struct cliopt_result res;
    int rc = cliopt_parse(&cli_dump_cmd, argc, argv, on_option, &o, &res);
    if (rc)
        return rc == CLIOPT_HELP ? EXIT_OK : rc;
    if (res.next < argc || (o.pid == 0 && !o.core)) {
        cli_error(res.next < argc ? "unexpected argument '%s'" : "dump needs -p PID", argv[res.next]);
        return EXIT_USAGE;
    }
    if ((rc = cli_native_check(o.native, o.nonblocking)) != 0 || (rc = cliopt_refuse(&res)) != 0)
        return rc;
    struct session s;
    volatile sig_atomic_t *stop = cli_start(&rc, NULL, o.pid, NULL, o.nonblocking, 0, &s);
    if (!stop || (rc = cli_session_native(&s, o.native, o.all_frames, stop)) != 0)
        return rc;
    char err[512];
    struct sample smp = { 0 };
    struct sampler_stats stats;
    /* A look at every thread: one whose stack cannot be read is shown, with why. */
    pywalk_keep_failed(s.walk, 1);
    struct sampler_config cfg = { .nonblocking = o.nonblocking, .suspend = cli_suspend_flag(), .native = s.native };
    rc = sampler_once(&s.target, s.walk, s.threads, &cfg, &smp, &stats, err, sizeof err);
    if (rc < 0) {
        cli_error("%s", err);
    } else if (o.json) {
        print_json(&s, &smp);
    } else {
        print_text(&s, &smp);
    }
    if (rc >= 0) {
        cli_native_note(&s);
        cli_warn_unknown_states(&s);
    }
    sample_free(&smp);
    session_close(&s);
    return rc < 0 ? EXIT_ERROR : EXIT_OK;
}
