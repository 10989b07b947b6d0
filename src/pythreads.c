/* pythreads — see include/pythreads.h. The remote dicts, ints and
 * attributes are read by pyobj. */
#include "pythreads.h"

#include <errno.h>
#include <string.h>

#include "pyobj.h"
#include "pystr.h"

#define MAX_NAME 256

struct names_ctx {
    struct pythreads *p;
    const uint64_t *idents;
    uint32_t *names;
    size_t n;
};

static int name_thread(void *vctx, uint64_t key, uint64_t thread)
{
    struct names_ctx *c = vctx;
    struct pythreads *p = c->p;
    uint64_t ident;
    if (pyobj_int_value(p->m, p->o, key, &ident) != 0)
        return 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->idents[i] != ident)
            continue;
        /* Python 2's threading keeps the name in a private, mangled attribute. */
        uint64_t name = pyobj_attr_get(p->m, p->o, thread, p->o->text_model == PYOFF_TEXT_PY2 ? "_Thread__name" : "_name");
        char buf[MAX_NAME];
        if (name && pystr_read(p->m, p->o, name, buf, sizeof buf) == 0)
            c->names[i] = strtab_intern(p->st, buf, strlen(buf));
    }
    return 0;
}

static uint64_t find_active(struct pythreads *p)
{
    uint64_t interp, modules;
    if (pyobj_read_word(p->m, p->interp_head_addr, &interp) != 0 ||
        pyobj_read_word(p->m, interp + (uint64_t)p->o->is_modules, &modules) != 0)
        return 0;
    /* Until `threading` is imported, sys.modules only grows: look again
     * only when its size has changed. */
    uint64_t used;
    if (pyobj_read_word(p->m, modules + (uint64_t)p->o->dict_ma_used, &used) != 0 || used == p->modules_used)
        return 0;
    uint64_t threading = pyobj_dict_get(p->m, p->o, modules, "threading");
    if (!threading)
        p->modules_used = used;
    uint64_t mdict;
    if (!threading || pyobj_read_word(p->m, threading + (uint64_t)p->o->mod_dict, &mdict) != 0)
        return 0;
    return pyobj_dict_get(p->m, p->o, mdict, "_active");
}

int pythreads_names(void *ctx, const uint64_t *idents, uint32_t *names, size_t n)
{
    struct pythreads *p = ctx;
    for (size_t i = 0; i < n; i++)
        names[i] = STRTAB_NONE;
    if (!p->active)
        p->active = find_active(p);
    if (!p->active)
        return -ENOENT;
    struct names_ctx c = { .p = p, .idents = idents, .names = names, .n = n };
    if (pyobj_dict_iter(p->m, p->o, p->active, name_thread, &c) != 0) {
        p->active = 0;  /* look it up afresh next time */
        return -EFAULT;
    }
    return 0;
}
