/* cli_dump — `gilscope dump -p PID [--json]`: every thread's stack, once;
 * `gilscope dump --core CORE`: the same from a core file (with --native,
 * the C stacks from its threads' registers and its mapped files). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "sampler.h"
#include "textesc.h"

enum {
    OPT_PID, OPT_CORE, OPT_EXECUTABLE, OPT_FULL_FILENAMES, OPT_LOCALS, OPT_JSON, OPT_SUBPROCESSES, OPT_NATIVE,
    OPT_NATIVE_ALL_FRAMES, OPT_NONBLOCKING, OPT_COUNT
};

static const struct cliopt dump_table[] = {
    [OPT_PID] = CLI_OPT_PID("the process to look at"),
    [OPT_CORE] = { .name = "core",
                   .short_name = 'c',
                   .arg = CLIOPT_FILE,
                   .value_name = "CORE",
                   .help = "read a core file instead of a process (the binaries it\n"
                           "was made with must be where the core says)",
                   .brief = "read a core file instead of a process" },
    [OPT_EXECUTABLE] = { .name = "executable",
                         .arg = CLIOPT_FILE,
                         .value_name = "PYTHON",
                         .help = "with --core: the program's path, if it moved" },
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
             "       gilscope dump --core CORE [--executable PYTHON] [options]\n"
             "\n"
             "Print every thread of a running Python process, or of a core file of one,\n"
             "with its stack, leaf first.\n"
             "\n",
    .examples = "gilscope dump -p PID [--json]\ngilscope dump --core CORE [--json]",
    .opts = dump_table,
    .run = cli_dump,
};

struct dump_opts {
    pid_t pid;
    const char *core, *executable;
    int json, native, all_frames, subprocesses, nonblocking;
};

static int on_option(void *ctx, const struct cliopt *opt, const char *arg)
{
    struct dump_opts *o = ctx;
    switch (opt - dump_table) {
    case OPT_PID: return cli_opt_pid(arg, &o->pid);
    case OPT_CORE: o->core = arg; break;
    case OPT_EXECUTABLE: o->executable = arg; break;
    case OPT_JSON: o->json = 1; break;
    case OPT_NATIVE: o->native = 1; break;
    case OPT_SUBPROCESSES: o->subprocesses = 1; break;
    case OPT_NATIVE_ALL_FRAMES: o->all_frames = 1; break;
    case OPT_NONBLOCKING: o->nonblocking = 1; break;
    default: break;     /* --full-filenames; not supported yet: refused after the checks */
    }
    return 0;
}

/* One process of the dump: the target, or with --subprocesses one of its
 * Python descendants. */
struct dump_proc {
    pid_t pid;
    const struct pyinterp *interp;
    struct proc_mem *mem;
    uint32_t command;           /* strtab id, STRTAB_NONE for the target */
};

/* The processes of S: the target first, then its descendants; at most MAX
 * into OUT. Returns how many. */
static size_t dump_procs(struct session *s, struct dump_proc *out, size_t max)
{
    size_t n = 0;
    out[n++] = (struct dump_proc){ s->target.pid, &s->interp, &s->mem, STRTAB_NONE };
    for (size_t i = 0; i < family_count(s->family) && n < max; i++) {
        struct family_member *m = family_get(s->family, i);
        out[n++] = (struct dump_proc){ m->pid, &m->interp, &m->mem, m->command };
    }
    return n;
}

