/* pyobj — see include/pyobj.h. The dict readers came from pythreads. */
#include "pyobj.h"

#include <errno.h>
#include <string.h>

#include "pystr.h"

#define MAX_DICT_ENTRIES 65536      /* bound on a dict we iterate */
#define MAX_NAME 256
#define MAX_TYPE_NAME 64
#define TPFLAGS_INLINE_VALUES (1ul << 2)    /* where managed_dict is PYOFF_MD_INLINE */
#define TPFLAGS_MANAGED_DICT (1ul << 4)     /* where managed_dict is set */

int pyobj_read(struct proc_mem *m, uint64_t addr, void *buf, size_t len)
{
    if (addr < 4096)
        return -EFAULT;
    return proc_mem_read(m, addr, buf, len);
}

int pyobj_read_word(struct proc_mem *m, uint64_t addr, uint64_t *v)
{
    return pyobj_read(m, addr, v, sizeof *v);
}

int pyobj_type_name_is(struct proc_mem *m, const struct py_offsets *o, uint64_t obj, const char *want)
{
    uint64_t type, name;
    char buf[MAX_TYPE_NAME];
    size_t n = strlen(want) + 1;
    return n <= sizeof buf && pyobj_read_word(m, obj + (uint64_t)o->ob_type, &type) == 0 &&
           pyobj_read_word(m, type + (uint64_t)o->tp_name, &name) == 0 && pyobj_read(m, name, buf, n) == 0 &&
           memcmp(buf, want, n) == 0;
}

/* Iterate the entries of a 3.6+ keys object, values from VALUES when split. */
int pyobj_keys_iter(struct proc_mem *m, const struct py_offsets *o, uint64_t keys, uint64_t values,
                    pyobj_item_fn fn, void *ctx)
{
    uint8_t hdr[64];
    if (o->dk_indices > (int32_t)sizeof hdr || pyobj_read(m, keys, hdr, (size_t)o->dk_indices) != 0)
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
        if (pyobj_read(m, entries + i * entry_size, e, (size_t)entry_size) != 0)
            return -EFAULT;
        memcpy(&key, e + key_off, 8);
        memcpy(&value, e + value_off, 8);
        if (values && pyobj_read_word(m, values + i * 8, &value) != 0)
            return -EFAULT;
        if (key && value && fn(ctx, key, value))
            return 0;
    }
    return 0;
}

int pyobj_dict_iter(struct proc_mem *m, const struct py_offsets *o, uint64_t dict, pyobj_item_fn fn, void *ctx)
{
    if (o->dict_model == PYOFF_DICT_PY2) {
        uint64_t mask, table;
        if (pyobj_read_word(m, dict + (uint64_t)o->dict2_ma_mask, &mask) != 0 ||
            pyobj_read_word(m, dict + (uint64_t)o->dict2_ma_table, &table) != 0 || mask >= MAX_DICT_ENTRIES)
            return -EFAULT;
        for (uint64_t i = 0; i <= mask; i++) {
            uint8_t e[24];
            uint64_t key, value;
            if (pyobj_read(m, table + i * (uint64_t)o->dict_entry_size, e, sizeof e) != 0)
                return -EFAULT;
            memcpy(&key, e + o->dict_entry_key, 8);
            memcpy(&value, e + o->dict_entry_value, 8);
            if (key && value && fn(ctx, key, value))
                return 0;
        }
        return 0;
    }
    uint64_t keys, values;
    if (pyobj_read_word(m, dict + (uint64_t)o->dict_ma_keys, &keys) != 0 ||
        pyobj_read_word(m, dict + (uint64_t)o->dict_ma_values, &values) != 0)
        return -EFAULT;
    if (values)
        values += (uint64_t)(o->dict_values_values > 0 ? o->dict_values_values : 0);
    return pyobj_keys_iter(m, o, keys, values, fn, ctx);
}

struct find_ctx {
    struct proc_mem *m;
    const struct py_offsets *o;
    const char *name;   /* key wanted */
    uint64_t value;     /* found value */
};

