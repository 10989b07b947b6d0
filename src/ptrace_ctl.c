/*
 * ptrace_ctl — hold every thread of a target still for a moment, with
 * PTRACE_SEIZE / PTRACE_INTERRUPT. See include/ptrace_ctl.h for the contract.
 *
 * Model. Each known thread is in one of the states below. Between samples
 * threads are TH_RUNNING; any ptrace-stop they enter on their own (a signal
 * for them, group-stop, a late PTRACE_INTERRUPT trap) is
 * reaped by ptctl_poll and passed on at once, or by the next ptctl_pause,
 * which then simply counts it as stopped.
 *
 * Waiting. We only ever waitpid() a specific thread id, never -1: a -1 wait
 * would also reap children of the profiler that are none of our business.
 * Blocking on a specific non-leader thread is safe, because after
 * PTRACE_INTERRUPT it either stops or exits and is reported either way.
 * A leader that exited before we attached (a zombie while the others run)
 * cannot be seized and is not followed: the live threads are held, and
 * the exit of the last of them is the end of the process.
 * A followed leader is different: if it exits while other threads live, the
 * kernel reports it only after all of them are gone, so a blocking wait on
 * it could last forever while we hold those threads. The leader is
 * therefore waited for with WNOHANG, sleeping in between until SIGCHLD
 * (sent to the tracer at every stop of a tracee; blocked while attached,
 * so it is queued rather than dropped) or a short, growing timeout, and
 * watching /proc for it turning into a zombie.
 *
 * No wait is for good, and no thread is held while another is waited for
 * without bound: every thread is waited for with WNOHANG and SIGCHLD, and
 * one that has not stopped after D_CHECK_NS is looked at. A thread in
 * uninterruptible sleep (D: a vfork parent, a stuck file system) stops
 * only when that sleep ends, maybe seconds later; but the interrupt it has
 * is taken on its way back to user space, so until then it runs no user
 * code and its stack cannot change: it is held as it is (TH_TRAPPING), and
 * its stop is reaped and ended whenever it comes (ptctl_poll, ptctl_wait).
 *
 * Between samples, ptctl_wait sleeps until SIGCHLD and passes every
 * ptrace event on at once (a signal for the program, an exit), so that
 * the program is not held until the next sample.
 *
 * New threads. A thread created by a traced thread is not traced: with
 * PTRACE_O_TRACECLONE its creator would stop in a clone event and it in a
 * first stop, both held until we end them, which in a program that starts
 * thousands of threads a second halved that rate (fault-thread-storm). So
 * each pause compares the process's thread count with ours, and only if
 * they differ lists /proc/PID/task and seizes the newcomers (adopt_new);
 * after the stops, threads the stopped ones started meanwhile are seized
 * and stopped in turn, and ptctl_settle does the same for threads started
 * by threads that woke. finish_exit() adopts those that keep the leader's
 * exit report back. (TH_NEW, a thread in a first stop we did not cause,
 * is kept for a thread found attached to us already.)
 *
 * Asleep threads. Stopping a thread that sleeps in the kernel wakes it
 * twice (into the stop, and back into its system call), and most threads
 * of a big program sleep. A thread that is off every CPU inside the
 * kernel cannot change its stack, so a pause leaves such a thread alone
 * (TH_ASLEEP) and ptctl_settle checks afterwards that it really did not
 * run: /proc/PID/task/TID/syscall answers only for a thread that is off
 * its CPU, and the run time in .../schedstat grows whenever a thread that
 * ran leaves its CPU. Counters equal before the reads and after, with the
 * thread off its CPU after: it ran no code in between. A thread that did
 * run is stopped then and the caller reads it again. The stopped threads
 * need not wait for those proofs: once read, ptctl_release lets them go
 * (TH_LOOSE) while the sleepers stay watched until ptctl_resume. A thread
 * that keeps turning out to have run is stopped at once for a few passes
 * instead (RAN_STOP_AT), and when nearly all of a pause's proofs fail,
 * every thread is (PROOFS_OFF_PASSES).
 *
 * All ptrace requests must come from the thread that attached: the kernel
 * ties a tracee to one tracer thread.
 */
#include "ptrace_ctl.h"
#include "clock.h"
#include "proc.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum thr_state {
    TH_RUNNING,     /* not in a stop we know of; PTRACE_INTERRUPT to pause it */
    TH_NEW,         /* auto-attached clone whose first stop is not reaped yet */
    TH_STOPPED,     /* in a ptrace-stop we reaped and have not ended */
    TH_ASLEEP,      /* during a pause: left running, asleep in the kernel (see top) */
    TH_LOOSE,       /* during a pause: stopped, then let go by ptctl_release */
    TH_TRAPPING,    /* interrupted while in uninterruptible sleep (D): its stop
                       comes when it wakes, and until then it cannot run user
                       code (the trap is taken on the way back to it); held
                       without being waited for (see "Waiting" above) */
    TH_ZOMBIE,      /* leader only: exited before its threads; reported last */
    TH_GONE,        /* exited or no longer ours; dropped by thr_compact */
};

/* How a stopped thread is set going again. */
enum thr_resume {
    RESUME_CONT,    /* PTRACE_CONT, delivering thr.sig if non-zero */
    RESUME_LISTEN,  /* the process is in group-stop: stay stopped, but
                       still report SIGCONT and new events */
};

struct thr {
    pid_t tid;
    enum thr_state st;
    enum thr_resume how;    /* meaningful in TH_STOPPED */
    int sig;                /* signal intercepted for this thread, to re-inject */
    struct proc_schedfd *sched;     /* its schedstat, kept open; NULL until needed */
    struct proc_syscallfd *sys;     /* its syscall file, likewise */
    struct proc_statfd *stat;       /* its stat, likewise */
    int cpu;                        /* CPU it was last seen on, -1 = unknown */
    struct proc_schedstat seen;     /* its counters at the last look */
    int proven;                     /* off its CPU, counters still SEEN, at the last settle */
    int no_fds;                     /* its readers could not be opened, or are past the
                                       budget: always stopped */
    int trap_pending;               /* interrupted, that stop not reaped yet: not to be
                                       interrupted again (a second trap would follow) */
    int jobstop;                    /* its last stop was a group-stop (SIGSTOP …) */
    int ran;                        /* how often it ran when left asleep, lately: see
                                       RAN_STOP_AT */
};

