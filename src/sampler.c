/* sampler — see include/sampler.h. */
#include "sampler.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ptrace_ctl.h"

#define STATUS_EVERY_NS 250000000ull
/* Non-blocking: how often the loop asks whether the target has exited.
 * A pass notices an exit by itself (an exited process's memory does not
 * read, and the pass then asks), so this is only a backstop, and a system
 * call per pass saved. */
#define EXIT_POLL_NS 20000000ull
/* A wait shorter than this is spent polling the clock instead of sleeping:
 * going to sleep and being woken costs more CPU than that (about 35 µs of
 * CPU on a virtual machine measured by bench/run), and wakes up late. */
#define SPIN_BELOW_NS 20000ull

/* Wait until WHEN_NS. With MEASURE, returns the CPU time spent spinning
 * (waiting is not sampling, and bench/run tells them apart), else 0. */
static uint64_t sleep_until(uint64_t when_ns, int measure)
{
    uint64_t now = clock_mono_ns();
    if (now >= when_ns)
        return 0;
    if (when_ns - now < SPIN_BELOW_NS) {
        uint64_t cpu0 = measure ? clock_thread_cpu_ns() : 0;
        while (clock_mono_ns() < when_ns)
            ;
        return measure ? clock_thread_cpu_ns() - cpu0 : 0;
    }
    struct timespec ts = { .tv_sec = (time_t)(when_ns / 1000000000ull),
                           .tv_nsec = (long)(when_ns % 1000000000ull) };
    /* EINTR wakes us early on purpose: the stop flag is checked right after. */
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    return 0;
}

/* xorshift: jitter needs no quality, only no correlation with the target. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Blocking mode, when threads that ran while left asleep cannot be read
 * again one by one (several interpreters): the whole pass is read again,
 * and after this many tries with every thread stopped. */
#define SETTLE_TRIES 3

/* The target exited: record how, if we launched it. */
static int target_gone(struct target *t, int exit_status)
{
    t->exited = 1;
    if (t->launched && exit_status != -1)
        t->wait_status = exit_status;
    return -ESRCH;
}

/* Drop the threads whose ids are in TIDS (N of them) from S; their frames
 * stay in S's frame array, unreferenced. */
static void drop_threads(struct sample *s, const pid_t *tids, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < s->nthreads; i++) {
        int drop = 0;
        for (size_t j = 0; j < n && !drop; j++)
            drop = s->threads[i].tid == tids[j];
        if (!drop)
            s->threads[k++] = s->threads[i];
    }
    s->nthreads = k;
}

/* Keep the GIL with the re-read threads (from index FIRST on) if one of
 * them holds it now: it changed hands while they ran. */
static void gil_to_resampled(struct sample *s, size_t first)
{
    int moved = 0;
    for (size_t i = first; i < s->nthreads; i++)
        moved |= (s->threads[i].flags & SAMPLE_GIL) != 0;
    for (size_t i = 0; moved && i < first; i++)
        s->threads[i].flags &= ~(uint32_t)SAMPLE_GIL;
}

/* Blocking mode: read the paused target into S. The stopped threads are
 * let go as soon as they are read (and their states taken); threads left
 * asleep that turn out to have run are read again, stopped. *N gets what
 * pywalk_sample returned for the read kept (threads read, or a negative
 * enum pywalk_error), and the errors of that read are added to ERRORS_BY.
 * Returns 0; -ESRCH when the target exited; -EIO when ptctl failed (then
 * every thread is resumed; counted as a read error). */
static int read_paused(struct target *t, struct ptctl *pt, struct pywalk *w, struct threadinfo *ti,
                       struct sample *s, uint64_t *errors_by, int *n_out)
{
    uint64_t time_ns = s->time_ns;
    for (int tries = 0;; tries++) {
        uint64_t errs[PYWALK_ERR_COUNT] = { 0 };
        int exit_status = -1;
        int n = pywalk_sample(w, s, errs);
        if (n > 0)
            threadinfo_paused(ti, s);
        int one_by_one = n >= 0 && pywalk_can_resample(w);
        /* A failure to let them go shows in ptctl_settle's answer. */
        if (one_by_one)
            ptctl_release(pt);
        int rc = ptctl_settle(pt, !one_by_one && tries >= SETTLE_TRIES, &exit_status);
        if (rc == -ESRCH)
            return target_gone(t, exit_status);
        if (rc < 0) {
            errors_by[PYWALK_ERR_READ]++;
            return -EIO;
        }
        if (rc > 0 && one_by_one) {
            size_t nw;
            const pid_t *woke = ptctl_woken(pt, &nw);
            drop_threads(s, woke, nw);
            size_t first = s->nthreads;
            int again = pywalk_resample(w, s, woke, nw, errs);
            if (again < 0)
                errs[-again] += nw;
            gil_to_resampled(s, first);
            threadinfo_paused(ti, s);
            rc = 0;
            n = (int)s->nthreads;
        }
        if (rc == 0) {
            for (int i = 0; i < PYWALK_ERR_COUNT; i++)
                errors_by[i] += errs[i];
            *n_out = n;
            return 0;
        }
        sample_clear(s);
        s->time_ns = time_ns;
    }
}

