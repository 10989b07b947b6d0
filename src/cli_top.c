/* cli_top — `gilscope top`: a live, refreshing table of the functions a
 * program spends its time in, like top(1) or py-spy top. On a terminal it
 * is a full-screen ncurses view with keys; otherwise it prints one plain
 * table per refresh. Sampling never waits for the screen: the table is fed
 * and redrawn from the sampler's callback, between samples. */
#include "cli.h"

#include <curses.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "clock.h"
#include "fileshort.h"
#include "sampler.h"
#include "textesc.h"
#include "toptable.h"

#define PLAIN_MAX_ROWS 30              /* rows per plain table: a pipe has no screen height to fill */
#define HEADER_LINES 5                 /* lines above the first row on the full screen */

enum {
    OPT_PID, OPT_RATE, OPT_DURATION, OPT_DELAY, OPT_SUBPROCESSES, OPT_IDLE, OPT_GIL, OPT_NATIVE,
    OPT_NATIVE_ALL_FRAMES, OPT_NONBLOCKING, OPT_FULL_FILENAMES, OPT_NO_PRIORITY, OPT_COUNT
};

static const struct cliopt top_table[] = {
    [OPT_PID] = CLI_OPT_PID("attach to this process"),
    [OPT_RATE] = CLI_OPT_RATE,
    [OPT_DURATION] = CLI_OPT_DURATION("stop after this long (default: until the end)"),
    [OPT_DELAY] = { .name = "delay",
                    .arg = CLIOPT_VALUE,
                    .value_name = "SECS",
                    .help = "refresh interval (default 1)",
                    .brief = "refresh interval in seconds" },
    [OPT_SUBPROCESSES] = CLI_OPT_SUBPROCESSES("show subprocesses too"),
    [OPT_IDLE] = { .name = "idle", .short_name = 'i', .help = "count idle threads too" },
    [OPT_GIL] = { .name = "gil", .short_name = 'g', .help = "count only the thread holding the GIL" },
    [OPT_NATIVE] = CLI_OPT_NATIVE,
    [OPT_NATIVE_ALL_FRAMES] = CLI_OPT_NATIVE_ALL_FRAMES,
    [OPT_NONBLOCKING] = CLI_OPT_NONBLOCKING,
    [OPT_FULL_FILENAMES] = CLI_OPT_FULL_FILENAMES,
    [OPT_NO_PRIORITY] = CLI_OPT_NO_PRIORITY,
    [OPT_COUNT] = { 0 },
};

const struct cliopt_cmd cli_top_cmd = {
    .name = "top",
    .brief = "live table of the functions a program spends its time in",
    .usage = "usage: gilscope top [-p PID | [--] COMMAND [ARGS…]] [options]\n"
             "\n"
             "Show a live table of the functions a Python program spends its time in,\n"
             "refreshed every --delay seconds, until q, Ctrl-C, the duration or the\n"
             "program's end. When stdout is not a terminal, print one plain table per\n"
             "refresh instead.\n"
             "\n",
    .epilog = "keys: 1-4 sort by a column (again: reverse), p or space pause, i idle,\n"
              "      g GIL only, l per line / per function, r reset, Ctrl-L repaint,\n"
              "      q quit (and end a launched program)\n",
    .examples = "gilscope top -p PID\n"
                "gilscope top -- python3 app.py",
    .opts = top_table,
    .launches = 1,
    .run = cli_top,
};

static const char keys_help[] =
    "1-4 sort  p/space pause  i idle  g gil  l lines  r reset  q quit";

struct top_opts {
    pid_t pid;
    char **command;
    double rate, duration, delay;
    int idle, gil, native, all_frames, subprocesses, nonblocking, full_filenames, no_priority;
};

struct top {
    const struct top_opts *o;
    const struct session *s;
    struct toptable *table;
    struct fileshort *files;
    const struct sampler_stats *stats;  /* sampler_run's, which it keeps current between samples */
    enum toptable_col col;              /* sort column */
    int ascending;
    uint64_t next_draw_ns;              /* when the next refresh is due */
    uint64_t roll_errors, roll_ok;      /* sampler error / success counts at the last roll */
    double error_pct;                   /* errors in the last completed interval */
    uint64_t unshown;                   /* passes counted since the last plain table */
    int screen;                         /* full-screen mode (ncurses) */
    int paused, quit, oom, write_error, drawn;
    int stdout_gone;                    /* a plain table could not be written: stop */
};