struct ptctl {
    pid_t pid;                      /* thread-group leader = process id */
    struct thr *t;                  /* known threads, leader included */
    size_t n, cap;
    int paused;                     /* between a successful pause and resume */
    int gone;                       /* the leader's exit was reaped */
    int execd;                      /* a thread reported an exec: the
                                     * process runs another program now */
    int leader_exited;              /* the leader was a zombie when we attached: not
                                       followed, the process ends with its last thread */
    int exit_status;                /* its wait status, or -1 if unknown */
    struct proc_statfd *leader_stat;/* to see the leader turn zombie; may be NULL */
    int taskdir;                    /* /proc/PID/task: the thread count (its links), -1 if none */
    uint64_t t0;                    /* CLOCK_MONOTONIC ns the hold began, 0 = nothing held */
    uint64_t held_ns;               /* holds of this pause already ended (ptctl_release) */
    uint64_t pause_ns;
    pid_t *woke;                    /* threads the last ptctl_settle stopped */
    size_t nwoke, cap_woke;
    int no_sleep_proof;             /* no scheduler counters here, or told so: stop every thread */
    unsigned proofs_off;            /* pauses left that stop every thread, the proofs having
                                       failed lately (PROOFS_OFF_PASSES) */
    unsigned proofs_futile;         /* pauses in a row whose proofs nearly all failed */
    uint64_t n_stopped, n_asleep, n_woke; /* totals over all pauses, see ptctl_counts */
    sigset_t old_mask;              /* signal mask before SIGCHLD was blocked */
    int drained;                    /* nothing to reap at the last drain, and no SIGCHLD
                                       taken since: the next pause need not drain */
    size_t fds, fd_budget;          /* descriptors kept open by the threads' readers, and
                                       how many may be (see FD_SHARE) */
};

/* The threads' readers keep at most 1/FD_SHARE of the open-files limit
 * open, as threadinfo does: under a low limit (ulimit -n 64, 300 threads)
 * they used to take every descriptor, so that no run state could be read
 * at all. Threads past the budget are stopped at each pause instead. */
#define FD_SHARE 4

/* Waiting for the leader: a timeout, doubling from the first to the last
 * value, after which we look for it having turned zombie. A stop ends the
 * wait at once (SIGCHLD), so these bound only how soon a zombie leader is
 * noticed (once: a zombie is not waited for again). Short timeouts were
 * measured to slow the stop itself down on a virtual machine. */
static const long leader_wait_first_ns = 1000 * 1000;
static const long leader_wait_max_ns = 4000 * 1000;

/* Polling for the stop of a thread running on another CPU sees it sooner
 * than sleeping until SIGCHLD: on a 2-CPU virtual machine 60 µs instead of
 * 140 after the interrupt (measured with a busy Python thread), as the
 * wake-up of a sleeping tracer's CPU costs that much. Up to this long, for
 * up to this many threads; then the wait sleeps as before. */
#define SPIN_NS 100000ull

/* Threads started during a pause, by threads not yet stopped, are looked
 * for this many times over before the pause goes on without them. */
#define ADOPT_ROUNDS 4
#define SPIN_MAX_THREADS 4

/* A thread left asleep that turns out to have run costs its proof (four
 * reads) and a second round of stopping; stopping it at once costs a stop
 * that may have been needless. A thread that ran in more than about half
 * of its recent proofs is stopped at once: each proof it fails adds RAN_STEP
 * to its score, each it passes takes RAN_STEP off, each pass it is stopped
 * at once takes 1 off; from RAN_STOP_AT on it is stopped without a proof,
 * so that one that keeps running is proven about one pass in five. Busy
 * threads sampled slowly (1000 at 10 Hz, ~90% of them running during
 * every pass) then mostly cost one round; threads that run in a quarter of
 * the passes (100 busy threads at 100 Hz) stay below and keep their
 * cheaper proofs; an idle thread is at 0. */
#define RAN_STEP 4
#define RAN_MAX 16
#define RAN_STOP_AT 12

/* The same trade for the whole process: when 9 in 10 of at least
 * PROOFS_MIN_TRIED threads left asleep ran during the pause, in
 * PROOFS_FUTILE_RUN pauses in a row, the next PROOFS_OFF_PASSES pauses stop
 * every thread at once, then proofs are tried again. The per-thread score
 * leaves its proofs to one pass in five, and with many busy threads that
 * is still many threads read twice: 1000 busy threads at 10 Hz, ~260 of
 * ~260 proofs failing per pass, pause 22.9-25.1 us per thread stopped,
 * 17.5-18.4 stopping all (alternated runs). 100 busy threads at 100 Hz
 * fail ~30% on average and keep their proofs: switching at "more than
 * half", which some of their passes reach, stopped 79 threads per pass
 * instead of 38 and the disturbance of their work rate rose from +9.6% to
 * +17.5% (bench, busy section). */
#define PROOFS_MIN_TRIED 8
#define PROOFS_FUTILE_RUN 2
#define PROOFS_OFF_PASSES 32

/* The finishing wait (finish_exit) naps with this back-off. */
static const long leader_nap_first_ns = 20 * 1000;
static const long leader_nap_max_ns = 200 * 1000;

/* How long an exiting process may take to deliver the leader's report once
 * all its threads are reaped; only reached when something unexpected holds
 * it back. */
static const uint64_t exit_report_timeout_ns = 5ull * 1000 * 1000 * 1000;

/* How long ptctl_detach waits for threads held in uninterruptible sleep. */
static const uint64_t detach_trapping_ns = 500ull * 1000 * 1000;

/* waitpid on one thread; __WALL because threads are not SIGCHLD children. */
static pid_t wait_tid(pid_t tid, int *status, int flags)
{
    pid_t r;
    do
        r = waitpid(tid, status, flags | __WALL);
    while (r < 0 && errno == EINTR);
    return r;
}

static long pt(enum __ptrace_request req, pid_t tid, void *addr, long data)
{
    return ptrace(req, tid, addr, (void *)(uintptr_t)data);
}

static int is_stop_signal(int sig)
{
    return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* ------------------------------------------------------------------ */
/* the thread set                                                      */

static long thr_find(const struct ptctl *p, pid_t tid)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].tid == tid && p->t[i].st != TH_GONE)
            return (long)i;
    return -1;
}

static int thr_add(struct ptctl *p, pid_t tid, enum thr_state st)
{
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        struct thr *nt = realloc(p->t, ncap * sizeof *nt);
        if (nt == NULL)
            return -ENOMEM;
        p->t = nt;
        p->cap = ncap;
    }
    p->t[p->n++] = (struct thr){ .tid = tid, .st = st, .how = RESUME_CONT, .cpu = -1 };
    return 0;
}

static void thr_close(struct ptctl *p, struct thr *t)
{
    p->fds -= (t->sched != NULL) + (t->sys != NULL) + (t->stat != NULL);
    proc_schedfd_close(t->sched);
    proc_syscallfd_close(t->sys);
    proc_statfd_close(t->stat);
    t->sched = NULL;
    t->sys = NULL;
    t->stat = NULL;
}

/* Drop TH_GONE entries. Only called where no index is held. */
static void thr_compact(struct ptctl *p)
{
    size_t w = 0;
    for (size_t r = 0; r < p->n; r++) {
        if (p->t[r].st != TH_GONE)
            p->t[w++] = p->t[r];
        else
            thr_close(p, &p->t[r]);
    }
    p->n = w;
}

static int thr_waitable(const struct thr *t)
{
    return t->st == TH_RUNNING || t->st == TH_NEW;
}

/* Any thread still able to run Python, i.e. not exited. */
static int any_live(const struct ptctl *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].st != TH_GONE && p->t[i].st != TH_ZOMBIE)
            return 1;
    return 0;
}

static void process_gone(struct ptctl *p, int status)
{
    p->gone = 1;
    p->exit_status = status;
    p->paused = 0;
    for (size_t i = 0; i < p->n; i++)
        p->t[i].st = TH_GONE;
}

