/* gilstate — see include/gilstate.h. */
#include "gilstate.h"

#include "localcopy.h"

int gilstate_interp_window(const struct py_offsets *o, int32_t *lo, int32_t *hi)
{
    /* 3.13 has both the GIL pointer and the GIL inside the state: use the latter. */
    int inline_gil = o->is_gil_locked >= 0;
    int32_t offs[] = { o->is_next, o->is_tstate_head, inline_gil ? o->is_gil_locked : o->is_gil_ptr,
                       inline_gil ? o->is_gil_last_holder : PYOFF_NONE };
    *lo = INT32_MAX;
    *hi = 0;
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        if (offs[i] < 0)
            continue;
        if (offs[i] < *lo)
            *lo = offs[i];
        if (offs[i] + 8 > *hi)
            *hi = offs[i] + 8;
    }
    return *hi - *lo > GILSTATE_INTERP_WINDOW ? -1 : 0;
}

void gilstate_gil_window(const struct py_offsets *o, int32_t *lo, int32_t *hi)
{
    *lo = o->gil_locked < o->gil_last_holder ? o->gil_locked : o->gil_last_holder;
    *hi = off_max(o->gil_locked + 4, o->gil_last_holder + 8);
}

uint64_t gilstate_holder_of(const struct py_offsets *o, const uint8_t *b, int32_t lo)
{
    /* last_holder is not cleared on release: only a locked GIL has a holder. */
    if (get_i32(b, o->gil_locked - lo) == 0)
        return 0;
    return get_u64(b, o->gil_last_holder - lo);
}

/* Both of a GIL's {last_holder, locked} live within one small window. */
uint64_t gilstate_holder_at(struct proc_mem *m, const struct py_offsets *o, uint64_t base)
{
    int32_t lo, hi;
    uint8_t buf[64];
    gilstate_gil_window(o, &lo, &hi);
    if (hi - lo > (int32_t)sizeof buf || proc_mem_read(m, base + (uint64_t)lo, buf, (size_t)(hi - lo)) != 0)
        return 0;
    return gilstate_holder_of(o, buf, lo);
}

uint64_t gilstate_holder_fixed(int32_t locked, uint64_t holder, uint64_t current)
{
    return locked > 0 ? holder : locked == 0 ? 0 : current;
}

void gilstate_interp_fields(const struct pyinterp *pi, const uint8_t *b, struct gilstate_interp *v)
{
    const struct py_offsets *o = &pi->off;
    v->next = get_u64(b, o->is_next);
    v->tstate_head = get_u64(b, o->is_tstate_head);
    v->holder = 0;
    v->gil = 0;
    if (pi->gil_holder_addr || pi->tstate_current_addr)
        return;     /* the caller reads the holder from the runtime */
    if (o->is_gil_locked >= 0) {
        if (get_i32(b, o->is_gil_locked))
            v->holder = get_u64(b, o->is_gil_last_holder);
    } else if (o->is_gil_ptr >= 0) {
        v->gil = get_u64(b, o->is_gil_ptr);
    }
}

int gilstate_read_interp(struct proc_mem *m, const struct pyinterp *pi, uint64_t interp,
                         struct gilstate_interp *v)
{
    int32_t lo, hi;
    uint8_t buf[GILSTATE_INTERP_WINDOW];
    if (gilstate_interp_window(&pi->off, &lo, &hi) != 0 || (interp & 7) ||
        proc_mem_read(m, interp + (uint64_t)lo, buf, (size_t)(hi - lo)) != 0)
        return -1;
    gilstate_interp_fields(pi, buf - lo, v);
    if (pi->gil_holder_addr) {
        int32_t locked = 0;
        uint64_t holder = 0, current = 0;
        if (proc_mem_read(m, pi->gil_locked_addr, &locked, 4) != 0 ||
            proc_mem_read(m, pi->gil_holder_addr, &holder, 8) != 0 ||
            (pi->tstate_current_addr && locked < 0 && proc_mem_read(m, pi->tstate_current_addr, &current, 8) != 0))
            locked = 0;
        v->holder = gilstate_holder_fixed(locked, holder, current);
    } else if (pi->tstate_current_addr) {
        if (proc_mem_read(m, pi->tstate_current_addr, &v->holder, 8) != 0)
            v->holder = 0;
    } else if (v->gil) {
        v->holder = gilstate_holder_at(m, &pi->off, v->gil);
    }
    return 0;
}
