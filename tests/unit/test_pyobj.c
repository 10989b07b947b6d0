/* Unit tests: remote object readers (include/pyobj.h) on objects built in
 * this process's memory with the real layout tables, read back through
 * process_vm_readv on our own pid: words, the low-address refusal, type
 * names, ints of every layout, dicts of every dict_model (2.7 table,
 * 3.6–3.10 dk_size keys, 3.11+ log2 keys general and unicode, split
 * values), and the misses that must stay misses. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "pyobj.h"
#include "pyoffsets.h"
#include "unit.h"

static struct proc_mem mem;

static void setup(void)
{
    ck_assert_int_eq(proc_mem_open(&mem, getpid()), 0);
}

static void teardown(void)
{
    proc_mem_close(&mem);
}

/* An 8-byte aligned zeroed arena for fake objects; freed at exit of the test. */
static uint8_t *arena(size_t n)
{
    uint8_t *p = aligned_alloc(64, n);
    ck_assert_ptr_nonnull(p);
    memset(p, 0, n);
    return p;
}

static void put64(uint8_t *base, int32_t off, uint64_t v)
{
    ck_assert_int_ge(off, 0);
    memcpy(base + off, &v, 8);
}

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

START_TEST(test_read_word)
{
    uint64_t word = 0x1122334455667788ull, v = 0;
    ck_assert_int_eq(pyobj_read_word(&mem, addr(&word), &v), 0);
    ck_assert_uint_eq(v, word);
    char buf[4];
    ck_assert_int_eq(pyobj_read(&mem, addr("abc"), buf, 4), 0);
    ck_assert_str_eq(buf, "abc");
    /* NULL and small ints taken for pointers: refused without a read. */
    uint64_t before = mem.reads;
    ck_assert_int_eq(pyobj_read_word(&mem, 0, &v), -EFAULT);
    ck_assert_int_eq(pyobj_read_word(&mem, 4095, &v), -EFAULT);
    ck_assert_uint_eq(mem.reads, before);
    ck_assert_int_eq(pyobj_read_word(&mem, 8, &v), -EFAULT);
}
END_TEST

START_TEST(test_type_name)
{
    const struct py_offsets *o = pyoffsets_for_version(3, 12);
    ck_assert_ptr_nonnull(o);
    uint8_t *a = arena(4096);
    uint8_t *type = a + 1024, *obj = a;
    static const char name[] = "code";
    put64(type, o->tp_name, addr(name));
    put64(obj, o->ob_type, addr(type));
    ck_assert_int_eq(pyobj_type_name_is(&mem, o, addr(obj), "code"), 1);
    ck_assert_int_eq(pyobj_type_name_is(&mem, o, addr(obj), "cod"), 0);    /* the NUL counts */
    ck_assert_int_eq(pyobj_type_name_is(&mem, o, addr(obj), "codex"), 0);
    ck_assert_int_eq(pyobj_type_name_is(&mem, o, addr(obj), "frame"), 0);
    ck_assert_int_eq(pyobj_type_name_is(&mem, o, 0, "code"), 0);           /* unreadable */
    put64(obj, o->ob_type, 16);                                            /* a garbage type */
    ck_assert_int_eq(pyobj_type_name_is(&mem, o, addr(obj), "code"), 0);
    char longname[80];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    ck_assert_int_eq(pyobj_type_name_is(&mem, o, addr(obj), longname), 0); /* refused, not read */
    free(a);
}
END_TEST

