/* pythreads — see include/pythreads.h. */
#include "pythreads.h"

#include <errno.h>
#include <string.h>

#include "pystr.h"

#define MAX_DICT_ENTRIES 65536      /* bound on a dict we iterate */
#define MAX_NAME 256
#define TPFLAGS_INLINE_VALUES (1ul << 2)    /* where managed_dict is PYOFF_MD_INLINE */
#define TPFLAGS_MANAGED_DICT (1ul << 4)     /* where managed_dict is set */

/* Called per dict item; return 1 to stop iterating. */
typedef int (*item_fn)(struct pythreads *p, uint64_t key, uint64_t value, void *ctx);

static int rd(struct pythreads *p, uint64_t addr, void *buf, size_t len)
{
    if (addr < 4096)
        return -EFAULT;
    return proc_mem_read(p->m, addr, buf, len);
}

static int rd64(struct pythreads *p, uint64_t addr, uint64_t *v)
{
    return rd(p, addr, v, 8);
}

/* Iterate the entries of a 3.6+ keys object, values from VALUES when split. */
static int iter_keys3(struct pythreads *p, uint64_t keys, uint64_t values, item_fn fn, void *ctx)
{
    const struct py_offsets *o = p->o;
    uint8_t hdr[64];
    if (o->dk_indices > (int32_t)sizeof hdr || rd(p, keys, hdr, (size_t)o->dk_indices) != 0)
        return -EFAULT;
    uint64_t nentries, index_bytes, entry_size = (uint64_t)o->dict_entry_size;
    int32_t key_off = o->dict_entry_key, value_off = o->dict_entry_value;
    memcpy(&nentries, hdr + o->dk_nentries, 8);
    if (o->dict_model == PYOFF_DICT_KEYS_LOG2) {
        uint8_t log2_index_bytes = hdr[o->dk_log2_index_bytes];
        if (log2_index_bytes > 40)
            return -EINVAL;
        index_bytes = 1ull << log2_index_bytes;
        if (hdr[o->dk_kind] != 0) {
            /* Unicode-keyed: {key, value} entries. */
            entry_size = (uint64_t)o->dict_uentry_size;
            key_off = 0;
            value_off = 8;
        }
    } else {
        uint64_t size;
        memcpy(&size, hdr + o->dk_size, 8);
        if (size > (1u << 26))
            return -EINVAL;
        index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffull ? 4 : 8);
    }
    if (nentries > MAX_DICT_ENTRIES)
        return -EINVAL;
    uint64_t entries = keys + (uint64_t)o->dk_indices + index_bytes;
    for (uint64_t i = 0; i < nentries; i++) {
        uint8_t e[32];
        uint64_t key, value;
        if (rd(p, entries + i * entry_size, e, (size_t)entry_size) != 0)
            return -EFAULT;
        memcpy(&key, e + key_off, 8);
        memcpy(&value, e + value_off, 8);
        if (values && rd64(p, values + i * 8, &value) != 0)
            return -EFAULT;
        if (key && value && fn(p, key, value, ctx))
            return 0;
    }
    return 0;
}

static int iter_dict(struct pythreads *p, uint64_t dict, item_fn fn, void *ctx)
{
    const struct py_offsets *o = p->o;
    if (o->dict_model == PYOFF_DICT_PY2) {
        uint64_t mask, table;
        if (rd64(p, dict + (uint64_t)o->dict2_ma_mask, &mask) != 0 ||
            rd64(p, dict + (uint64_t)o->dict2_ma_table, &table) != 0 || mask >= MAX_DICT_ENTRIES)
            return -EFAULT;
        for (uint64_t i = 0; i <= mask; i++) {
            uint8_t e[24];
            uint64_t key, value;
            if (rd(p, table + i * (uint64_t)o->dict_entry_size, e, sizeof e) != 0)
                return -EFAULT;
            memcpy(&key, e + o->dict_entry_key, 8);
            memcpy(&value, e + o->dict_entry_value, 8);
            if (key && value && fn(p, key, value, ctx))
                return 0;
        }
        return 0;
    }
    uint64_t keys, values;
    if (rd64(p, dict + (uint64_t)o->dict_ma_keys, &keys) != 0 ||
        rd64(p, dict + (uint64_t)o->dict_ma_values, &values) != 0)
        return -EFAULT;
    if (values)
        values += (uint64_t)(o->dict_values_values > 0 ? o->dict_values_values : 0);
    return iter_keys3(p, keys, values, fn, ctx);
}

struct find_ctx {
    const char *name;   /* key wanted */
    uint64_t value;     /* found value */
};

static int match_key(struct pythreads *p, uint64_t key, uint64_t value, void *vctx)
{
    struct find_ctx *c = vctx;
    char buf[MAX_NAME];
    if (pystr_read(p->m, p->o, key, buf, sizeof buf) == 0 && strcmp(buf, c->name) == 0) {
        c->value = value;
        return 1;
    }
    return 0;
}

static uint64_t dict_get(struct pythreads *p, uint64_t dict, const char *name)
{
    struct find_ctx c = { .name = name };
    if (dict == 0 || iter_dict(p, dict, match_key, &c) != 0)
        return 0;
    return c.value;
}