static int on_option(void *ctx, const struct cliopt *opt, const char *arg)
{
    struct top_opts *o = ctx;
    switch (opt - top_table) {
    case OPT_PID: return cli_opt_pid(arg, &o->pid);
    case OPT_RATE: return cli_opt_rate(arg, &o->rate);
    case OPT_DURATION: return cli_opt_duration(arg, &o->duration);
    case OPT_DELAY:
        if (cli_parse_number(arg, 0.05, 86400, &o->delay) != 0) {
            cli_error("invalid delay '%s' (seconds, 0.05 to 86400)", arg);
            return EXIT_USAGE;
        }
        break;
    case OPT_IDLE: o->idle = 1; break;
    case OPT_GIL: o->gil = 1; break;
    case OPT_NATIVE: o->native = 1; break;
    case OPT_SUBPROCESSES: o->subprocesses = 1; break;
    case OPT_NATIVE_ALL_FRAMES: o->all_frames = 1; break;
    case OPT_NONBLOCKING: o->nonblocking = 1; break;
    case OPT_FULL_FILENAMES: o->full_filenames = 1; break;
    case OPT_NO_PRIORITY: o->no_priority = 1; break;
    default: break;     /* not supported yet: refused after the checks */
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct top_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rate = 100;
    o->delay = 1;
    struct cliopt_result res;
    int rc = cli_parse_target(&cli_top_cmd, argc, argv, on_option, o, &o->pid, &o->command, &res);
    if (rc)
        return rc;
    if ((rc = cli_native_check(o->native, o->nonblocking)) != 0)
        return rc;
    return cliopt_refuse(&res);
}

/* Bytes of S that fit in COLS terminal columns, whole characters only. */
static size_t fit_bytes(const char *s, int cols)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t at = 0, len = strlen(s);
    int used = 0;
    while (at < len) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, s + at, len - at, &st);
        int w = 1;
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
            /* Not valid in this locale: curses shows such a byte as one cell or more; count one. */
            n = 1;
            memset(&st, 0, sizeof st);
        } else {
            w = wcwidth(wc);
            if (w < 0)
                w = 1;
        }
        if (used + w > cols)
            break;
        used += w;
        at += n;
    }
    return at;
}

static void format_time(char *buf, size_t len, double secs)
{
    if (secs < 100000)
        snprintf(buf, len, "%.2fs", secs);
    else
        snprintf(buf, len, "%.0fs", secs);
}

/* The numeric columns of R, then its function, into NUMS and FUNC. */
static void format_row(const struct top *t, const struct toptable_row *r, const struct toptable_stats *st,
                       double per_sample, char *nums, size_t numslen, char *func, size_t funclen)
{
    char own[32], total[32];
    format_time(own, sizeof own, (double)r->own_all * per_sample);
    format_time(total, sizeof total, (double)r->total_all * per_sample);
    snprintf(nums, numslen, "%6.2f%%  %6.2f%%  %9s  %9s  ", toptable_pct(r->own, st->kept),
             toptable_pct(r->total, st->kept), own, total);
    /* Names and files are the target's data: control characters escaped,
     * for the terminal (both modes) and the plain tables' line structure. */
    const char *file = fileshort_get(t->files, r->file);
    char num[32] = "";
    if (r->line > 0)
        snprintf(num, sizeof num, ":%d", (int)r->line);
    size_t at = textesc_copy(func, funclen, 0, strtab_get(t->s->strings, r->name));
    /* Native code of no file ("[vdso]") is its name alone. */
    if (file && !*file && !num[0])
        return;
    at = textesc_copy(func, funclen, at, " (");
    at = textesc_copy(func, funclen, at, file ? file : "?");
    at = textesc_copy(func, funclen, at, num);
    textesc_copy(func, funclen, at, ")");
}

#define TOP_WAITERS 4   /* threads named on the GIL-wait line */

/* The header lines, shared by both modes: three, then the threads that
 * waited for the GIL most in the last interval ("" when none did). */
