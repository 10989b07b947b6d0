/* cli_common — see include/cli.h. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "sampler.h"
#include "textesc.h"

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t last_signal;
static volatile sig_atomic_t signal_count;
static volatile sig_atomic_t suspend_flag = -1;

/* Install HANDLER (no SA_RESTART, so sleeps wake up) for the N signals SIGS. */
static void handle(void (*handler)(int), const int *sigs, size_t n)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < n; i++)
        sigaction(sigs[i], &sa, NULL);
}

/* Ctrl-Z (SIGTSTP), SIGTTIN, SIGTTOU: while the sampler holds a target,
 * ask it to let the target go first (it then stops us); otherwise stop
 * now, as the default action would. SIGSTOP rather than the signal itself:
 * the kernel discards those for an orphaned process group. */
static void on_stop_signal(int sig)
{
    (void)sig;
    if (suspend_flag >= 0) {
        suspend_flag = 1;
        return;
    }
    int e = errno;
    kill(getpid(), SIGSTOP);
    errno = e;
}

volatile sig_atomic_t *cli_suspend_flag(void)
{
    static const int sigs[] = { SIGTSTP, SIGTTIN, SIGTTOU };
    handle(on_stop_signal, sigs, sizeof sigs / sizeof *sigs);
    return &suspend_flag;
}

static void on_signal(int sig)
{
    stop_flag = 1;
    last_signal = sig;
    signal_count++;
}

volatile sig_atomic_t *cli_stop_flag(void)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    handle(on_signal, sigs, sizeof sigs / sizeof *sigs);
    signal(SIGPIPE, SIG_IGN);
    return &stop_flag;
}

int cli_last_signal(void)
{
    return last_signal;
}

pid_t cli_parse_pid(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || v > INT_MAX)
        return -1;
    return (pid_t)v;
}

int cli_parse_target(const struct cliopt_cmd *cmd, int argc, char **argv, cliopt_fn fn, void *ctx,
                     const pid_t *pid, char ***command, struct cliopt_result *res)
{
    int rc = cliopt_parse(cmd, argc, argv, fn, ctx, res);
    if (rc)
        return rc;
    *command = res->next < argc ? argv + res->next : NULL;
    if (!*pid == !*command) {
        if (*pid)
            cli_error("give either -p PID or a command, not both");
        else
            cli_error("%s needs -p PID or a command after --", cmd->name);
        return EXIT_USAGE;
    }
    return 0;
}

void cli_error(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* One line, whatever the message held. */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "gilscope: %s\n", buf);
}

/* The readers of S's interpreter, once found: names, the stack walker
 * (NONBLOCKING as session_open's) and thread facts (of /proc/TI_PID; 0 for
 * a core, which has none). Returns 0, or -ENOMEM with ERR set. */
static int session_readers(struct session *s, int nonblocking, pid_t ti_pid, char *err, size_t errlen)
{
    s->strings = strtab_new();
    s->names = (struct pythreads){ .m = &s->mem, .o = &s->interp.off,
                                   .interp_head_addr = s->interp.interp_head_addr, .st = s->strings };
    if (!s->strings || !(s->walk = pywalk_new(&s->interp, &s->mem, s->strings, nonblocking)) ||
        !(s->threads = threadinfo_new(ti_pid, s->strings, pythreads_names, &s->names))) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    threadinfo_watch_gil(s->threads, &s->mem, &s->interp);
    return 0;
}

static void say_no_python(pid_t pid, const char *comm)
{
    cli_error("no Python yet in PID %d (%s) or the processes it started; waiting for one "
              "(Ctrl-C to give up)", (int)pid, comm);
}

int session_open(struct session *s, pid_t pid, char *const argv[], int nonblocking,
                 volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    int rc = argv ? target_launch(argv, &s->target, err, errlen)
                  : target_attach(pid, &s->target, err, errlen);
    if (rc != 0)
        return rc;
    /* After the launch: the program keeps the limit it was given. */
    proc_raise_fd_limit();
    /* A process whose main thread has exited is read through a live thread. */
    proc_mem_open(&s->mem, proc_live_tid(s->target.pid));
    s->mem_open = 1;
    rc = target_find_python(&s->target, &s->mem, &s->interp, stop, say_no_python, err, errlen);
    if (rc != 0)
        return rc;
    return session_readers(s, nonblocking, s->target.pid, err, errlen);
}

