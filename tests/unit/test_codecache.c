/* Unit tests: the code-object cache (codecache), on fake code, str and bytes
 * objects built in this process's own memory with the 3.12 layout, read
 * through proc_mem. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codecache.h"
#include "proc.h"
#include "pyoffsets.h"
#include "pystr.h"
#include "pywalk.h"
#include "readbatch.h"
#include "strtab.h"

static const struct py_offsets *o;
static struct proc_mem self;
static struct strtab *st;
static struct codecache cc;

/* Fake type objects; static so their addresses are never reused for a type
 * of another class while pystr's type cache remembers them. */
static _Alignas(16) uint8_t type_code[512], type_str[512], type_bytes[512], type_dict[512];

/* A 3.11+ line table (see test_linetable's test_311_edges): from first line
 * 20, unit 0 is on line 23, unit 1 on none, units 2–3 on 21. */
static const uint8_t table311[] = { 0xf0, 6, 0, 1, 1, 0xf8, 0xe9, 5, 0xd8, 4, 9, 0x82, 0x12 };

static _Alignas(16) uint8_t name_f[64], name_g[64], file_a[64], table[64];

#define NCODE 4
static _Alignas(16) uint8_t codes[NCODE][256];

static uint64_t A(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static void put_u64(uint8_t *obj, int32_t off, uint64_t v)
{
    memcpy(obj + off, &v, 8);
}

static void make_type(uint8_t *t, const char *name, uint64_t flags)
{
    memset(t, 0, 512);
    put_u64(t, o->tp_name, A(name));
    put_u64(t, o->tp_flags, flags);
}

/* A compact ASCII str (3.12: no "ready" bit). */
static void make_str(uint8_t *buf, const char *s)
{
    size_t n = strlen(s);
    uint32_t state = (1u << 2) | (1u << 5) | (1u << 6);
    memset(buf, 0, 64);
    put_u64(buf, o->ob_type, A(type_str));
    put_u64(buf, o->uni_length, n);
    memcpy(buf + o->uni_state, &state, 4);
    memcpy(buf + o->uni_ascii_size, s, n + 1);
}

static void make_code(uint8_t *code, const uint8_t *type, const uint8_t *name, int32_t first)
{
    memset(code, 0, 256);
    put_u64(code, o->ob_type, A(type));
    put_u64(code, o->co_qualname, A(name));
    put_u64(code, o->co_name, A(name));
    put_u64(code, o->co_filename, A(file_a));
    put_u64(code, o->co_linetable, A(table));
    memcpy(code + o->co_firstlineno, &first, 4);
}

static void setup(void)
{
    o = pyoffsets_for_version(3, 12);
    ck_assert_ptr_nonnull(o);
    pystr_cache_reset();
    make_type(type_code, "code", 0);
    make_type(type_str, "str", 1ull << 28);
    make_type(type_bytes, "bytes", 1ull << 27);
    make_type(type_dict, "dict", 1ull << 29);
    make_str(name_f, "f");
    make_str(name_g, "Klass.g");
    make_str(file_a, "/a.py");
    memset(table, 0, sizeof table);
    put_u64(table, o->ob_type, A(type_bytes));
    put_u64(table, o->ob_size, sizeof table311);
    memcpy(table + o->bytes_sval, table311, sizeof table311);
    for (int i = 0; i < NCODE; i++)
        make_code(codes[i], type_code, name_f, 20 + i);
    ck_assert_int_eq(proc_mem_open(&self, getpid()), 0);
    st = strtab_new();
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(codecache_init(&cc, o, &self, st), 0);
    codecache_set_clock(&cc, 1, 1000000000ull);
}

static void teardown(void)
{
    codecache_free(&cc);
    strtab_free(st);
    proc_mem_close(&self);
}

static const char *name_of(const struct codecache_entry *c)
{
    return strtab_get(st, c->name);
}

/* Before the first code object is cached there is no list to sort: the
 * rebuild must not hand qsort a null array (UBSan caught it on a
 * subprocess walked before it ran any code). */
START_TEST(test_hot_rebuild_empty)
{
    codecache_hot_rebuild(&cc, 4);
    ck_assert_uint_eq(cc.nhot, 0);
    codecache_hot_rebuild(&cc, 4);
    ck_assert_uint_eq(cc.nhot, 0);
}
END_TEST

START_TEST(test_lookup_hit_miss)
{
    int err = 0;
    struct codecache_entry *c = codecache_lookup(&cc, A(codes[0]), NULL, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(name_of(c), "f");
    ck_assert_str_eq(strtab_get(st, c->file), "/a.py");
    ck_assert_int_eq(c->firstlineno, 20);
    ck_assert_uint_eq(c->table_len, sizeof table311);
    ck_assert_uint_eq(cc.ncodes, 1);
    /* A hit reads nothing: a change in the object is not seen in the same pass. */
    put_u64(codes[0], o->co_qualname, A(name_g));
    ck_assert_ptr_eq(codecache_lookup(&cc, A(codes[0]), NULL, &err), c);
    ck_assert_str_eq(name_of(c), "f");
    ck_assert_uint_eq(cc.ncodes, 1);
    ck_assert_uint_eq(cc.npending, 0);
    ck_assert_ptr_eq(codecache_find(&cc, A(codes[0])), c);
    ck_assert_ptr_null(codecache_find(&cc, A(codes[1])));
    /* A miss decodes. */
    struct codecache_entry *c1 = codecache_lookup(&cc, A(codes[1]), NULL, &err);
    ck_assert_ptr_nonnull(c1);
    ck_assert_int_eq(c1->firstlineno, 21);
    ck_assert_uint_eq(cc.ncodes, 2);
    /* Not code, misaligned, unreadable. */
    make_code(codes[2], type_dict, name_f, 1);
    err = 0;
    ck_assert_ptr_null(codecache_lookup(&cc, A(codes[2]), NULL, &err));
    ck_assert_int_eq(err, PYWALK_ERR_NOTCODE);
    ck_assert_ptr_null(codecache_lookup(&cc, A(codes[1]) + 4, NULL, &err));
    ck_assert_int_eq(err, PYWALK_ERR_READ);
    ck_assert_ptr_null(codecache_lookup(&cc, 64, NULL, &err));
    ck_assert_int_eq(err, PYWALK_ERR_READ);
    /* A code object whose name is not a str. */
    make_code(codes[3], type_code, table, 1);
    ck_assert_ptr_null(codecache_lookup(&cc, A(codes[3]), NULL, &err));
    ck_assert_int_eq(err, PYWALK_ERR_BADCODE);
    ck_assert_uint_eq(cc.ncodes, 2);
    /* The hot list holds what was used, sorted. */
    ck_assert_uint_eq(cc.nhot, 2);
    ck_assert_uint_eq(cc.hot[0], A(codes[0]));
    ck_assert_uint_eq(cc.hot[1], A(codes[1]));
    /* Forgotten once not used for RECENT passes. */
    codecache_set_clock(&cc, 10, 2000000000ull);
    codecache_lookup(&cc, A(codes[1]), NULL, &err);
    codecache_hot_rebuild(&cc, 5);
    ck_assert_uint_eq(cc.nhot, 1);
    ck_assert_uint_eq(cc.hot[0], A(codes[1]));
}
END_TEST

/* An entry due for a re-check, with no batch: queued, then checked in one read. */
START_TEST(test_recheck_pending)
{
    int err = 0;
    struct codecache_entry *c = codecache_lookup(&cc, A(codes[0]), NULL, &err);
    ck_assert_ptr_nonnull(c);
    /* Another pass, but too soon: no re-check. */
    codecache_set_clock(&cc, 2, 1000000000ull + CODECACHE_RECHECK_NS - 1);
    ck_assert_ptr_eq(codecache_lookup(&cc, A(codes[0]), NULL, &err), c);
    ck_assert_uint_eq(cc.npending, 0);
    /* Due, unchanged: the check passes and the entry stays. */
    codecache_set_clock(&cc, 3, 1000000000ull + CODECACHE_RECHECK_NS);
    ck_assert_ptr_eq(codecache_lookup(&cc, A(codes[0]), NULL, &err), c);
    ck_assert_uint_eq(cc.npending, 1);
    ck_assert_int_eq(codecache_check_pending(&cc, NULL), 0);
    ck_assert_uint_eq(cc.npending, 0);
    ck_assert_uint_eq(cc.ncodes, 1);
    /* Due, and the name pointer changed (a new code object at the old
     * address): detected, and the cache is dropped. */
    put_u64(codes[0], o->co_qualname, A(name_g));
    codecache_set_clock(&cc, 4, 1000000000ull + 2 * CODECACHE_RECHECK_NS);
    c = codecache_lookup(&cc, A(codes[0]), NULL, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(name_of(c), "f");      /* stale until checked */
    ck_assert_int_eq(codecache_check_pending(&cc, NULL), 1);
    ck_assert_uint_eq(cc.ncodes, 0);
    ck_assert_ptr_null(codecache_find(&cc, A(codes[0])));
    c = codecache_lookup(&cc, A(codes[0]), NULL, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(name_of(c), "Klass.g");
}
END_TEST

/* The hot list's signature windows, read by a batch. */
START_TEST(test_recheck_from_batch)
{
    int err = 0;
    struct readbatch b;
    readbatch_init(&b, 0);
    for (int i = NCODE - 1; i >= 0; i--)
        ck_assert_ptr_nonnull(codecache_lookup(&cc, A(codes[i]), NULL, &err));
    ck_assert_uint_eq(cc.nhot, NCODE);
    for (int i = 1; i < NCODE; i++)
        ck_assert_uint_lt(cc.hot[i - 1], cc.hot[i]);
    /* Not due: nothing planned. */
    codecache_plan_spans(&cc, &b, 5, 0);
    ck_assert_uint_eq(b.n, 0);
    /* The windows lie close together: one merged span. */
    codecache_plan_spans(&cc, &b, 5, 1);
    ck_assert_uint_eq(cc.nspans, 1);
    ck_assert_uint_eq(b.n, 1);
    ck_assert_int_eq(readbatch_run(&b, &self), 0);
    codecache_stamp_spans(&cc, &b);
    ck_assert_int_eq(codecache_verify_spans(&cc, &b), 0);
    /* A changed name pointer fails the check of the whole list ... */
    put_u64(codes[2], o->co_qualname, A(name_g));
    readbatch_reset(&b);
    codecache_plan_spans(&cc, &b, 5, 1);
    ck_assert_int_eq(readbatch_run(&b, &self), 0);
    codecache_stamp_spans(&cc, &b);
    ck_assert_int_eq(codecache_verify_spans(&cc, &b), -1);
    /* ... and a lookup due for a re-check sees it in the batch. */
    codecache_set_clock(&cc, 2, 1000000000ull + CODECACHE_RECHECK_NS);
    ck_assert_ptr_nonnull(codecache_lookup(&cc, A(codes[1]), &b, &err));
    ck_assert_int_eq(cc.changed, 0);
    ck_assert_uint_eq(cc.npending, 0);      /* checked from the batch, not queued */
    ck_assert_ptr_null(codecache_lookup(&cc, A(codes[2]), &b, &err));
    ck_assert_int_eq(err, PYWALK_ERR_BADCODE);
    ck_assert_int_eq(cc.changed, 1);
    readbatch_free(&b);
}
END_TEST

/* The cache is dropped whole when full; until then every entry is found,
 * and entries handed out never move. */
START_TEST(test_clear_when_full)
{
    size_t n = CODECACHE_MAX + 1, size = 256;
    uint8_t *many = aligned_alloc(16, n * size);
    ck_assert_ptr_nonnull(many);
    for (size_t i = 0; i < n; i++)
        make_code(many + i * size, type_code, name_f, (int32_t)i);
    int err = 0;
    struct codecache_entry *first = codecache_lookup(&cc, A(many), NULL, &err);
    ck_assert_ptr_nonnull(first);
    for (size_t i = 1; i < n - 1; i++)
        ck_assert_ptr_nonnull(codecache_lookup(&cc, A(many + i * size), NULL, &err));
    ck_assert_uint_eq(cc.ncodes, CODECACHE_MAX);
    ck_assert_ptr_eq(codecache_find(&cc, A(many)), first);
    ck_assert_int_eq(first->firstlineno, 0);
    for (size_t i = 0; i < n - 1; i++) {
        struct codecache_entry *e = codecache_find(&cc, A(many + i * size));
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->firstlineno, (int32_t)i);
        ck_assert_ptr_eq(codecache_lookup(&cc, A(many + i * size), NULL, &err), e);
    }
    ck_assert_uint_eq(cc.ncodes, CODECACHE_MAX);
    ck_assert_ptr_null(codecache_find(&cc, A(many + (n - 1) * size)));
    struct codecache_entry *c = codecache_lookup(&cc, A(many + (n - 1) * size), NULL, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->firstlineno, (int32_t)(n - 1));
    ck_assert_uint_eq(cc.ncodes, 1);
    ck_assert_ptr_null(codecache_find(&cc, A(many)));
    ck_assert_ptr_eq(codecache_find(&cc, A(many + (n - 1) * size)), c);
    ck_assert_uint_eq(cc.nhot, 1);
    /* Filled again after the drop: found again, none twice. */
    for (size_t i = 0; i < 100; i++)
        ck_assert_ptr_nonnull(codecache_lookup(&cc, A(many + i * size), NULL, &err));
    ck_assert_uint_eq(cc.ncodes, 101);
    for (size_t i = 0; i < 100; i++)
        ck_assert_int_eq(codecache_find(&cc, A(many + i * size))->firstlineno, (int32_t)i);
    /* The hot list rebuilt from the entries in use. */
    codecache_hot_rebuild(&cc, 0);
    ck_assert_uint_eq(cc.nhot, 101);
    for (size_t i = 1; i < cc.nhot; i++)
        ck_assert_uint_lt(cc.hot[i - 1], cc.hot[i]);
    free(many);
}
END_TEST

/* The code type is learned by name from the first code object, then
 * compared by address; an object of another type teaches nothing. */
START_TEST(test_code_type_learned)
{
    int err = 0;
    make_code(codes[2], type_dict, name_f, 1);
    ck_assert_ptr_null(codecache_lookup(&cc, A(codes[2]), NULL, &err));
    ck_assert_int_eq(err, PYWALK_ERR_NOTCODE);
    ck_assert_uint_eq(cc.code_type, 0);
    ck_assert_ptr_nonnull(codecache_lookup(&cc, A(codes[0]), NULL, &err));
    ck_assert_uint_eq(cc.code_type, A(type_code));
    /* Learned: another type named "code" is not the code type. */
    static _Alignas(16) uint8_t type_code2[512];
    make_type(type_code2, "code", 0);
    make_code(codes[3], type_code2, name_f, 1);
    ck_assert_ptr_null(codecache_lookup(&cc, A(codes[3]), NULL, &err));
    ck_assert_int_eq(err, PYWALK_ERR_NOTCODE);
}
END_TEST

START_TEST(test_line_memo)
{
    int err = 0;
    struct codecache_entry *c = codecache_lookup(&cc, A(codes[0]), NULL, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(codecache_line(&cc, c, -1), 20);
    ck_assert_int_eq(codecache_line(&cc, c, 0), 23);
    ck_assert_int_eq(codecache_line(&cc, c, 1), 0);     /* no line */
    ck_assert_int_eq(codecache_line(&cc, c, 2), 21);
    /* Remembered: a table gone empty does not change the answers ... */
    uint32_t len = c->table_len;
    c->table_len = 0;
    ck_assert_int_eq(codecache_line(&cc, c, 0), 23);
    ck_assert_int_eq(codecache_line(&cc, c, 2), 21);
    /* ... until CODECACHE_LINE_MEMO other positions pushed them out. */
    for (int at = 10; at < 10 + CODECACHE_LINE_MEMO; at++)
        codecache_line(&cc, c, at);
    ck_assert_int_eq(codecache_line(&cc, c, 0), 0);
    c->table_len = len;
    ck_assert_int_eq(codecache_line(&cc, c, 3), 21);
}
END_TEST

/* Thread-local bytecode (free-threaded layouts): the 3.12 layout with a
 * co_tlbc member placed in the fake code object's spare bytes. */
static _Alignas(16) uint8_t copy1[64], copy2[64], copy3[64];
static _Alignas(16) uint64_t tlbc_array[4];

START_TEST(test_thread_local_bytecode)
{
    struct py_offsets lo = *o;
    lo.co_tlbc = 240;
    lo.tlbc_entries = 8;
    struct codecache tcc;
    ck_assert_int_eq(codecache_init(&tcc, &lo, &self, st), 0);
    codecache_set_clock(&tcc, 1, 1000000000ull);
    uint8_t *code = codes[1];
    put_u64(code, lo.ob_size, 16);              /* 16 code units: 32 bytes */
    tlbc_array[0] = 3;                          /* size */
    tlbc_array[1] = A(code) + (uint64_t)lo.co_code_adaptive;
    tlbc_array[2] = A(copy1);
    tlbc_array[3] = A(copy2);
    put_u64(code, lo.co_tlbc, A(tlbc_array));
    int err = 0, read = 0;
    struct codecache_entry *c = codecache_lookup(&tcc, A(code), NULL, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->nbytes, 32);

    /* Index 0 is the code object's own bytecode: nothing read. */
    ck_assert_uint_eq(codecache_bytecode(&tcc, c, A(code), 0, A(code) + 200, &read),
                      A(code) + (uint64_t)lo.co_code_adaptive);
    ck_assert_int_eq(read, 0);
    /* Index 2: entries[2], read once, then remembered. */
    ck_assert_uint_eq(codecache_bytecode(&tcc, c, A(code), 2, A(copy2) + 6, &read), A(copy2));
    ck_assert_int_eq(read, 1);
    read = 0;
    ck_assert_uint_eq(codecache_bytecode(&tcc, c, A(code), 2, A(copy2) + 30, &read), A(copy2));
    ck_assert_int_eq(read, 0);
    /* The index went to another thread with a new copy: an instruction
     * outside the remembered copy makes it read again. */
    tlbc_array[3] = A(copy3);
    ck_assert_uint_eq(codecache_bytecode(&tcc, c, A(code), 2, A(copy3) + 4, &read), A(copy3));
    ck_assert_int_eq(read, 1);
    /* Out of the array, negative, or no array: 0. */
    ck_assert_uint_eq(codecache_bytecode(&tcc, c, A(code), 3, A(copy1), &read), 0);
    ck_assert_uint_eq(codecache_bytecode(&tcc, c, A(code), -1, A(copy1), &read), 0);
    put_u64(code, lo.co_tlbc, 0);
    ck_assert_uint_eq(codecache_bytecode(&tcc, c, A(code), 1, A(copy1), &read), 0);
    /* A layout without thread-local bytecode ignores the index. */
    ck_assert_uint_eq(codecache_bytecode(&cc, c, A(code), 2, A(copy2), &read),
                      A(code) + (uint64_t)o->co_code_adaptive);
    codecache_free(&tcc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("codecache");
    TCase *tc = tcase_create("codecache");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_hot_rebuild_empty);
    tcase_add_test(tc, test_lookup_hit_miss);
    tcase_add_test(tc, test_recheck_pending);
    tcase_add_test(tc, test_recheck_from_batch);
    tcase_add_test(tc, test_clear_when_full);
    tcase_add_test(tc, test_code_type_learned);
    tcase_add_test(tc, test_line_memo);
    tcase_add_test(tc, test_thread_local_bytecode);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
