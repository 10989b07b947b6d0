/* sampler — see include/sampler.h. */
#include "sampler.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ptrace_ctl.h"

/* How often the loop asks whether the target has exited (non-blocking)
 * or run another program (both modes). A pass notices either by itself
 * (memory that no longer reads, and the pass then asks), so this is only
 * a backstop, and a system call per pass saved. */
#define EXIT_POLL_NS 20000000ull
/* A wait shorter than this is spent polling the clock instead of sleeping:
 * going to sleep and being woken costs more CPU than that (about 35 µs of
 * CPU on a virtual machine measured by bench/run), and wakes up late. */
#define SPIN_BELOW_NS 20000ull

/* Wait until WHEN_NS. Returns the CPU time spent spinning (waiting is not
 * sampling, and bench/run tells them apart). */
static uint64_t sleep_until(uint64_t when_ns)
{
    uint64_t now = clock_mono_ns();
    if (now >= when_ns)
        return 0;
    if (when_ns - now < SPIN_BELOW_NS) {
        uint64_t cpu0 = clock_thread_cpu_ns();
        while (clock_mono_ns() < when_ns)
            ;
        return clock_thread_cpu_ns() - cpu0;
    }
    struct timespec ts = { .tv_sec = (time_t)(when_ns / 1000000000ull),
                           .tv_nsec = (long)(when_ns % 1000000000ull) };
    /* EINTR wakes us early on purpose: the stop flag is checked right after. */
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    return 0;
}

/* Blocking mode: wait until WHEN_NS while passing the target's ptrace
 * events on as they come (ptctl_wait), so that a new thread or a signal
 * for the program is not held until the next pass. Returns early when a
 * signal handler of ours ran (the caller looks at its flags). Returns 0,
 * or -ESRCH when the target has exited (with *EXIT_STATUS). A wait too
 * short to sleep spins, and its CPU time is added to *SPIN_NS. */
static int wait_events(struct ptctl *pt, uint64_t when_ns, int *exit_status, uint64_t *spin_ns)
{
    uint64_t now = clock_mono_ns();
    if (now >= when_ns)
        return 0;
    if (when_ns - now < SPIN_BELOW_NS) {
        *spin_ns += sleep_until(when_ns);
        return 0;
    }
    int r = ptctl_wait(pt, when_ns, exit_status);
    return r == -ESRCH ? -ESRCH : 0;
}

/* Falling behind evenly: when passes take longer than INTERVAL, ticks
 * come further apart — every thread still read at each, at one lower rate,
 * so that shares stay unbiased — rather than bunching up after a slow
 * pass and dropping whole ticks. PASS_NS is the pass just made; *COST
 * the pass time as the schedule sees it: it follows a faster pass at once
 * and a slower one an eighth of the way, so that one slow pass (the first
 * with --native reads every library's symbols) barely moves it, and passes
 * that stay slow move it all the way. Returns the time to the next tick. */
static uint64_t next_step(uint64_t interval, uint64_t pass_ns, uint64_t *cost)
{
    *cost = pass_ns < *cost ? pass_ns : *cost + (pass_ns - *cost) / 8;
    /* A quarter of the step is left to the target and to jitter. */
    uint64_t need = *cost + *cost / 3;
    return need > interval ? need : interval;
}

/* Ticks of the requested schedule (every INTERVAL from START_NS until the
 * loop stopped) that got no pass: ticks dropped and the effect of a
 * lowered rate alike. */