static void print_text(const struct strtab *st, const struct dump_proc *p, const struct sample *smp)
{
    int color = cli_color_stdout();
    const char *bold = color ? "\033[1m" : "", *dim = color ? "\033[2m" : "",
               *green = color ? "\033[32m" : "", *yellow = color ? "\033[33m" : "",
               *off = color ? "\033[0m" : "";
    char build[64];
    cli_build_desc(p->interp, p->mem, build, sizeof build);
    printf("Process %d: Python %s%s%s (", (int)p->pid, p->interp->version, build[0] ? ", " : "", build);
    textesc_fputs(p->interp->binary, stdout);
    printf(")\n");
    if (p->command != STRTAB_NONE) {
        fputs("Command: ", stdout);
        textesc_fputs(strtab_get(st, p->command), stdout);
        fputc('\n', stdout);
    }
    for (size_t i = 0; i < smp->nthreads; i++) {
        const struct thread_sample *t = &smp->threads[i];
        if (t->pid != p->pid)
            continue;
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

/* One process's object: its pid, interpreter and threads (without the
 * closing brace). */
static void print_json_proc(const struct strtab *st, const struct dump_proc *p, const struct sample *smp)
{
    printf("{\"pid\": %d, \"python_version\": ", (int)p->pid);
    json_string(stdout, p->interp->version);
    printf(", \"free_threaded\": %s, \"gil_enabled\": %s", p->interp->off.free_threaded ? "true" : "false",
           pyinterp_gil_enabled(p->interp, p->mem) == 0 ? "false" : "true");
    if (p->command != STRTAB_NONE) {
        printf(", \"command\": ");
        json_string(stdout, strtab_get(st, p->command));
    }
    printf(", \"threads\": [");
    int first = 1;
    for (size_t i = 0; i < smp->nthreads; i++) {
        const struct thread_sample *t = &smp->threads[i];
        if (t->pid != p->pid)
            continue;
        printf("%s\n  {\"tid\": %d, \"name\": ", first ? "" : ",", (int)t->tid);
        first = 0;
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
    printf("\n]");
}

static void print_json(const struct strtab *st, const struct dump_proc *p, size_t np, int family,
                       const struct sample *smp)
{
    print_json_proc(st, &p[0], smp);
    if (family) {
        printf(",\n\"subprocesses\": [");
        for (size_t i = 1; i < np; i++) {
            printf(i > 1 ? ",\n" : "\n");
            print_json_proc(st, &p[i], smp);
            printf("}");
        }
        printf("]");
    }
    printf("}\n");
}

int cli_dump(int argc, char **argv)
{
    struct dump_opts o = { 0 };
    struct cliopt_result res;
    int rc = cliopt_parse(&cli_dump_cmd, argc, argv, on_option, &o, &res);
    if (rc)
        return rc == CLIOPT_HELP ? EXIT_OK : rc;
    if (res.next < argc || (o.pid == 0) == !o.core || (o.executable && !o.core)) {
        cli_error(res.next < argc ? "unexpected argument '%s'"
                  : o.pid && o.core ? "give either -p PID or --core CORE, not both"
                  : o.executable && !o.core ? "--executable goes with --core"
                                            : "dump needs -p PID or --core CORE",
                  argv[res.next]);
        return EXIT_USAGE;
    }
    if ((rc = cli_native_check(o.native, o.nonblocking)) != 0 || (rc = cliopt_refuse(&res)) != 0)
        return rc;
    if (o.core && o.subprocesses) {
        cli_error("--subprocesses is not supported yet with --core (a core holds one process)");
        return EXIT_ERROR;
    }
    struct family_opts xo = { .nonblocking = o.nonblocking, .native = o.native, .all_frames = o.all_frames };
    char err[512];
    struct session s;
    volatile sig_atomic_t *stop = NULL;
    if (o.core && session_open_core(&s, o.core, o.executable, err, sizeof err) != 0) {
        char safe[1024];    /* it may name the core's files: its data */
        textesc_copy(safe, sizeof safe, 0, err);
        cli_error("%s", safe);
        session_close(&s);
        return EXIT_ERROR;
    }
    struct proc_tasks tasks = { 0 };
    if (o.core && o.native &&
        (!(s.native = nativemerge_new_core(s.core, &s.interp.off, &s.mem, s.strings, o.all_frames, err,
                                           sizeof err)) || corefile_tasks(s.core, &tasks) != 0)) {
        cli_error("--native: %s", s.native ? "out of memory" : err);
        session_close(&s);
        return EXIT_ERROR;
    }
    if (!o.core && (!(stop = cli_start(&rc, NULL, o.pid, NULL, o.nonblocking, 0, &s)) ||
                    (rc = cli_session_extend(&s, o.subprocesses, &xo, stop)) != 0))
        return rc;
    struct sample smp = { 0 };
    struct sampler_stats stats;
    /* A look at every thread: one whose stack cannot be read is shown, with why. */
    pywalk_keep_failed(s.walk, 1);
    struct sampler_config cfg = { .nonblocking = o.nonblocking, .suspend = cli_suspend_flag(), .native = s.native,
                                  .family = s.family };
    struct cli_notes notes;
    cli_sampler_env(&cfg, &notes, 0);
    rc = o.core ? sampler_frozen(s.walk, s.threads, s.native, tasks.tid, tasks.n, &smp, &stats, err, sizeof err)
                : sampler_once(&s.target, s.walk, s.threads, &cfg, &smp, &stats, err, sizeof err);
    if (rc < 0) {
        cli_error("%s", err);
    } else {
        struct dump_proc procs[FAMILY_MAX + 1];
        size_t np = dump_procs(&s, procs, FAMILY_MAX + 1);
        if (o.json)
            print_json(s.strings, procs, np, s.family != NULL, &smp);
        for (size_t i = 0; !o.json && i < np; i++) {
            if (i)
                fputc('\n', stdout);
            print_text(s.strings, &procs[i], &smp);
        }
    }
    if (rc >= 0) {
        cli_native_note(&s);
        cli_warn_unknown_states(&s);
        cli_warn_merge_errors(&s);
    }
    sample_free(&smp);
    proc_tasks_free(&tasks);
    session_close(&s);
    return rc < 0 ? EXIT_ERROR : EXIT_OK;
}