/* An instance attribute, through whichever dict layout the version uses. */
static uint64_t attr_get(struct pythreads *p, uint64_t obj, const char *name)
{
    const struct py_offsets *o = p->o;
    uint64_t type, flags = 0, dict = 0;
    if (rd64(p, obj + (uint64_t)o->ob_type, &type) != 0 || rd64(p, type + (uint64_t)o->tp_flags, &flags) != 0)
        return 0;
    if (o->managed_dict != PYOFF_MD_NONE && (flags & TPFLAGS_MANAGED_DICT)) {
        uint64_t word, values = 0, at = obj + (uint64_t)(int64_t)o->managed_dict_off;
        if (rd64(p, at, &word) != 0)
            return 0;
        if (o->managed_dict == PYOFF_MD_TAGGED && (word & 1)) {
            values = word + 1;          /* tagged PyDictOrValues */
        } else if (word) {
            dict = word;
        } else if (o->managed_dict == PYOFF_MD_DICT_VALUES) {
            if (rd64(p, at - 8, &values) != 0)
                return 0;
        } else if (o->managed_dict == PYOFF_MD_INLINE && (flags & TPFLAGS_INLINE_VALUES)) {
            uint64_t basic;
            if (rd64(p, type + (uint64_t)o->tp_basicsize, &basic) != 0 || basic > 4096)
                return 0;
            values = obj + basic;
        }
        if (!dict) {
            uint64_t keys;
            if (!values || rd64(p, type + (uint64_t)o->ht_cached_keys, &keys) != 0 || !keys)
                return 0;
            values += (uint64_t)(o->dict_values_values > 0 ? o->dict_values_values : 0);
            struct find_ctx c = { .name = name };
            if (iter_keys3(p, keys, values, match_key, &c) != 0)
                return 0;
            return c.value;
        }
    } else {
        int64_t off;
        if (rd(p, type + (uint64_t)o->tp_dictoffset, &off, 8) != 0 || off <= 0 || off > 4096 ||
            rd64(p, obj + (uint64_t)off, &dict) != 0)
            return 0;
    }
    return dict_get(p, dict, name);
}

/* A Python int as uint64 (thread idents are non-negative). */
static int int_value(struct pythreads *p, uint64_t obj, uint64_t *v)
{
    const struct py_offsets *o = p->o;
    if (o->int2_ival >= 0) {
        /* 2.7 idents are ints (PyIntObject); reject anything else by type name. */
        uint64_t type, tp_name;
        char tn[8] = { 0 };
        if (rd64(p, obj + (uint64_t)o->ob_type, &type) != 0 ||
            rd64(p, type + (uint64_t)o->tp_name, &tp_name) != 0 || rd(p, tp_name, tn, 4) != 0 ||
            memcmp(tn, "int", 4) != 0)
            return -EINVAL;
        return rd64(p, obj + (uint64_t)o->int2_ival, v);
    }
    int64_t ndigits;
    uint64_t tag;
    if (o->long_lv_tag >= 0) {
        if (rd64(p, obj + (uint64_t)o->long_lv_tag, &tag) != 0 || (tag & 3) == 2)
            return -EINVAL;
        ndigits = (int64_t)(tag >> 3);
    } else if (rd(p, obj + (uint64_t)o->ob_size, &ndigits, 8) != 0 || ndigits < 0) {
        return -EINVAL;
    }
    if (ndigits > 3)
        return -EINVAL;
    uint32_t d[3] = { 0 };
    if (ndigits && rd(p, obj + (uint64_t)o->long_digit, d, (size_t)ndigits * 4) != 0)
        return -EFAULT;
    *v = (uint64_t)d[0] | ((uint64_t)d[1] << 30) | ((uint64_t)d[2] << 60);
    return 0;
}

struct names_ctx {
    const uint64_t *idents;
    uint32_t *names;
    size_t n;
};

static int name_thread(struct pythreads *p, uint64_t key, uint64_t thread, void *vctx)
{
    struct names_ctx *c = vctx;
    uint64_t ident;
    if (int_value(p, key, &ident) != 0)
        return 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->idents[i] != ident)
            continue;
        /* Python 2's threading keeps the name in a private, mangled attribute. */
        uint64_t name = attr_get(p, thread, p->o->text_model == PYOFF_TEXT_PY2 ? "_Thread__name" : "_name");
        char buf[MAX_NAME];
        if (name && pystr_read(p->m, p->o, name, buf, sizeof buf) == 0)
            c->names[i] = strtab_intern(p->st, buf, strlen(buf));
    }
    return 0;
}

static uint64_t find_active(struct pythreads *p)
{
    uint64_t interp, modules;
    if (rd64(p, p->interp_head_addr, &interp) != 0 ||
        rd64(p, interp + (uint64_t)p->o->is_modules, &modules) != 0)
        return 0;
    /* Until `threading` is imported, sys.modules only grows: look again
     * only when its size has changed. */
    uint64_t used;
    if (rd64(p, modules + (uint64_t)p->o->dict_ma_used, &used) != 0 || used == p->modules_used)
        return 0;
    uint64_t threading = dict_get(p, modules, "threading");
    if (!threading)
        p->modules_used = used;
    uint64_t mdict;
    if (!threading || rd64(p, threading + (uint64_t)p->o->mod_dict, &mdict) != 0)
        return 0;
    return dict_get(p, mdict, "_active");
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
    struct names_ctx c = { .idents = idents, .names = names, .n = n };
    if (iter_dict(p, p->active, name_thread, &c) != 0) {
        p->active = 0;  /* look it up afresh next time */
        return -EFAULT;
    }
    return 0;
}
