/* gilwait — see include/gilwait.h. */
#include "gilwait.h"

#include <errno.h>
#include <string.h>

#include "pyobj.h"

static void add_range(struct gilwait *g, uint64_t addr, uint64_t size)
{
    if (g->n < GILWAIT_MAX_RANGES && addr && addr + size > addr) {
        g->lo[g->n] = addr;
        g->hi[g->n++] = addr + size;
    }
}

int gilwait_locate(struct gilwait *g, struct proc_mem *m, const struct pyinterp *pi, uint64_t interp)
{
    const struct py_offsets *o = &pi->off;
    memset(g, 0, sizeof *g);
    for (int i = 0; i < pi->ngil_fixed && i < GILWAIT_MAX_RANGES; i++)
        add_range(g, pi->gil_fixed[i].addr, pi->gil_fixed[i].size);
    g->switch_addr = pi->gil_switch_addr;
    if (pi->gil_lock_ptr) {
        uint64_t lock = 0;
        if (pyobj_read_word(m, pi->gil_lock_ptr, &lock) == 0 && lock && !(lock & 7)) {
            add_range(g, lock, GILWAIT_LOCK_SIZE);
            g->sem_addr = lock;
        }
    } else if (g->n == 0 && o->is_gil_ptr >= 0 && o->gil_size > 0 && interp && !(interp & 7)) {
        /* The GIL this interpreter uses: its own, or the main one's. */
        uint64_t gil = 0;
        if (pyobj_read_word(m, interp + (uint64_t)o->is_gil_ptr, &gil) == 0 && gil && !(gil & 7)) {
            add_range(g, gil, (uint64_t)o->gil_size);
            if (o->gil_switch_number >= 0)
                g->switch_addr = gil + (uint64_t)o->gil_switch_number;
        }
    }
    return g->n > 0 ? 0 : -ENOENT;
}

int gilwait_is_gil(const struct gilwait *g, uint64_t addr)
{
    for (int i = 0; i < g->n; i++)
        if (addr >= g->lo[i] && addr < g->hi[i])
            return 1;
    return 0;
}

int gilwait_switches(const struct gilwait *g, struct proc_mem *m, uint64_t *count)
{
    if (!g->switch_addr)
        return -ENOENT;
    return pyobj_read_word(m, g->switch_addr, count) == 0 ? 0 : -EFAULT;
}

int gilwait_sem_waiters(const struct gilwait *g, struct proc_mem *m, uint32_t max_threads, uint32_t *count)
{
    uint64_t word;
    if (!g->sem_addr)
        return -ENOENT;
    if (pyobj_read_word(m, g->sem_addr, &word) != 0)
        return -EFAULT;
    uint32_t value = (uint32_t)word, waiters = (uint32_t)(word >> 32);
    if (value > 1 || waiters > max_threads)
        return -EINVAL;
    *count = waiters;
    return 0;
}