int session_open_core(struct session *s, const char *core, const char *exe, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (!(s->core = corefile_open(core, exe, err, errlen)))
        return -EINVAL;
    /* They name the core's files: its data, escaped as such. */
    for (size_t i = 0; corefile_warning(s->core, i); i++) {
        char safe[1024];
        textesc_copy(safe, sizeof safe, 0, corefile_warning(s->core, i));
        cli_error("warning: %s", safe);
    }
    /* The process is long gone (or another one has its pid): nothing is
     * read of it, and nothing is waited for. */
    s->target.pid = corefile_pid(s->core);
    s->target.exited = 1;
    s->target.wait_status = -1;
    struct proc_mem_source src = corefile_source(s->core);
    proc_mem_open_source(&s->mem, s->target.pid, &src);
    s->mem_open = 1;
    struct proc_maps maps;
    int rc = corefile_maps(s->core, &maps);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    rc = pyinterp_find_core(s->target.pid, &maps, corefile_exe(s->core), &s->mem, &s->interp, err, errlen);
    proc_maps_free(&maps);
    /* Its threads are all stopped: read as in blocking mode. */
    if (rc == 0 && (rc = session_readers(s, 0, 0, err, errlen)) == 0)
        threadinfo_os_name(s->threads, s->target.pid, corefile_comm(s->core));
    return rc;
}

void session_close(struct session *s)
{
    nativemerge_free(s->native);
    s->native = NULL;
    family_free(s->family);
    s->family = NULL;
    threadinfo_free(s->threads);
    pywalk_free(s->walk);
    strtab_free(s->strings);
    if (s->mem_open)
        proc_mem_close(&s->mem);
    corefile_close(s->core);
    s->core = NULL;
    s->threads = NULL;
    s->walk = NULL;
    s->strings = NULL;
    s->mem_open = 0;
}

/* Wait for the launched T to exit. It is killed (SIGKILL) on one more stop
 * signal than SIGNALS had been seen, or at KILL_AT (0: never); past
 * CLI_CHILD_GRACE_S the wait is said once, so a quiet gilscope is explained. */
static void wait_child(struct target *t, int signals, uint64_t kill_at, const char *why)
{
    uint64_t say_at = clock_mono_ns() + CLI_CHILD_GRACE_S * 1000000000ull;
    int said = 0;
    while (!target_poll_exit(t)) {
        uint64_t now = clock_mono_ns();
        if (signal_count > signals || (kill_at && now >= kill_at)) {
            kill(t->pid, SIGKILL);
            target_wait(t);
            return;
        }
        if (!said && now >= say_at) {
            fprintf(stderr, "gilscope: waiting for PID %d to exit%s (Ctrl-C again kills it)\n", (int)t->pid,
                    why);
            said = 1;
        }
        clock_nap_ns(10000000ull);
    }
}

int cli_finish_child(struct target *t, volatile sig_atomic_t *stop, int end)
{
    if (!t->launched || t->exited || target_poll_exit(t))
        return 0;
    if (*stop) {
        /* The terminal's Ctrl-C reached the program too: give it a moment to
         * act on it, then pass our signal on, so it never outlives us by accident. */
        int signals = signal_count;
        uint64_t until = clock_mono_ns() + CLI_CHILD_GRACE_S * 1000000000ull;
        while (!target_poll_exit(t) && clock_mono_ns() < until && signal_count == signals) {
            clock_nap_ns(10000000ull);
        }
        if (t->exited)
            return 0;
        signals = signal_count;
        kill(t->pid, cli_last_signal() ? cli_last_signal() : SIGTERM);
        wait_child(t, signals, 0, ", which ignored the signal");
        return 0;
    }
    if (end) {
        /* The recording is over (its duration passed): the program was
         * started only to be profiled, so it ends with it, as under py-spy. */
        kill(t->pid, SIGTERM);
        wait_child(t, signal_count, clock_mono_ns() + CLI_CHILD_GRACE_S * 1000000000ull, "");
        return 1;
    }
    wait_child(t, signal_count, 0, "");
    return 0;
}