static int match_key(void *vctx, uint64_t key, uint64_t value)
{
    struct find_ctx *c = vctx;
    char buf[MAX_NAME];
    if (pystr_read(c->m, c->o, key, buf, sizeof buf) == 0 && strcmp(buf, c->name) == 0) {
        c->value = value;
        return 1;
    }
    return 0;
}

uint64_t pyobj_dict_get(struct proc_mem *m, const struct py_offsets *o, uint64_t dict, const char *name)
{
    struct find_ctx c = { .m = m, .o = o, .name = name };
    if (dict == 0 || pyobj_dict_iter(m, o, dict, match_key, &c) != 0)
        return 0;
    return c.value;
}

uint64_t pyobj_attr_get(struct proc_mem *m, const struct py_offsets *o, uint64_t obj, const char *name)
{
    uint64_t type, flags = 0, dict = 0;
    if (pyobj_read_word(m, obj + (uint64_t)o->ob_type, &type) != 0 || pyobj_read_word(m, type + (uint64_t)o->tp_flags, &flags) != 0)
        return 0;
    if (o->managed_dict != PYOFF_MD_NONE && (flags & TPFLAGS_MANAGED_DICT)) {
        uint64_t word, values = 0, at = obj + (uint64_t)(int64_t)o->managed_dict_off;
        if (pyobj_read_word(m, at, &word) != 0)
            return 0;
        if (o->managed_dict == PYOFF_MD_TAGGED && (word & 1)) {
            values = word + 1;          /* tagged PyDictOrValues */
        } else if (word) {
            dict = word;
        } else if (o->managed_dict == PYOFF_MD_DICT_VALUES) {
            if (pyobj_read_word(m, at - 8, &values) != 0)
                return 0;
        } else if (o->managed_dict == PYOFF_MD_INLINE && (flags & TPFLAGS_INLINE_VALUES)) {
            uint64_t basic;
            if (pyobj_read_word(m, type + (uint64_t)o->tp_basicsize, &basic) != 0 || basic > 4096)
                return 0;
            values = obj + basic;
        }
        if (!dict) {
            uint64_t keys;
            if (!values || pyobj_read_word(m, type + (uint64_t)o->ht_cached_keys, &keys) != 0 || !keys)
                return 0;
            values += (uint64_t)(o->dict_values_values > 0 ? o->dict_values_values : 0);
            struct find_ctx c = { .m = m, .o = o, .name = name };
            if (pyobj_keys_iter(m, o, keys, values, match_key, &c) != 0)
                return 0;
            return c.value;
        }
    } else {
        int64_t off;
        if (pyobj_read(m, type + (uint64_t)o->tp_dictoffset, &off, 8) != 0 || off <= 0 || off > 4096 ||
            pyobj_read_word(m, obj + (uint64_t)off, &dict) != 0)
            return 0;
    }
    return pyobj_dict_get(m, o, dict, name);
}

int pyobj_int_value(struct proc_mem *m, const struct py_offsets *o, uint64_t obj, uint64_t *v)
{
    if (o->int2_ival >= 0) {
        /* 2.7: a PyIntObject; reject anything else by type name. */
        if (!pyobj_type_name_is(m, o, obj, "int"))
            return -EINVAL;
        return pyobj_read_word(m, obj + (uint64_t)o->int2_ival, v);
    }
    int64_t ndigits;
    uint64_t tag;
    if (o->long_lv_tag >= 0) {
        if (pyobj_read_word(m, obj + (uint64_t)o->long_lv_tag, &tag) != 0 || (tag & 3) == 2)
            return -EINVAL;
        ndigits = (int64_t)(tag >> 3);
    } else if (pyobj_read(m, obj + (uint64_t)o->ob_size, &ndigits, 8) != 0 || ndigits < 0) {
        return -EINVAL;
    }
    if (ndigits > 3)
        return -EINVAL;
    uint32_t d[3] = { 0 };
    if (ndigits && pyobj_read(m, obj + (uint64_t)o->long_digit, d, (size_t)ndigits * 4) != 0)
        return -EFAULT;
    *v = (uint64_t)d[0] | ((uint64_t)d[1] << 30) | ((uint64_t)d[2] << 60);
    return 0;
}