/* ------------------------------------------------------------------ */
/* reacting to wait statuses                                           */

/* A thread seized and interrupted that we cannot follow (out of memory)
 * must not stay frozen in that stop: reap it and let it go. The stop
 * comes promptly, so the blocking wait is safe. */
static void release_untracked(pid_t tid)
{
    int status;
    if (wait_tid(tid, &status, 0) == tid && WIFSTOPPED(status))
        pt(PTRACE_DETACH, tid, NULL, 0);
}

/* Record what STATUS says about thread I. */
static void handle_status(struct ptctl *p, size_t i, int status)
{
    pid_t tid = p->t[i].tid;

    if (WIFEXITED(status) || WIFSIGNALED(status)) {
        /* The leader is reported only after every other thread, so its
         * exit is the end of the whole process. */
        if (tid == p->pid)
            process_gone(p, status);
        else
            p->t[i].st = TH_GONE;
        return;
    }
    if (!WIFSTOPPED(status))
        return;

    int sig = WSTOPSIG(status);
    int event = (int)((unsigned)status >> 16);
    p->t[i].st = TH_STOPPED;
    p->t[i].how = RESUME_CONT;
    p->t[i].sig = 0;
    p->t[i].trap_pending = 0;
    p->t[i].jobstop = event == PTRACE_EVENT_STOP && is_stop_signal(sig);
    switch (event) {
    case 0:
        /* signal-delivery-stop: the signal is for the program; hold it
         * and hand it over on resume (with its original siginfo). */
        p->t[i].sig = sig;
        break;
    case PTRACE_EVENT_EXEC:
        /* The new program runs in the old image's place, at the same
         * addresses when the binary is not position-independent: it must
         * never be read as the old one. */
        p->execd = 1;
        break;
    case PTRACE_EVENT_STOP:
        /* PTRACE_INTERRUPT, a new thread's first stop, or group-stop.
         * Only group-stop carries a stop signal instead of SIGTRAP. */
        if (is_stop_signal(sig))
            p->t[i].how = RESUME_LISTEN;
        break;
    default:
        break;
    }
}

/* The leader cannot be waited for (ECHILD): someone else reaped it, or
 * it is no longer ours. */
static int leader_lost(struct ptctl *p, size_t i)
{
    if (!proc_exists(p->pid)) {
        process_gone(p, -1);
        return -ESRCH;
    }
    p->t[i].st = TH_GONE;
    return -ECHILD;
}

/* Non-blocking: reap whatever thread I has to report. Returns 1 if a
 * status was consumed, 0 if none, or a negative errno. */
static int reap_nohang(struct ptctl *p, size_t i)
{
    int status;
    pid_t tid = p->t[i].tid;
    pid_t r = wait_tid(tid, &status, WNOHANG);

    if (r == 0)
        return 0;
    if (r < 0) {
        if (errno != ECHILD)
            return -errno;
        if (tid == p->pid)
            return leader_lost(p, i);
        p->t[i].st = TH_GONE;
        return 1;
    }
    handle_status(p, i, status);
    return 1;
}

/* Set stopped thread I going again, passing on its intercepted signal. */
static int resume_one(struct ptctl *p, size_t i)
{
    struct thr *t = &p->t[i];
    long r = -1;

    /* PTRACE_LISTEN keeps a group-stopped thread stopped, as job control
     * wants, while still reporting SIGCONT; should the kernel refuse it,
     * CONT is the fallback that never leaves the thread held by us. */
    if (t->how == RESUME_LISTEN)
        r = pt(PTRACE_LISTEN, t->tid, NULL, 0);
    if (r < 0)
        r = pt(PTRACE_CONT, t->tid, NULL, t->sig);
    int e = errno;
    /* On failure the thread was killed while stopped; its exit report
     * is reaped like any other. */
    t->st = TH_RUNNING;
    t->how = RESUME_CONT;
    t->sig = 0;
    return r < 0 ? -e : 0;
}

static int adopt_new(struct ptctl *p);

/* One non-blocking pass over every thread that may have something to
 * report; with RESUME, stops found are ended at once (ptctl_poll). The
 * leader goes last: its exit becomes reportable only once the others
 * have been reaped. */
static int drain(struct ptctl *p, int resume)
{
    long li = thr_find(p, p->pid);
    int found = 0;

    for (size_t k = 0; k <= p->n && !p->gone; k++) {
        size_t i;
        if (k < p->n) {
            if ((long)k == li)
                continue;
            i = k;
        } else if (li >= 0) {
            i = (size_t)li;
        } else {
            break;
        }
        enum thr_state st = p->t[i].st;
        if (!thr_waitable(&p->t[i]) && st != TH_ZOMBIE && st != TH_TRAPPING)
            continue;
        int r = reap_nohang(p, i);
        if (r < 0)
            return r;
        if (r > 0)
            found = 1;
        if (resume && r > 0 && p->t[i].st == TH_STOPPED)
            resume_one(p, i);
    }
    /* Not following the leader, the end of the last thread we follow is
     * the end of the process, unless threads started since live on: those
     * are seized (and left running: this is no pause). */
    if (p->leader_exited && !p->gone && !any_live(p) && adopt_new(p) == 0)
        process_gone(p, -1);
    p->drained = !found && !p->gone;
    return p->gone ? -ESRCH : 0;
}

/* ------------------------------------------------------------------ */
/* stopping everything                                                 */

/* Whether the leader thread has exited (zombie, or no longer listed). */
static int leader_is_zombie(struct ptctl *p)
{
    struct proc_stat st;

    if (p->leader_stat == NULL)
        p->leader_stat = proc_statfd_open(p->pid, p->pid);
    if (p->leader_stat == NULL)
        return 1;
    int r = proc_statfd_read(p->leader_stat, &st);
    if (r == -ESRCH)
        return 1;
    return r == 0 && (st.state == 'Z' || st.state == 'X');
}

/* The leader of a launched program is also our child, and a plain
 * waitpid(pid) elsewhere in the profiler reports (and so consumes) its
 * ptrace-stops too. A thread in a stop whose report is gone would be
 * waited for forever; recognise it and rebuild the status from the stop's
 * siginfo. Returns 1 if a status was handled, 0 if not. */
static int recover_stolen_stop(struct ptctl *p, size_t i)
{
    siginfo_t si;
    int status;
    pid_t tid = p->t[i].tid;

    /* Succeeds only in a ptrace-stop (not while listening). */
    if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) < 0)
        return 0;
    /* The kernel makes a stop waitable before it can be inspected, so if
     * waitpid still has nothing now, someone else took the report. */
    pid_t r = wait_tid(tid, &status, WNOHANG);
    if (r == tid) {
        handle_status(p, i, status);
        return 1;
    }
    if (r != 0)
        return 0;
    /* Event stops carry (event << 8 | signal) in si_code; signals have
     * si_code values below 256. */
    int event = si.si_code > 0xff && (si.si_code & 0xff) == si.si_signo ? si.si_code >> 8 : 0;
    handle_status(p, i, event << 16 | si.si_signo << 8 | 0x7f);
    return 1;
}