START_TEST(test_int_value)
{
    uint64_t v = 0;
    uint8_t *a = arena(4096);
    /* 3.12+: lv_tag holds ndigits << 3 | sign. */
    const struct py_offsets *o = pyoffsets_for_version(3, 12);
    ck_assert_int_ge(o->long_lv_tag, 0);
    uint32_t d[3] = { 0x1234567, 0x2abcdef, 0x3 };
    put64(a, o->long_lv_tag, 3u << 3);
    memcpy(a + o->long_digit, d, sizeof d);
    ck_assert_int_eq(pyobj_int_value(&mem, o, addr(a), &v), 0);
    ck_assert_uint_eq(v, (uint64_t)d[0] | ((uint64_t)d[1] << 30) | ((uint64_t)d[2] << 60));
    put64(a, o->long_lv_tag, (1u << 3) | 2);                   /* negative */
    ck_assert_int_eq(pyobj_int_value(&mem, o, addr(a), &v), -EINVAL);
    put64(a, o->long_lv_tag, 4u << 3);                         /* too big */
    ck_assert_int_eq(pyobj_int_value(&mem, o, addr(a), &v), -EINVAL);
    put64(a, o->long_lv_tag, 0);                               /* zero */
    ck_assert_int_eq(pyobj_int_value(&mem, o, addr(a), &v), 0);
    ck_assert_uint_eq(v, 0);
    /* 3.6–3.11: ob_size is the digit count. */
    memset(a, 0, 4096);
    o = pyoffsets_for_version(3, 10);
    ck_assert_int_lt(o->long_lv_tag, 0);
    put64(a, o->ob_size, 1);
    uint32_t one = 777;
    memcpy(a + o->long_digit, &one, 4);
    ck_assert_int_eq(pyobj_int_value(&mem, o, addr(a), &v), 0);
    ck_assert_uint_eq(v, 777);
    put64(a, o->ob_size, (uint64_t)-1);
    ck_assert_int_eq(pyobj_int_value(&mem, o, addr(a), &v), -EINVAL);
    /* 2.7: a PyIntObject, recognised by its type's name. */
    memset(a, 0, 4096);
    o = pyoffsets_for_version(2, 7);
    ck_assert_int_ge(o->int2_ival, 0);
    static const char int_name[] = "int", long_name[] = "long";
    uint8_t *type = a + 2048;
    put64(type, o->tp_name, addr(int_name));
    put64(a, o->ob_type, addr(type));
    put64(a, o->int2_ival, 140234567890ull);
    ck_assert_int_eq(pyobj_int_value(&mem, o, addr(a), &v), 0);
    ck_assert_uint_eq(v, 140234567890ull);
    put64(type, o->tp_name, addr(long_name));
    ck_assert_int_eq(pyobj_int_value(&mem, o, addr(a), &v), -EINVAL);
    free(a);
}
END_TEST

/* Collects items; stops after STOP_AT of them when not 0. */
struct seen {
    uint64_t key[16], value[16];
    int n, stop_at;
};

static int collect(void *ctx, uint64_t key, uint64_t value)
{
    struct seen *s = ctx;
    if (s->n < 16) {
        s->key[s->n] = key;
        s->value[s->n] = value;
    }
    s->n++;
    return s->stop_at && s->n >= s->stop_at;
}

static void check_items(const struct seen *s)
{
    /* Entries 0..4 with entry 2 deleted (key NULL): four items, in order. */
    ck_assert_int_eq(s->n, 4);
    static const int want[4] = { 0, 1, 3, 4 };
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(s->key[i], 0x10000 + (uint64_t)want[i] * 16);
        ck_assert_uint_eq(s->value[i], 0x20000 + (uint64_t)want[i] * 16);
    }
}

START_TEST(test_dict_py2)
{
    const struct py_offsets *o = pyoffsets_for_version(2, 7);
    ck_assert_int_eq(o->dict_model, PYOFF_DICT_PY2);
    uint8_t *a = arena(8192), *dict = a, *table = a + 1024;
    put64(dict, o->dict2_ma_mask, 7);
    put64(dict, o->dict2_ma_table, addr(table));
    for (int i = 0; i < 5; i++) {
        uint8_t *e = table + i * o->dict_entry_size;
        if (i != 2)
            put64(e, o->dict_entry_key, 0x10000 + (uint64_t)i * 16);
        put64(e, o->dict_entry_value, 0x20000 + (uint64_t)i * 16);
    }
    struct seen s = { .n = 0 };
    ck_assert_int_eq(pyobj_dict_iter(&mem, o, addr(dict), collect, &s), 0);
    check_items(&s);
    struct seen stop = { .stop_at = 2 };
    ck_assert_int_eq(pyobj_dict_iter(&mem, o, addr(dict), collect, &stop), 0);
    ck_assert_int_eq(stop.n, 2);
    put64(dict, o->dict2_ma_mask, 1u << 20);                   /* implausible */
    ck_assert_int_ne(pyobj_dict_iter(&mem, o, addr(dict), collect, &s), 0);
    free(a);
}
END_TEST

