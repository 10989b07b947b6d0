/*
 * sampler — the sampling loop: a steady, jittered timer against an
 * absolute schedule; per tick, pause the target (blocking mode), read every
 * thread, resume, and hand the sample to the caller. Counts errors and lag.
 */
#ifndef GILSCOPE_SAMPLER_H
#define GILSCOPE_SAMPLER_H

#include <signal.h>
#include <stdint.h>

#include "family.h"
#include "nativemerge.h"
#include "pywalk.h"
#include "strtab.h"
#include "target.h"
#include "threadinfo.h"

struct sampler_stats;

/* What the loop has to tell its user as it happens. The library prints
 * nothing: the caller decides what to show and where. */
enum sampler_note {
    /* The target was found stopped by job control (SIGSTOP …): it is left
     * stopped and its threads are all shown idle. Once per run. */
    SAMPLER_NOTE_STOPPED,
    /* --subprocesses: more than FAMILY_MAX Python subprocesses; only
     * FAMILY_MAX are followed. At each scan that finds more. */
    SAMPLER_NOTE_CAPPED,
    /* After this process was stopped (Ctrl-Z) and continued, the target
     * could not be held again for another reason than its exit: DETAIL
     * says why; the loop ends, and what was recorded stands. */
    SAMPLER_NOTE_REATTACH_FAILED,
    /* sampler_run, about every SAMPLER_PROGRESS_NS after a pass: for a
     * status line. */
    SAMPLER_NOTE_PROGRESS,
    /* sampler_run has ended (the target is let go): STATS is final. */
    SAMPLER_NOTE_END,
};

#define SAMPLER_PROGRESS_NS 250000000ull

/* What goes with a note besides the statistics. */
struct sampler_notice {
    pid_t pid;              /* the target */
    const char *detail;     /* SAMPLER_NOTE_REATTACH_FAILED: the reason; else NULL */
    uint64_t now_ns;        /* CLOCK_MONOTONIC when it was said */
    uint64_t lag_ns;        /* how late the last pass started */
    uint64_t step_ns;       /* time between ticks now: the interval, or more while passes take longer */
    uint64_t interval_ns;   /* the requested interval */
};

/* Receives the notes of a sampler run (CTX: struct sampler_config's
 * note_ctx). STATS and N are valid for the call only. */
typedef void (*sampler_note_fn)(void *ctx, enum sampler_note what, const struct sampler_stats *stats,
                                const struct sampler_notice *n);

struct sampler_config {
    double rate_hz;         /* samples per second */
    double duration_s;      /* stop after this long; 0 = until the target exits or *stop */
    int nonblocking;        /* never pause the target */
    /* Job control (Ctrl-Z), or NULL: see cli_suspend_flag. While the
     * target is held with ptrace the sampler keeps it at 0; a signal
     * handler sets it to 1 to ask that the target be let go (detached) and
     * this process stopped (SIGSTOP); on SIGCONT sampling goes on,
     * attached again. Outside that it is -1, and the handler stops the
     * process itself. */
    volatile sig_atomic_t *suspend;
    /* --native, or NULL: each thread's C frames merged around its Python
     * ones while it is stopped. Blocking mode only; every thread is then
     * stopped at each pass, sleeping ones too (a sleeping thread's
     * registers cannot be read otherwise). */
    struct nativemerge *native;
    /* --subprocesses, or NULL: the target's Python descendants, looked for
     * at the start and every SAMPLER_FAMILY_SCAN_NS, each read in the same
     * passes after the target (in blocking mode each held while read, as
     * the target is), their threads added to the same samples. A member
     * that exits or runs another program is dropped; the target's own
     * exit still ends the loop. In blocking mode their ptrace events are
     * passed on at their next pass, not at once as the target's are. */
    struct family *family;
    /* A nice value to sample at (negative: a higher priority), 0 to leave
     * the priority alone. Taken for the loop (this thread only) and given
     * back at its end; when not allowed, STATS->nice_error says why and
     * sampling goes on. */
    int nice;
    /* Blocking mode: stop every thread at each pass, sleeping ones too,
     * instead of leaving those asleep in the kernel running (see
     * ptctl_set_sleep_proofs; README, Performance). */
    int stop_all;
    /* Told what happens (see enum sampler_note), or NULL. */
    sampler_note_fn note;
    void *note_ctx;
};