/* Sleep until a SIGCHLD is pending or NS pass (0: only look). Returns 1
 * for SIGCHLD, 0 when the time passed, -EINTR when a signal handler ran.
 * A SIGCHLD taken may stand for any tracee's report: the next pause drains. */
static int wait_chld(struct ptctl *p, uint64_t ns)
{
    sigset_t chld;
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    int r = sigtimedwait(&chld, NULL, &ts);
    if (r == SIGCHLD) {
        p->drained = 0;
        return 1;
    }
    return r < 0 && errno == EINTR ? -EINTR : 0;
}

/* The state letter of thread I ('D', 'S' …), 0 if unknown. */
static char thr_state_char(struct ptctl *p, size_t i)
{
    struct thr *t = &p->t[i];
    struct proc_stat st;

    if (!t->stat && !t->no_fds && p->fds < p->fd_budget && (t->stat = proc_statfd_open(p->pid, t->tid)))
        p->fds++;
    if (t->stat)
        return proc_statfd_read(t->stat, &st) == 0 ? st.state : 0;
    /* Short of descriptors: one for this look only. */
    struct proc_statfd *once = proc_statfd_open(p->pid, t->tid);
    char c = once != NULL && proc_statfd_read(once, &st) == 0 ? st.state : 0;
    proc_statfd_close(once);
    return c;
}

/* How long an interrupted thread may take to stop before we look whether
 * it is in uninterruptible sleep (then it is held as it is, TH_TRAPPING).
 * A running thread stops in microseconds; one waiting for a CPU on a
 * loaded machine may take milliseconds, and is merely looked at again. */
#define D_CHECK_NS 2000000ull

/* Thread I, interrupted (or new), may be in uninterruptible sleep: if so,
 * hold it as it is. Returns 1 when it is now TH_TRAPPING. */
static int held_in_d(struct ptctl *p, size_t i)
{
    if (p->t[i].st != TH_RUNNING || thr_state_char(p, i) != 'D')
        return 0;
    p->t[i].st = TH_TRAPPING;
    return 1;
}

/* Wait for the stop (or exit) of thread I, never for good: see "Waiting"
 * at the top. Returns 0 or a negative errno. */
static int wait_one(struct ptctl *p, size_t i)
{
    uint64_t next_look = clock_mono_ns() + D_CHECK_NS;

    for (;;) {
        int r = reap_nohang(p, i);
        if (r != 0)
            return r < 0 ? r : 0;
        uint64_t now = clock_mono_ns();
        if (now >= next_look) {
            if (held_in_d(p, i))
                return 0;
            next_look = now + D_CHECK_NS;
        }
        wait_chld(p, next_look - now);
    }
}

/* Wait for the leader (index I) to report, without ever blocking for good:
 * see the comment at the top of the file. Sleeping until its stop is
 * signalled, rather than polling (yielding or spinning), matters: on a
 * 2-CPU virtual machine a poller was measured to delay a busy leader's stop
 * by milliseconds (bench/run), where a sleeping tracer sees it in tens of
 * microseconds. */
static int wait_leader(struct ptctl *p, size_t i)
{
    long ns = leader_wait_first_ns;
    uint64_t next_look = clock_mono_ns() + (uint64_t)ns;

    for (;;) {
        int r = reap_nohang(p, i);
        if (r != 0)
            return r < 0 ? r : 0;
        /* A SIGCHLD may be stale (an earlier stop): then this loops once more. */
        if (wait_chld(p, (uint64_t)ns) == 1 && clock_mono_ns() < next_look)
            continue;
        if (leader_is_zombie(p)) {
            p->t[i].st = TH_ZOMBIE;
            return 0;
        }
        if (held_in_d(p, i))
            return 0;
        if (recover_stolen_stop(p, i))
            return 0;
        ns = ns * 2 > leader_wait_max_ns ? leader_wait_max_ns : ns * 2;
        next_look = clock_mono_ns() + (uint64_t)ns;
    }
}

static int seize_one(struct ptctl *p, pid_t tid, int *errnum, char *err, size_t errlen);

/* Threads started since the last look run untraced (see "New threads" at
 * the top): seize them, as TH_RUNNING. The process's thread count, one
 * fstat of a kept-open directory, says whether there are any; only then are
 * the threads listed. Returns how many joined. */
static int adopt_new(struct ptctl *p)
{
    long known = p->leader_exited;
    for (size_t i = 0; i < p->n; i++)
        known += p->t[i].st != TH_GONE;
    if (proc_taskdir_count(p->taskdir) == known)
        return 0;
    struct proc_tasks tl;
    if (proc_tasks_list(p->pid, &tl) < 0)
        return 0;
    int added = 0;
    for (size_t j = 0; j < tl.n; j++)
        if (thr_find(p, tl.tid[j]) < 0 && !(tl.tid[j] == p->pid && p->leader_exited))
            added += seize_one(p, tl.tid[j], NULL, NULL, 0) > 0;
    proc_tasks_free(&tl);
    return added;
}

/* Interrupt every thread that runs and has no stop owed yet. */
static void interrupt_running(struct ptctl *p);

/* Every thread has exited except the zombie leader: collect its report,
 * which carries the process's exit status (none when it was a zombie
 * already at attach: it is not ours). Threads attached by the kernel
 * whose creation we never saw keep it back; adopt them from /proc. */
static int finish_exit(struct ptctl *p)
{
    uint64_t deadline = clock_mono_ns() + exit_report_timeout_ns;
    long ns = leader_nap_first_ns;

    for (;;) {
        long li = thr_find(p, p->pid);
        if (li < 0 && !p->leader_exited) {
            process_gone(p, -1);
            return -ESRCH;
        }
        if (li >= 0) {
            int r = reap_nohang(p, (size_t)li);
            if (r < 0 || p->gone)
                return r < 0 ? r : -ESRCH;
        }

        if (adopt_new(p) > 0) {
            interrupt_running(p);
            for (size_t i = 0; i < p->n; i++) {
                if (!thr_waitable(&p->t[i]))
                    continue;
                int r = wait_one(p, i);
                if (r < 0)
                    return r;
            }
        }
        /* An adopted thread that stopped instead of exiting means the
         * process lives on: it is paused now, the caller proceeds. */
        if (any_live(p))
            return 0;
        /* Not following the leader, there is no report to wait for: the
         * last thread was the end. */
        if (p->leader_exited || clock_mono_ns() > deadline) {
            process_gone(p, -1);
            return -ESRCH;
        }
        clock_nap_ns((uint64_t)ns);
        ns = ns * 2 > leader_nap_max_ns ? leader_nap_max_ns : ns * 2;
    }
}

/* ------------------------------------------------------------------ */
/* asleep threads (see the top of the file)                            */

static int sched_same(const struct proc_schedstat *a, const struct proc_schedstat *b)
{
    return a->run_ns == b->run_ns && a->wait_ns == b->wait_ns && a->slices == b->slices;
}