static void format_header(const struct top *t, const struct toptable_stats *st, char lines[4][256])
{
    uint64_t now = clock_mono_ns();
    double elapsed = t->stats->start_ns && now > t->stats->start_ns
                         ? (double)(now - t->stats->start_ns) / 1e9 : 0;
    struct toptable_opts o = toptable_get_opts(t->table);
    snprintf(lines[0], 256, "gilscope top - PID %d, Python %s, %g Hz, %zu thread%s%s",
             (int)t->s->target.pid, t->s->interp.version, t->o->rate, st->nthreads,
             st->nthreads == 1 ? "" : "s", t->paused ? "  [paused]" : "");
    snprintf(lines[1], 256, "GIL: %.1f%%  Active: %.1f%%  Errors: %.1f%%  Samples: %" PRIu64
             "  Elapsed: %.1fs", toptable_pct(st->gil_passes, st->passes),
             toptable_pct(st->active, st->threads), t->error_pct, st->kept_all, elapsed);
    snprintf(lines[2], 256, "Sorted by %s (%s), %s, %s%s", toptable_col_name(t->col),
             t->ascending ? "ascending" : "descending", o.lines ? "per line" : "per function",
             o.idle ? "idle threads shown" : "idle threads hidden", o.gil ? ", GIL holder only" : "");
    struct toptable_waiter w[TOP_WAITERS];
    size_t nw = toptable_waiters(t->table, w, TOP_WAITERS), at = 0;
    lines[3][0] = '\0';
    for (size_t i = 0; i < nw && at < 200; i++) {
        char pct[32];
        at = textesc_copy(lines[3], 256, at, i ? ", " : "Waiting for the GIL: ");
        at = textesc_copy(lines[3], 200, at, strtab_get(t->s->strings, w[i].name));
        snprintf(pct, sizeof pct, " %.0f%%", toptable_pct(w[i].waits, w[i].samples));
        at = textesc_copy(lines[3], 256, at, pct);
    }
}

static const int col_widths[TOPTABLE_NCOLS] = { 7, 7, 9, 9 };

static void draw_screen(struct top *t)
{
    struct toptable_stats st;
    toptable_stats(t->table, &st);
    const struct toptable_row *rows;
    size_t n;
    if (toptable_rows(t->table, t->col, t->ascending, &rows, &n) != 0)
        t->oom = 1;
    double per = toptable_sample_seconds(t->table, t->o->rate);
    char head[4][256], nums[128], func[1024];
    format_header(t, &st, head);
    int cols = COLS, lines = LINES;
    erase();
    for (int i = 0; i < 4 && i < lines; i++) {
        if (i == 0)
            attron(A_BOLD);
        mvaddnstr(i, 0, head[i], (int)fit_bytes(head[i], cols));
        if (i == 0)
            attroff(A_BOLD);
    }
    /* Column headings, the sort column in reverse video. */
    if (HEADER_LINES - 1 < lines) {
        move(HEADER_LINES - 1, 0);
        for (int c = 0; c < TOPTABLE_NCOLS; c++) {
            char cell[32];
            snprintf(cell, sizeof cell, "%*s", col_widths[c], toptable_col_name(c));
            if (c > 0)
                addstr("  ");
            if (c == (int)t->col)
                attron(A_REVERSE);
            addstr(cell);
            if (c == (int)t->col)
                attroff(A_REVERSE);
        }
        addstr("  Function (filename:line)");
    }
    int y = HEADER_LINES;
    for (size_t i = 0; i < n && y < lines - 1; i++, y++) {
        format_row(t, &rows[i], &st, per, nums, sizeof nums, func, sizeof func);
        mvaddnstr(y, 0, nums, (int)fit_bytes(nums, cols));
        int used = (int)strlen(nums);
        if (used < cols)
            addnstr(func, (int)fit_bytes(func, cols - used));
    }
    if (lines > HEADER_LINES) {
        attron(A_REVERSE);
        mvaddnstr(lines - 1, 0, keys_help, (int)fit_bytes(keys_help, cols));
        attroff(A_REVERSE);
    }
    refresh();
}