/* A session that could not start: end the program it launched, close it,
 * and give the exit code (the program's own when it failed first). */
static int session_fail(struct session *s, volatile sig_atomic_t *stop)
{
    int code = EXIT_ERROR;
    if (s->target.launched) {
        cli_finish_child(&s->target, stop, 0);
        if (target_exit_code(&s->target))
            code = target_exit_code(&s->target);
    }
    session_close(s);
    return code;
}

/* For --gil: on a free-threaded target running without the GIL, say why
 * --gil cannot work, end a launched program and return EXIT_ERROR; else 0. */
static int gil_only_check(struct session *s)
{
    if (!s->interp.off.free_threaded || pyinterp_gil_enabled(&s->interp, &s->mem) == 1)
        return 0;
    cli_error("--gil: Python %s is a free-threaded build running without the GIL: no thread "
              "holds one (leave out --gil)", s->interp.version);
    if (s->target.launched && !s->target.exited) {
        kill(s->target.pid, SIGTERM);
        target_wait(&s->target);
    }
    return EXIT_ERROR;
}

volatile sig_atomic_t *cli_start(int *code, const char *output, pid_t pid, char *const command[],
                                 int nonblocking, int gil_only, struct session *s)
{
    if (*code) {
        if (*code == CLIOPT_HELP)
            *code = EXIT_OK;
        return NULL;
    }
    if (output && cli_check_output(output) != 0) {
        *code = EXIT_ERROR;
        return NULL;
    }
    volatile sig_atomic_t *stop = cli_stop_flag();
    char err[512];
    if (session_open(s, pid, command, nonblocking, stop, err, sizeof err) == 0) {
        if (s->interp.warning[0])
            cli_error("warning: %s", s->interp.warning);
        if (gil_only && (*code = gil_only_check(s)) != 0) {
            session_close(s);
            return NULL;
        }
        return stop;
    }
    cli_error("%s", err);
    *code = session_fail(s, stop);
    return NULL;
}

int cli_session_extend(struct session *s, int subprocesses, const struct family_opts *o,
                       volatile sig_atomic_t *stop)
{
    char err[512];
    if (o->native &&
        !(s->native = nativemerge_new(s->target.pid, &s->interp.off, &s->mem, s->strings, o->all_frames, err,
                                      sizeof err))) {
        cli_error("--native: %s", err);
        return session_fail(s, stop);
    }
    if (subprocesses) {
        if (!(s->family = family_new(s->target.pid, s->strings, o))) {
            cli_error("out of memory");
            return session_fail(s, stop);
        }
        if (family_scan(s->family) == FAMILY_CAPPED)
            cli_error("more than %d Python subprocesses: only %d are followed", FAMILY_MAX, FAMILY_MAX);
    }
    return 0;
}

static int env_on(const char *name)
{
    const char *env = getenv(name);
    return env && strcmp(env, "1") == 0;
}

/* One machine-readable line of the loop's statistics. */
static void print_stats(const struct sampler_stats *st)
{
    fprintf(stderr, "gilscope-stats: passes=%" PRIu64 " thread_samples=%" PRIu64 " errors=%" PRIu64
            " errors_torn=%" PRIu64 " errors_read=%" PRIu64 " late=%" PRIu64 " pause_ns=%" PRIu64
            " max_lag_ns=%" PRIu64 " start_ns=%" PRIu64 " first_sample_ns=%" PRIu64 " end_ns=%" PRIu64
            " spin_ns=%" PRIu64 " stopped=%" PRIu64 " asleep=%" PRIu64 " woke=%" PRIu64 "\n",
            st->passes, st->thread_samples, st->errors, st->errors_by[PYWALK_ERR_TORN],
            st->errors_by[PYWALK_ERR_READ], st->late, st->pause_ns, st->max_lag_ns, st->start_ns,
            st->first_ns, st->end_ns, st->spin_ns, st->stopped, st->asleep, st->woke);
}

