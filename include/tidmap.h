/*
 * tidmap — a target's thread ids as its own PID namespace numbers them,
 * mapped to the numbers of our /proc. Python keeps a thread's OS id as
 * the target sees it (native_thread_id on 3.11+, glibc's struct pthread
 * before); a target in a container, a PID namespace below the one our
 * /proc belongs to, has other numbers there than in /proc/PID/task, which
 * ptrace, the per-thread /proc files and `ps` go by. Every thread's status
 * file holds both ("NSpid:\t<ours>\t…\t<its own>").
 *
 * Costs nothing for a target in our namespace (one status read, once);
 * for another, one fstat per pass, and one status read per new thread.
 */
#ifndef GILSCOPE_TIDMAP_H
#define GILSCOPE_TIDMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"

/* One thread: its id in the target's namespace and in ours. */
struct tidmap_pair {
    pid_t ns;
    pid_t host;
};

/* The map of one process. Plain struct, owned by the caller; fields are
 * private to tidmap.c. */
struct tidmap {
    pid_t pid;                  /* target process, as our /proc numbers it */
    int foreign;                /* -1 not yet known, 0 our namespace, 1 another */
    int taskdir;                /* /proc/PID/task, for the thread count; -1 when not open */
    struct tidmap_pair *v;      /* the threads at the last refresh, ascending by ns */
    size_t n;
    long count;                 /* the thread count then */
    uint64_t checked;           /* the pass whose thread count was last compared */
    int refreshed;              /* the map was refreshed during that pass */
};

/* tidmap_init — an empty map of PID's threads; nothing is read yet. */
void tidmap_init(struct tidmap *tm, pid_t pid);

/* tidmap_free — release TM's memory and descriptor; TM is left as after
 * tidmap_init. Safe to call twice. */
void tidmap_free(struct tidmap *tm);

/* tidmap_host — the id our /proc gives the thread the target knows as TID,
 * during sampling pass PASS (a number that grows by one a pass). TID
 * itself for a target in our namespace. Otherwise the map is refreshed
 * when the thread count changed since the last pass, or when TID is not
 * in it, at most once a pass. 0 when TID is 0 or unknown (never the
 * target's own number, which here may name another thread). */
pid_t tidmap_host(struct tidmap *tm, pid_t tid, uint64_t pass);

/* tidmap_ns_tids — the ids of the target's threads as its namespace
 * numbers them, ascending, into OUT (free with proc_tasks_free): the
 * values Python may hold. Refreshes the map. Returns 0, -ESRCH, -ENOMEM. */
int tidmap_ns_tids(struct tidmap *tm, struct proc_tasks *out);

#endif