/* One pass. Returns 0, or -ESRCH when the target has exited. */
static int one_pass(struct target *t, struct ptctl *pt, struct pywalk *w, struct threadinfo *ti,
                    struct sample *s, struct sampler_stats *stats)
{
    int exit_status = -1, n;
    sample_clear(s);
    s->time_ns = clock_mono_ns();
    if (pt) {
        int rc = ptctl_pause(pt, &exit_status);
        if (rc == -ESRCH)
            return target_gone(t, exit_status);
        if (rc != 0) {
            stats->errors_by[PYWALK_ERR_READ]++;
            return 0;
        }
        rc = read_paused(t, pt, w, ti, s, stats->errors_by, &n);
        if (rc == -ESRCH)
            return -ESRCH;
        if (rc != 0) {
            sample_clear(s);
            return 0;
        }
        ptctl_resume(pt);
        stats->pause_ns += ptctl_pause_ns(pt);
        ptctl_counts(pt, &stats->stopped, &stats->asleep, &stats->woke);
    } else {
        n = pywalk_sample(w, s, stats->errors_by);
    }
    stats->passes++;
    if (n == 0 && !pt && target_poll_exit(t))
        return -ESRCH;
    if (n < 0) {
        stats->errors_by[-n]++;
        sample_clear(s);
        /* Under ptrace, only ptctl may wait for the target (its exit comes
         * back through ptctl_pause / ptctl_poll). */
        if (!pt && (target_poll_exit(t) || (!t->launched && !proc_exists(t->pid)))) {
            t->exited = 1;
            return -ESRCH;
        }
        return 0;
    }
    threadinfo_after(ti, s, pt != NULL);
    stats->thread_samples += (uint64_t)n;
    return 0;
}

static uint64_t sum_errors(const struct sampler_stats *st)
{
    uint64_t e = 0;
    for (int i = 1; i < PYWALK_ERR_COUNT; i++)
        e += st->errors_by[i];
    return e;
}

/* Whether the environment variable NAME is "1". GILSCOPE_STATS=1 asks for
 * statistics (bench/run); GILSCOPE_STOP_ALL=1 for blocking mode to stop
 * every thread, sleeping ones too (see README, Performance). */
static int env_on(const char *name)
{
    const char *env = getenv(name);
    return env && strcmp(env, "1") == 0;
}

/* ptctl_attach for blocking mode, as the environment asks. */
static struct ptctl *attach(pid_t pid, int *e, char *err, size_t errlen)
{
    struct ptctl *pt = ptctl_attach(pid, e, err, errlen);
    if (pt && env_on("GILSCOPE_STOP_ALL"))
        ptctl_set_sleep_proofs(pt, 0);
    return pt;
}

/* One machine-readable line of the loop's statistics on stderr. FIRST_NS is
 * CLOCK_MONOTONIC when the first pass ended, 0 if none did; SPIN_NS the CPU
 * time spent spinning on the clock for waits too short to sleep. */
static void print_stats(const struct sampler_stats *st, uint64_t first_ns, uint64_t spin_ns)
{
    fprintf(stderr, "gilscope-stats: passes=%" PRIu64 " thread_samples=%" PRIu64 " errors=%" PRIu64
            " errors_torn=%" PRIu64 " errors_read=%" PRIu64 " late=%" PRIu64 " pause_ns=%" PRIu64
            " max_lag_ns=%" PRIu64 " start_ns=%" PRIu64 " first_sample_ns=%" PRIu64 " end_ns=%" PRIu64
            " spin_ns=%" PRIu64 " stopped=%" PRIu64 " asleep=%" PRIu64 " woke=%" PRIu64 "\n",
            st->passes, st->thread_samples, st->errors, st->errors_by[PYWALK_ERR_TORN],
            st->errors_by[PYWALK_ERR_READ], st->late, st->pause_ns, st->max_lag_ns, st->start_ns,
            first_ns, st->end_ns, spin_ns, st->stopped, st->asleep, st->woke);
}

static void draw_status(const struct sampler_stats *st, uint64_t now, uint64_t lag_ns)
{
    uint64_t err = st->errors;
    double total = (double)(st->thread_samples + err);
    fprintf(stderr, "\r\033[Kgilscope: %.1fs, %" PRIu64 " samples, %" PRIu64 " errors (%.1f%%)",
            (double)(now - st->start_ns) / 1e9, st->thread_samples, err,
            total > 0 ? 100.0 * (double)err / total : 0.0);
    if (lag_ns > 10000000ull)
        fprintf(stderr, ", behind by %" PRIu64 " ms", (uint64_t)(lag_ns / 1000000u));
    fflush(stderr);
}