static void draw_status(const struct sampler_stats *st, const struct sampler_notice *n)
{
    uint64_t err = st->errors;
    double total = (double)(st->thread_samples + err);
    fprintf(stderr, "\r\033[Kgilscope: %.1fs, %" PRIu64 " samples, %" PRIu64 " errors (%.1f%%)",
            (double)(n->now_ns - st->start_ns) / 1e9, st->thread_samples, err,
            total > 0 ? 100.0 * (double)err / total : 0.0);
    if (n->lag_ns > 10000000ull)
        fprintf(stderr, ", behind by %" PRIu64 " ms", (uint64_t)(n->lag_ns / 1000000u));
    if (n->step_ns > n->interval_ns + n->interval_ns / 20)
        fprintf(stderr, ", %.1f Hz (passes take longer than the interval)", 1e9 / (double)n->step_ns);
    fflush(stderr);
}

/* sampler_note_fn for cli_sampler_env. */
static void show_note(void *ctx, enum sampler_note what, const struct sampler_stats *st,
                      const struct sampler_notice *n)
{
    const struct cli_notes *o = ctx;
    const char *erase = o->erase_line ? "\r\033[K" : "";
    switch (what) {
    case SAMPLER_NOTE_STOPPED:
        fprintf(stderr, "%sgilscope: PID %d is stopped (SIGSTOP): its threads are shown as they were "
                "when it stopped\n", erase, (int)n->pid);
        break;
    case SAMPLER_NOTE_CAPPED:
        fprintf(stderr, "%sgilscope: more than %d Python subprocesses: only %d are followed\n", erase,
                FAMILY_MAX, FAMILY_MAX);
        break;
    case SAMPLER_NOTE_REATTACH_FAILED:
        fprintf(stderr, "%sgilscope: after the stop: %s\n", erase, n->detail);
        break;
    case SAMPLER_NOTE_PROGRESS:
        if (o->status_line)
            draw_status(st, n);
        break;
    case SAMPLER_NOTE_END:
        if (o->status_line)
            fprintf(stderr, "\r\033[K");
        if (o->print_stats)
            print_stats(st);
        break;
    }
}

void cli_sampler_env(struct sampler_config *cfg, struct cli_notes *notes, int status_line)
{
    cfg->stop_all = env_on("GILSCOPE_STOP_ALL");
    notes->erase_line = isatty(2);
    notes->status_line = status_line && notes->erase_line;
    notes->print_stats = env_on("GILSCOPE_STATS");
    cfg->note = show_note;
    cfg->note_ctx = notes;
}

void cli_peak_rss_stats(void)
{
    long kb;
    if (env_on("GILSCOPE_STATS") && proc_status_int(getpid(), 0, "VmHWM:", &kb) == 0)
        fprintf(stderr, "gilscope-peak: rss_kb=%ld\n", kb);
}

int cli_priority(int no_priority)
{
    return no_priority ? 0 : CLI_NICE;
}

void cli_warn_priority(const struct sampler_stats *stats)
{
    if (stats->nice_error)
        cli_error("could not raise the sampling priority (%s: needs root or CAP_SYS_NICE); samples may "
                  "come late on a busy machine (--no-priority: do not try)", strerror(stats->nice_error));
}

void cli_warn_merge_errors(const struct session *s)
{
    if (!s->native)
        return;
    const uint64_t *e = nativemerge_errors(s->native);
    uint64_t bad = 0, all = e[NATIVEMERGE_OK];
    for (int i = 1; i < NATIVEMERGE_ERR_COUNT; i++)
        bad += e[i];
    if (!bad)
        return;
    char why[256] = "";
    size_t at = 0;
    for (int i = 1; i < NATIVEMERGE_ERR_COUNT && at < sizeof why; i++)
        if (e[i])
            at += (size_t)snprintf(why + at, sizeof why - at, "%s%s: %llu", at ? "; " : "",
                                   nativemerge_error_name(i), (unsigned long long)e[i]);
    cli_error("warning: --native: %llu of %llu thread stacks could not be merged and show their Python "
              "frames alone (%s)", (unsigned long long)bad, (unsigned long long)(bad + all), why);
}

