/*
 * Unit tests for pystr.c:
 *   - pure conversion of every PEP 393 kind, truncation, invalid code points;
 *   - state-word decoding, checked against bit-field structs written like
 *     each version's unicodeobject.h (so the compiler, not us, places bits);
 *   - pystr_read / pybytes_read on objects built in this process's memory
 *     with the real layout tables (read back through proc_mem_read on our
 *     own pid): every layout, long and truncated strings, page ends, garbage;
 *   - pystr_read / pybytes_read against live interpreters of every installed
 *     pyenv version, on strings whose id() they print.
 */
#include <check.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <uchar.h>
#include <unistd.h>

#include "proc.h"
#include "pyoffsets.h"
#include "pystr.h"

static void reset_cache(void)
{
    pystr_cache_reset();
}

/* ------------------------------------------------------------ conversion -- */

START_TEST(test_ascii_latin1)
{
    char out[64];
    ck_assert_int_eq(pystr_pep393_to_utf8("hello", 5, 1, out, sizeof out), 5);
    ck_assert_str_eq(out, "hello");
    static const uint8_t cafe[] = {'c', 'a', 'f', 0xE9};
    ck_assert_int_eq(pystr_pep393_to_utf8(cafe, 4, 1, out, sizeof out), 5);
    ck_assert_str_eq(out, u8"café");
    ck_assert_int_eq(pystr_pep393_to_utf8("", 0, 1, out, sizeof out), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(pystr_pep393_to_utf8(NULL, 0, 4, out, sizeof out), 0);
    /* an embedded NUL is a character like any other */
    ck_assert_int_eq(pystr_pep393_to_utf8("a\0b", 3, 1, out, sizeof out), 3);
    ck_assert_int_eq(memcmp(out, "a\0b", 4), 0);
}
END_TEST

START_TEST(test_ucs2_ucs4)
{
    char out[64];
    static const char16_t fn[] = u"функция";
    static const char16_t kansu[] = u"関数";
    static const char32_t uni[] = U"ünïcode💩";

    ck_assert_int_eq(pystr_pep393_to_utf8(fn, 7, 2, out, sizeof out), 14);
    ck_assert_str_eq(out, u8"функция");
    ck_assert_int_eq(pystr_pep393_to_utf8(kansu, 2, 2, out, sizeof out), 6);
    ck_assert_str_eq(out, u8"関数");
    ck_assert_int_eq(pystr_pep393_to_utf8(uni, 8, 4, out, sizeof out), 13);
    ck_assert_str_eq(out, u8"ünïcode💩");

    /* unaligned source */
    uint8_t raw[1 + sizeof uni];
    memcpy(raw + 1, uni, sizeof uni);
    ck_assert_int_eq(pystr_pep393_to_utf8(raw + 1, 8, 4, out, sizeof out), 13);
    ck_assert_str_eq(out, u8"ünïcode💩");
}
END_TEST

START_TEST(test_truncation)
{
    char out[64];
    static const char16_t fn[] = u"функция";
    static const char32_t poo[] = U"a💩";

    /* 6 bytes: room for 5 + NUL → two 2-byte characters */
    ck_assert_int_eq(pystr_pep393_to_utf8(fn, 7, 2, out, 6), 4);
    ck_assert_str_eq(out, u8"фу");
    ck_assert_int_eq(pystr_pep393_to_utf8(fn, 7, 2, out, 5), 4);
    ck_assert_int_eq(pystr_pep393_to_utf8(fn, 7, 2, out, 4), 2);
    ck_assert_str_eq(out, u8"ф");
    ck_assert_int_eq(pystr_pep393_to_utf8(fn, 7, 2, out, 1), 0);
    ck_assert_str_eq(out, "");
    /* a 4-byte character fits exactly, or not at all */
    ck_assert_int_eq(pystr_pep393_to_utf8(poo, 2, 4, out, 6), 5);
    ck_assert_str_eq(out, u8"a💩");
    ck_assert_int_eq(pystr_pep393_to_utf8(poo, 2, 4, out, 5), 1);
    ck_assert_str_eq(out, "a");
    ck_assert_int_eq(pystr_pep393_to_utf8("hello", 5, 1, out, 3), 2);
    ck_assert_str_eq(out, "he");
}
END_TEST

START_TEST(test_invalid_code_points)
{
    char out[64];
    static const char16_t lone[] = {'a', 0xD800, 'b', 0xDC00};
    static const char16_t pair[] = {0xD83D, 0xDCA9};
    static const char32_t bad4[] = {0xDFFF, 0x110000, 0xFFFFFFFF, 0x10FFFF};

    ck_assert_int_eq(pystr_pep393_to_utf8(lone, 4, 2, out, sizeof out), 8);
    ck_assert_str_eq(out, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
    /* PEP 393 strings never pair surrogates: each is its own character */
    ck_assert_int_eq(pystr_pep393_to_utf8(pair, 2, 2, out, sizeof out), 6);
    ck_assert_str_eq(out, "\xEF\xBF\xBD\xEF\xBF\xBD");
    ck_assert_int_eq(pystr_pep393_to_utf8(bad4, 4, 4, out, sizeof out), 13);
    ck_assert_str_eq(out, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xF4\x8F\xBF\xBF");
}
END_TEST

START_TEST(test_conversion_errors)
{
    char out[8] = "x";
    ck_assert_int_eq(pystr_pep393_to_utf8("a", 1, 3, out, sizeof out), -EINVAL);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(pystr_pep393_to_utf8("a", 1, 0, out, sizeof out), -EINVAL);
    ck_assert_int_eq(pystr_pep393_to_utf8("a", 1, 1, out, 0), -EINVAL);
    ck_assert_int_eq(pystr_pep393_to_utf8(NULL, 1, 1, out, sizeof out), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------ state word -- */

/* The state struct as each header declares it (little-endian ABI). */
struct state_311 {      /* 3.3–3.11 */
    unsigned int interned:2;
    unsigned int kind:3;
    unsigned int compact:1;
    unsigned int ascii:1;
    unsigned int ready:1;
    unsigned int :24;
};
struct state_312 {      /* 3.12–3.13, 3.14 default build */
    unsigned int interned:2;
    unsigned int kind:3;
    unsigned int compact:1;
    unsigned int ascii:1;
    unsigned int statically_allocated:1;
    unsigned int :24;
};
struct state_314t {     /* 3.14 free-threaded (Py_GIL_DISABLED) */
    unsigned char interned;
    unsigned int kind:3;
    unsigned int compact:1;
    unsigned int ascii:1;
    unsigned int statically_allocated:1;
};

START_TEST(test_state_decode)
{
    /* Every compiled PEP 393 layout, the free-threaded one included: the
     * bit positions in the tables (generated from each version's headers)
     * must agree with the bit-fields as declared above. */
    static const int minors[] = {6, 7, 8, 9, 10, 11, 12, 13, 14};
    static const int kinds[] = {0, 1, 2, 4, 3};
    size_t checked = 0, layouts = 0;

    ck_assert_uint_eq(sizeof(struct state_311), 4);
    ck_assert_uint_eq(sizeof(struct state_312), 4);
    ck_assert_uint_eq(sizeof(struct state_314t), 4);

    for (size_t v = 0; v < sizeof minors / sizeof minors[0]; v++)
    for (int ft = 0; ft <= 1; ft++) {
        int minor = minors[v];
        const struct py_offsets *o = pyoffsets_for_build(3, minor, ft);
        if (!o) {
            ck_assert_msg(ft, "no table for 3.%d", minor);
            continue;
        }
        layouts++;
    for (int interned = 0; interned < 4; interned++)
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    for (int bits = 0; bits < 8; bits++) {
        int compact = bits & 1, ascii = (bits >> 1) & 1, last = (bits >> 2) & 1;
        int kind = kinds[k];
        uint32_t word = 0;

        if (ft) {
            struct state_314t st = {0};
            st.interned = (unsigned char)interned;
            st.kind = (unsigned)kind;
            st.compact = (unsigned)compact;
            st.ascii = (unsigned)ascii;
            st.statically_allocated = (unsigned)last;
            memcpy(&word, &st, 4);
        } else if (minor >= 12) {
            struct state_312 st = {0};
            st.interned = (unsigned)interned;
            st.kind = (unsigned)kind;
            st.compact = (unsigned)compact;
            st.ascii = (unsigned)ascii;
            st.statically_allocated = (unsigned)last;
            memcpy(&word, &st, 4);
        } else {
            struct state_311 st = {0};
            st.interned = (unsigned)interned;
            st.kind = (unsigned)kind;
            st.compact = (unsigned)compact;
            st.ascii = (unsigned)ascii;
            st.ready = (unsigned)last;
            memcpy(&word, &st, 4);
        }

        struct pystr_state d;
        int rc = pystr_state_decode(word, o, &d);
        ck_assert_int_eq(d.interned, interned);
        ck_assert_int_eq(d.kind, kind);
        ck_assert_int_eq(d.compact, compact);
        ck_assert_int_eq(d.ascii, ascii);
        if (minor >= 12) {
            ck_assert_int_eq(d.ready, 1);
            ck_assert_int_eq(d.statically_allocated, last);
        } else {
            ck_assert_int_eq(d.ready, last);
            ck_assert_int_eq(d.statically_allocated, 0);
        }
        int valid = (kind == 1 || kind == 2 || kind == 4) &&
                    (!ascii || kind == 1) && (minor >= 12 || last);
        ck_assert_int_eq(rc, valid ? 0 : -EINVAL);
        checked++;
    }
    }
    ck_assert_uint_eq(layouts, 10);
    ck_assert_uint_eq(checked, 10 * 4 * 5 * 8);

    /* no PEP 393 in 2.7's layout */
    struct pystr_state d;
    ck_assert_int_eq(pystr_state_decode(0xA4, pyoffsets_for_version(2, 7), &d), -EINVAL);
}
END_TEST

/* ------------------------------------------- in-process synthetic objects -- */

/* Fake type objects; static so their addresses are never reused for a type
 * of another class while the (per-pid) type cache remembers them. */
static _Alignas(16) uint8_t type_str[512], type_bytes[512], type_uni2[512],
    type_substr[512], type_int[512], type_both[512];

static void make_type(uint8_t *t, const struct py_offsets *o, const char *name,
                      uint64_t flags)
{
    uint64_t p = (uint64_t)(uintptr_t)name;
    memset(t, 0, 512);
    memcpy(t + o->tp_name, &p, 8);
    memcpy(t + o->tp_flags, &flags, 8);
}

static void put_u64(uint8_t *obj, int32_t off, uint64_t v)
{
    memcpy(obj + off, &v, 8);
}

static void set_types(const struct py_offsets *o)
{
    make_type(type_str, o, o->major == 2 ? "unicode" : "str", 1ull << 28);
    make_type(type_bytes, o, o->major == 2 ? "str" : "bytes", 1ull << 27);
    make_type(type_uni2, o, "unicode", 1ull << 28);
    make_type(type_substr, o, "MyStr", (1ull << 28) | (1ull << 9));
    make_type(type_int, o, "int", 1ull << 24);
    make_type(type_both, o, "str", (1ull << 27) | (1ull << 28));
}

/* A PEP 393 object in BUF (layout O): compact (data inline) or, with
 * COMPACT = 0, pointing at EXT. Returns the object's size. */
static size_t make_pep393(const struct py_offsets *o, uint8_t *buf,
                          const uint8_t *type, const void *chars, size_t n,
                          int kind, int ascii, int compact, const void *ext)
{
    uint32_t state = ((uint32_t)kind << 2) | ((uint32_t)compact << 5) |
                     ((uint32_t)ascii << 6) | (o->minor <= 11 ? 1u << 7 : 0);
    size_t off = (size_t)(ascii ? o->uni_ascii_size : o->uni_compact_size);

    memset(buf, 0, off);
    put_u64(buf, o->ob_type, (uint64_t)(uintptr_t)type);
    put_u64(buf, o->uni_length, n);
    memcpy(buf + o->uni_state, &state, 4);
    if (!compact) {
        off = (size_t)o->uni_data + 8;
        put_u64(buf, o->uni_data, (uint64_t)(uintptr_t)ext);
        return off;
    }
    memcpy(buf + off, chars, n * (size_t)kind);
    memset(buf + off + n * (size_t)kind, 0, (size_t)kind);
    return off + (n + 1) * (size_t)kind;
}

/* A 2.7 str / 3.x bytes object. */
static size_t make_bytes(const struct py_offsets *o, uint8_t *buf,
                         const uint8_t *type, const void *data, size_t n)
{
    memset(buf, 0, (size_t)o->bytes_sval);
    put_u64(buf, o->ob_type, (uint64_t)(uintptr_t)type);
    put_u64(buf, o->ob_size, n);
    memcpy(buf + o->bytes_sval, data, n);
    buf[o->bytes_sval + n] = 0;
    return (size_t)o->bytes_sval + n + 1;
}

/* A 2.7 unicode object pointing at DATA. */
static void make_uni2(const struct py_offsets *o, uint8_t *buf,
                      const void *data, size_t n)
{
    memset(buf, 0, 64);
    put_u64(buf, o->ob_type, (uint64_t)(uintptr_t)type_uni2);
    put_u64(buf, o->uni2_length, n);
    put_u64(buf, o->uni2_str, (uint64_t)(uintptr_t)data);
}

static uint64_t A(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static struct proc_mem self;

static void self_open(void)
{
    pystr_cache_reset();
    ck_assert_int_eq(proc_mem_open(&self, getpid()), 0);
}

static void self_close(void)
{
    proc_mem_close(&self);
}

/* Every PEP 393 layout of every 3.x table. */
START_TEST(test_read_pep393_layouts)
{
    static const int minors[] = {6, 7, 8, 9, 10, 11, 12, 13};
    static const char16_t fn[] = u"функция";
    static const char32_t uni[] = U"ünïcode💩";
    static const uint8_t cafe[] = {'c', 'a', 'f', 0xE9};
    _Alignas(8) static uint8_t obj[1024];
    char out[256];

    for (size_t v = 0; v < sizeof minors / sizeof minors[0]; v++) {
        const struct py_offsets *o = pyoffsets_for_version(3, minors[v]);
        ck_assert_ptr_nonnull(o);
        pystr_cache_reset();
        set_types(o);

        make_pep393(o, obj, type_str, "hello", 5, 1, 1, 1, NULL);
        ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
        ck_assert_str_eq(out, "hello");

        make_pep393(o, obj, type_str, cafe, 4, 1, 0, 1, NULL);
        ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
        ck_assert_str_eq(out, u8"café");

        make_pep393(o, obj, type_str, fn, 7, 2, 0, 1, NULL);
        ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
        ck_assert_str_eq(out, u8"функция");

        make_pep393(o, obj, type_str, uni, 8, 4, 0, 1, NULL);
        ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
        ck_assert_str_eq(out, u8"ünïcode💩");

        make_pep393(o, obj, type_str, "", 0, 1, 1, 1, NULL);
        ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
        ck_assert_str_eq(out, "");

        /* non-compact (a str subclass instance): data behind the pointer,
         * ascii or not */
        make_pep393(o, obj, type_substr, NULL, 7, 2, 0, 0, fn);
        ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
        ck_assert_str_eq(out, u8"функция");
        make_pep393(o, obj, type_substr, NULL, 5, 1, 1, 0, "world");
        ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
        ck_assert_str_eq(out, "world");

        /* truncated at a character boundary */
        make_pep393(o, obj, type_str, uni, 8, 4, 0, 1, NULL);
        ck_assert_int_eq(pystr_read(&self, o, A(obj), out, 13), 0);
        ck_assert_str_eq(out, u8"ünïcode");
    }
}
END_TEST

START_TEST(test_read_pep393_long)
{
    const struct py_offsets *o = pyoffsets_for_version(3, 12);
    ck_assert_ptr_nonnull(o);
    set_types(o);

    /* 9000 UCS-2 characters: far more than the first read and than one
     * staging buffer */
    enum { N = 9000 };
    static char16_t chars[N];
    static _Alignas(8) uint8_t obj[64 + 2 * (N + 1)];
    static char out[3 * N + 1], want[3 * N + 1];
    for (size_t i = 0; i < N; i++)
        chars[i] = (char16_t)(i % 3 == 0 ? u'ж' : i % 3 == 1 ? u'x' : u'関');
    ck_assert_int_gt(pystr_pep393_to_utf8(chars, N, 2, want, sizeof want), 0);

    make_pep393(o, obj, type_str, chars, N, 2, 0, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
    ck_assert_str_eq(out, want);

    /* every output size cuts on a character boundary, keeping a prefix */
    for (size_t len = 1; len < 40; len++) {
        ck_assert_int_eq(pystr_read(&self, o, A(obj), out, len), 0);
        size_t got = strlen(out);
        ck_assert_uint_lt(got, len);
        ck_assert_uint_ge(got + 3, len - 1);
        ck_assert_int_eq(memcmp(out, want, got), 0);
        ck_assert((want[got] & 0xC0) != 0x80);
    }
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, 5000), 0);
    ck_assert_uint_ge(strlen(out), 4996);

    /* longer than PYSTR_MAX_CHARS: garbage */
    put_u64(obj, o->uni_length, PYSTR_MAX_CHARS + 1);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_read_rejects)
{
    const struct py_offsets *o = pyoffsets_for_version(3, 11);
    ck_assert_ptr_nonnull(o);
    set_types(o);
    _Alignas(8) static uint8_t obj[512];
    char out[64];

    /* not ready (3.11 legacy string): ready bit clear */
    make_pep393(o, obj, type_str, "abc", 3, 1, 1, 1, NULL);
    uint32_t st;
    memcpy(&st, obj + o->uni_state, 4);
    st &= ~(1u << 7);
    memcpy(obj + o->uni_state, &st, 4);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    /* kind 3, ascii with kind 2 */
    make_pep393(o, obj, type_str, "abcdef", 2, 3, 0, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    make_pep393(o, obj, type_str, "abcd", 2, 2, 1, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    /* negative length */
    make_pep393(o, obj, type_str, "abc", 3, 1, 1, 1, NULL);
    put_u64(obj, o->uni_length, (uint64_t)-1);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    /* non-compact with a NULL data pointer */
    make_pep393(o, obj, type_substr, NULL, 3, 1, 1, 0, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    /* not a str: int, bytes, ambiguous flags, NULL type */
    make_pep393(o, obj, type_int, "abc", 3, 1, 1, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    make_pep393(o, obj, type_bytes, "abc", 3, 1, 1, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    make_pep393(o, obj, type_both, "abc", 3, 1, 1, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    make_pep393(o, obj, NULL, "abc", 3, 1, 1, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    /* a type whose tp_name is not a string */
    static uint8_t bad_type[512];
    static const char junk[] = "\x01\x02";
    make_type(bad_type, o, junk, 1ull << 28);
    make_pep393(o, obj, bad_type, "abc", 3, 1, 1, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    /* a built-in name contradicting the flag: "bytes" claiming to be text */
    static uint8_t liar_type[512];
    make_type(liar_type, o, "bytes", 1ull << 28);
    make_pep393(o, obj, liar_type, "abc", 3, 1, 1, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
    /* NULL address, no room for the NUL */
    ck_assert_int_eq(pystr_read(&self, o, 0, out, sizeof out), -EINVAL);
    make_pep393(o, obj, type_str, "abc", 3, 1, 1, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, 0), -EINVAL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, 1), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

/* Objects that end right before an unreadable page, and objects inside one. */
START_TEST(test_read_page_edges)
{
    const struct py_offsets *o = pyoffsets_for_version(3, 12);
    ck_assert_ptr_nonnull(o);
    set_types(o);
    long pg = sysconf(_SC_PAGESIZE);
    uint8_t *map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_int_eq(mprotect(map + pg, (size_t)pg, PROT_NONE), 0);
    uint8_t *end = map + pg;
    char out[64];
    uint8_t raw[64];
    size_t n;

    /* compact ASCII "hi" whose terminating NUL is the page's last byte */
    uint8_t *obj = end - (o->uni_ascii_size + 3);
    make_pep393(o, obj, type_str, "hi", 2, 1, 1, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
    ck_assert_str_eq(out, "hi");

    obj = end - (o->bytes_sval + 4);
    make_bytes(o, obj, type_bytes, "\x01\x02\x03", 3);
    ck_assert_int_eq(pybytes_read(&self, o, A(obj), raw, sizeof raw, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(memcmp(raw, "\x01\x02\x03", 3), 0);

    /* a length that runs into the unreadable page (the string made again:
     * the bytes object above overlaps its header) */
    obj = end - (o->uni_ascii_size + 3);
    make_pep393(o, obj, type_str, "hi", 2, 1, 1, 1, NULL);
    put_u64(obj, o->uni_length, 100);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EFAULT);
    ck_assert_str_eq(out, "");

    /* the object itself unreadable */
    ck_assert_int_eq(pystr_read(&self, o, A(end), out, sizeof out), -EFAULT);
    ck_assert_int_eq(pybytes_read(&self, o, A(end + 8), raw, sizeof raw, &n), -EFAULT);
    munmap(map, (size_t)pg * 2);
}
END_TEST

/* After the type is known, a short string costs exactly one read. */
START_TEST(test_read_cost)
{
    const struct py_offsets *o = pyoffsets_for_version(3, 12);
    ck_assert_ptr_nonnull(o);
    set_types(o);
    _Alignas(8) static uint8_t obj[512];
    char out[64];

    make_pep393(o, obj, type_str, "first", 5, 1, 1, 1, NULL);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
    make_pep393(o, obj, type_str, "second", 6, 1, 1, 1, NULL);
    uint64_t before = self.reads;
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
    ck_assert_str_eq(out, "second");
    ck_assert_uint_eq(self.reads - before, 1);
}
END_TEST

START_TEST(test_read_py2)
{
    const struct py_offsets *o = pyoffsets_for_version(2, 7);
    ck_assert_ptr_nonnull(o);
    set_types(o);
    _Alignas(8) static uint8_t obj[8192];
    static char out[16384];

    /* str: bytes as UTF-8 */
    make_bytes(o, obj, type_bytes, u8"café", 5);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
    ck_assert_str_eq(out, u8"café");
    /* invalid sequences: maximal subparts → one U+FFFD each */
    static const char bad[] = "a\xFF" "b\xE2\x82" "c\xED\xA0\x80" "d\xF0\x9F\x92";
    make_bytes(o, obj, type_bytes, bad, sizeof bad - 1);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
    ck_assert_str_eq(out, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                          "d\xEF\xBF\xBD");
    /* a long UTF-8 str whose sequences straddle every read boundary */
    static char text[6000];
    size_t tl = 0;
    while (tl + 10 <= 5990) {
        memcpy(text + tl, u8"é関💩x", 10);
        tl += 10;
    }
    text[tl] = 0;
    make_bytes(o, obj, type_bytes, text, tl);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
    ck_assert_str_eq(out, text);
    /* truncation of UTF-8 input never leaves half a sequence or a U+FFFD */
    for (size_t len = 1; len < 30; len++) {
        ck_assert_int_eq(pystr_read(&self, o, A(obj), out, len), 0);
        size_t got = strlen(out);
        ck_assert_int_eq(memcmp(out, text, got), 0);
        ck_assert((text[got] & 0xC0) != 0x80);
    }

    /* unicode, UCS-4 (this pyenv build) */
    static const char32_t uni[] = U"ünïcode💩";
    make_uni2(o, obj, uni, 8);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), 0);
    ck_assert_str_eq(out, u8"ünïcode💩");

    /* unicode, UCS-2 (narrow build): surrogate pairs combine, even across a
     * staging-buffer boundary; lone ones are replaced */
    struct py_offsets narrow = *o;
    narrow.uni2_char_size = 2;
    static const char16_t u16[] = u"a💩b\xD800";
    make_uni2(&narrow, obj, u16, 5);
    ck_assert_int_eq(pystr_read(&self, &narrow, A(obj), out, sizeof out), 0);
    ck_assert_str_eq(out, u8"a💩b" "\xEF\xBF\xBD");
    static char16_t many[4000];
    static char want[8000];
    many[0] = u'x';
    for (size_t i = 1; i + 1 < 4000; i += 2) {
        many[i] = 0xD83D;
        many[i + 1] = 0xDCA9;
    }
    many[3999] = u'y';
    size_t wl = 0;
    want[wl++] = 'x';
    for (size_t i = 1; i + 1 < 4000; i += 2) {
        memcpy(want + wl, u8"💩", 4);
        wl += 4;
    }
    want[wl++] = 'y';
    want[wl] = 0;
    make_uni2(&narrow, obj, many, 4000);
    ck_assert_int_eq(pystr_read(&self, &narrow, A(obj), out, sizeof out), 0);
    ck_assert_str_eq(out, want);
    /* cut inside a pair by the output size: nothing half-written */
    ck_assert_int_eq(pystr_read(&self, &narrow, A(obj), out, 5), 0);
    ck_assert_str_eq(out, "x");

    /* bytes of py2 are str objects; unicode is not bytes */
    uint8_t raw[16];
    size_t n;
    make_bytes(o, obj, type_bytes, "\x00\xFF", 2);
    ck_assert_int_eq(pybytes_read(&self, o, A(obj), raw, sizeof raw, &n), 0);
    ck_assert_uint_eq(n, 2);
    make_uni2(o, obj, uni, 8);
    ck_assert_int_eq(pybytes_read(&self, o, A(obj), raw, sizeof raw, &n), -EINVAL);

    /* on 2.7 "str" is the bytes type: a text flag under that name is a lie */
    static uint8_t liar_type[512];
    make_type(liar_type, o, "str", 1ull << 28);
    make_uni2(o, obj, uni, 8);
    memcpy(obj + o->ob_type, &(uint64_t){A(liar_type)}, 8);
    ck_assert_int_eq(pystr_read(&self, o, A(obj), out, sizeof out), -EINVAL);
}
END_TEST

START_TEST(test_read_bytes)
{
    const struct py_offsets *o = pyoffsets_for_version(3, 12);
    ck_assert_ptr_nonnull(o);
    set_types(o);
    _Alignas(8) static uint8_t obj[4096];
    static uint8_t data[3000], raw[3000];
    size_t n;

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    make_bytes(o, obj, type_bytes, data, sizeof data);
    ck_assert_int_eq(pybytes_read(&self, o, A(obj), raw, sizeof raw, &n), 0);
    ck_assert_uint_eq(n, sizeof data);
    ck_assert_int_eq(memcmp(raw, data, n), 0);

    ck_assert_int_eq(pybytes_read(&self, o, A(obj), raw, 100, &n), -ENOSPC);
    ck_assert_uint_eq(n, sizeof data);

    make_bytes(o, obj, type_bytes, "", 0);
    ck_assert_int_eq(pybytes_read(&self, o, A(obj), NULL, 0, &n), 0);
    ck_assert_uint_eq(n, 0);

    make_bytes(o, obj, type_str, "abc", 3);
    ck_assert_int_eq(pybytes_read(&self, o, A(obj), raw, sizeof raw, &n), -EINVAL);
    make_bytes(o, obj, type_bytes, "abc", 3);
    put_u64(obj, o->ob_size, (uint64_t)-5);
    ck_assert_int_eq(pybytes_read(&self, o, A(obj), raw, sizeof raw, &n), -EINVAL);
}
END_TEST

/* ---------------------------------------------------- live interpreters -- */

/* Printed by the target: "<tag> <id> <hex of expected UTF-8>" per object,
 * then READY. Python 2.7 and 3.x alike. */
static const char live_script[] =
    "import sys, binascii, time\n"
    "PY2 = sys.version_info[0] == 2\n"
    "T = unicode if PY2 else str\n"
    "def expect(s):\n"
    "    return u''.join(u'\\ufffd' if 0xd800 <= ord(c) <= 0xdfff else c for c in s).encode('utf-8')\n"
    "class S(T): pass\n"
    "keep = []\n"
    "def emit(tag, obj, exp):\n"
    "    keep.append(obj)\n"
    "    sys.stdout.write('%s %d %s\\n' % (tag, id(obj), binascii.hexlify(exp).decode('ascii')))\n"
    "for s in [u'hello', u'caf\\xe9', u'\\u0444\\u0443\\u043d\\u043a\\u0446\\u0438\\u044f',\n"
    "          u'\\u95a2\\u6570', u'\\xfcn\\xefcode\\U0001f4a9', u'',\n"
    "          u'x' * 5000 + u'\\u0444' * 3000 + u'\\U0001f4a9' * 100, u'a\\ud800b']:\n"
    "    emit('str', s, expect(s))\n"
    "emit('str', S(u'subclass \\xfc \\u95a2'), expect(u'subclass \\xfc \\u95a2'))\n"
    "emit('str', sys._getframe().f_code.co_filename, expect(T(sys._getframe().f_code.co_filename)))\n"
    "if PY2:\n"
    "    emit('str', 'caf\\xc3\\xa9', 'caf\\xc3\\xa9')\n"
    "    emit('str', 'ab\\xffcd', 'ab\\xef\\xbf\\xbdcd')\n"
    "    emit('bytes', 'raw\\x00\\x01\\xff', 'raw\\x00\\x01\\xff')\n"
    "else:\n"
    "    emit('bytes', b'raw\\x00\\x01\\xff', b'raw\\x00\\x01\\xff')\n"
    "    emit('bytes', b'z' * 3000, b'z' * 3000)\n"
    "emit('notstr', 12345678901, b'')\n"
    "emit('notstr', [1, 2], b'')\n"
    "sys.stdout.write('READY\\n')\n"
    "sys.stdout.flush()\n"
    "time.sleep(120)\n";

/* major, minor, free-threaded; 3.14 and 3.14t are the builds of
 * scripts/install-deps --pythons. */
static const int live_versions[][3] = {{2, 7, 0}, {3, 6, 0}, {3, 7, 0}, {3, 8, 0}, {3, 9, 0},
                                       {3, 10, 0}, {3, 11, 0}, {3, 12, 0}, {3, 13, 0},
                                       {3, 14, 0}, {3, 14, 1}};
#define N_LIVE (sizeof live_versions / sizeof live_versions[0])

/* The newest installed X.Y.* interpreter of pyenv (or the built 3.14,
 * 3.14t in /opt/gilscope-pythons), or "". */
static void find_python(int major, int minor, int ft, char *path, size_t len)
{
    if (major == 3 && minor >= 14) {
        snprintf(path, len, "/opt/gilscope-pythons/%d.%d%s/bin/python%d.%d%s", major, minor,
                 ft ? "t" : "", major, minor, ft ? "t" : "");
        if (access(path, X_OK) != 0)
            path[0] = '\0';
        return;
    }
    const char *root = getenv("PYENV_ROOT");
    char pattern[512];
    char home_root[256];
    glob_t g;

    if (root == NULL || *root == '\0') {
        snprintf(home_root, sizeof home_root, "%s/.pyenv",
                 getenv("HOME") ? getenv("HOME") : "/root");
        root = home_root;
    }
    snprintf(pattern, sizeof pattern, "%s/versions/%d.%d.*/bin/python%d.%d",
             root, major, minor, major, minor);
    path[0] = '\0';
    if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
        snprintf(path, len, "%s", g.gl_pathv[g.gl_pathc - 1]);
        globfree(&g);
    }
}

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (h[0] && h[1] && n < max) {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
        h += 2;
    }
    return n;
}

START_TEST(test_live)
{
    int major = live_versions[_i][0], minor = live_versions[_i][1], ft = live_versions[_i][2];
    char py[600];
    find_python(major, minor, ft, py, sizeof py);
    if (py[0] == '\0') {
        printf("SKIPPED: live %d.%d%s: interpreter not installed\n", major, minor, ft ? "t" : "");
        return;
    }
    const struct py_offsets *o = pyoffsets_for_build(major, minor, ft);
    if (o == NULL) {
        printf("SKIPPED: live %d.%d: no offsets table\n", major, minor);
        return;
    }
    pystr_cache_reset();

    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* never outlive a test process that died on a failed assertion */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(py, py, "-E", "-S", "-c", live_script, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    ck_assert_ptr_nonnull(f);

    static char line[40000];
    static char out[40000];
    static uint8_t want[20000];
    char tag[16], hex[40000];
    unsigned long long id;
    int nstr = 0, nbytes = 0, nnot = 0, ready = 0;
    struct proc_mem m;
    ck_assert_int_eq(proc_mem_open(&m, pid), 0);

    /* read the whole list first: the objects stay alive while it sleeps */
    static char lines[32][40000];
    int nl = 0;
    while (nl < 32 && fgets(line, sizeof line, f)) {
        if (strncmp(line, "READY", 5) == 0) {
            ready = 1;
            break;
        }
        snprintf(lines[nl++], sizeof lines[0], "%s", line);
    }
    for (int i = 0; ready && i < nl; i++) {
        hex[0] = '\0';
        if (sscanf(lines[i], "%15s %llu %39999s", tag, &id, hex) < 2)
            continue;
        size_t wl = unhex(hex, want, sizeof want);
        if (strcmp(tag, "str") == 0) {
            want[wl] = 0;
            int rc = pystr_read(&m, o, id, out, sizeof out);
            ck_assert_msg(rc == 0, "%d.%d: pystr_read(%s) = %d", major, minor, hex, rc);
            ck_assert_msg(strlen(out) == wl && memcmp(out, want, wl) == 0,
                          "%d.%d: got '%.60s' want '%.60s'", major, minor, out, want);
            /* and truncated: a prefix, cut at a character boundary */
            for (size_t len = 1; len < 24 && len <= wl; len += 3) {
                ck_assert_int_eq(pystr_read(&m, o, id, out, len), 0);
                size_t got = strlen(out);
                ck_assert_int_eq(memcmp(out, want, got), 0);
                ck_assert(got == wl || (want[got] & 0xC0) != 0x80);
                ck_assert_uint_ge(got + 4, len);
            }
            nstr++;
        } else if (strcmp(tag, "bytes") == 0) {
            size_t n;
            int rc = pybytes_read(&m, o, id, (uint8_t *)out, sizeof out, &n);
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(n, wl);
            ck_assert_int_eq(memcmp(out, want, wl), 0);
            /* a bytes object is not a str on 3.x; a 2.7 str is both */
            rc = pystr_read(&m, o, id, out, sizeof out);
            ck_assert_int_eq(rc, major == 2 ? 0 : -EINVAL);
            nbytes++;
        } else {
            ck_assert_int_eq(pystr_read(&m, o, id, out, sizeof out), -EINVAL);
            size_t n;
            ck_assert_int_eq(pybytes_read(&m, o, id, (uint8_t *)out, sizeof out, &n),
                             -EINVAL);
            nnot++;
        }
    }
    proc_mem_close(&m);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fclose(f);
    ck_assert_msg(ready, "%s did not start", py);
    printf("live %d.%d (%s): %d str, %d bytes, %d non-str objects read correctly\n",
           major, minor, py, nstr, nbytes, nnot);
}
END_TEST

static Suite *pystr_suite(void)
{
    Suite *s = suite_create("pystr");
    TCase *tc = tcase_create("convert");
    tcase_add_checked_fixture(tc, reset_cache, NULL);
    tcase_add_test(tc, test_ascii_latin1);
    tcase_add_test(tc, test_ucs2_ucs4);
    tcase_add_test(tc, test_truncation);
    tcase_add_test(tc, test_invalid_code_points);
    tcase_add_test(tc, test_conversion_errors);
    tcase_add_test(tc, test_state_decode);
    suite_add_tcase(s, tc);

    tc = tcase_create("synthetic");
    tcase_add_checked_fixture(tc, self_open, self_close);
    tcase_add_test(tc, test_read_pep393_layouts);
    tcase_add_test(tc, test_read_pep393_long);
    tcase_add_test(tc, test_read_rejects);
    tcase_add_test(tc, test_read_page_edges);
    tcase_add_test(tc, test_read_cost);
    tcase_add_test(tc, test_read_py2);
    tcase_add_test(tc, test_read_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("live");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_live, 0, (int)N_LIVE);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pystr_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