/* One plain table: returns 0, or -1 when stdout cannot be written (then stop). */
static int draw_plain(struct top *t)
{
    struct toptable_stats st;
    toptable_stats(t->table, &st);
    const struct toptable_row *rows;
    size_t n;
    if (toptable_rows(t->table, t->col, t->ascending, &rows, &n) != 0)
        t->oom = 1;
    double per = toptable_sample_seconds(t->table, t->o->rate);
    char head[4][256], nums[128], func[1024];
    format_header(t, &st, head);
    if (t->drawn)
        putchar('\n');
    printf("%s\n%s\n%s\n", head[0], head[1], head[2]);
    if (head[3][0])
        printf("%s\n", head[3]);
    printf("%7s  %7s  %9s  %9s  Function (filename:line)\n",
           toptable_col_name(0), toptable_col_name(1), toptable_col_name(2), toptable_col_name(3));
    for (size_t i = 0; i < n && i < PLAIN_MAX_ROWS; i++) {
        format_row(t, &rows[i], &st, per, nums, sizeof nums, func, sizeof func);
        printf("%s%s\n", nums, func);
    }
    if (n > PLAIN_MAX_ROWS)
        printf("(%zu more rows)\n", n - PLAIN_MAX_ROWS);
    t->drawn = 1;
    t->unshown = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* A reader that went away (`| head`) is an ordinary end, not an error. */
        if (errno != EPIPE)
            t->write_error = errno ? errno : EIO;
        t->stdout_gone = 1;
        return -1;
    }
    return 0;
}

/* End the interval: the table and the header's error share move on together. */
static void roll(struct top *t)
{
    toptable_roll(t->table);
    uint64_t err = t->stats->errors - t->roll_errors, ok = t->stats->thread_samples - t->roll_ok;
    t->error_pct = toptable_pct(err, err + ok);
    t->roll_errors = t->stats->errors;
    t->roll_ok = t->stats->thread_samples;
}

static void set_opts(struct top *t, int idle, int gil, int lines)
{
    struct toptable_opts o = toptable_get_opts(t->table);
    o.idle ^= idle;
    o.gil ^= gil;
    o.lines ^= lines;
    toptable_set_opts(t->table, &o);
    if (lines) {
        /* A new kind of row: start the error share over with it. */
        t->roll_errors = t->stats->errors;
        t->roll_ok = t->stats->thread_samples;
        t->error_pct = 0;
    }
}

/* Act on every key waiting. Returns 1 when the screen should be redrawn now. */
static int handle_keys(struct top *t, uint64_t now)
{
    int redraw = 0, ch;
    while ((ch = getch()) != ERR) {
        switch (ch) {
        case 'q': case 'Q':
            t->quit = 1;
            return 0;
        case '1': case '2': case '3': case '4': {
            enum toptable_col c = (enum toptable_col)(ch - '1');
            if (c == t->col)
                t->ascending = !t->ascending;
            else
                t->col = c, t->ascending = 0;
            redraw = 1;
            break;
        }
        case 'p': case 'P': case ' ':
            t->paused = !t->paused;
            if (!t->paused) {
                /* Everything counted while paused is one interval. */
                roll(t);
                t->next_draw_ns = now + (uint64_t)(t->o->delay * 1e9);
            }
            redraw = 1;
            break;
        case 'i': case 'I': set_opts(t, 1, 0, 0); redraw = 1; break;
        case 'g': case 'G': set_opts(t, 0, 1, 0); redraw = 1; break;
        case 'l': case 'L': set_opts(t, 0, 0, 1); redraw = 1; break;
        case 'r': case 'R':
            toptable_reset(t->table);
            t->roll_errors = t->stats->errors;
            t->roll_ok = t->stats->thread_samples;
            t->error_pct = 0;
            redraw = 1;
            break;
        case KEY_RESIZE:
            redraw = 1;
            break;
        case 'L' & 0x1f:    /* Ctrl-L: repaint every cell, whatever else wrote to the terminal */
            clearok(curscr, TRUE);
            redraw = 1;
            break;
        default:
            break;
        }
    }
    return redraw;
}

static int on_sample(void *ctx, struct sample *s)
{
    struct top *t = ctx;
    if (toptable_add(t->table, s) != 0) {
        t->oom = 1;
        return 1;
    }
    t->unshown++;
    /* On the screen it would be drawn over: said once the screen is gone. */
    if (!t->screen)
        cli_native_note(t->s);
    uint64_t now = clock_mono_ns();
    int redraw = 0;
    if (t->screen) {
        redraw = handle_keys(t, now);
        if (t->quit)
            return 1;
    }
    if (!t->next_draw_ns)
        t->next_draw_ns = now + (uint64_t)(t->o->delay * 1e9);
    if (now >= t->next_draw_ns) {
        /* Next refresh one delay after this one: a late refresh does not bunch up the following ones. */
        t->next_draw_ns = now + (uint64_t)(t->o->delay * 1e9);
        if (!t->paused) {
            roll(t);
            redraw = 1;
            /* A launched program shares the terminal; repaint whatever it wrote over. */
            if (t->screen && t->s->target.launched)
                clearok(curscr, TRUE);
        }
    }
    if (t->screen && (redraw || !t->drawn)) {
        draw_screen(t);
        t->drawn = 1;
    } else if (!t->screen && redraw && draw_plain(t) != 0) {
        return 1;
    }
    return t->oom;
}

