/* threadinfo — see include/threadinfo.h. */
#include "threadinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "clock.h"
#include "gilwait.h"
#include "hashtab.h"
#include "proc.h"

#define NAME_RETRY_NS 200000000ull     /* look again for names not found, at most this often */
#define NAME_REFRESH_NS 2000000000ull  /* re-read every name this often: threads can be renamed */

/*
 * A state read costs a system call per thread (several µs where system
 * calls are dear), so a state is re-read only when it may have changed:
 *  - a running thread at most every STATE_TTL_RUNNING_NS: at rates up to
 *    1 kHz that is every pass, above it a state is at most that old;
 *  - an idle thread as soon as its Python stack differs from when it was
 *    read (it has run since), else every STATE_TTL_IDLE_NS, for a thread
 *    that went on waiting or computing inside one C call.
 */
#define STATE_TTL_RUNNING_NS 1000000ull
#define STATE_TTL_IDLE_NS 200000000ull
#define GIL_RETRY_NS 100000000ull      /* look again for a GIL not found, at most this often */
#define STOP_CHECK_NS 100000000ull     /* read stat files for a stopped target at most this often */

/* Descriptors kept open for state reads: at most a quarter of the
 * open-files limit (ptrace_ctl keeps some of its own per thread); threads
 * past the budget open, read and close each time. A state that still
 * cannot be read is unknown, and counted. */
#define FD_SHARE 4

struct tinfo {
    pid_t tid;
    struct proc_syscallfd *sfd; /* syscall, kept open between samples */
    char state;                 /* 'R' running, 'S'/'D' in the kernel, 'T' stopped, 0 = unknown */
    uint64_t futex;             /* with 'S': the futex it is in futex() on, 0 if not in futex() */
    int futex_wake;             /* that call wakes others (a release), not waits */
    uint64_t state_ns;          /* when STATE was read (CLOCK_MONOTONIC), 0 = never */
    uint64_t state_fp;          /* fingerprint of the thread's stack when it was read */
    int state_gil;              /* whether it held the GIL then */
    uint64_t gil_seen_ns;       /* when it was last seen holding or waiting for the GIL, 0 = never */
    uint32_t os_name;           /* strtab id of comm */
    uint64_t ident;             /* Python thread ident last seen with this tid */
    uint32_t py_name;           /* strtab id, STRTAB_NONE = unknown */
    int name_tried;             /* a lookup has been made since the thread appeared */
    uint64_t generation;        /* last pass that saw it */
};

/* A thread on CPU without the GIL that may be waiting for it: its place
 * in the sample, and when it was last seen with the GIL or waiting. */
struct sem_cand {
    uint64_t seen_ns;
    size_t i;
};

struct threadinfo {
    pid_t pid;
    struct strtab *st;
    threadinfo_names_fn names;
    void *names_ctx;
    struct tinfo *v;            /* sorted by tid */
    size_t n, cap;
    uint64_t generation;
    uint64_t names_at_ns;       /* when names were last looked up */
    size_t fds, fd_budget;      /* descriptors kept open, and how many may be */
    uint64_t unknown;           /* thread samples whose state could not be read */
    int precise;                /* read every state every pass */
    struct proc_mem *m;         /* with PI: where to look for the GIL, NULL = nowhere */
    const struct pyinterp *pi;
    struct gilwait gil;         /* where GIL waiters sleep (gil.n == 0: not known yet) */
    uint64_t gil_tried_ns;      /* when it was last looked for */
    pid_t named_holder;         /* the thread the holder word named at the last pass, 0 if none */
    int sem_read;               /* sem_waiters was read for this pass */
    uint32_t sem_waiters;       /* threads inside the GIL semaphore's sem_wait (see gilwait.h) */
    struct sem_cand *cand;      /* sem_waiters_wait's scratch, reused */
    size_t cand_cap;
    int stopped;                /* threadinfo_all_stopped's last answer */
    uint64_t stop_checked_ns;   /* when it last read the stat files */
};

struct threadinfo *threadinfo_new(pid_t pid, struct strtab *st, threadinfo_names_fn names, void *ctx)
{
    struct threadinfo *ti = calloc(1, sizeof *ti);
    if (!ti)
        return NULL;
    ti->pid = pid;
    ti->st = st;
    ti->names = names;
    ti->names_ctx = ctx;
    ti->fd_budget = proc_fd_budget(FD_SHARE);
    return ti;
}