int sampler_run(struct target *t, struct pywalk *w, struct threadinfo *ti,
                const struct sampler_config *cfg, volatile sig_atomic_t *stop,
                sampler_fn fn, void *ctx, struct sampler_stats *stats, char *err, size_t errlen)
{
    struct ptctl *pt = NULL;
    memset(stats, 0, sizeof *stats);
    if (!cfg->nonblocking) {
        int e = 0;
        pt = attach(t->pid, &e, err, errlen);
        if (!pt)
            return e ? e : -EPERM;
    }
    struct sample s = { 0 };
    uint64_t interval = (uint64_t)(1e9 / (cfg->rate_hz > 0 ? cfg->rate_hz : 100));
    uint64_t start = clock_mono_ns(), next_status = start + STATUS_EVERY_NS;
    uint64_t end = cfg->duration_s > 0 ? start + (uint64_t)(cfg->duration_s * 1e9) : UINT64_MAX;
    uint64_t seed = start ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ull;
    uint64_t lag = 0, first_ns = 0, next_exit_poll = 0, spin_ns = 0;
    int want_stats = env_on("GILSCOPE_STATS");
    stats->start_ns = start;
    for (uint64_t k = 0; !*stop; k++) {
        /* Tick k is due at start + k·interval, moved by up to ±25%. */
        uint64_t slot = start + k * interval;
        uint64_t due = slot - interval / 4 + next_rand(&seed) % (interval / 2 + 1);
        if (k == 0)
            due = start;
        uint64_t now = clock_mono_ns();
        if (now < due) {
            spin_ns += sleep_until(due, want_stats);
            if (*stop)
                break;
            now = clock_mono_ns();
        }
        if (now >= end)
            break;
        lag = now > due ? now - due : 0;
        if (lag > stats->max_lag_ns)
            stats->max_lag_ns = lag;
        if (lag > interval) {
            /* Fell behind by whole ticks: skip them, and say so. */
            uint64_t skip = lag / interval;
            stats->late += skip;
            k += skip;
        }
        /* Blocking: the pass's ptctl_pause reaps what happened since the
         * last one (stops, new threads, the exit) before it interrupts, so
         * a ptctl_poll just before it would only repeat a waitpid per thread. */
        if (!pt && now >= next_exit_poll) {
            next_exit_poll = now + EXIT_POLL_NS;
            if (target_poll_exit(t)) {
                stats->target_exited = 1;
                break;
            }
        }
        if (one_pass(t, pt, w, ti, &s, stats) == -ESRCH) {
            stats->target_exited = 1;
            break;
        }
        stats->errors = sum_errors(stats);
        stats->end_ns = clock_mono_ns();
        if (!first_ns)
            first_ns = stats->end_ns;
        if (s.nthreads && fn(ctx, &s) != 0)
            break;
        if (cfg->status_line && stats->end_ns >= next_status) {
            draw_status(stats, stats->end_ns, lag);
            next_status = stats->end_ns + STATUS_EVERY_NS;
        }
    }
    ptctl_detach(pt);
    stats->errors = sum_errors(stats);
    if (!stats->end_ns)
        stats->end_ns = clock_mono_ns();
    if (cfg->status_line)
        fprintf(stderr, "\r\033[K");
    if (want_stats)
        print_stats(stats, first_ns, spin_ns);
    sample_free(&s);
    return 0;
}

int sampler_once(struct target *t, struct pywalk *w, struct threadinfo *ti, int nonblocking,
                 struct sample *s, struct sampler_stats *stats, char *err, size_t errlen)
{
    struct ptctl *pt = NULL;
    memset(stats, 0, sizeof *stats);
    if (!nonblocking) {
        int e = 0;
        pt = attach(t->pid, &e, err, errlen);
        if (!pt)
            return e ? e : -EPERM;
    }
    int rc = one_pass(t, pt, w, ti, s, stats);
    ptctl_detach(pt);
    stats->errors = sum_errors(stats);
    if (rc == -ESRCH) {
        snprintf(err, errlen, "PID %d exited", (int)t->pid);
        return -ESRCH;
    }
    if (stats->passes && s->nthreads == 0 && stats->errors) {
        snprintf(err, errlen, "could not read any thread's stack (%s)", pywalk_error_name(
                     stats->errors_by[PYWALK_ERR_THREADS] ? PYWALK_ERR_THREADS : PYWALK_ERR_READ));
        return -EIO;
    }
    return (int)s->nthreads;
}