/* Take over the terminal. Returns the screen, or NULL (plain mode then). */
static SCREEN *screen_open(FILE **keys_in)
{
    setlocale(LC_CTYPE, "");
    /* Keys come from the terminal even when stdin is redirected. */
    *keys_in = isatty(0) ? NULL : fopen("/dev/tty", "r");
    SCREEN *scr = newterm(NULL, stdout, *keys_in ? *keys_in : stdin);
    if (!scr) {
        if (*keys_in)
            fclose(*keys_in);
        *keys_in = NULL;
        return NULL;
    }
    set_term(scr);
    cbreak();
    noecho();
    nodelay(stdscr, TRUE);
    keypad(stdscr, TRUE);
    curs_set(0);
    return scr;
}

static void screen_close(SCREEN *scr, FILE *keys_in)
{
    if (!scr)
        return;
    endwin();
    delscreen(scr);
    if (keys_in)
        fclose(keys_in);
}

int cli_top(int argc, char **argv)
{
    struct top_opts o;
    int rc = parse_args(argc, argv, &o);
    struct session s;
    struct family_opts xo = { .nonblocking = o.nonblocking, .native = o.native, .all_frames = o.all_frames };
    volatile sig_atomic_t *stop = cli_start(&rc, NULL, o.pid, o.command, o.nonblocking, o.gil, &s);
    if (!stop || (rc = cli_session_extend(&s, o.subprocesses, &xo, stop)) != 0)
        return rc;
    char err[512];
    struct sampler_stats st;
    memset(&st, 0, sizeof st);
    struct toptable_opts to = { .idle = o.idle, .gil = o.gil };
    struct top t = { .o = &o, .s = &s, .stats = &st, .col = TOPTABLE_OWN_TIME,
                     .table = toptable_new(&to),
                     .files = fileshort_new(s.target.pid, s.strings, o.full_filenames) };
    int code = EXIT_OK;
    if (!t.table || !t.files) {
        cli_error("out of memory");
        code = EXIT_ERROR;
    } else {
        SCREEN *scr = NULL;
        FILE *keys_in = NULL;
        if (isatty(1)) {
            scr = screen_open(&keys_in);
            if (!scr) {
                const char *term = getenv("TERM");
                cli_error("cannot use terminal type '%s'; printing plain tables", term ? term : "");
            }
        }
        t.screen = scr != NULL;
        struct sampler_config cfg = { .rate_hz = o.rate, .duration_s = o.duration,
                                      .nonblocking = o.nonblocking, .native = s.native, .family = s.family,
                                      .nice = cli_priority(o.no_priority) };
        struct cli_notes notes;
        cli_sampler_env(&cfg, &notes, 0);
        rc = sampler_run(&s.target, s.walk, s.threads, &cfg, stop, on_sample, &t, &st, err, sizeof err);
        /* The terminal comes back before anything is said about how it ended. */
        screen_close(scr, keys_in);
        cli_native_note(&s);
        if (rc == 0 && !t.screen && t.unshown && !t.stdout_gone) {
            roll(&t);
            draw_plain(&t);
        }
        if (rc != 0) {
            cli_error("%s", err);
            code = EXIT_ERROR;
        }
        if (t.oom) {
            cli_error("out of memory");
            code = EXIT_ERROR;
        }
        if (t.write_error) {
            cli_error("cannot write to stdout: %s", strerror(t.write_error));
            code = EXIT_ERROR;
        }
        if (rc == 0 && st.target_exited && !s.target.launched)
            fprintf(stderr, "gilscope: process %d exited\n", (int)s.target.pid);
        if (rc == 0 && st.target_execd)
            fprintf(stderr, "gilscope: process %d ran a new program (exec)\n", (int)s.target.pid);
        cli_warn_unknown_states(&s);
        cli_warn_merge_errors(&s);
        cli_warn_priority(&st);
    }
    fileshort_free(t.files);
    toptable_free(t.table);
    /* q ends the watch, and a program started only to be watched with it. */
    cli_finish_child(&s.target, stop, t.quit);
    if (s.target.launched && code == EXIT_OK)
        code = target_exit_code(&s.target);
    session_close(&s);
    return code;
}
