/* cli_dump — `gilscope dump -p PID [--json]`: every thread's stack, once. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "sampler.h"
#include "textesc.h"

static const char usage[] =
    "usage: gilscope dump -p PID [-j|--json] [--nonblocking] [--full-filenames]\n"
    "\n"
    "Print every thread of a running Python process with its stack, leaf first.\n"
    "\n"
    "  -p, --pid PID       the process to look at\n"
    "  -j, --json          one JSON object instead of text\n"
    "      --nonblocking   do not pause the process while reading it\n"
    "      --full-filenames  (accepted for symmetry; dump always shows full paths)\n"
    "  -h, --help          this help\n";

static void print_text(struct session *s, const struct sample *smp)
{
    const struct strtab *st = s->strings;
    /* Colour only for a person at a terminal, and never against NO_COLOR (no-color.org). */
    const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
    int color = isatty(1) && !(no_color && *no_color) && !(term && strcmp(term, "dumb") == 0);
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
        int active = (t->flags & SAMPLE_ACTIVE) != 0, gil = (t->flags & SAMPLE_GIL) != 0;
        /* Names and files are the target's data: control characters escaped. */
        printf("\n%sThread %d \"", bold, (int)t->tid);
        textesc_fputs(strtab_get(st, t->name), stdout);
        printf("\"%s (%s%s%s%s%s%s%s)\n", off, active ? green : dim, active ? "active" : "idle", off,
               gil ? ", " : "", gil ? yellow : "", gil ? "+gil" : "", gil ? off : "");
        const struct frame *f = sample_thread_frames(smp, i);
        for (uint32_t k = 0; k < t->nframes; k++) {
            fputs("    ", stdout);
            textesc_fputs(strtab_get(st, f[k].name), stdout);
            if (f[k].kind == FRAME_MARKER) {
                fputc('\n', stdout);
                continue;
            }
            fputs(" (", stdout);
            textesc_fputs(strtab_get(st, f[k].file), stdout);
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
        printf(", \"active\": %s, \"gil\": %s, \"frames\": [", (t->flags & SAMPLE_ACTIVE) ? "true" : "false",
               (t->flags & SAMPLE_GIL) ? "true" : "false");
        const struct frame *f = sample_thread_frames(smp, i);
        for (uint32_t k = 0; k < t->nframes; k++) {
            printf("%s\n    {\"name\": ", k ? "," : "");
            json_string(stdout, strtab_get(st, f[k].name));
            printf(", \"file\": ");
            json_string(stdout, strtab_get(st, f[k].file));
            printf(", \"line\": %d}", f[k].line);
        }
        printf("]}");
    }
    printf("\n]}\n");
}

int cli_dump(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "pid", required_argument, NULL, 'p' },
        { "json", no_argument, NULL, 'j' },
        { "nonblocking", no_argument, NULL, 'N' },
        { "full-filenames", no_argument, NULL, 'L' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    pid_t pid = 0;
    int json = 0, nonblocking = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+p:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            pid = cli_parse_pid(optarg);
            if (pid < 0) {
                cli_error("invalid PID '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'j': json = 1; break;
        case 'N': nonblocking = 1; break;
        case 'L': break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc || pid == 0) {
        cli_error(pid == 0 ? "dump needs -p PID" : "unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    char err[512];
    struct session s;
    volatile sig_atomic_t *stop = cli_stop_flag();
    int rc = cli_session_start(&s, pid, NULL, nonblocking, stop);
    if (rc != 0)
        return rc;
    struct sample smp = { 0 };
    struct sampler_stats stats;
    rc = sampler_once(&s.target, s.walk, s.threads, nonblocking, cli_suspend_flag(), &smp, &stats, err, sizeof err);
    if (rc < 0) {
        cli_error("%s", err);
    } else if (json) {
        print_json(&s, &smp);
    } else {
        print_text(&s, &smp);
    }
    sample_free(&smp);
    session_close(&s);
    return rc < 0 ? EXIT_ERROR : EXIT_OK;
}