/* Whether thread I may be left running through this pause: asleep in the
 * kernel, going by its stat (a guess; stayed_asleep proves it or not).
 * Reads its counters into seen for stayed_asleep, and its CPU. The leader
 * is also looked at as wait_leader would: a zombie, or in a stop whose
 * report someone else took, it is not asleep (and its state says what it
 * is instead). */
static int looks_asleep(struct ptctl *p, size_t i)
{
    struct thr *t = &p->t[i];
    struct proc_schedstat now;
    struct proc_stat st;

    t->cpu = -1;
    if (t->no_fds)
        return 0;
    if (t->ran >= RAN_STOP_AT) {
        t->ran--;
        t->proven = 0;
        return 0;
    }
    int budget = p->fds + 3 <= p->fd_budget;
    errno = 0;
    if (!t->sched && budget && (t->sched = proc_schedfd_open(p->pid, t->tid)))
        p->fds++;
    if (!t->sys && budget && (t->sys = proc_syscallfd_open(p->pid, t->tid)))
        p->fds++;
    if (!t->stat && budget && (t->stat = proc_statfd_open(p->pid, t->tid)))
        p->fds++;
    if (!t->sched || !t->sys || !t->stat) {
        /* Past the budget or out of descriptors (the limit is raised at
         * start, but may be low): do not try again at every pass; this
         * thread is stopped. */
        t->no_fds = !budget || errno == EMFILE || errno == ENFILE;
        if (t->no_fds)
            thr_close(p, t);
        t->proven = 0;
        return 0;
    }
    if (proc_schedfd_read(t->sched, &now) != 0) {
        t->proven = 0;
        return 0;
    }
    if (now.run_ns == 0 && now.slices == 0) {
        /* Scheduler statistics are compiled out: nothing can be proven. */
        p->no_sleep_proof = 1;
        return 0;
    }
    /* Unchanged since the last pause proved it asleep: it has not been
     * on a CPU since. Turning zombie or stopping takes a run, which
     * changes the counters. */
    int same = t->proven && sched_same(&now, &t->seen);
    t->seen = now;
    t->proven = 0;
    if (same)
        return 1;
    if (proc_statfd_read(t->stat, &st) != 0)
        return 0;
    t->cpu = st.cpu;
    switch (st.state) {
    case 'S':
    case 'D':
        return 1;
    case 't':
    case 'T':
        /* Stopped: by job control (then it is listening), or, for the
         * leader, in a stop whose report was taken from us. */
        return !(t->tid == p->pid && recover_stolen_stop(p, i));
    case 'Z':
    case 'X':
        if (t->tid == p->pid)
            t->st = TH_ZOMBIE;
        return 0;
    default:
        return 0;
    }
}

/* After the reads: whether thread T, left asleep, ran no code since
 * looks_asleep. The syscall file first: answering, it says the thread is
 * off its CPU now, so any run it made since has ended and shows in the
 * counters read next. */
static int stayed_asleep(struct thr *t)
{
    struct proc_schedstat now;
    long nr;

    t->proven = proc_syscallfd_read(t->sys, &nr, NULL) == 0 && nr >= -1 &&
                proc_schedfd_read(t->sched, &now) == 0 && sched_same(&now, &t->seen);
    return t->proven;
}

/* ------------------------------------------------------------------ */
/* stopping                                                            */

static void interrupt(struct ptctl *p, size_t i)
{
    if (!p->t0)
        p->t0 = clock_mono_ns();
    /* Errors are fine here: a thread that cannot be interrupted is exiting
     * or not ours, and its wait tells which. */
    pt(PTRACE_INTERRUPT, p->t[i].tid, NULL, 0);
    p->t[i].trap_pending = 1;
}

/* Wait until no thread is left that may still stop (interrupted, or new),
 * polling for the first SPIN_NS. Returns 0, -ESRCH (process gone) or
 * another negative errno. */
static int wait_stops(struct ptctl *p, uint64_t spin_ns)
{
    uint64_t until = spin_ns ? clock_mono_ns() + spin_ns : 0;
    while (until) {
        int pending = 0;
        for (size_t i = 0; i < p->n && !p->gone; i++) {
            if (!thr_waitable(&p->t[i]))
                continue;
            int r = reap_nohang(p, i);
            if (r < 0)
                return r;
            pending |= thr_waitable(&p->t[i]);
        }
        if (p->gone)
            return -ESRCH;
        if (!pending || clock_mono_ns() >= until)
            break;
    }
    for (;;) {
        int pending = 0;

        /* p->n does not grow here (threads are adopted between rounds of
         * waiting, see stop_all). */
        for (size_t i = 0; i < p->n && !p->gone; i++) {
            if (p->t[i].tid == p->pid || !thr_waitable(&p->t[i]))
                continue;
            int r = wait_one(p, i);
            if (r < 0)
                return r;
        }
        if (p->gone)
            return -ESRCH;
        long li = thr_find(p, p->pid);
        if (li >= 0 && thr_waitable(&p->t[li])) {
            int r = wait_leader(p, (size_t)li);
            if (r < 0)
                return r;
        }
        if (p->gone)
            return -ESRCH;
        for (size_t i = 0; i < p->n; i++)
            pending |= thr_waitable(&p->t[i]);
        if (!pending)
            break;
    }
    if (!any_live(p))
        return finish_exit(p);
    return 0;
}

/* Whether to poll for the stops just asked for rather than sleep until
 * they are signalled: only when few threads were interrupted, every one
 * last seen running on a CPU other than ours. Polling a thread that needs
 * our CPU to reach its stop would only hold it up. */
static int spin_worth_it(const struct ptctl *p)
{
    int mine = sched_getcpu(), n = 0;

    /* Without the looks of looks_asleep, CPUs are unknown. */
    if (mine < 0 || p->no_sleep_proof)
        return 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->t[i].st != TH_RUNNING)
            continue;
        if (++n > SPIN_MAX_THREADS || p->t[i].cpu < 0 || p->t[i].cpu == mine)
            return 0;
    }
    return n > 0;
}

/* Bring every thread into a ptrace-stop, or with LET_SLEEP, leave those
 * that are asleep in the kernel as they are (TH_ASLEEP). Returns 0,
 * -ESRCH (process gone) or another negative errno with some threads
 * possibly still stopped. */
