/*
 * Unit tests for pyoffsets: the generated tables, the _Py_DebugOffsets
 * parser on synthetic blocks, and the parser against the block that a real
 * libpython3.13 carries in its _PyRuntime initializer.
 */
#include "elfsym.h"
#include "pyoffsets.h"

#include <check.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int versions[][2] = {
    {2, 7}, {3, 6}, {3, 7}, {3, 8}, {3, 9}, {3, 10}, {3, 11}, {3, 12}, {3, 13},
};
#define NVERSIONS (sizeof versions / sizeof versions[0])

static int32_t field_at(const struct py_offsets *o, size_t off)
{
    int32_t v;
    memcpy(&v, (const char *)o + off, sizeof v);
    return v;
}

static void set_field_at(struct py_offsets *o, size_t off, int32_t v)
{
    memcpy((char *)o + off, &v, sizeof v);
}

/* Every member after major/minor is an int32_t, packed. */
#define FIRST_FIELD offsetof(struct py_offsets, rt_size)

/* ---- the compiled-in tables ---- */

START_TEST(test_tables_exist)
{
    for (size_t i = 0; i < NVERSIONS; i++) {
        const struct py_offsets *o = pyoffsets_for_version(versions[i][0], versions[i][1]);
        ck_assert_msg(o != NULL, "no table for %d.%d", versions[i][0], versions[i][1]);
        ck_assert_int_eq(o->major, versions[i][0]);
        ck_assert_int_eq(o->minor, versions[i][1]);
    }
    ck_assert_ptr_null(pyoffsets_for_version(3, 5));
    ck_assert_ptr_null(pyoffsets_for_version(3, 15));
    ck_assert_ptr_null(pyoffsets_for_version(2, 6));
    ck_assert_ptr_null(pyoffsets_for_version(0, 0));
    const struct py_offsets *latest = pyoffsets_latest();
    ck_assert_ptr_nonnull(latest);
    ck_assert_ptr_eq(latest, pyoffsets_for_version(3, 14));
    ck_assert_int_eq(latest->free_threaded, 0);
    /* The free-threaded build has a table of its own; 3.13t has none. */
    const struct py_offsets *ft = pyoffsets_for_build(3, 14, 1);
    ck_assert_ptr_nonnull(ft);
    ck_assert_int_eq(ft->free_threaded, 1);
    ck_assert_ptr_ne(ft, latest);
    ck_assert_ptr_eq(pyoffsets_for_build(3, 14, 0), latest);
    ck_assert_ptr_null(pyoffsets_for_build(3, 13, 1));
}
END_TEST

/* Offset OFF of a member at least WIDTH bytes wide must lie in SIZE bytes. */
static void check_inside(const char *what, int32_t off, int32_t width, int32_t size, int v)
{
    ck_assert_msg(off >= 0 && off + width <= size,
                  "%d.%d: %s = %d not inside %d bytes", v / 100, v % 100, what, off, size);
}