void threadinfo_free(struct threadinfo *ti)
{
    if (!ti)
        return;
    for (size_t i = 0; i < ti->n; i++)
        proc_syscallfd_close(ti->v[i].sfd);
    free(ti->v);
    free(ti->cand);
    free(ti);
}

static struct tinfo *find(struct threadinfo *ti, pid_t tid, int add);

void threadinfo_os_name(struct threadinfo *ti, pid_t tid, const char *name)
{
    struct tinfo *t = find(ti, tid, 1);
    if (t)
        t->os_name = strtab_intern(ti->st, name, strlen(name));
}

void threadinfo_set_precise(struct threadinfo *ti, int precise)
{
    ti->precise = precise;
}

void threadinfo_watch_gil(struct threadinfo *ti, struct proc_mem *m, const struct pyinterp *pi)
{
    ti->m = m;
    ti->pi = pi;
}

const struct gilwait *threadinfo_gil(const struct threadinfo *ti)
{
    return ti->gil.n > 0 ? &ti->gil : NULL;
}

/* Find the GIL's address once it exists: 2.7 allocates its lock when the
 * first thread starts, and a state read too early may not point to it yet. */
static void find_gil(struct threadinfo *ti)
{
    if (!ti->pi || ti->gil.n > 0)
        return;
    uint64_t now = clock_mono_ns();
    if (ti->gil_tried_ns && now - ti->gil_tried_ns < GIL_RETRY_NS)
        return;
    ti->gil_tried_ns = now;
    uint64_t interp = 0;
    if (ti->pi->interp_head_addr && proc_mem_read(ti->m, ti->pi->interp_head_addr, &interp, 8) != 0)
        interp = 0;
    gilwait_locate(&ti->gil, ti->m, ti->pi, interp);
}

/* A fingerprint of thread I's stack in S: functions and lines. */
static uint64_t stack_fp(const struct sample *s, size_t i)
{
    const struct frame *f = sample_thread_frames(s, i);
    uint64_t h = s->threads[i].nframes;
    for (uint32_t k = 0; k < s->threads[i].nframes; k++)
        h = hashtab_mix64(h, (uint64_t)f[k].name << 32 | (uint32_t)f[k].line);
    return h;
}

/* Whether T's state, read at t->state_ns with the stack then
 * t->state_fp, must be read again now (NOW), thread I of S. Stores the
 * stack's fingerprint in *FP when it is due (it is computed only when needed).
 * A thread that took or gave up the GIL since has run, whatever its stack
 * shows (a loop stays on one line while it waits for the GIL and then runs). */
static int state_due(const struct tinfo *t, int ti_precise, const struct sample *s, size_t i, uint64_t now,
                     uint64_t *fp)
{
    int due;
    int gil = (s->threads[i].flags & SAMPLE_GIL) != 0;
    if (ti_precise || t->state == 0 || t->state_ns == 0 || gil != t->state_gil)
        due = 1;
    else if (t->state == 'R')
        due = now - t->state_ns >= STATE_TTL_RUNNING_NS;
    else if (now - t->state_ns >= STATE_TTL_IDLE_NS)
        due = 1;
    else
        return (*fp = stack_fp(s, i)) != t->state_fp;
    if (due)
        *fp = stack_fp(s, i);
    return due;
}

/* Whether the futex operation OP wakes (FUTEX_WAKE, _WAKE_OP,
 * _WAKE_BITSET, the requeues, _UNLOCK_PI) rather than waits. */
static int futex_wakes(uint64_t op)
{
    switch (op & 0x7f) {    /* without FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME */
    case 1: case 3: case 4: case 5: case 7: case 10: return 1;
    default: return 0;
    }
}

/* The stat file: the state letter and the OS name. Returns the letter, 0
 * when it cannot be read. */
static char read_stat(struct threadinfo *ti, struct tinfo *t)
{
    struct proc_stat st;
    struct proc_statfd *fd = proc_statfd_open(ti->pid, t->tid);
    int rc = fd ? proc_statfd_read(fd, &st) : -1;
    proc_statfd_close(fd);
    if (rc != 0)
        return 0;
    if (t->os_name == STRTAB_NONE)
        t->os_name = strtab_intern(ti->st, st.comm, strlen(st.comm));
    return st.state;
}