/* A 3.x dict of 5 entries (entry 2 deleted) in KEYS; VALUES split when not NULL. */
static void build_keys3(const struct py_offsets *o, uint8_t *keys, uint8_t *values, int unicode)
{
    uint64_t index_bytes = 8;
    if (o->dict_model == PYOFF_DICT_KEYS_LOG2) {
        keys[o->dk_log2_index_bytes] = 3;
        keys[o->dk_kind] = (uint8_t)unicode;
    } else {
        put64(keys, o->dk_size, 8);                            /* 8 one-byte indices */
    }
    put64(keys, o->dk_nentries, 5);
    uint8_t *entries = keys + o->dk_indices + index_bytes;
    int32_t size = unicode ? o->dict_uentry_size : o->dict_entry_size;
    int32_t koff = unicode ? 0 : o->dict_entry_key, voff = unicode ? 8 : o->dict_entry_value;
    for (int i = 0; i < 5; i++) {
        uint8_t *e = entries + i * size;
        if (i != 2)
            put64(e, koff, 0x10000 + (uint64_t)i * 16);
        if (values)
            put64(values, i * 8, 0x20000 + (uint64_t)i * 16);
        else
            put64(e, voff, 0x20000 + (uint64_t)i * 16);
    }
}

START_TEST(test_dict_keys)
{
    static const int minors[] = { 8, 10, 11, 12, 13, 14 };
    for (size_t k = 0; k < sizeof minors / sizeof *minors; k++) {
        const struct py_offsets *o = pyoffsets_for_version(3, minors[k]);
        if (!o)
            continue;
        for (int unicode = 0; unicode <= (o->dict_model == PYOFF_DICT_KEYS_LOG2); unicode++) {
            for (int split = 0; split <= 1; split++) {
                uint8_t *a = arena(16384), *dict = a, *keys = a + 1024, *values = a + 8192;
                int32_t vv = o->dict_values_values > 0 ? o->dict_values_values : 0;
                build_keys3(o, keys, split ? values + vv : NULL, unicode);
                put64(dict, o->dict_ma_keys, addr(keys));
                put64(dict, o->dict_ma_values, split ? addr(values) : 0);
                struct seen s = { .n = 0 };
                ck_assert_msg(pyobj_dict_iter(&mem, o, addr(dict), collect, &s) == 0, "3.%d", minors[k]);
                check_items(&s);
                /* The keys object alone, with the values array. */
                if (split) {
                    struct seen t = { .n = 0 };
                    ck_assert_int_eq(pyobj_keys_iter(&mem, o, addr(keys), addr(values) + (uint64_t)vv, collect, &t), 0);
                    check_items(&t);
                }
                /* Unreadable keys, and more entries than a dict we iterate. */
                put64(dict, o->dict_ma_keys, 0);
                ck_assert_int_eq(pyobj_dict_iter(&mem, o, addr(dict), collect, &s), -EFAULT);
                put64(dict, o->dict_ma_keys, addr(keys));
                put64(keys, o->dk_nentries, 1u << 20);
                ck_assert_int_eq(pyobj_dict_iter(&mem, o, addr(dict), collect, &s), -EINVAL);
                free(a);
            }
        }
    }
}
END_TEST

START_TEST(test_misses)
{
    /* Nothing found is 0, never a crash: NULL, unreadable, no such key. */
    const struct py_offsets *o = pyoffsets_for_version(3, 12);
    ck_assert_uint_eq(pyobj_dict_get(&mem, o, 0, "x"), 0);
    ck_assert_uint_eq(pyobj_dict_get(&mem, o, 16, "x"), 0);
    ck_assert_uint_eq(pyobj_attr_get(&mem, o, 0, "x"), 0);
    uint8_t *a = arena(16384), *dict = a, *keys = a + 1024;
    build_keys3(o, keys, NULL, 1);
    put64(dict, o->dict_ma_keys, addr(keys));
    /* Keys that are not strings (garbage addresses) match nothing. */
    ck_assert_uint_eq(pyobj_dict_get(&mem, o, addr(dict), "x"), 0);
    free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pyobj");
    TCase *tc = tcase_create("pyobj");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_read_word);
    tcase_add_test(tc, test_type_name);
    tcase_add_test(tc, test_int_value);
    tcase_add_test(tc, test_dict_py2);
    tcase_add_test(tc, test_dict_keys);
    tcase_add_test(tc, test_misses);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