#define INSIDE(o, field, width, size) \
    check_inside(#field, (o)->field, (width), (o)->size, (o)->major * 100 + (o)->minor)
#define PRESENT(o, field) \
    ck_assert_msg((o)->field != PYOFF_NONE, "%d.%d: %s missing", (o)->major, (o)->minor, #field)
#define ABSENT(o, field) \
    ck_assert_msg((o)->field == PYOFF_NONE, "%d.%d: %s = %d, should be absent", \
                  (o)->major, (o)->minor, #field, (o)->field)

START_TEST(test_tables_sane)
{
    const int P = (int)sizeof(void *);
    for (size_t i = 0; i < NVERSIONS; i++) {
        const struct py_offsets *o = pyoffsets_for_version(versions[i][0], versions[i][1]);
        ck_assert_ptr_nonnull(o);
        int v = o->major * 100 + o->minor;

        /* Every field is either absent or a plausible offset/size. */
        for (size_t off = FIRST_FIELD; off < sizeof *o; off += sizeof(int32_t)) {
            int32_t f = field_at(o, off);
            ck_assert_msg(f == PYOFF_NONE || (f >= 0 && f < (1 << 20)),
                          "%d.%d: field at %zu = %d", o->major, o->minor, off, f);
        }

        ck_assert_int_gt(o->is_size, 0);
        ck_assert_int_gt(o->ts_size, 0);
        ck_assert_int_gt(o->co_size, 0);
        ck_assert_int_ge(o->is_next, 0);
        INSIDE(o, is_next, P, is_size);
        INSIDE(o, is_tstate_head, P, is_size);
        INSIDE(o, is_modules, P, is_size);
        INSIDE(o, ts_next, P, ts_size);
        INSIDE(o, ts_interp, P, ts_size);
        INSIDE(o, ts_thread_id, (int)sizeof(long), ts_size);
        INSIDE(o, co_filename, P, co_size);
        INSIDE(o, co_name, P, co_size);
        INSIDE(o, co_firstlineno, 4, co_size);
        INSIDE(o, co_linetable, P, co_size);
        PRESENT(o, ob_type);
        PRESENT(o, ob_size);
        PRESENT(o, tp_name);
        PRESENT(o, tp_flags);
        PRESENT(o, tuple_item);
        PRESENT(o, bytes_sval);
        PRESENT(o, dict_ma_used);
        PRESENT(o, dict_entry_size);
        PRESENT(o, mod_dict);
        ck_assert_int_le(o->dict_entry_value + P, o->dict_entry_size);

        if (v >= 307) {
            ck_assert_int_gt(o->rt_size, 0);
            INSIDE(o, rt_interpreters_head, P, rt_size);
            PRESENT(o, gil_locked);
            PRESENT(o, gil_last_holder);
        } else {
            ABSENT(o, rt_size);
            ABSENT(o, rt_interpreters_head);
        }

        /* Through _PyRuntime up to 3.11, through the interpreter after. */
        if (v >= 307 && v <= 311) {
            INSIDE(o, rt_gil_locked, 4, rt_size);
            INSIDE(o, rt_gil_last_holder, P, rt_size);
            INSIDE(o, rt_gilstate_tstate_current, P, rt_size);
            ABSENT(o, is_gil_ptr);
        } else {
            ABSENT(o, rt_gil_locked);
            ABSENT(o, rt_gil_last_holder);
            ABSENT(o, rt_gilstate_tstate_current);
        }
        /* 3.12+: ceval.gil points at the GIL in use; the interpreter's own
         * _gil is inline too. */
        if (v >= 312) {
            INSIDE(o, is_gil_ptr, P, is_size);
            INSIDE(o, is_gil_locked, 4, is_size);
            INSIDE(o, is_gil_last_holder, P, is_size);
            /* _gil's members sit at the same distance from _gil's start. */
            ck_assert_int_eq(o->is_gil_locked - o->gil_locked,
                             o->is_gil_last_holder - o->gil_last_holder);
        } else {
            ABSENT(o, is_gil_ptr);
            ABSENT(o, is_gil_locked);
            ABSENT(o, is_gil_last_holder);
        }

        /* Exactly one way to find the current frame per version. */
        if (v <= 310) {
            INSIDE(o, ts_frame, P, ts_size);
            ABSENT(o, ts_cframe);
            ABSENT(o, ts_current_frame);
            PRESENT(o, f_back);
            PRESENT(o, f_code);
            PRESENT(o, f_lasti);
            PRESENT(o, f_lineno);
            ABSENT(o, if_size);
            ABSENT(o, ts_datastack_chunk);
        } else {
            ABSENT(o, ts_frame);
            ABSENT(o, f_back);
            ck_assert_int_gt(o->if_size, 0);
            INSIDE(o, if_code, P, if_size);
            INSIDE(o, if_previous, P, if_size);
            INSIDE(o, if_instr, P, if_size);
            INSIDE(o, if_owner, 1, if_size);
            INSIDE(o, ts_datastack_chunk, P, ts_size);
            INSIDE(o, ts_native_thread_id, (int)sizeof(long), ts_size);
            INSIDE(o, co_qualname, P, co_size);
            INSIDE(o, co_code_adaptive, 1, co_size);
            PRESENT(o, chunk_data);
            ck_assert_int_gt(o->chunk_data, o->chunk_top);
            if (v <= 312) {
                INSIDE(o, ts_cframe, P, ts_size);
                PRESENT(o, cf_current_frame);
                ABSENT(o, ts_current_frame);
            } else {
                ABSENT(o, ts_cframe);
                ABSENT(o, cf_current_frame);
                INSIDE(o, ts_current_frame, P, ts_size);
            }
        }
        if (v == 311)
            INSIDE(o, if_is_entry, 1, if_size);
        else
            ABSENT(o, if_is_entry);

        /* str, int and dict representations. */
        if (v == 207) {
            PRESENT(o, uni2_length);
            PRESENT(o, uni2_str);
            ck_assert(o->uni2_char_size == 2 || o->uni2_char_size == 4);
            ABSENT(o, uni_state);
            PRESENT(o, int2_ival);
            PRESENT(o, dict2_ma_mask);
            PRESENT(o, dict2_ma_table);
            ABSENT(o, dict_ma_keys);
            ABSENT(o, dk_indices);
            ABSENT(o, ht_cached_keys);
        } else {
            ABSENT(o, uni2_length);
            ck_assert_int_gt(o->uni_ascii_size, 0);
            INSIDE(o, uni_state, 4, uni_ascii_size);
            INSIDE(o, uni_length, P, uni_ascii_size);
            ck_assert_int_ge(o->uni_compact_size, o->uni_ascii_size);
            ck_assert_int_ge(o->uni_data, o->uni_compact_size);
            ABSENT(o, int2_ival);
            ABSENT(o, dict2_ma_table);
            PRESENT(o, dict_ma_keys);
            PRESENT(o, dict_ma_values);
            PRESENT(o, dk_nentries);
            ck_assert_int_gt(o->dk_indices, o->dk_nentries);
            PRESENT(o, ht_cached_keys);
            if (v <= 310) {
                PRESENT(o, dk_size);
                ABSENT(o, dk_log2_size);
            } else {
                ABSENT(o, dk_size);
                PRESENT(o, dk_log2_size);
                PRESENT(o, dk_log2_index_bytes);
                PRESENT(o, dk_kind);
                ck_assert_int_eq(o->dict_uentry_size, 2 * P);
                PRESENT(o, dict_values_values);
            }
        }
        if (v >= 312)
            ck_assert_int_lt(o->long_lv_tag, o->long_digit);
        else
            ABSENT(o, long_lv_tag);
    }
}
END_TEST

/* Values known from CPython's sources on LP64 (x86-64, aarch64). */
START_TEST(test_known_values)
{
    if (sizeof(void *) != 8) {
        printf("SKIPPED: test_known_values: the known values are for LP64 builds\n");
        fflush(stdout);
        return;
    }
    ck_assert_int_eq(pyoffsets_for_version(3, 11)->uni_ascii_size, 48);
    ck_assert_int_eq(pyoffsets_for_version(3, 12)->uni_ascii_size, 40);
    ck_assert_int_eq(pyoffsets_for_version(3, 11)->if_previous, 48);
    ck_assert_int_eq(pyoffsets_for_version(3, 12)->if_previous, 8);
    ck_assert_int_eq(pyoffsets_for_version(2, 7)->bytes_sval, 36);
    ck_assert_int_eq(pyoffsets_for_version(3, 13)->bytes_sval, 32);
    ck_assert_int_eq(pyoffsets_for_version(3, 12)->cf_current_frame, 0);
    ck_assert_int_eq(pyoffsets_for_version(3, 11)->cf_current_frame, 8);
    ck_assert_int_eq(pyoffsets_for_version(3, 6)->dk_indices, 40);
    ck_assert_int_eq(pyoffsets_for_version(3, 8)->ob_type, 8);
}
END_TEST

/* ---- synthetic _Py_DebugOffsets blocks ---- */

/* CPython 3.13.0 Include/internal/pycore_runtime.h _Py_DebugOffsets, copied
 * so the test builds blocks independently of the parser's own tables. */
struct dbg313 {
    char cookie[8];
    uint64_t version;
    uint64_t free_threaded;
    struct { uint64_t size, finalizing, interpreters_head; } runtime_state;
    struct {
        uint64_t size, id, next, threads_head, gc, imports_modules, sysdict,
            builtins, ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
            gil_runtime_state_locked, gil_runtime_state_holder;
    } interpreter_state;
    struct {
        uint64_t size, prev, next, interp, current_frame, thread_id,
            native_thread_id, datastack_chunk, status;
    } thread_state;
    struct { uint64_t size, previous, executable, instr_ptr, localsplus, owner; } interpreter_frame;
    struct {
        uint64_t size, filename, name, qualname, linetable, firstlineno,
            argcount, localsplusnames, localspluskinds, co_code_adaptive;
    } code_object;
    struct { uint64_t size, ob_type; } pyobject;
    struct { uint64_t size, tp_name, tp_repr, tp_flags; } type_object;
    struct { uint64_t size, ob_item, ob_size; } tuple_object;
    struct { uint64_t size, ob_item, ob_size; } list_object;
    struct { uint64_t size, ma_keys, ma_values; } dict_object;
    struct { uint64_t size, ob_fval; } float_object;
    struct { uint64_t size, lv_tag, ob_digit; } long_object;
    struct { uint64_t size, ob_size, ob_sval; } bytes_object;
    struct { uint64_t size, state, length, asciiobject_size; } unicode_object;
    struct { uint64_t size, collecting; } gc;
};
_Static_assert(sizeof(struct dbg313) == 584, "3.13 _Py_DebugOffsets is 584 bytes");
_Static_assert(sizeof(struct dbg313) <= PYOFF_DEBUG_BLOCK_SIZE, "block fits");

/* A consistent 3.13.0 block whose described values are T's. */
static struct dbg313 synth_block(const struct py_offsets *t)
{
    struct dbg313 d;
    memset(&d, 0, sizeof d);
    memcpy(d.cookie, "xdebugpy", 8);
    d.version = 0x030d00f0;
    d.runtime_state.size = (uint64_t)t->rt_size;
    d.runtime_state.finalizing = 8;
    d.runtime_state.interpreters_head = (uint64_t)t->rt_interpreters_head;
    d.interpreter_state.size = (uint64_t)t->is_size;
    d.interpreter_state.id = 24;
    d.interpreter_state.next = (uint64_t)t->is_next;
    d.interpreter_state.threads_head = (uint64_t)t->is_tstate_head;
    d.interpreter_state.gc = 1000;
    d.interpreter_state.imports_modules = (uint64_t)t->is_modules;
    d.interpreter_state.sysdict = 2000;
    d.interpreter_state.builtins = 2008;
    d.interpreter_state.ceval_gil = (uint64_t)t->is_gil_ptr;
    d.interpreter_state.gil_runtime_state = (uint64_t)(t->is_gil_locked - t->gil_locked);
    d.interpreter_state.gil_runtime_state_enabled = 0;
    d.interpreter_state.gil_runtime_state_locked = (uint64_t)t->is_gil_locked;
    d.interpreter_state.gil_runtime_state_holder = (uint64_t)t->is_gil_last_holder;
    d.thread_state.size = (uint64_t)t->ts_size;
    d.thread_state.prev = 0;
    d.thread_state.next = (uint64_t)t->ts_next;
    d.thread_state.interp = (uint64_t)t->ts_interp;
    d.thread_state.current_frame = (uint64_t)t->ts_current_frame;
    d.thread_state.thread_id = (uint64_t)t->ts_thread_id;
    d.thread_state.native_thread_id = (uint64_t)t->ts_native_thread_id;
    d.thread_state.datastack_chunk = (uint64_t)t->ts_datastack_chunk;
    d.thread_state.status = 40;
    d.interpreter_frame.size = (uint64_t)t->if_size + 8;
    d.interpreter_frame.previous = (uint64_t)t->if_previous;
    d.interpreter_frame.executable = (uint64_t)t->if_code;
    d.interpreter_frame.instr_ptr = (uint64_t)t->if_instr;
    d.interpreter_frame.localsplus = (uint64_t)t->if_size;
    d.interpreter_frame.owner = (uint64_t)t->if_owner;
    d.code_object.size = (uint64_t)t->co_size;
    d.code_object.filename = (uint64_t)t->co_filename;
    d.code_object.name = (uint64_t)t->co_name;
    d.code_object.qualname = (uint64_t)t->co_qualname;
    d.code_object.linetable = (uint64_t)t->co_linetable;
    d.code_object.firstlineno = (uint64_t)t->co_firstlineno;
    d.code_object.argcount = 52;
    d.code_object.localsplusnames = 96;
    d.code_object.localspluskinds = 104;
    d.code_object.co_code_adaptive = (uint64_t)t->co_code_adaptive;
    d.pyobject.size = 16;
    d.pyobject.ob_type = (uint64_t)t->ob_type;
    d.type_object.size = 416;
    d.type_object.tp_name = (uint64_t)t->tp_name;
    d.type_object.tp_repr = 88;
    d.type_object.tp_flags = (uint64_t)t->tp_flags;
    d.tuple_object.size = (uint64_t)t->tuple_item + 8;
    d.tuple_object.ob_item = (uint64_t)t->tuple_item;
    d.tuple_object.ob_size = (uint64_t)t->ob_size;
    d.list_object.size = 40;
    d.list_object.ob_item = 24;
    d.list_object.ob_size = 16;
    d.dict_object.size = 48;
    d.dict_object.ma_keys = (uint64_t)t->dict_ma_keys;
    d.dict_object.ma_values = (uint64_t)t->dict_ma_values;
    d.float_object.size = 24;
    d.float_object.ob_fval = 16;
    d.long_object.size = (uint64_t)t->long_digit + 8;
    d.long_object.lv_tag = (uint64_t)t->long_lv_tag;
    d.long_object.ob_digit = (uint64_t)t->long_digit;
    d.bytes_object.size = (uint64_t)t->bytes_sval + 8;
    d.bytes_object.ob_size = 16;
    d.bytes_object.ob_sval = (uint64_t)t->bytes_sval;
    d.unicode_object.size = (uint64_t)t->uni_data + 8;
    d.unicode_object.state = (uint64_t)t->uni_state;
    d.unicode_object.length = (uint64_t)t->uni_length;
    d.unicode_object.asciiobject_size = (uint64_t)t->uni_ascii_size;
    d.gc.size = 400;
    d.gc.collecting = 4;
    return d;
}

/* Fields of struct py_offsets that a 3.13 block describes. */
#define FIELD(f) {#f, offsetof(struct py_offsets, f)}
static const struct {
    const char *name;
    size_t off;
} described[] = {
    FIELD(rt_size), FIELD(rt_interpreters_head),
    FIELD(is_size), FIELD(is_next), FIELD(is_tstate_head), FIELD(is_modules),
    FIELD(is_gil_ptr), FIELD(is_gil_locked), FIELD(is_gil_last_holder),
    FIELD(gil_locked), FIELD(gil_last_holder),
    FIELD(ts_size), FIELD(ts_next), FIELD(ts_interp), FIELD(ts_current_frame),
    FIELD(ts_thread_id), FIELD(ts_native_thread_id), FIELD(ts_datastack_chunk),
    FIELD(if_size), FIELD(if_code), FIELD(if_previous), FIELD(if_instr), FIELD(if_owner),
    FIELD(co_size), FIELD(co_filename), FIELD(co_name), FIELD(co_qualname),
    FIELD(co_linetable), FIELD(co_firstlineno), FIELD(co_code_adaptive),
    FIELD(ob_type), FIELD(ob_size), FIELD(tp_name), FIELD(tp_flags),
    FIELD(tuple_item), FIELD(dict_ma_keys), FIELD(dict_ma_values),
    FIELD(long_lv_tag), FIELD(long_digit), FIELD(bytes_sval),
    FIELD(uni_state), FIELD(uni_length), FIELD(uni_ascii_size),
};
#define NDESCRIBED (sizeof described / sizeof described[0])

/* Fields the reader moves along with a described field of the same struct:
 * {field, anchor}. */
static const struct {
    const char *name;
    size_t off, anchor;
} derived[] = {
    {"ts_datastack_top", offsetof(struct py_offsets, ts_datastack_top), offsetof(struct py_offsets, ts_datastack_chunk)},
    {"dict_ma_used", offsetof(struct py_offsets, dict_ma_used), offsetof(struct py_offsets, dict_ma_keys)},
    {"tp_basicsize", offsetof(struct py_offsets, tp_basicsize), offsetof(struct py_offsets, tp_name)},
    {"tp_dictoffset", offsetof(struct py_offsets, tp_dictoffset), offsetof(struct py_offsets, tp_name)},
    {"ht_cached_keys", offsetof(struct py_offsets, ht_cached_keys), offsetof(struct py_offsets, tp_name)},
    {"uni_compact_size", offsetof(struct py_offsets, uni_compact_size), offsetof(struct py_offsets, uni_ascii_size)},
    {"uni_data", offsetof(struct py_offsets, uni_data), offsetof(struct py_offsets, uni_ascii_size)},
    {"mod_dict", offsetof(struct py_offsets, mod_dict), offsetof(struct py_offsets, ob_type)},
    {"ts_state", offsetof(struct py_offsets, ts_state), offsetof(struct py_offsets, ts_interp)},
    {"gil_switch_number", offsetof(struct py_offsets, gil_switch_number), offsetof(struct py_offsets, gil_locked)},
};
#define NDERIVED (sizeof derived / sizeof derived[0])

static int derived_index(size_t off)
{
    for (size_t i = 0; i < NDERIVED; i++)
        if (derived[i].off == off)
            return (int)i;
    return -1;
}

static int is_described(size_t off)
{
    for (size_t i = 0; i < NDESCRIBED; i++) {
        if (described[i].off == off)
            return 1;
    }
    return 0;
}

/* A base whose every field is POISON, so nothing can pass by being copied. */
#define POISON 0x7ead
static struct py_offsets poisoned_base(void)
{
    struct py_offsets b;
    memset(&b, 0, sizeof b);
    b.major = 3;
    b.minor = 13;
    for (size_t off = FIRST_FIELD; off < sizeof b; off += sizeof(int32_t))
        set_field_at(&b, off, POISON);
    b.free_threaded = 0;    /* the flavour must match the block's */
    return b;
}

/* OUT has T's value in every described field, BASE's in every other, but
 * for the derived ones: T's anchor plus BASE's distance from it. */
static void check_result(const struct py_offsets *out, const struct py_offsets *t,
                         const struct py_offsets *base)
{
    for (size_t off = FIRST_FIELD; off < sizeof *out; off += sizeof(int32_t)) {
        int d = derived_index(off);
        int32_t want = is_described(off) ? field_at(t, off) : field_at(base, off);
        if (d >= 0)
            want = field_at(t, derived[d].anchor) + field_at(base, off) - field_at(base, derived[d].anchor);
        ck_assert_msg(field_at(out, off) == want, "field at %zu: %d, want %d",
                      off, field_at(out, off), want);
    }
}

static int parse(const struct dbg313 *d, size_t len, const struct py_offsets *base,
                 int maj, int min, struct py_offsets *out, char *err, size_t errlen)
{
    unsigned char buf[PYOFF_DEBUG_BLOCK_SIZE];
    memset(buf, 0xee, sizeof buf);
    memcpy(buf, d, sizeof *d);
    uint64_t hex = 0;
    err[0] = '\0';
    return pyoffsets_from_debug(buf, len, base, maj, min, out, &hex, err, errlen);
}

START_TEST(test_debug_valid)
{
    const struct py_offsets *t = pyoffsets_for_version(3, 13);
    struct dbg313 d = synth_block(t);
    struct py_offsets base = poisoned_base();
    struct py_offsets out;
    char err[200];
    uint64_t hex = 0;
    unsigned char buf[PYOFF_DEBUG_BLOCK_SIZE];

    memset(buf, 0, sizeof buf);
    memcpy(buf, &d, sizeof d);
    int rc = pyoffsets_from_debug(buf, sizeof buf, &base, 3, 13, &out, &hex, err, sizeof err);
    ck_assert_msg(rc == 0, "rejected: %s", err);
    ck_assert_uint_eq(hex, 0x030d00f0);
    ck_assert_int_eq(out.major, 3);
    ck_assert_int_eq(out.minor, 13);
    check_result(&out, t, &base);

    /* The exact block length is enough; with expect_major 0 the block is
     * read through the description of its own version. */
    rc = pyoffsets_from_debug(buf, sizeof d, t, 0, 0, &out, &hex, err, sizeof err);
    ck_assert_msg(rc == 0, "rejected: %s", err);
    ck_assert_int_eq(out.minor, 13);
    /* No error buffer is fine. */
    ck_assert_int_eq(pyoffsets_from_debug(buf, sizeof buf, t, 0, 0, &out, NULL, NULL, 0), 0);
    /* A 3.13-shaped block that says 3.14 is read as 3.14's layout, which
     * is longer (760 bytes): the 584 given are not enough. */
    d.version = 0x030e00a1;
    memcpy(buf, &d, sizeof d);
    rc = pyoffsets_from_debug(buf, sizeof d, t, 0, 0, &out, &hex, err, sizeof err);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, "760") != NULL, "err: %s", err);
    /* A version with no description at all. */
    d.version = 0x030c00f0;
    memcpy(buf, &d, sizeof d);
    ck_assert_int_eq(pyoffsets_from_debug(buf, sizeof buf, t, 0, 0, &out, &hex, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "not described") != NULL, "err: %s", err);
}
END_TEST

START_TEST(test_debug_rejects)
{
    const struct py_offsets *t = pyoffsets_for_version(3, 13);
    const struct dbg313 good = synth_block(t);
    struct dbg313 d;
    struct py_offsets out;
    char err[200];

    d = good;
    memcpy(d.cookie, "xdebugpz", 8);
    ck_assert_int_eq(parse(&d, sizeof d, t, 3, 13, &out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "cookie") != NULL, "err: %s", err);

    d = good;
    ck_assert_int_eq(parse(&d, sizeof d, t, 3, 12, &out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "3.13") != NULL, "err: %s", err);
    ck_assert_int_eq(parse(&d, sizeof d, t, 4, 13, &out, err, sizeof err), -1);

    d = good;
    d.free_threaded = 1;
    ck_assert_int_eq(parse(&d, sizeof d, t, 3, 13, &out, err, sizeof err), -1);

    /* Offsets at or past the end of their struct. */
    d = good;
    d.thread_state.next = d.thread_state.size;
    ck_assert_int_eq(parse(&d, sizeof d, t, 3, 13, &out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "thread_state.next") != NULL, "err: %s", err);

    d = good;
    d.code_object.filename = UINT64_MAX - 2;
    ck_assert_int_eq(parse(&d, sizeof d, t, 3, 13, &out, err, sizeof err), -1);

    /* Misaligned for its width. */
    d = good;
    d.thread_state.next = 12;
    ck_assert_int_eq(parse(&d, sizeof d, t, 3, 13, &out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "thread_state.next") != NULL, "err: %s", err);

    /* Starts inside but its 8 bytes run past the end. */
    d = good;
    d.thread_state.thread_id = d.thread_state.size - 4;
    ck_assert_int_eq(parse(&d, sizeof d, t, 3, 13, &out, err, sizeof err), -1);

    d = good;
    d.unicode_object.asciiobject_size = d.unicode_object.size + 1;
    ck_assert_int_eq(parse(&d, sizeof d, t, 3, 13, &out, err, sizeof err), -1);

    /* A described struct of a mebibyte or more, or of nothing. */
    d = good;
    d.interpreter_state.size = 1u << 20;
    ck_assert_int_eq(parse(&d, sizeof d, t, 3, 13, &out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "interpreter_state.size") != NULL, "err: %s", err);
    d = good;
    d.gc.size = 0;
    ck_assert_int_eq(parse(&d, sizeof d, t, 3, 13, &out, err, sizeof err), -1);

    /* _gil must start before its own members. */
    d = good;
    d.interpreter_state.gil_runtime_state = d.interpreter_state.gil_runtime_state_locked + 4;
    ck_assert_int_eq(parse(&d, sizeof d, t, 3, 13, &out, err, sizeof err), -1);

    /* Short buffers. */
    d = good;
    ck_assert_int_eq(parse(&d, sizeof d - 1, t, 3, 13, &out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "bytes") != NULL, "err: %s", err);
    ck_assert_int_eq(parse(&d, 7, t, 3, 13, &out, err, sizeof err), -1);
    ck_assert_int_eq(parse(&d, 0, t, 3, 13, &out, err, sizeof err), -1);

    /* The good block itself passes, so the failures above are the edits'. */
    ck_assert_int_eq(parse(&good, sizeof good, t, 3, 13, &out, err, sizeof err), 0);
}
END_TEST

/* ---- the real block in libpython3.13 ---- */

/* Copies up to CAP bytes of SYMBOL's static initializer from the ELF file at
 * PATH into BUF. Returns the byte count, or -1 with a reason in WHY. */
static long read_symbol_init(const char *path, const char *symbol, unsigned char *buf,
                             size_t cap, char *why, size_t whylen)
{
    long ret = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "cannot open %s", path);
        return -1;
    }
    if (elf_version(EV_CURRENT) == EV_NONE) {
        snprintf(why, whylen, "libelf: %s", elf_errmsg(-1));
        close(fd);
        return -1;
    }
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    if (!e) {
        snprintf(why, whylen, "%s: %s", path, elf_errmsg(-1));
        close(fd);
        return -1;
    }

    GElf_Sym sym;
    int found = 0;
    Elf_Scn *scn = NULL;
    while (!found && (scn = elf_nextscn(e, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
            || sh.sh_entsize == 0)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        size_t n = sh.sh_size / sh.sh_entsize;
        for (size_t i = 0; data && i < n; i++) {
            if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
                continue;
            const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
            if (name && strcmp(name, symbol) == 0) {
                found = 1;
                break;
            }
        }
    }
    if (!found) {
        snprintf(why, whylen, "%s: no symbol %s", path, symbol);
        goto out;
    }

    Elf_Scn *dscn = elf_getscn(e, sym.st_shndx);
    GElf_Shdr dsh;
    if (!dscn || !gelf_getshdr(dscn, &dsh) || dsh.sh_type != SHT_PROGBITS) {
        snprintf(why, whylen, "%s: %s is not in an initialized data section", path, symbol);
        goto out;
    }
    Elf_Data *dd = elf_getdata(dscn, NULL);
    uint64_t start = sym.st_value - dsh.sh_addr;
    size_t want = sym.st_size < cap ? (size_t)sym.st_size : cap;
    if (!dd || !dd->d_buf || start < (uint64_t)dd->d_off
        || start - (uint64_t)dd->d_off + want > dd->d_size) {
        snprintf(why, whylen, "%s: %s's bytes are not in its section data", path, symbol);
        goto out;
    }
    memcpy(buf, (const char *)dd->d_buf + (start - (uint64_t)dd->d_off), want);
    ret = (long)want;
out:
    elf_end(e);
    close(fd);
    return ret;
}