void cli_native_note(const struct session *s)
{
    struct nativesym_counts c;
    if (!s->native || !nativemerge_note(s->native, &c))
        return;
    /* Files that lack line numbers: those read without a line table, and
     * those that could not be read at all. A stripped file whose debug
     * file has lines but no symbol table lacks only full names. */
    unsigned n = c.no_lines + c.unreadable;
    char name[256] = "", others[64] = "", detail[128] = "";
    /* The file name is the target's: escaped like every name from it. */
    textesc_copy(name, sizeof name, 0, c.example ? c.example : "?");
    unsigned total = n ? n : c.stripped;
    if (total > 1)
        snprintf(others, sizeof others, " and %u other file%s", total - 1, total == 2 ? "" : "s");
    if (n && c.stripped && c.unreadable)
        snprintf(detail, sizeof detail, " (%u named from exported symbols only, %u unreadable)", c.stripped,
                 c.unreadable);
    else if (n && c.stripped)
        snprintf(detail, sizeof detail, " (%u named from exported symbols only)", c.stripped);
    else if (c.unreadable)
        snprintf(detail, sizeof detail, " (%u unreadable)", c.unreadable);
    if (isatty(2))
        fputs("\r\033[K", stderr);    /* over record's status line, if one is drawn */
    cli_error("warning: %s %s%s%s: install %s debug symbols (e.g. the -dbg / -dbgsym packages)",
              n ? "no line numbers for" : "only exported names for", name, others, detail,
              total > 1 ? "their" : "its");
}

void cli_warn_unknown_states(const struct session *s)
{
    uint64_t n = s->threads ? threadinfo_unknown(s->threads) : 0;
    if (n)
        cli_error("warning: the run state of %llu thread sample%s could not be read, so they "
                  "count as idle (out of file descriptors? raise the limit: ulimit -n)",
                  (unsigned long long)n, n == 1 ? "" : "s");
}

const char *cli_build_desc(const struct pyinterp *pi, struct proc_mem *m, char *buf, size_t len)
{
    if (!pi->off.free_threaded)
        snprintf(buf, len, "%s", "");
    else
        switch (pyinterp_gil_enabled(pi, m)) {
        case 1: snprintf(buf, len, "free-threaded, GIL enabled"); break;
        case 0: snprintf(buf, len, "free-threaded, GIL disabled"); break;
        default: snprintf(buf, len, "free-threaded"); break;
        }
    return buf;
}

int cli_parse_number(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

int cli_opt_pid(const char *arg, pid_t *out)
{
    if ((*out = cli_parse_pid(arg)) > 0)
        return 0;
    cli_error("invalid PID '%s'", arg);
    return EXIT_USAGE;
}

int cli_opt_rate(const char *arg, double *out)
{
    if (cli_parse_number(arg, 0.1, 100000, out) == 0)
        return 0;
    cli_error("invalid rate '%s' (samples per second, 0.1 to 100000)", arg);
    return EXIT_USAGE;
}

int cli_opt_duration(const char *arg, double *out)
{
    if (strcmp(arg, "unlimited") == 0) {
        *out = 0;
        return 0;
    }
    if (cli_parse_number(arg, 0.001, 1e9, out) == 0)
        return 0;
    cli_error("invalid duration '%s' (seconds, or unlimited)", arg);
    return EXIT_USAGE;
}

int cli_native_check(int native, int nonblocking)
{
    if (!native || !nonblocking)
        return 0;
    cli_error("Can't get native stack traces with the --nonblocking option.");
    return EXIT_ERROR;
}

int cli_color_stdout(void)
{
    const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
    return isatty(1) && !(no_color && *no_color) && !(term && strcmp(term, "dumb") == 0);
}

int cli_check_output(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("cannot write %s: %s", path, strerror(EISDIR));
        return -1;
    }
    if (access(path, F_OK) == 0 ? access(path, W_OK) != 0 : access(dir, W_OK) != 0) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
