/* tidmap — see include/tidmap.h. */
#include "tidmap.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

void tidmap_init(struct tidmap *tm, pid_t pid)
{
    *tm = (struct tidmap){ .pid = pid, .foreign = -1, .taskdir = -1, .count = -1 };
}

void tidmap_free(struct tidmap *tm)
{
    if (tm->taskdir >= 0)
        close(tm->taskdir);
    free(tm->v);
    tidmap_init(tm, tm->pid);
}

static int by_ns(const void *a, const void *b)
{
    pid_t x = ((const struct tidmap_pair *)a)->ns, y = ((const struct tidmap_pair *)b)->ns;
    return (x > y) - (x < y);
}

static int by_host(const void *a, const void *b)
{
    pid_t x = ((const struct tidmap_pair *)a)->host, y = ((const struct tidmap_pair *)b)->host;
    return (x > y) - (x < y);
}

/* Whether the target is numbered in a namespace below ours: its status
 * then lists more than one id. A kernel without NSpid (before 4.1) has no
 * way to say, nor, for what gilscope needs, namespaces to worry about. */
static void detect(struct tidmap *tm)
{
    pid_t outer, inner;
    tm->foreign = proc_nspid(tm->pid, 0, &outer, &inner) > 1;
    if (tm->foreign)
        tm->taskdir = proc_taskdir_open(tm->pid);
}

/* Rebuild the map from /proc/PID/task: threads already known keep their
 * pair, new ones are looked up in their status files, gone ones dropped.
 * On failure the old map stays. */
static int refresh(struct tidmap *tm)
{
    struct proc_tasks tasks = { 0 };
    int rc = proc_tasks_list(tm->pid, &tasks);
    if (rc != 0)
        return rc;
    /* Counted before the listing, so a thread born meanwhile shows as a change next pass. */
    long count = proc_taskdir_count(tm->taskdir);
    struct tidmap_pair *nv = malloc((tasks.n ? tasks.n : 1) * sizeof *nv);
    if (!nv) {
        proc_tasks_free(&tasks);
        return -ENOMEM;
    }
    /* The old pairs by host id, for the lookup of each listed thread. */
    if (tm->n)
        qsort(tm->v, tm->n, sizeof *tm->v, by_host);
    size_t n = 0;
    for (size_t i = 0; i < tasks.n; i++) {
        struct tidmap_pair key = { .host = tasks.tid[i] };
        const struct tidmap_pair *old = tm->n ? bsearch(&key, tm->v, tm->n, sizeof *tm->v, by_host) : NULL;
        pid_t outer, inner;
        if (old)
            nv[n++] = *old;
        else if (proc_nspid(tm->pid, key.host, &outer, &inner) > 0 && outer == key.host)
            nv[n++] = (struct tidmap_pair){ .ns = inner, .host = key.host };
        /* else it has exited since the listing */
    }
    proc_tasks_free(&tasks);
    if (n > 1)
        qsort(nv, n, sizeof *nv, by_ns);
    free(tm->v);
    tm->v = nv;
    tm->n = n;
    tm->count = count;
    return 0;
}

static pid_t find_host(const struct tidmap *tm, pid_t ns)
{
    struct tidmap_pair key = { .ns = ns };
    const struct tidmap_pair *p = tm->n ? bsearch(&key, tm->v, tm->n, sizeof *tm->v, by_ns) : NULL;
    return p ? p->host : 0;
}

pid_t tidmap_host(struct tidmap *tm, pid_t tid, uint64_t pass)
{
    if (tid <= 0)
        return 0;
    if (tm->foreign < 0)
        detect(tm);
    if (!tm->foreign)
        return tid;
    if (pass != tm->checked) {
        /* Threads come and go between passes: one fstat says whether any did. */
        tm->checked = pass;
        tm->refreshed = proc_taskdir_count(tm->taskdir) != tm->count && refresh(tm) == 0;
    }
    pid_t host = find_host(tm, tid);
    if (!host && !tm->refreshed) {
        /* A thread started and another ended since: the count did not change. */
        tm->refreshed = 1;
        if (refresh(tm) == 0)
            host = find_host(tm, tid);
    }
    return host;
}

int tidmap_ns_tids(struct tidmap *tm, struct proc_tasks *out)
{
    if (tm->foreign < 0)
        detect(tm);
    if (!tm->foreign)
        return proc_tasks_list(tm->pid, out);
    int rc = refresh(tm);
    if (rc != 0)
        return rc;
    out->n = 0;
    out->tid = malloc((tm->n ? tm->n : 1) * sizeof *out->tid);
    if (!out->tid)
        return -ENOMEM;
    for (size_t i = 0; i < tm->n; i++)
        out->tid[out->n++] = tm->v[i].ns;
    return 0;
}