START_TEST(test_debug_real_libpython313)
{
    char path[4096];
    const char *root = getenv("PYENV_ROOT");
    const char *home = getenv("HOME");
    if (root && *root)
        snprintf(path, sizeof path, "%s/versions/3.13.0/lib/libpython3.13.so.1.0", root);
    else if (home && *home)
        snprintf(path, sizeof path, "%s/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0", home);
    else {
        printf("SKIPPED: test_debug_real_libpython313: neither PYENV_ROOT nor HOME is set\n");
        fflush(stdout);
        return;
    }
    if (access(path, R_OK) != 0) {
        printf("SKIPPED: test_debug_real_libpython313: %s not found (pyenv 3.13.0 not "
               "installed)\n", path);
        fflush(stdout);
        return;
    }

    unsigned char buf[PYOFF_DEBUG_BLOCK_SIZE];
    char why[4096 + 512]; /* room for the path */
    long n = read_symbol_init(path, "_PyRuntime", buf, sizeof buf, why, sizeof why);
    ck_assert_msg(n >= 0, "%s", why);

    const struct py_offsets *t = pyoffsets_for_version(3, 13);
    struct py_offsets out;
    uint64_t hex = 0;
    char err[200];
    int rc = pyoffsets_from_debug(buf, (size_t)n, t, 3, 13, &out, &hex, err, sizeof err);
    ck_assert_msg(rc == 0, "real 3.13 block rejected: %s", err);
    ck_assert_uint_eq((hex >> 16) & 0xffff, 0x030d);
    for (size_t i = 0; i < NDESCRIBED; i++) {
        ck_assert_msg(field_at(&out, described[i].off) == field_at(t, described[i].off),
                      "%s: libpython says %d, compiled table %d", described[i].name,
                      field_at(&out, described[i].off), field_at(t, described[i].off));
    }

    /* Again over a poisoned base, so each value must have come from the file. */
    struct py_offsets base = poisoned_base();
    rc = pyoffsets_from_debug(buf, (size_t)n, &base, 3, 13, &out, &hex, err, sizeof err);
    ck_assert_msg(rc == 0, "real 3.13 block rejected: %s", err);
    check_result(&out, t, &base);
    printf("test_debug_real_libpython313: %s: PY_VERSION_HEX 0x%08llx, %zu fields match\n",
           path, (unsigned long long)hex, NDESCRIBED);
    fflush(stdout);
}
END_TEST