static int stop_all(struct ptctl *p, int let_sleep)
{
    /* Stops that happened since the last poll are stops already; taking
     * them first also avoids interrupting a thread that is already stopped,
     * which would queue a second stop for after the resume. */
    int r = p->drained && wait_chld(p, 0) == 0 ? 0 : drain(p, 0);
    if (r < 0)
        return r;
    p->drained = 0;
    if (let_sleep)
        adopt_new(p);

    /* A thread held in D since an earlier pause is held still, or it is
     * on its way to the stop it owes us: wait for that, without a second
     * interrupt. */
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].st == TH_TRAPPING && thr_state_char(p, i) != 'D')
            p->t[i].st = TH_RUNNING;

    p->t0 = 0;
    for (size_t i = 0; i < p->n && !p->t0; i++)
        if (p->t[i].st == TH_STOPPED)
            p->t0 = clock_mono_ns();
    int proofs = let_sleep && !p->proofs_off;
    if (let_sleep && p->proofs_off)
        p->proofs_off--;
    /* Every look before the first interrupt: looking is not holding. */
    if (proofs && !p->no_sleep_proof)
        for (size_t i = 0; i < p->n && !p->no_sleep_proof; i++)
            if (p->t[i].st == TH_RUNNING && !p->t[i].trap_pending && looks_asleep(p, i))
                p->t[i].st = TH_ASLEEP;
    if (p->no_sleep_proof)
        for (size_t i = 0; i < p->n; i++)
            if (p->t[i].st == TH_ASLEEP)
                p->t[i].st = TH_RUNNING;
    interrupt_running(p);
    r = wait_stops(p, spin_worth_it(p) ? SPIN_NS : 0);
    /* Threads the stopped ones started before they stopped: stop them too
     * (a few rounds at most: only threads not yet stopped can start more). */
    for (int round = 0; r == 0 && let_sleep && round < ADOPT_ROUNDS && adopt_new(p) > 0; round++) {
        interrupt_running(p);
        r = wait_stops(p, 0);
    }
    return r;
}

static void interrupt_running(struct ptctl *p)
{
    /* Leader first: it is waited for last and is most often the thread
     * that runs Python. */
    long li = thr_find(p, p->pid);
    if (li >= 0 && p->t[li].st == TH_RUNNING && !p->t[li].trap_pending)
        interrupt(p, (size_t)li);
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].st == TH_RUNNING && p->t[i].tid != p->pid && !p->t[i].trap_pending)
            interrupt(p, i);
}

static int note_woken(struct ptctl *p, pid_t tid)
{
    if (p->nwoke == p->cap_woke) {
        size_t ncap = p->cap_woke ? p->cap_woke * 2 : 16;
        pid_t *nw = realloc(p->woke, ncap * sizeof *nw);
        if (nw == NULL)
            return -ENOMEM;
        p->woke = nw;
        p->cap_woke = ncap;
    }
    p->woke[p->nwoke++] = tid;
    return 0;
}

/* Stop the threads left asleep that ran since (all of them with ALL), and
 * list them in p->woke. Returns how many were stopped, or a negative errno
 * as stop_all. */
static int stop_woken(struct ptctl *p, int all)
{
    int n = 0, tried = 0;

    p->nwoke = 0;
    for (size_t i = 0; i < p->n; i++) {
        struct thr *t = &p->t[i];
        if (t->st != TH_ASLEEP)
            continue;
        tried++;
        if (!all && stayed_asleep(t)) {
            t->ran = t->ran > RAN_STEP ? t->ran - RAN_STEP : 0;
            continue;
        }
        if (!all)
            t->ran = t->ran + RAN_STEP > RAN_MAX ? RAN_MAX : t->ran + RAN_STEP;
        t->proven = 0;
        t->st = TH_RUNNING;
        if (note_woken(p, t->tid) < 0)
            return -ENOMEM;
        n++;
        /* It may have entered a stop by itself (a signal): take that stop
         * rather than queue a second one. */
        int r = reap_nohang(p, i);
        if (r < 0)
            return r;
        if (r == 0)
            interrupt(p, i);
    }
    if (!all && tried >= PROOFS_MIN_TRIED) {
        p->proofs_futile = 10 * n >= 9 * tried ? p->proofs_futile + 1 : 0;
        if (p->proofs_futile >= PROOFS_FUTILE_RUN) {
            p->proofs_off = PROOFS_OFF_PASSES;
            p->proofs_futile = 0;
        }
    }
    if (n == 0)
        return 0;
    int r = wait_stops(p, 0);
    /* A thread that ran may have started others meanwhile, untraced: they
     * are stopped and read again with it. */
    for (int round = 0; r == 0 && round < ADOPT_ROUNDS; round++) {
        size_t first = p->n;
        if (adopt_new(p) == 0)
            break;
        for (size_t i = first; i < p->n; i++) {
            if (note_woken(p, p->t[i].tid) < 0)
                return -ENOMEM;
            n++;
        }
        interrupt_running(p);
        r = wait_stops(p, 0);
    }
    return r < 0 ? r : n;
}

/* Resume every stopped thread, and end the hold. Returns 0, or -ESRCH if
 * none could be resumed because all were killed meanwhile. */
static int resume_stopped(struct ptctl *p)
{
    size_t tried = 0, ok = 0;

    for (size_t i = 0; i < p->n; i++) {
        if (p->t[i].st != TH_STOPPED)
            continue;
        tried++;
        if (resume_one(p, i) == 0)
            ok++;
    }
    p->n_stopped += tried;
    if (p->t0)
        p->held_ns += clock_mono_ns() - p->t0;
    p->t0 = 0;
    return tried > 0 && ok == 0 ? -ESRCH : 0;
}

/* End the pause: resume every stopped thread; threads left asleep or let
 * go simply run on. Returns as resume_stopped. */
static int resume_all(struct ptctl *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->t[i].st == TH_ASLEEP)
            p->n_asleep++;
        if (p->t[i].st == TH_ASLEEP || p->t[i].st == TH_LOOSE)
            p->t[i].st = TH_RUNNING;
    }
    int r = resume_stopped(p);
    p->pause_ns = p->held_ns;
    p->held_ns = 0;
    p->paused = 0;
    return r;
}

/* ------------------------------------------------------------------ */
/* public                                                              */

static int report_gone(const struct ptctl *p, int *exit_status)
{
    if (exit_status != NULL)
        *exit_status = p->exit_status;
    return -ESRCH;
}

/* The end of a call that stopped threads, with R its result so far: a
 * thread that ran another program meanwhile makes it -ENOEXEC; on failure
 * resume what is stopped; forget the threads that exited. Returns R, or
 * -ESRCH (with *EXIT_STATUS) when the process is gone. */
static int after_stopping(struct ptctl *p, int r, int *exit_status)
{
    if (r >= 0 && p->execd)
        r = -ENOEXEC;
    if (r < 0 && !p->gone)
        resume_all(p);
    thr_compact(p);
    return p->gone ? report_gone(p, exit_status) : r;
}

int ptctl_pause(struct ptctl *p, int *exit_status)
{
    if (p == NULL)
        return -EINVAL;
    if (p->gone)
        return report_gone(p, exit_status);
    if (p->paused)
        return 0;
    if (p->execd)
        return -ENOEXEC;
    int r = after_stopping(p, stop_all(p, 1), exit_status);
    if (r < 0)
        return r;
    p->paused = 1;
    return 0;
}

/* 1 when P is within a pause, 0 when not, or -EINVAL / -ESRCH. */
static int pause_state(const struct ptctl *p)
{
    if (p == NULL)
        return -EINVAL;
    if (p->gone)
        return -ESRCH;
    return p->paused;
}

int ptctl_release(struct ptctl *p)
{
    int in = pause_state(p);
    if (in <= 0)
        return in;
    /* Within a pause every thread is stopped, asleep or let go already, so
     * the threads resume_stopped sets running are exactly those let go. */
    int r = resume_stopped(p);
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].st == TH_RUNNING)
            p->t[i].st = TH_LOOSE;
    return r;
}