#define SAMPLER_FAMILY_SCAN_NS 1000000000ull

struct sampler_stats {
    uint64_t passes;            /* sampling passes made */
    uint64_t thread_samples;    /* threads read successfully */
    uint64_t errors;            /* threads (or whole passes) that could not be read */
    uint64_t errors_by[PYWALK_ERR_COUNT]; /* by reason */
    uint64_t late;              /* scheduled samples skipped because we fell behind */
    uint64_t max_lag_ns;        /* worst lateness of a pass */
    uint64_t pause_ns;          /* total time the target was held paused */
    uint64_t stopped;           /* blocking: thread stops made */
    uint64_t asleep;            /* blocking: threads left asleep through a pass, not stopped */
    uint64_t woke;              /* blocking: of those, found to have run; stopped and read again */
    uint64_t start_ns, end_ns;  /* CLOCK_MONOTONIC of the first and last pass */
    uint64_t stop_ns;           /* CLOCK_MONOTONIC when sampling ended (the real duration
                                   is stop_ns - start_ns, whatever the rate) */
    uint64_t first_ns;          /* CLOCK_MONOTONIC when the first pass ended, 0 if none did */
    uint64_t spin_ns;           /* CPU time spent spinning on the clock for waits too short
                                   to sleep (waiting, not sampling) */
    int target_stopped;         /* the target was seen stopped (SIGSTOP …), and said so */
    int target_exited;          /* the loop ended because the target exited */
    int target_execd;           /* the loop ended because the target ran another program
                                   (exec): the interpreter read so far is gone */
    int nice_error;             /* errno when struct sampler_config's nice could not be taken, else 0 */
};

/* Receives each sample; return non-zero to stop the loop. */
typedef int (*sampler_fn)(void *ctx, struct sample *s);

/* sampler_run — sample T (walked by W, thread facts from TI) until the
 * duration passes, the target exits or runs another program (exec: see
 * STATS->target_execd) or *STOP becomes non-zero.
 * Blocking mode attaches with ptrace first and always detaches before
 * returning. Returns 0 (including when the target exited: see
 * STATS->target_exited), or a negative errno with a one-line reason in ERR
 * when sampling could not start (e.g. ptrace refused). STATS is brought up
 * to date before each call of FN, which may read it (live views do). */
int sampler_run(struct target *t, struct pywalk *w, struct threadinfo *ti,
                const struct sampler_config *cfg, volatile sig_atomic_t *stop,
                sampler_fn fn, void *ctx, struct sampler_stats *stats, char *err, size_t errlen);

/* sampler_once — one pass into S, for `dump`, as CFG says (its mode,
 * suspend flag and native merger; rate and duration are not used).
 * Returns the number of threads read, or negative errno with ERR set. */
int sampler_once(struct target *t, struct pywalk *w, struct threadinfo *ti, const struct sampler_config *cfg,
                 struct sample *s, struct sampler_stats *stats, char *err, size_t errlen);

/* sampler_frozen — one pass into S over a target that cannot change and
 * is no process (a core file: W reads it through a proc_mem with a source,
 * TI was made with pid 0): nothing to attach to, pause or re-read. With
 * NATIVE (a merger of the core, else NULL) the C stacks are merged in, and
 * the threads among TIDS (NTIDS: the core's) that ran no Python added.
 * Returns the number of threads read, or -EIO with ERR set when the
 * thread list or every stack was unreadable. */
int sampler_frozen(struct pywalk *w, struct threadinfo *ti, struct nativemerge *native, const pid_t *tids,
                   size_t ntids, struct sample *s, struct sampler_stats *stats, char *err, size_t errlen);

#endif