/* The block of a built 3.14 (scripts/install-deps --pythons), or a skip. */
#define BUILT_PYTHONS "/opt/gilscope-pythons"

static long read_built_block(const char *flavour, const char *lib, unsigned char *buf, size_t cap,
                             const char *test)
{
    char path[512], why[1024];
    snprintf(path, sizeof path, "%s/%s/lib/%s", BUILT_PYTHONS, flavour, lib);
    if (access(path, R_OK) != 0) {
        printf("SKIPPED: %s: %s not found (built by scripts/install-deps --pythons where "
               "../shared/pythons exists)\n", test, path);
        fflush(stdout);
        return -1;
    }
    long n = read_symbol_init(path, "_PyRuntime", buf, cap, why, sizeof why);
    ck_assert_msg(n >= 0, "%s", why);
    /* gilscope finds _PyRuntime through the .PyRuntime section: it must be
     * where the symbol says. */
    struct elfsym *e = elfsym_open(path, why, sizeof why);
    ck_assert_msg(e != NULL, "%s", why);
    uint64_t sym = 0, sec = 0, size = 0;
    ck_assert_int_eq(elfsym_lookup(e, "_PyRuntime", &sym, &size), 0);
    ck_assert_int_eq(elfsym_section(e, ".PyRuntime", &sec, &size), 0);
    ck_assert_uint_eq(sym, sec);
    elfsym_close(e);
    return n;
}