const pid_t *ptctl_woken(const struct ptctl *p, size_t *n)
{
    *n = p ? p->nwoke : 0;
    return p ? p->woke : NULL;
}

int ptctl_settle(struct ptctl *p, int stop_all_now, int *exit_status)
{
    if (p == NULL)
        return -EINVAL;
    if (p->gone)
        return report_gone(p, exit_status);
    if (!p->paused)
        return 0;
    int r = after_stopping(p, stop_woken(p, stop_all_now), exit_status);
    if (r < 0)
        return r;
    if (!stop_all_now)
        p->n_woke += (uint64_t)r;
    return r;
}

int ptctl_resume(struct ptctl *p)
{
    int in = pause_state(p);
    return in <= 0 ? in : resume_all(p);
}

int ptctl_poll(struct ptctl *p, int *exit_status)
{
    if (p == NULL)
        return -EINVAL;
    if (p->gone)
        return report_gone(p, exit_status);
    /* While paused every thread is stopped and cannot report anything. */
    if (p->paused)
        return 0;
    int r = drain(p, 1);
    thr_compact(p);
    if (p->gone)
        return report_gone(p, exit_status);
    return r;
}

int ptctl_wait(struct ptctl *p, uint64_t until_ns, int *exit_status)
{
    if (p == NULL)
        return -EINVAL;
    for (;;) {
        /* Drain until a round finds nothing: SIGCHLD does not queue, so
         * one may stand for several reports. When drained already and
         * nothing came since, no waitpid round. */
        uint64_t now;
        while (!p->drained) {
            int r = ptctl_poll(p, exit_status);
            if (r < 0)
                return r;
            if ((now = clock_mono_ns()) >= until_ns)
                return 0;
        }
        now = clock_mono_ns();
        if (now >= until_ns)
            return 0;
        if (wait_chld(p, until_ns - now) < 0)
            return -EINTR;
    }
}

int ptctl_stopped(const struct ptctl *p)
{
    int live = 0;

    if (p == NULL || p->gone)
        return 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->t[i].st == TH_GONE || p->t[i].st == TH_ZOMBIE)
            continue;
        if (!p->t[i].jobstop)
            return 0;
        live++;
    }
    return live > 0;
}

uint64_t ptctl_pause_ns(const struct ptctl *p)
{
    return p ? p->pause_ns : 0;
}

void ptctl_set_sleep_proofs(struct ptctl *p, int on)
{
    if (p)
        p->no_sleep_proof = !on;
}

void ptctl_counts(const struct ptctl *p, uint64_t *stopped, uint64_t *asleep, uint64_t *woke)
{
    *stopped = p ? p->n_stopped : 0;
    *asleep = p ? p->n_asleep : 0;
    *woke = p ? p->n_woke : 0;
}

size_t ptctl_threads(const struct ptctl *p, pid_t *out, size_t max)
{
    size_t k = 0;

    if (p == NULL)
        return 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->t[i].st == TH_GONE || p->t[i].st == TH_ZOMBIE)
            continue;
        if (k < max && out != NULL)
            out[k] = p->t[i].tid;
        k++;
    }
    return k;
}

/* Threads held in uninterruptible sleep can be detached only once they
 * stop, when that sleep ends. The others are already detached and run:
 * wait for these a moment (a signal for us ends the wait); any left stay
 * attached, with nothing to do but stop at its end, until this process
 * exits and the kernel detaches them. */
static void detach_trapping(struct ptctl *p)
{
    uint64_t until = clock_mono_ns() + detach_trapping_ns;

    for (;;) {
        int left = 0;
        for (size_t i = 0; i < p->n; i++) {
            if (p->t[i].st != TH_TRAPPING)
                continue;
            int status;
            pid_t w = wait_tid(p->t[i].tid, &status, WNOHANG);
            if (w == p->t[i].tid && WIFSTOPPED(status)) {
                int sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
                pt(PTRACE_DETACH, p->t[i].tid, NULL, sig);
                p->t[i].st = TH_GONE;
            } else if (w != 0) {
                p->t[i].st = TH_GONE;   /* exited, or no longer ours */
            } else {
                left++;
            }
        }
        uint64_t now = clock_mono_ns();
        if (left == 0 || now >= until || wait_chld(p, until - now) < 0)
            return;
    }
}

void ptctl_detach(struct ptctl *p)
{
    if (p == NULL)
        return;
    if (!p->gone) {
        /* PTRACE_DETACH only works on a stopped tracee, and a running one
         * may be about to stop on an event nobody would end. A failed stop
         * still detaches whatever did stop; the rest stays attached until
         * this process exits, when the kernel lets them go. */
        if (p->paused) {
            /* Threads left asleep or let go run: stop them like the rest. */
            for (size_t i = 0; i < p->n; i++)
                if (p->t[i].st == TH_ASLEEP || p->t[i].st == TH_LOOSE)
                    p->t[i].st = TH_RUNNING;
            p->paused = 0;
        }
        stop_all(p, 0);
        for (size_t i = 0; i < p->n; i++)
            if (p->t[i].st == TH_STOPPED)
                pt(PTRACE_DETACH, p->t[i].tid, NULL, p->t[i].sig);
        detach_trapping(p);
    }
    for (size_t i = 0; i < p->n; i++)
        thr_close(p, &p->t[i]);
    free(p->woke);
    proc_statfd_close(p->leader_stat);
    if (p->taskdir >= 0)
        close(p->taskdir);
    pthread_sigmask(SIG_SETMASK, &p->old_mask, NULL);
    free(p->t);
    free(p);
}

/* ------------------------------------------------------------------ */
/* attaching                                                           */