static uint64_t late_ticks(const struct sampler_stats *st, uint64_t start_ns, uint64_t interval)
{
    uint64_t due = st->stop_ns > start_ns ? (st->stop_ns - start_ns) / interval : 0;
    return due > st->passes ? due - st->passes : 0;
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

/* The target runs another program now. */
static int target_execd(struct target *t)
{
    t->execd = 1;
    return -ENOEXEC;
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

/* --native: merge the C stacks of every stopped thread into S, adding the
 * threads that run no Python. Returns the threads S now holds. */
static int native_pass(const struct ptctl *pt, struct nativemerge *native, struct sample *s, uint64_t *errs)
{
    size_t n = ptctl_threads(pt, NULL, 0);
    pid_t *tids = malloc((n ? n : 1) * sizeof *tids);
    if (tids)
        n = ptctl_threads(pt, tids, n);
    if (!tids || nativemerge_sample(native, s, tids, tids ? n : 0) != 0)
        errs[PYWALK_ERR_NOMEM]++;
    free(tids);
    return (int)s->nthreads;
}

/* Blocking mode: read the paused target into S. The stopped threads are
 * let go as soon as they are read (and their states taken); threads left
 * asleep that turn out to have run are read again, stopped. *N gets what
 * pywalk_sample returned for the read kept (threads read, or a negative
 * enum pywalk_error), and the errors of that read are added to ERRORS_BY.
 * Returns 0; -ESRCH when the target exited; -ENOEXEC when it ran another
 * program (what was read is dropped); -EIO when ptctl failed (then every
 * thread is resumed; counted as a read error). */
static int read_paused(struct target *t, struct ptctl *pt, struct pywalk *w, struct threadinfo *ti,
                       struct nativemerge *native, struct sample *s, uint64_t *errors_by, int *n_out)
{
    uint64_t time_ns = s->time_ns;
    for (int tries = 0;; tries++) {
        uint64_t errs[PYWALK_ERR_COUNT] = { 0 };
        int exit_status = -1;
        int n = pywalk_sample(w, s, errs);
        /* Every thread is stopped (see struct sampler_config): their C
         * stacks are read before any is let go. */
        if (n > 0 && native)
            n = native_pass(pt, native, s, errs);
        if (n > 0)
            threadinfo_paused(ti, s);
        int one_by_one = n >= 0 && pywalk_can_resample(w);
        /* A failure to let them go shows in ptctl_settle's answer. */
        if (one_by_one)
            ptctl_release(pt);
        int rc = ptctl_settle(pt, !one_by_one && tries >= SETTLE_TRIES, &exit_status);
        if (rc == -ESRCH)
            return target_gone(t, exit_status);
        if (rc == -ENOEXEC)
            return target_execd(t);
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

/* Tell CFG's note function WHAT (with DETAIL, or NULL) about the target
 * PID. */
static void say(const struct sampler_config *cfg, enum sampler_note what, pid_t pid, const char *detail,
                const struct sampler_stats *stats)
{
    if (!cfg->note)
        return;
    struct sampler_notice n = { .pid = pid, .detail = detail, .now_ns = clock_mono_ns() };
    cfg->note(cfg->note_ctx, what, stats, &n);
}

/* A target stopped by job control is left stopped (ptrace_ctl keeps its
 * group-stop): none of its threads runs, so none is active; say so once. */
static void note_stopped(const struct target *t, struct ptctl *pt, struct threadinfo *ti, struct sample *s,
                         struct sampler_stats *stats, const struct sampler_config *cfg)
{
    if (!(pt ? ptctl_stopped(pt) : threadinfo_all_stopped(ti, s)))
        return;
    for (size_t i = 0; i < s->nthreads; i++)
        s->threads[i].flags &= ~(uint32_t)SAMPLE_ACTIVE;
    if (!stats->target_stopped) {
        stats->target_stopped = 1;
        say(cfg, SAMPLER_NOTE_STOPPED, t->pid, NULL, stats);
    }
}

/* One pass. Returns 0, -ESRCH when the target has exited, or -ENOEXEC
 * when it failed because the target runs another program now. CFG: for
 * its notes. */
static int one_pass(struct target *t, struct ptctl *pt, struct pywalk *w, struct threadinfo *ti,
                    struct nativemerge *native, struct sample *s, struct sampler_stats *stats,
                    const struct sampler_config *cfg)
{
    int exit_status = -1, n;
    sample_clear(s);
    s->time_ns = clock_mono_ns();
    if (pt) {
        int rc = ptctl_pause(pt, &exit_status);
        if (rc == -ESRCH)
            return target_gone(t, exit_status);
        if (rc == -ENOEXEC)
            return target_execd(t);
        if (rc != 0) {
            stats->errors_by[PYWALK_ERR_READ]++;
            return 0;
        }
        rc = read_paused(t, pt, w, ti, native, s, stats->errors_by, &n);
        if (rc == -ESRCH || rc == -ENOEXEC)
            return rc;
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
        if (target_poll_exec(t))
            return -ENOEXEC;
        /* Under ptrace, only ptctl may wait for the target (its exit comes
         * back through ptctl_pause / ptctl_poll). */
        if (!pt && (target_poll_exit(t) || (!t->launched && !proc_exists(t->pid)))) {
            t->exited = 1;
            return -ESRCH;
        }
        return 0;
    }
    threadinfo_after(ti, s, pt != NULL);
    note_stopped(t, pt, ti, s, stats, cfg);
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

/* ptctl_attach for blocking mode, as CFG asks. */
static struct ptctl *attach(pid_t pid, const struct sampler_config *cfg, int *e, char *err, size_t errlen)
{
    struct ptctl *pt = ptctl_attach(pid, e, err, errlen);
    if (pt && (cfg->native || cfg->stop_all))
        ptctl_set_sleep_proofs(pt, 0);
    return pt;
}

/* Append the threads of FROM, with their frames, to S. Returns 0 or -ENOMEM. */
static int append_sample(struct sample *s, const struct sample *from)
{
    for (size_t i = 0; i < from->nthreads; i++) {
        struct thread_sample t = from->threads[i];
        const struct frame *f = sample_thread_frames(from, i);
        t.first = (uint32_t)s->nframes;
        for (uint32_t k = 0; k < t.nframes; k++)
            if (sample_push_frame(s, &f[k]) != 0)
                return -ENOMEM;
        if (sample_push_thread(s, &t) != 0)
            return -ENOMEM;
    }
    return 0;
}

/* Stop following member I of F, letting it go first. */
static void member_drop(struct family *f, size_t i)
{
    struct family_member *m = family_get(f, i);
    ptctl_detach(m->pt);
    m->pt = NULL;
    family_remove(f, i);
}

/* --subprocesses: drop the members that ran another program (the next
 * scan finds them again if they still run Python) and look for new ones. */
static void family_refresh(struct family *f, const struct sampler_config *cfg, const struct sampler_stats *stats)
{
    for (size_t i = family_count(f); i-- > 0;)
        if (target_poll_exec(&family_get(f, i)->target))
            member_drop(f, i);
    if (family_scan(f) == FAMILY_CAPPED)
        say(cfg, SAMPLER_NOTE_CAPPED, 0, NULL, stats);
}

static struct ptctl *attach(pid_t pid, const struct sampler_config *cfg, int *e, char *err, size_t errlen);

/* --subprocesses: read every member of F into S after the target's threads
 * (SCRATCH: a sample to reuse). A member that cannot be held (gone, not
 * ours) or that exited is dropped. */
static void family_pass(struct family *f, const struct sampler_config *cfg, struct sample *s,
                        struct sample *scratch, struct sampler_stats *stats)
{
    for (size_t i = family_count(f); i-- > 0;) {
        struct family_member *m = family_get(f, i);
        if (!cfg->nonblocking && !m->pt) {
            char err[256];
            int e = 0;
            if (!(m->pt = attach(m->pid, cfg, &e, err, sizeof err))) {
                family_remove(f, i);
                continue;
            }
        }
        struct sampler_stats ms = { .target_stopped = m->stopped_said };
        int rc = one_pass(&m->target, m->pt, m->walk, m->threads, m->native, scratch, &ms, cfg);
        m->stopped_said = ms.target_stopped;
        stats->thread_samples += ms.thread_samples;
        stats->pause_ns += ms.pause_ns;
        for (int k = 0; k < PYWALK_ERR_COUNT; k++)
            stats->errors_by[k] += ms.errors_by[k];
        if (rc == -ESRCH || rc == -ENOEXEC)
            member_drop(f, i);
        else if (append_sample(s, scratch) != 0)
            stats->errors_by[PYWALK_ERR_NOMEM]++;
    }
}

/* Let every member of F go (NULL is fine). */
static void family_release(struct family *f)
{
    for (size_t i = 0; i < family_count(f); i++) {
        struct family_member *m = family_get(f, i);
        ptctl_detach(m->pt);
        m->pt = NULL;
    }
}

/* Take nice value NICE for this thread (Linux: PRIO_PROCESS with a thread
 * id is per thread). Returns the value it had, with *ERR the errno when
 * NICE could not be taken (then nothing changed). */
static int nice_take(int nice, int *err)
{
    pid_t self = (pid_t)syscall(SYS_gettid);
    errno = 0;
    int old = getpriority(PRIO_PROCESS, (id_t)self);
    *err = 0;
    if (nice != 0 && old > nice && setpriority(PRIO_PROCESS, (id_t)self, nice) != 0)
        *err = errno;
    return old;
}

/* Give back the nice value OLD taken from by nice_take. */
static void nice_give_back(int nice, int old)
{
    if (nice != 0 && old > nice)
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), old);
}

/* Job control (see struct sampler_config): arm SUSPEND while the target
 * is held, so that a stop signal becomes a request the loop answers. */
static void suspend_arm(volatile sig_atomic_t *suspend)
{
    if (suspend)
        *suspend = 0;
}

/* Disarm SUSPEND once the target is let go. Returns whether a stop was
 * asked for meanwhile. Stop signals are held while it is read and
 * cleared, so that none falls between. */
static int suspend_disarm(volatile sig_atomic_t *suspend)
{
    sigset_t tstp, old;
    if (!suspend)
        return 0;
    sigemptyset(&tstp);
    sigaddset(&tstp, SIGTSTP);
    sigaddset(&tstp, SIGTTIN);
    sigaddset(&tstp, SIGTTOU);
    sigprocmask(SIG_BLOCK, &tstp, &old);
    int asked = *suspend > 0;
    *suspend = -1;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return asked;
}

/* Stop this process (as Ctrl-Z would) and return once it is continued. */
static void stop_self(void)
{
    kill(getpid(), SIGSTOP);
}

int sampler_run(struct target *t, struct pywalk *w, struct threadinfo *ti,
                const struct sampler_config *cfg, volatile sig_atomic_t *stop,
                sampler_fn fn, void *ctx, struct sampler_stats *stats, char *err, size_t errlen)
{
    struct ptctl *pt = NULL;
    memset(stats, 0, sizeof *stats);
    if (!cfg->nonblocking) {
        int e = 0;
        pt = attach(t->pid, cfg, &e, err, errlen);
        if (!pt)
            return e ? e : -EPERM;
        suspend_arm(cfg->suspend);
    }
    int old_nice = nice_take(cfg->nice, &stats->nice_error);
    struct sample s = { 0 }, scratch = { 0 };
    uint64_t next_scan = 0;
    uint64_t interval = (uint64_t)(1e9 / (cfg->rate_hz > 0 ? cfg->rate_hz : 100));
    uint64_t start = clock_mono_ns(), next_status = start + SAMPLER_PROGRESS_NS;
    uint64_t end = cfg->duration_s > 0 ? start + (uint64_t)(cfg->duration_s * 1e9) : UINT64_MAX;
    uint64_t seed = start ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ull;
    uint64_t lag = 0, next_exit_poll = 0;
    uint64_t base = start;      /* tick 0 of the schedule; moved on after a suspension */
    uint64_t slot = base;       /* the current tick, before jitter */
    uint64_t step = interval;   /* between ticks: the interval, or longer while passes take longer */
    uint64_t cost = 0;          /* a pass's time, smoothed */
    /* The interpreter was found in the program running now: an exec ends
     * what can be read. */
    target_note_image(t);
    stats->start_ns = start;
    for (uint64_t k = 0; !*stop; k++) {
        /* Ticks come every STEP, each moved by up to ±25%. */
        if (k > 0)
            slot += step;
        uint64_t due = k == 0 ? slot : slot - step / 4 + next_rand(&seed) % (step / 2 + 1);
        /* The duration ends the recording on time, whatever the rate. */
        uint64_t wake = due < end ? due : end;
        uint64_t now = clock_mono_ns();
        int gone = 0;
        while (now < wake && !*stop && !(pt && cfg->suspend && *cfg->suspend > 0)) {
            int exit_status = -1;
            if (!pt) {
                stats->spin_ns += sleep_until(wake);
            } else if (wait_events(pt, wake, &exit_status, &stats->spin_ns) == -ESRCH) {
                target_gone(t, exit_status);
                gone = 1;
                break;
            }
            now = clock_mono_ns();
        }
        if (gone) {
            stats->target_exited = 1;
            break;
        }
        if (*stop)
            break;
        if (pt && cfg->suspend && *cfg->suspend > 0) {
            /* Ctrl-Z: let the target go before stopping, so that it does
             * not stay held while we are; take it again on SIGCONT. */
            family_release(cfg->family);
            ptctl_detach(pt);
            pt = NULL;
            suspend_disarm(cfg->suspend);
            stop_self();
            if (*stop)
                break;
            int e = 0;
            pt = attach(t->pid, cfg, &e, err, errlen);
            if (!pt) {
                /* Gone while we were stopped, or no longer ours to hold:
                 * what was recorded stands. */
                stats->target_exited = e == -ESRCH;
                if (e != -ESRCH)
                    say(cfg, SAMPLER_NOTE_REATTACH_FAILED, t->pid, err, stats);
                break;
            }
            suspend_arm(cfg->suspend);
            base = slot = clock_mono_ns();
            k = (uint64_t)-1;   /* the next tick is tick 0 of the new schedule */
            continue;
        }
        if (now >= end)
            break;
        lag = now > due ? now - due : 0;
        if (lag > stats->max_lag_ns)
            stats->max_lag_ns = lag;
        if (lag > step) {
            /* Fell behind by whole ticks all the same (the machine is
             * busy, the target held us up): skip them. */
            slot += lag / step * step;
        }
        /* Blocking: events between passes (stops, new threads, the exit)
         * were reaped as they came by wait_events, and what came since is
         * reaped by the pass's ptctl_pause before it interrupts. */
        if (now >= next_exit_poll) {
            next_exit_poll = now + EXIT_POLL_NS;
            if (!pt && target_poll_exit(t)) {
                stats->target_exited = 1;
                break;
            }
            if (target_poll_exec(t)) {
                stats->target_execd = 1;
                break;
            }
        }
        if (cfg->family && now >= next_scan) {
            next_scan = now + SAMPLER_FAMILY_SCAN_NS;
            family_refresh(cfg->family, cfg, stats);
        }
        int rc = one_pass(t, pt, w, ti, cfg->native, &s, stats, cfg);
        if (cfg->family && rc == 0)
            family_pass(cfg->family, cfg, &s, &scratch, stats);
        if (rc == -ESRCH || rc == -ENOEXEC) {
            stats->target_exited = rc == -ESRCH;
            stats->target_execd = rc == -ENOEXEC;
            break;
        }
        stats->errors = sum_errors(stats);
        stats->end_ns = clock_mono_ns();
        if (!stats->first_ns)
            stats->first_ns = stats->end_ns;
        step = next_step(interval, stats->end_ns - now, &cost);
        if (s.nthreads && fn(ctx, &s) != 0)
            break;
        if (cfg->note && stats->end_ns >= next_status) {
            struct sampler_notice n = { .pid = t->pid, .now_ns = stats->end_ns, .lag_ns = lag, .step_ns = step,
                                        .interval_ns = interval };
            cfg->note(cfg->note_ctx, SAMPLER_NOTE_PROGRESS, stats, &n);
            next_status = stats->end_ns + SAMPLER_PROGRESS_NS;
        }
    }
    stats->stop_ns = clock_mono_ns();
    stats->late = late_ticks(stats, base, interval);
    int held = pt != NULL;
    family_release(cfg->family);
    ptctl_detach(pt);
    if (suspend_disarm(held ? cfg->suspend : NULL))
        stop_self();
    stats->errors = sum_errors(stats);
    if (!stats->end_ns)
        stats->end_ns = stats->stop_ns;
    say(cfg, SAMPLER_NOTE_END, t->pid, NULL, stats);
    sample_free(&s);
    sample_free(&scratch);
    nice_give_back(cfg->nice, old_nice);
    return 0;
}

/* What a single pass (sampler_once, sampler_frozen) returns once STATS
 * are summed: the threads read into S, or -EIO with ERR set when none
 * could be and some failed. */
static int once_result(struct sampler_stats *stats, const struct sample *s, char *err, size_t errlen)
{
    stats->errors = sum_errors(stats);
    if (stats->passes && s->nthreads == 0 && stats->errors) {
        snprintf(err, errlen, "could not read any thread's stack (%s)", pywalk_error_name(
                     stats->errors_by[PYWALK_ERR_THREADS] ? PYWALK_ERR_THREADS : PYWALK_ERR_READ));
        return -EIO;
    }
    return (int)s->nthreads;
}

int sampler_once(struct target *t, struct pywalk *w, struct threadinfo *ti, const struct sampler_config *cfg,
                 struct sample *s, struct sampler_stats *stats, char *err, size_t errlen)
{
    volatile sig_atomic_t *suspend = cfg->suspend;
    struct ptctl *pt = NULL;
    memset(stats, 0, sizeof *stats);
    if (!cfg->nonblocking) {
        int e = 0;
        pt = attach(t->pid, cfg, &e, err, errlen);
        if (!pt)
            return e ? e : -EPERM;
        suspend_arm(suspend);
    }
    int rc = one_pass(t, pt, w, ti, cfg->native, s, stats, cfg);
    if (cfg->family && rc == 0) {
        struct sample scratch = { 0 };
        family_refresh(cfg->family, cfg, stats);
        family_pass(cfg->family, cfg, s, &scratch, stats);
        family_release(cfg->family);
        sample_free(&scratch);
    }
    int held = pt != NULL;
    ptctl_detach(pt);
    /* Ctrl-Z during the pass: the target is let go, now we stop. */
    if (suspend_disarm(held ? suspend : NULL))
        stop_self();
    if (rc == -ESRCH) {
        snprintf(err, errlen, "PID %d exited", (int)t->pid);
        return -ESRCH;
    }
    return once_result(stats, s, err, errlen);
}

int sampler_frozen(struct pywalk *w, struct threadinfo *ti, struct nativemerge *native, const pid_t *tids,
                   size_t ntids, struct sample *s, struct sampler_stats *stats, char *err, size_t errlen)
{
    memset(stats, 0, sizeof *stats);
    sample_clear(s);
    s->time_ns = clock_mono_ns();
    int n = pywalk_sample(w, s, stats->errors_by);
    if (n >= 0 && native) {
        if (nativemerge_sample(native, s, tids, ntids) != 0)
            stats->errors_by[PYWALK_ERR_NOMEM]++;
        n = (int)s->nthreads;
    }
    stats->passes = 1;
    if (n < 0) {
        stats->errors_by[-n]++;
        sample_clear(s);
    } else {
        threadinfo_after(ti, s, 0);
        stats->thread_samples = (uint64_t)n;
    }
    return once_result(stats, s, err, errlen);
}