/* 3.14's block (of each flavour) read through its description must give
 * exactly the compiled table's values: the description and the generated
 * table agree, and every described field comes from the block. */
static void check_real_314(int ft)
{
    const char *test = ft ? "test_debug_real_libpython314t" : "test_debug_real_libpython314";
    unsigned char buf[PYOFF_DEBUG_BLOCK_SIZE];
    memset(buf, 0, sizeof buf);
    long n = read_built_block(ft ? "3.14t" : "3.14", ft ? "libpython3.14t.so.1.0" : "libpython3.14.so.1.0",
                              buf, sizeof buf, test);
    if (n < 0)
        return;
    const struct py_offsets *t = pyoffsets_for_build(3, 14, ft);
    ck_assert_ptr_nonnull(t);
    struct py_offsets out;
    uint64_t hex = 0;
    char err[300];
    int rc = pyoffsets_from_debug(buf, (size_t)n, t, 3, 14, &out, &hex, err, sizeof err);
    ck_assert_msg(rc == 0, "real 3.14%s block rejected: %s", ft ? "t" : "", err);
    ck_assert_uint_eq((hex >> 16) & 0xffff, 0x030e);
    ck_assert_msg(memcmp(&out, t, sizeof out) == 0, "3.14%s: the block disagrees with the table",
                  ft ? "t" : "");
    size_t extra[] = { offsetof(struct py_offsets, co_tlbc), offsetof(struct py_offsets, if_tlbc_index),
                       offsetof(struct py_offsets, gil_enabled) };
    /* Over a poisoned base: every described field must come from the file. */
    struct py_offsets base = poisoned_base();
    base.free_threaded = ft;
    rc = pyoffsets_from_debug(buf, (size_t)n, &base, 3, 14, &out, &hex, err, sizeof err);
    ck_assert_msg(rc == 0, "real 3.14 block rejected: %s", err);
    for (size_t i = 0; i < NDESCRIBED; i++)
        ck_assert_msg(field_at(&out, described[i].off) == field_at(t, described[i].off),
                      "%s: libpython says %d, compiled table %d", described[i].name,
                      field_at(&out, described[i].off), field_at(t, described[i].off));
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        ck_assert_int_eq(field_at(&out, extra[i]), ft ? field_at(t, extra[i]) : POISON);

    /* The same block with the wrong flavour's table is refused. */
    rc = pyoffsets_from_debug(buf, (size_t)n, pyoffsets_for_build(3, 14, !ft), 3, 14, &out, &hex,
                              err, sizeof err);
    ck_assert_int_eq(rc, -1);

    /* pyoffsets_select: 3.14 itself; then the block as if of a 3.15 whose
     * block kept 3.14's layout (read with a warning); then one whose layout
     * does not validate as 3.14's (refused, naming the field). */
    ck_assert_int_eq(pyoffsets_select(3, 14, buf, sizeof buf, &out, err, sizeof err), 0);
    ck_assert_int_eq(out.free_threaded, ft);
    ck_assert_int_eq(out.co_qualname, t->co_qualname);
    unsigned char b2[PYOFF_DEBUG_BLOCK_SIZE];
    memcpy(b2, buf, sizeof b2);
    uint64_t v315 = 0x030f00a1;
    memcpy(b2 + 8, &v315, 8);
    ck_assert_int_eq(pyoffsets_select(3, 15, b2, sizeof b2, &out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "newer") != NULL, "warning: %s", err);
    ck_assert_int_eq(out.minor, 15);
    ck_assert_int_eq(out.co_qualname, t->co_qualname);
    uint64_t bad = 3;   /* thread_state.size: nothing fits in it */
    memcpy(b2 + 24 + 8 * 3 + 8 * 16, &bad, 8);
    ck_assert_int_eq(pyoffsets_select(3, 15, b2, sizeof b2, &out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "thread_state.") != NULL, "err: %s", err);
    printf("%s: PY_VERSION_HEX 0x%08llx, the block and the table agree\n", test, (unsigned long long)hex);
    fflush(stdout);
}