/* Read T's state from its syscall file: "running", or (off CPU) the call
 * it sleeps in and its first argument, a futex's address. PAUSED: T is
 * ptrace-stopped by us, so being in user space (-1) means it was running
 * code; otherwise that means something stopped it or it is in a page
 * fault, and the stat file tells which. */
static void read_state(struct threadinfo *ti, struct tinfo *t, int paused)
{
    long nr;
    uint64_t args[2] = { 0, 0 };
    struct proc_syscallfd *once = NULL;
    if (!t->sfd && ti->fds < ti->fd_budget && (t->sfd = proc_syscallfd_open(ti->pid, t->tid)))
        ti->fds++;
    if (!t->sfd)
        once = proc_syscallfd_open(ti->pid, t->tid);
    struct proc_syscallfd *fd = t->sfd ? t->sfd : once;
    int rc = fd ? proc_syscallfd_read(fd, &nr, args) : -1;
    proc_syscallfd_close(once);
    /* A timed futex wait that a pause interrupted goes on as
     * restart_syscall, without its arguments: it is the call seen before. */
    if (rc == 0 && nr == SYS_restart_syscall && t->state == 'S')
        return;
    t->futex = 0;
    t->futex_wake = 0;
    if (rc == -ESRCH)
        t->state = read_stat(ti, t);    /* exited, its stack gone: stat says 'Z' or nothing */
    else if (rc != 0)
        t->state = 0;
    else if (nr == -2 || (nr == -1 && paused))
        t->state = 'R';
    else if (nr == -1)
        t->state = read_stat(ti, t);
    else {
        t->state = 'S';
        if (nr == SYS_futex) {
            t->futex = args[0];
            t->futex_wake = futex_wakes(args[1]);
        }
    }
}