static void set_err(int *errnum, int e, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void set_err(int *errnum, int e, char *err, size_t errlen, const char *fmt, ...)
{
    if (errnum != NULL)
        *errnum = -e;
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
}

/* kernel.yama.ptrace_scope, or -1 when Yama is not built in. */
static int yama_scope(void)
{
    int v = -1;
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%d", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

/* " (name)" of process PID into BUF, or "" if unknown. */
static void comm_of(pid_t pid, char *buf, size_t len)
{
    struct proc_stat st;
    struct proc_statfd *s = proc_statfd_open(pid, pid);

    buf[0] = '\0';
    if (s != NULL && proc_statfd_read(s, &st) == 0)
        snprintf(buf, len, " (%s)", st.comm);
    proc_statfd_close(s);
}

/* Explain EPERM from PTRACE_SEIZE of thread TID of PID. */
static void explain_eperm(pid_t pid, pid_t tid, int *errnum, char *err, size_t errlen)
{
    long tracer = 0;
    char who[32] = "";
    char name[80];

    if (tid != pid)
        snprintf(who, sizeof who, "thread %d of ", (int)tid);
    /* An exited thread refuses to be seized with EPERM too. */
    struct proc_statfd *sf = proc_statfd_open(pid, tid);
    struct proc_stat st;
    int dead = sf != NULL && proc_statfd_read(sf, &st) == 0 && st.state == 'Z';
    proc_statfd_close(sf);
    if (dead) {
        set_err(errnum, EPERM, err, errlen, "cannot attach to %sPID %d: %s has exited", who, (int)pid,
                tid == pid ? "it" : "the thread");
        return;
    }
    if (proc_status_int(pid, tid == pid ? 0 : tid, "TracerPid:", &tracer) == 0 && tracer > 0) {
        comm_of((pid_t)tracer, name, sizeof name);
        set_err(errnum, EPERM, err, errlen, "cannot attach to %sPID %d: already traced by PID %ld%s%s",
                who, (int)pid, tracer, name, tracer == gettid() ? ", this profiler" : "");
        return;
    }
    int scope = yama_scope();
    if (scope >= 3)
        set_err(errnum, EPERM, err, errlen,
                "cannot attach to %sPID %d: operation not permitted (kernel.yama.ptrace_scope=3 "
                "forbids ptrace until reboot)", who, (int)pid);
    else if (scope >= 0)
        set_err(errnum, EPERM, err, errlen,
                "cannot attach to %sPID %d: operation not permitted (need CAP_SYS_PTRACE or "
                "kernel.yama.ptrace_scope=0, it is %d; try sudo; " PROC_CONTAINER_HINT ")", who, (int)pid, scope);
    else
        set_err(errnum, EPERM, err, errlen,
                "cannot attach to %sPID %d: operation not permitted (need CAP_SYS_PTRACE or the "
                "target's user id; try sudo; " PROC_CONTAINER_HINT ")", who, (int)pid);
}

/* Seize thread TID. Returns 1 if it joined the set, 0 if it is to be
 * skipped (exited), or a negative errno with ERR filled. */
static int seize_one(struct ptctl *p, pid_t tid, int *errnum, char *err, size_t errlen)
{
    long tracer;

    if (pt(PTRACE_SEIZE, tid, NULL, PTRACE_O_TRACEEXEC) == 0) {
        if (thr_add(p, tid, TH_RUNNING) == 0)
            return 1;
        /* Cannot track it, so it must not stay attached. */
        pt(PTRACE_INTERRUPT, tid, NULL, 0);
        release_untracked(tid);
        set_err(errnum, ENOMEM, err, errlen, "cannot attach to PID %d: out of memory", (int)p->pid);
        return -ENOMEM;
    }
    int e = errno;
    if (e == ESRCH && tid != p->pid)
        return 0;   /* the thread exited meanwhile */
    if (e == ESRCH) {
        set_err(errnum, ESRCH, err, errlen, "no process with PID %d", (int)p->pid);
        return -ESRCH;
    }
    if (e == EPERM && tid != p->pid) {
        int r = proc_status_int(p->pid, tid, "TracerPid:", &tracer);
        /* Created by a thread we had already seized: the kernel attached
         * it to us and it waits in its first stop. */
        if (r == 0 && tracer == gettid())
            return thr_add(p, tid, TH_NEW) == 0 ? 1 : -ENOMEM;
        /* Gone, or exiting (an exiting thread refuses to be seized). */
        if (r == -ESRCH || (r == 0 && tracer == 0))
            return 0;
    }
    /* A main thread that called pthread_exit is a zombie, which cannot be
     * seized; the live threads hold the process, and their exits tell of
     * its end. */
    if (e == EPERM && tid == p->pid && leader_is_zombie(p) && proc_exists(p->pid)) {
        p->leader_exited = 1;
        return 0;
    }
    if (e == EPERM) {
        explain_eperm(p->pid, tid, errnum, err, errlen);
        return -EPERM;
    }
    set_err(errnum, e, err, errlen, "cannot attach to PID %d: %s", (int)p->pid, strerror(e));
    return -e;
}

struct ptctl *ptctl_attach(pid_t pid, int *errnum, char *err, size_t errlen)
{
    long tgid;
    int dummy;

    if (errnum == NULL)
        errnum = &dummy;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    int r = pid > 0 ? proc_status_int(pid, 0, "Tgid:", &tgid) : -ESRCH;
    if (r == -ESRCH) {
        set_err(errnum, ESRCH, err, errlen, "no process with PID %d", (int)pid);
        return NULL;
    }
    if (r == 0 && tgid != pid) {
        set_err(errnum, EINVAL, err, errlen, "PID %d is a thread of process %ld; attach to %ld instead",
                (int)pid, tgid, tgid);
        return NULL;
    }
    if (pid == getpid()) {
        set_err(errnum, EPERM, err, errlen, "cannot attach to PID %d: that is this profiler", (int)pid);
        return NULL;
    }
    if (!proc_exists(pid)) {
        set_err(errnum, ESRCH, err, errlen, "no process with PID %d (it has exited)", (int)pid);
        return NULL;
    }

    struct ptctl *p = calloc(1, sizeof *p);
    if (p == NULL) {
        set_err(errnum, ENOMEM, err, errlen, "cannot attach to PID %d: out of memory", (int)pid);
        return NULL;
    }
    p->pid = pid;
    p->exit_status = -1;
    p->fd_budget = proc_fd_budget(FD_SHARE);
    p->leader_stat = proc_statfd_open(pid, pid);
    p->taskdir = proc_taskdir_open(pid);
    /* Queue SIGCHLD (ignored by default, so otherwise dropped) for wait_leader. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, &p->old_mask);

    /* Threads created while we attach show up in the next listing (or are
     * adopted by the first pause); list again until a pass finds nothing
     * new. The leader goes first so
     * that an ESRCH or EPERM is about the process, not some thread. */
    for (;;) {
        struct proc_tasks tl;
        int added = 0;

        r = proc_tasks_list(pid, &tl);
        if (r == -ESRCH && p->n > 0)
            break;  /* exited while we attached; the first pause reports it */
        if (r < 0) {
            if (r == -ESRCH)
                set_err(errnum, ESRCH, err, errlen, "no process with PID %d", (int)pid);
            else
                set_err(errnum, -r, err, errlen, "cannot list threads of PID %d: %s", (int)pid,
                        strerror(-r));
            goto fail;
        }
        for (int pass = 0; pass < 2 && r >= 0; pass++) {
            for (size_t j = 0; j < tl.n; j++) {
                pid_t tid = tl.tid[j];
                if ((pass == 0) != (tid == pid) || thr_find(p, tid) >= 0)
                    continue;
                r = seize_one(p, tid, errnum, err, errlen);
                if (r < 0)
                    break;
                added += r;
            }
        }
        proc_tasks_free(&tl);
        if (r < 0)
            goto fail;
        if (p->leader_exited ? p->n == 0 : thr_find(p, pid) < 0) {
            set_err(errnum, ESRCH, err, errlen, "no process with PID %d", (int)pid);
            goto fail;
        }
        if (added == 0)
            break;
    }
    /* Stops that came during the attach (signals, group-stop): pass them
     * on. An exit seen here is reported by the first ptctl_pause or
     * ptctl_poll. */
    r = drain(p, 1);
    if (r < 0 && r != -ESRCH) {
        set_err(errnum, -r, err, errlen, "cannot attach to PID %d: %s", (int)pid, strerror(-r));
        goto fail;
    }
    thr_compact(p);
    return p;

fail:
    ptctl_detach(p);
    return NULL;
}