START_TEST(test_debug_real_libpython314)
{
    check_real_314(0);
    check_real_314(1);
}
END_TEST

/* A patch release whose object header grew by 16 bytes: the block says so
 * for the fields it describes, and the fields it does not describe in the
 * same structs (ma_used, tp_dictoffset, the compact string size, md_dict …)
 * move with them. */
START_TEST(test_debug_moves_undescribed)
{
    const struct py_offsets *t = pyoffsets_for_version(3, 13);
    struct dbg313 d = synth_block(t);
    d.pyobject.size += 16;
    d.dict_object.size += 16;
    d.type_object.size += 16;
    d.unicode_object.size += 16;
    d.pyobject.ob_type += 16;
    d.dict_object.ma_keys += 16;
    d.dict_object.ma_values += 16;
    d.type_object.tp_name += 16;
    d.type_object.tp_flags += 16;
    d.unicode_object.asciiobject_size += 16;
    d.unicode_object.state += 16;
    d.unicode_object.length += 16;
    unsigned char buf[PYOFF_DEBUG_BLOCK_SIZE];
    memset(buf, 0, sizeof buf);
    memcpy(buf, &d, sizeof d);
    struct py_offsets out;
    char err[200];
    ck_assert_int_eq(pyoffsets_from_debug(buf, sizeof buf, t, 3, 13, &out, NULL, err, sizeof err), 0);
    ck_assert_int_eq(out.ob_type, t->ob_type + 16);
    ck_assert_int_eq(out.dict_ma_used, t->dict_ma_used + 16);
    ck_assert_int_eq(out.tp_basicsize, t->tp_basicsize + 16);
    ck_assert_int_eq(out.tp_dictoffset, t->tp_dictoffset + 16);
    ck_assert_int_eq(out.ht_cached_keys, t->ht_cached_keys + 16);
    ck_assert_int_eq(out.uni_compact_size, t->uni_compact_size + 16);
    ck_assert_int_eq(out.uni_data, t->uni_data + 16);
    ck_assert_int_eq(out.mod_dict, t->mod_dict + 16);
    /* Not in a described struct: unchanged. */
    ck_assert_int_eq(out.dk_indices, t->dk_indices);
    ck_assert_int_eq(out.chunk_data, t->chunk_data);
}
END_TEST