/* Where TID is in TI's list (sorted by tid), or would go. */
static size_t slot(const struct threadinfo *ti, pid_t tid)
{
    size_t lo = 0, hi = ti->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ti->v[mid].tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* TID's entry, NULL when TI has none. */
static const struct tinfo *lookup(const struct threadinfo *ti, pid_t tid)
{
    size_t i = slot(ti, tid);
    return i < ti->n && ti->v[i].tid == tid ? &ti->v[i] : NULL;
}

/* TID's entry, added (when ADD) if TI has none; NULL if not found or no memory. */
static struct tinfo *find(struct threadinfo *ti, pid_t tid, int add)
{
    size_t lo = slot(ti, tid);
    if (lo < ti->n && ti->v[lo].tid == tid)
        return &ti->v[lo];
    if (!add)
        return NULL;
    if (ti->n == ti->cap) {
        size_t cap = ti->cap ? ti->cap * 2 : 64;
        struct tinfo *nv = realloc(ti->v, cap * sizeof *nv);
        if (!nv)
            return NULL;
        ti->v = nv;
        ti->cap = cap;
    }
    memmove(&ti->v[lo + 1], &ti->v[lo], (ti->n - lo) * sizeof *ti->v);
    ti->v[lo] = (struct tinfo){ .tid = tid, .os_name = STRTAB_NONE, .py_name = STRTAB_NONE };
    ti->n++;
    return &ti->v[lo];
}

/* Find or add the thread of TS, noticing a tid taken over by a new thread. */
static struct tinfo *track(struct threadinfo *ti, const struct thread_sample *ts)
{
    if (ts->tid <= 0)
        return NULL;
    struct tinfo *t = find(ti, ts->tid, 1);
    if (!t)
        return NULL;
    if (t->ident != ts->thread_id) {
        /* A new thread, or the tid was reused: its Python name is unknown,
         * and a state read for an earlier owner of the tid is stale. */
        t->state = 0;
        t->state_ns = 0;
        t->ident = ts->thread_id;
        t->py_name = STRTAB_NONE;
        t->name_tried = 0;
    }
    t->generation = ti->generation + 1;
    return t;
}

/* Where the GIL is a semaphore, how many threads are inside its sem_wait,
 * read with the states of this pass: S's threads bound the count. */
static void read_sem(struct threadinfo *ti, const struct sample *s)
{
    ti->sem_read = ti->gil.sem_addr && ti->m &&
                   gilwait_sem_waiters(&ti->gil, ti->m, (uint32_t)s->nthreads, &ti->sem_waiters) == 0;
}

void threadinfo_paused(struct threadinfo *ti, struct sample *s)
{
    uint64_t now = s->time_ns ? s->time_ns : clock_mono_ns();
    for (size_t i = 0; i < s->nthreads; i++) {
        struct tinfo *t = track(ti, &s->threads[i]);
        uint64_t fp;
        if (!t || !state_due(t, ti->precise, s, i, now, &fp))
            continue;
        t->state_ns = now;
        t->state_fp = fp;
        t->state_gil = (s->threads[i].flags & SAMPLE_GIL) != 0;
        read_state(ti, t, 1);
    }
    read_sem(ti, s);
}

static void refresh_names(struct threadinfo *ti, struct sample *s)
{
    uint64_t *idents = malloc(s->nthreads * sizeof *idents);
    uint32_t *names = malloc(s->nthreads * sizeof *names);
    if (idents && names) {
        for (size_t i = 0; i < s->nthreads; i++)
            idents[i] = s->threads[i].thread_id;
        ti->names(ti->names_ctx, idents, names, s->nthreads);
        /* A miss keeps a name found before: a thread leaves threading's
         * table as it ends, while it is still running. */
        for (size_t i = 0; i < s->nthreads; i++) {
            struct tinfo *t = find(ti, s->threads[i].tid, 0);
            if (t && names[i] != STRTAB_NONE)
                t->py_name = names[i];
        }
    }
    free(idents);
    free(names);
    for (size_t i = 0; i < ti->n; i++)
        ti->v[i].name_tried = 1;
    ti->names_at_ns = clock_mono_ns();
}

/* The state of a thread whose flags are FLAGS and whose facts are T
 * (NULL: none). Asleep in futex() inside the GIL: waiting for it; asleep
 * anywhere else (a threading lock also sleeps in futex(), elsewhere): idle;
 * on CPU without the GIL: native code that released it. */
static int classify(const struct threadinfo *ti, const struct tinfo *t, uint32_t flags)
{
    if (flags & SAMPLE_GIL)
        return TSTATE_GIL;
    if (flags & SAMPLE_PYTHON)
        return TSTATE_PYTHON;
    /* Its C stack says so (--native), on CPU or not. */
    if (flags & SAMPLE_TAKING_GIL)
        return TSTATE_GIL_WAIT;
    if (!t || t->state == 0)
        return TSTATE_UNKNOWN;
    if (t->state == 'R')
        return TSTATE_NATIVE;
    /* Inside the GIL's own code without the GIL: waiting for it, or
     * handing it over (waking the waiters) and then waiting to take it
     * back; releasing_holds() finds the one case that is neither. */
    if (t->futex && gilwait_is_gil(&ti->gil, t->futex))
        return TSTATE_GIL_WAIT;
    return TSTATE_IDLE;
}

/* A thread stopped while it wakes the GIL's waiters is releasing the GIL
 * it held a moment ago: where an interpreter clears its holder before the
 * release (2.7 does, and a pause lands most often right after a system
 * call), that thread is the holder when no other thread is. */
static void releasing_holds(const struct threadinfo *ti, struct sample *s)
{
    size_t rel = SIZE_MAX;
    for (size_t i = 0; i < s->nthreads; i++) {
        if (s->threads[i].state == TSTATE_GIL)
            return;
        const struct tinfo *t = s->threads[i].tid > 0 ? lookup(ti, s->threads[i].tid) : NULL;
        if (rel == SIZE_MAX && t && t->futex_wake && s->threads[i].state == TSTATE_GIL_WAIT)
            rel = i;
    }
    if (rel != SIZE_MAX) {
        s->threads[rel].state = TSTATE_GIL;
        s->threads[rel].flags |= SAMPLE_GIL | SAMPLE_ACTIVE;
    }
}

/* Non-blocking, where only the current-thread word names the holder, that
 * word is cleared before each release and set again after the next take,
 * and a hand-over that wakes a waiter spends a system call in between: 2.7
 * spinners read no holder in ~20% of the passes. The holder named at the
 * pass just before, on CPU now, is the one handing over (or taking it
 * back). Only from one pass to the next: a thread that released the GIL
 * for long (C code) is named for one sample at most. Blocking mode sees
 * the hand-over itself (releasing_holds). NAMED: this pass's holder word. */
static void handover_holds(struct threadinfo *ti, struct sample *s, pid_t named)
{
    pid_t prev = ti->named_holder;
    ti->named_holder = named;
    if (named || !prev || !ti->pi || !pyinterp_holder_is_current_word(ti->pi))
        return;
    for (size_t i = 0; i < s->nthreads; i++)
        if (s->threads[i].state == TSTATE_GIL)
            return;
    for (size_t i = 0; i < s->nthreads; i++) {
        if (s->threads[i].tid == prev && s->threads[i].state == TSTATE_NATIVE) {
            s->threads[i].state = TSTATE_GIL;
            s->threads[i].flags |= SAMPLE_GIL | SAMPLE_ACTIVE;
            return;
        }
    }
}

static int by_seen_desc(const void *a, const void *b)
{
    const struct sem_cand *x = a, *y = b;
    if (x->seen_ns != y->seen_ns)
        return x->seen_ns < y->seen_ns ? 1 : -1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Where the GIL is a semaphore that wakes a waiter at every release
 * (2.7), its waiters are on CPU much of the time, retrying, and read as
 * native. The semaphore counts the threads inside its sem_wait: those of
 * them not seen asleep there are on CPU, so that many of the threads on CPU
 * without the GIL are waiting for it. When there are more such threads
 * than that (one runs C code), the ones seen with the GIL, or waiting for
 * it, most recently are taken: a thread in a long C call saw it longest ago. */
static void sem_waiters_wait(struct threadinfo *ti, struct sample *s)
{
    if (!ti->sem_read)
        return;
    if (ti->cand_cap < s->nthreads) {
        struct sem_cand *nc = realloc(ti->cand, s->nthreads * sizeof *nc);
        if (!nc)
            return;     /* they stay native */
        ti->cand = nc;
        ti->cand_cap = s->nthreads;
    }
    uint32_t asleep = 0, oncpu = 0;
    size_t ncand = 0;
    for (size_t i = 0; i < s->nthreads; i++) {
        const struct tinfo *t = s->threads[i].tid > 0 ? lookup(ti, s->threads[i].tid) : NULL;
        if (!t)
            continue;
        if (s->threads[i].state == TSTATE_NATIVE)
            ti->cand[ncand++] = (struct sem_cand){ .seen_ns = t->gil_seen_ns, .i = i };
        else if (s->threads[i].state == TSTATE_GIL_WAIT && t->state == 'R')
            oncpu++;    /* its C stack says it waits */
        else if (s->threads[i].state == TSTATE_GIL_WAIT && t->futex && !t->futex_wake)
            asleep++;
    }
    if (ncand == 0 || ti->sem_waiters <= asleep + oncpu)
        return;
    size_t k = ti->sem_waiters - asleep - oncpu;
    if (k < ncand)
        qsort(ti->cand, ncand, sizeof *ti->cand, by_seen_desc);
    for (size_t j = 0; j < k && j < ncand; j++)
        s->threads[ti->cand[j].i].state = TSTATE_GIL_WAIT;
}

void threadinfo_after(struct threadinfo *ti, struct sample *s, int paused)
{
    find_gil(ti);
    int need_names = 0;
    uint64_t now = s->time_ns ? s->time_ns : clock_mono_ns();
    for (size_t i = 0; i < s->nthreads; i++) {
        struct tinfo *t = track(ti, &s->threads[i]);
        if (!t)
            continue;
        uint64_t fp = 0;
        if (!paused && ti->pid > 0 && state_due(t, ti->precise, s, i, now, &fp)) {
            read_state(ti, t, 0);
            t->state_ns = now;
            t->state_fp = fp;
            t->state_gil = (s->threads[i].flags & SAMPLE_GIL) != 0;
        }
        if (t->os_name == STRTAB_NONE && ti->pid > 0)
            read_stat(ti, t);   /* for the OS name, once */
        if (!t->name_tried)
            need_names = 2;
        else if (t->py_name == STRTAB_NONE && need_names == 0)
            need_names = 1;
    }
    if (!paused)
        read_sem(ti, s);
    ti->generation++;
    /* A new thread is named on first sight; a miss (the thread may not be
     * registered with threading yet) is retried soon; names are refreshed
     * now and then since threads can be renamed. */
    uint64_t since = clock_mono_ns() - ti->names_at_ns;
    if (ti->names && (need_names == 2 || (need_names == 1 && since >= NAME_RETRY_NS) ||
                      since >= NAME_REFRESH_NS))
        refresh_names(ti, s);
    for (size_t i = 0; i < s->nthreads; i++) {
        struct thread_sample *ts = &s->threads[i];
        struct tinfo *t = ts->tid > 0 ? find(ti, ts->tid, 0) : NULL;
        /* The GIL holder runs Python, whatever its state read said a moment
         * ago. A state that could not be read is unknown: not active (it
         * would make every sleeping thread look busy), and counted. */
        ts->state = classify(ti, t, ts->flags);
        if (ts->flags & SAMPLE_GIL)
            ts->flags |= SAMPLE_ACTIVE;
        else if (t && t->state == 'R')
            ts->flags |= SAMPLE_ACTIVE;
        else if (!t || t->state == 0) {
            ts->flags |= SAMPLE_UNKNOWN;
            /* A thread state without an OS thread yet (starting) has no
             * state to read, nor has a target without /proc. */
            ti->unknown += ts->tid > 0 && ti->pid > 0;
        }
        if (t && t->py_name != STRTAB_NONE)
            ts->name = t->py_name;
        else if (t && t->os_name != STRTAB_NONE)
            ts->name = t->os_name;
        else
            ts->name = strtab_intern(ti->st, "", 0);
    }
    pid_t named = 0;
    for (size_t i = 0; i < s->nthreads && !named; i++)
        if (s->threads[i].flags & SAMPLE_GIL)
            named = s->threads[i].tid;
    releasing_holds(ti, s);
    if (!paused)
        handover_holds(ti, s, named);
    /* Sightings, only sem_waiters_wait's to use, taken before it: what it
     * infers is not a sighting. */
    if (ti->gil.sem_addr) {
        for (size_t i = 0; i < s->nthreads; i++) {
            struct tinfo *t = s->threads[i].tid > 0 ? find(ti, s->threads[i].tid, 0) : NULL;
            if (t && (s->threads[i].state == TSTATE_GIL || s->threads[i].state == TSTATE_GIL_WAIT))
                t->gil_seen_ns = now;
        }
        sem_waiters_wait(ti, s);
    }
    ti->sem_read = 0;
    /* Forget threads not seen in this pass, closing their descriptors. */
    size_t k = 0;
    for (size_t i = 0; i < ti->n; i++) {
        if (ti->v[i].generation == ti->generation) {
            ti->v[k++] = ti->v[i];
        } else {
            ti->fds -= ti->v[i].sfd != NULL;
            proc_syscallfd_close(ti->v[i].sfd);
        }
    }
    ti->n = k;
}

uint64_t threadinfo_unknown(const struct threadinfo *ti)
{
    return ti->unknown;
}

/* The syscall file shows a stopped thread in the call it was in: only the
 * stat file says stopped. A thread seen running settles it for free (the
 * usual case); otherwise the stat files are read at most every
 * STOP_CHECK_NS, and the first thread not stopped ends the search. */
int threadinfo_all_stopped(struct threadinfo *ti, const struct sample *s)
{
    for (size_t i = 0; i < s->nthreads; i++) {
        struct tinfo *t = s->threads[i].tid > 0 ? find(ti, s->threads[i].tid, 0) : NULL;
        if (!t || t->state == 'R' || t->state == 0)
            return ti->stopped = 0;
    }
    uint64_t now = clock_mono_ns();
    if (ti->stop_checked_ns && now - ti->stop_checked_ns < STOP_CHECK_NS)
        return ti->stopped;
    ti->stop_checked_ns = now;
    for (size_t i = 0; i < s->nthreads; i++)
        if (read_stat(ti, find(ti, s->threads[i].tid, 0)) != 'T')
            return ti->stopped = 0;
    return ti->stopped = s->nthreads > 0;
}
