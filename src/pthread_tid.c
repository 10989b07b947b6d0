/* pthread_tid — see include/pthread_tid.h. */
#include "pthread_tid.h"

#include <stdlib.h>

#include "pywalk.h"

/* Before 3.11 a thread is known by its pthread_t: the address of glibc's
 * struct pthread, whose tid field sits at a build-specific offset. Find the
 * offset once: the one where every thread's structure holds a distinct tid
 * of the process, as its own namespace numbers them (a container's threads
 * have other numbers in our /proc). Other words can hold a tid by chance
 * (lock owners), which is why all threads must agree. */
#define PTHREAD_SCAN_WORDS 384      /* int32 words of struct pthread examined */
#define PTHREAD_SCAN_THREADS 32     /* threads used to confirm an offset */

void pthread_tid_init(struct pthread_tid *pt)
{
    pt->off = -1;
    pt->tries = 0;
}

static int tid_known(const struct proc_tasks *tasks, int32_t v)
{
    for (size_t k = 0; k < tasks->n; k++)
        if (tasks->tid[k] == v)
            return 1;
    return 0;
}

static void discover_tid_offset(struct pthread_tid *pt, struct proc_mem *m, const struct pyinterp *pi,
                                struct tidmap *tm)
{
    const struct py_offsets *o = &pi->off;
    uint64_t ids[PTHREAD_SCAN_THREADS];
    size_t n = 0;
    uint64_t interp = 0, ts = 0;
    if (proc_mem_read(m, pi->interp_head_addr, &interp, sizeof interp) != 0)
        interp = 0;
    if (!interp || proc_mem_read(m, interp + (uint64_t)o->is_tstate_head, &ts, 8) != 0)
        return;
    for (int guard = 0; ts && n < PTHREAD_SCAN_THREADS && guard < PYWALK_MAX_THREADS; guard++) {
        uint64_t id = 0;
        if (proc_mem_read(m, ts + (uint64_t)o->ts_thread_id, &id, 8) != 0 ||
            proc_mem_read(m, ts + (uint64_t)o->ts_next, &ts, 8) != 0)
            return;
        /* A thread met again means the list loops back: stop there. */
        int again = 0;
        for (size_t k = 0; k < n && !again; k++)
            again = ids[k] == id;
        if (again)
            break;
        if (id && !(id & 7))
            ids[n++] = id;
    }
    struct proc_tasks tasks = { 0 };
    if (n == 0 || (tm ? tidmap_ns_tids(tm, &tasks) : proc_mem_tasks(m, &tasks)) != 0)
        return;
    int32_t (*words)[PTHREAD_SCAN_WORDS] = calloc(n, sizeof *words);
    size_t have = 0;
    for (size_t i = 0; words && i < n; i++)
        if (proc_mem_read(m, ids[i], words[have], sizeof words[have]) == 0)
            have++;
    int found = -2;
    /* A thread that has exited while its Python state lives on (a main
     * thread ended with pthread_exit) has its tid field cleared by the
     * kernel: a 0 is allowed, as long as the living threads all agree. */
    for (size_t off = 2; words && have && off < PTHREAD_SCAN_WORDS && found < 0; off++) {
        int ok = 1, live = 0;
        for (size_t i = 0; i < have && ok; i++) {
            int32_t v = words[i][off];
            if (v == 0 && have > 1)
                continue;
            ok = v > 0 && tid_known(&tasks, v);
            live += ok;
            for (size_t j = 0; j < i && ok; j++)
                ok = words[j][off] != v;
        }
        if (ok && live > 0 && (live > 1 || have <= 2))
            found = (int)(off * sizeof(int32_t));
    }
    free(words);
    proc_tasks_free(&tasks);
    /* A thread ending mid-scan can spoil it: try a few more times, then give up. */
    pt->off = found >= 0 ? found : ++pt->tries < 8 ? -1 : -2;
}

pid_t pthread_tid_lookup(struct pthread_tid *pt, struct proc_mem *m, const struct pyinterp *pi,
                         struct tidmap *tm, uint64_t thread_id)
{
    if (thread_id == 0 || (thread_id & 7))
        return 0;
    if (pt->off == -1)
        discover_tid_offset(pt, m, pi, tm);
    if (pt->off < 0)
        return 0;
    int32_t tid = 0;
    if (proc_mem_read(m, thread_id + (uint64_t)pt->off, &tid, sizeof tid) != 0)
        return 0;
    return tid > 0 ? tid : 0;
}