START_TEST(test_select)
{
    struct py_offsets out;
    char err[300];
    /* Without a block: the compiled table, or a clear refusal. */
    ck_assert_int_eq(pyoffsets_select(3, 8, NULL, 0, &out, err, sizeof err), 0);
    ck_assert_int_eq(memcmp(&out, pyoffsets_for_version(3, 8), sizeof out), 0);
    ck_assert_int_eq(pyoffsets_select(3, 5, NULL, 0, &out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "3.5 is not supported") != NULL, "err: %s", err);
    ck_assert_int_eq(pyoffsets_select(3, 16, NULL, 0, &out, err, sizeof err), -1);
    /* A block of 3.13 over its table. */
    const struct py_offsets *t = pyoffsets_for_version(3, 13);
    struct dbg313 d = synth_block(t);
    unsigned char buf[PYOFF_DEBUG_BLOCK_SIZE];
    memset(buf, 0, sizeof buf);
    memcpy(buf, &d, sizeof d);
    ck_assert_int_eq(pyoffsets_select(3, 13, buf, sizeof buf, &out, err, sizeof err), 0);
    ck_assert_int_eq(out.ts_current_frame, t->ts_current_frame);
    /* A free-threaded 3.13 has no table. */
    d.free_threaded = 1;
    memcpy(buf, &d, sizeof d);
    ck_assert_int_eq(pyoffsets_select(3, 13, buf, sizeof buf, &out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "free-threaded") != NULL, "err: %s", err);
    /* A corrupt block names the field. */
    d = synth_block(t);
    d.code_object.qualname = d.code_object.size;
    memcpy(buf, &d, sizeof d);
    ck_assert_int_eq(pyoffsets_select(3, 13, buf, sizeof buf, &out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "code_object.qualname") != NULL, "err: %s", err);
    ck_assert_int_eq(pyoffsets_debug_described(3, 13), 1);
    ck_assert_int_eq(pyoffsets_debug_described(3, 14), 1);
    ck_assert_int_eq(pyoffsets_debug_described(3, 12), 0);
}
END_TEST

static Suite *pyoffsets_suite(void)
{
    Suite *s = suite_create("pyoffsets");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tables_exist);
    tcase_add_test(tc, test_tables_sane);
    tcase_add_test(tc, test_known_values);
    tcase_add_test(tc, test_debug_valid);
    tcase_add_test(tc, test_debug_rejects);
    tcase_add_test(tc, test_debug_real_libpython313);
    tcase_add_test(tc, test_debug_real_libpython314);
    tcase_add_test(tc, test_select);
    tcase_add_test(tc, test_debug_moves_undescribed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pyoffsets_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
