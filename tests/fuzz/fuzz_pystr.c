/*
 * fuzz_pystr — pystr_read and pybytes_read on hostile object memory.
 *
 * The "target" is this process: the fuzzer builds a fake object in its own
 * memory and the readers copy it back through proc_mem (process_vm_readv on
 * our own pid), as the unit tests do. Input:
 *
 *   byte 0   layout: 3.12, 3.14 free-threaded, 2.7
 *   byte 1   ob_type: str, bytes, a str subclass, a bytes subclass, int,
 *            NULL, an unreadable address, or a type made from byte 6
 *   byte 2   the data pointer (PyUnicodeObject.data / 2.7 unicode str):
 *            left as the input has it, NULL, into the object (byte 3 × 8
 *            bytes in), or into a large readable buffer
 *   byte 3   that offset / 8
 *   4–5      output size (uint16 LE, at most 16384; 0 included)
 *   byte 6   the made-up type: its flag bits and which tp_name it has
 *   7…       the object's bytes, placed so that they end right before an
 *            unreadable page: a length that runs past them reads nothing.
 *
 * Checked: ASan / UBSan on everything; the output buffers are heap blocks of
 * exactly the size passed; a string comes back NUL-terminated, inside its
 * buffer, as valid UTF-8, and "" on error; pybytes_read's length agrees
 * with its result; and every call makes a bounded number of reads
 * (proc_mem.reads), whatever the lengths in the object say.
 *
 * Seeds (GILSCOPE_FUZZ_SEEDS=DIR): real strings and bytes in each layout.
 * GILSCOPE_FUZZ_VERBOSE=1 prints what each call returned.
 */
#include <uchar.h>

#include "fuzz_common.h"
#include "proc.h"
#include "pyoffsets.h"
#include "pystr.h"

enum {
    ARENA = 64 * 1024,          /* room for the object */
    BIG = 256 * 1024,           /* readable data: a PYSTR_MAX_CHARS UCS-4 string */
    OUT_MAX = 16384,
    HDR = 7,                    /* control bytes before the object */
};

static const struct py_offsets *layouts[3];
static struct proc_mem self;
static uint8_t *arena, *big, *name_page;
static _Alignas(16) uint8_t types[3][5][512], made_type[512];
static size_t page;
static int verbose;     /* GILSCOPE_FUZZ_VERBOSE=1: print what each call gave */

static const struct py_offsets *layout_of(uint8_t b)
{
    return layouts[b % 3];
}

static void setup(void)
{
    layouts[0] = pyoffsets_for_version(3, 12);
    layouts[1] = pyoffsets_for_build(3, 14, 1);
    layouts[2] = pyoffsets_for_version(2, 7);
    for (int i = 0; i < 3; i++) {
        const struct py_offsets *o = layouts[i];
        FUZZ_CHECK(o != NULL);
        int py2 = o->text_model == PYOFF_TEXT_PY2;
        fuzz_make_type(types[i][0], o, py2 ? "unicode" : "str", FUZZ_TPFLAG_UNICODE);
        fuzz_make_type(types[i][1], o, py2 ? "str" : "bytes", FUZZ_TPFLAG_BYTES);
        fuzz_make_type(types[i][2], o, "MyStr", FUZZ_TPFLAG_UNICODE | (1ull << 9));
        fuzz_make_type(types[i][3], o, "MyBytes", FUZZ_TPFLAG_BYTES | (1ull << 9));
        fuzz_make_type(types[i][4], o, "int", 1ull << 24);
    }
    page = (size_t)sysconf(_SC_PAGESIZE);
    arena = fuzz_guarded(ARENA);
    big = fuzz_guarded(BIG);
    for (size_t i = 0; i < BIG; i++)        /* mostly ASCII, some of everything */
        big[i] = (uint8_t)(i % 7 == 6 ? 0xC3 + i % 5 : 'a' + i % 26);
    name_page = fuzz_guarded(page);
    memset(name_page, 'N', page);           /* a tp_name without a NUL before the guard */
    FUZZ_CHECK(proc_mem_open(&self, getpid()) == 0);
}

/* The type pointer selected by SEL (byte 1), the made-up one from BITS. */
static uint64_t type_ptr(const struct py_offsets *o, int li, uint8_t sel, uint8_t bits)
{
    static const char *const names[] = {"str", "bytes", "unicode", "", "\x01\x02", NULL};
    switch (sel & 7) {
    case 5:
        return 0;
    case 6:
        return fuzz_addr(arena + ARENA);    /* the guard page */
    case 7: {
        uint64_t flags = ((bits & 1) ? FUZZ_TPFLAG_BYTES : 0) | ((bits & 2) ? FUZZ_TPFLAG_UNICODE : 0) |
                         ((bits & 4) ? 1ull << 24 : 0);
        unsigned n = (bits >> 3) & 7;
        const void *name = n < 5 ? (const void *)names[n]
                         : n == 5 ? (const void *)(name_page + page - 64)
                         : n == 6 ? NULL : (const void *)(name_page + page);
        fuzz_make_type(made_type, o, name, flags);
        return fuzz_addr(made_type);
    }
    default:
        return fuzz_addr(types[li][sel & 7]);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t lsel = fuzz_u8(&in), tsel = fuzz_u8(&in), dsel = fuzz_u8(&in), doff = fuzz_u8(&in);
    size_t outlen = fuzz_u16(&in) % (OUT_MAX + 1);
    uint8_t bits = fuzz_u8(&in);
    const struct py_offsets *o = layout_of(lsel);
    int li = lsel % 3;
    size_t n = in.n < ARENA ? in.n : ARENA;
    uint8_t *obj = arena + ARENA - n;

    memcpy(obj, in.p, n);
    if ((size_t)o->ob_type + 8 <= n)
        fuzz_put(obj + o->ob_type, type_ptr(o, li, tsel, bits), 8);
    int32_t dfield = o->text_model == PYOFF_TEXT_PY2 ? o->uni2_str : o->uni_data;
    if ((dsel & 3) != 0 && (size_t)dfield + 8 <= n) {
        uint64_t p = (dsel & 3) == 1 ? 0
                   : (dsel & 3) == 2 ? fuzz_addr(obj + (size_t)doff * 8)
                                     : fuzz_addr(big + (size_t)doff * 8);
        fuzz_put(obj + dfield, p, 8);
    }
    /* the made-up type and the object's address change from run to run */
    pystr_cache_reset();

    char *out = malloc(outlen ? outlen : 1);
    FUZZ_CHECK(out != NULL);
    uint64_t before = self.reads;
    int rc = pystr_read(&self, o, fuzz_addr(obj), out, outlen);
    uint64_t reads = self.reads - before;
    if (verbose)
        fprintf(stderr, "pystr_read: %d \"%s\" (%llu reads)\n", rc, rc == 0 ? out : "",
                (unsigned long long)reads);
    FUZZ_CHECK(reads <= 8 + 2 * (outlen * 4 / 4096 + 1));
    if (outlen == 0) {
        FUZZ_CHECK(rc == -EINVAL);
    } else if (rc == 0) {
        size_t len = strnlen(out, outlen);
        FUZZ_CHECK(len < outlen);
        FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)out, len));
    } else {
        FUZZ_CHECK(rc < 0 && out[0] == '\0');
    }
    free(out);

    uint8_t *raw = malloc(outlen ? outlen : 1);
    FUZZ_CHECK(raw != NULL);
    size_t got = 12345;
    pystr_cache_reset();
    before = self.reads;
    rc = pybytes_read(&self, o, fuzz_addr(obj), raw, outlen, &got);
    FUZZ_CHECK(self.reads - before <= 4);
    if (verbose)
        fprintf(stderr, "pybytes_read: %d, %zu bytes\n", rc, got);
    if (rc == 0)
        FUZZ_CHECK(got <= outlen);
    else if (rc == -ENOSPC)
        FUZZ_CHECK(got > outlen);
    else
        FUZZ_CHECK(rc < 0 && got == 0);
    free(raw);
    return 0;
}

/* ------------------------------------------------------------ seeds -- */

struct seedbuf {
    uint8_t b[1024];
    size_t n;
};

static void seed_ctl(struct seedbuf *s, int li, int tsel, int dsel, int doff)
{
    memset(s, 0, sizeof *s);
    s->b[0] = (uint8_t)li;
    s->b[1] = (uint8_t)tsel;
    s->b[2] = (uint8_t)dsel;
    s->b[3] = (uint8_t)doff;
    fuzz_put(s->b + 4, 256, 2);
    s->n = HDR;
}

/* A 3.x str of N characters of KIND at CHARS: compact (inline data), or not
 * (then the characters follow the header and byte 3 points at them). */
static void seed_pep393(const char *dir, const char *name, int li, const void *chars, size_t n,
                        int kind, int ascii, int compact)
{
    const struct py_offsets *o = layouts[li];
    struct seedbuf s;
    seed_ctl(&s, li, compact ? 0 : 2, compact ? 0 : 2, 0);
    uint8_t *obj = s.b + HDR;
    uint32_t state = ((uint32_t)kind << o->uni_kind_shift) | ((uint32_t)compact << o->uni_compact_shift) |
                     ((uint32_t)ascii << o->uni_ascii_shift) |
                     (o->uni_ready_shift >= 0 ? 1u << o->uni_ready_shift : 0);
    size_t off = compact ? (size_t)(ascii ? o->uni_ascii_size : o->uni_compact_size)
                         : (size_t)o->uni_data + 8;
    off = (off + 7) & ~(size_t)7;
    fuzz_put(obj + o->uni_length, n, 8);
    fuzz_put(obj + o->uni_state, state, 4);
    memcpy(obj + off, chars, n * (size_t)kind);
    s.b[3] = (uint8_t)(off / 8);
    s.n += off + (n + 1) * (size_t)kind;
    fuzz_seed_write(dir, name, s.b, s.n);
}

/* A bytes object (2.7: str) holding BYTES. */
static void seed_bytes(const char *dir, const char *name, int li, const void *bytes, size_t n)
{
    const struct py_offsets *o = layouts[li];
    struct seedbuf s;
    seed_ctl(&s, li, 1, 0, 0);
    fuzz_put(s.b + HDR + o->ob_size, n, 8);
    memcpy(s.b + HDR + o->bytes_sval, bytes, n);
    s.n += (size_t)o->bytes_sval + n + 1;
    fuzz_seed_write(dir, name, s.b, s.n);
}

/* A 2.7 unicode object whose Py_UNICODE data (UCS-4 here) follows it. */
static void seed_unicode2(const char *dir, const char *name, const char32_t *chars, size_t n)
{
    const struct py_offsets *o = layouts[2];
    struct seedbuf s;
    seed_ctl(&s, 2, 0, 2, 8);
    fuzz_put(s.b + HDR + o->uni2_length, n, 8);
    memcpy(s.b + HDR + 64, chars, n * 4);
    s.n += 64 + (n + 1) * 4;
    fuzz_seed_write(dir, name, s.b, s.n);
}

static void write_seeds(const char *dir)
{
    static const uint8_t cafe[] = {'c', 'a', 'f', 0xE9};
    static const char16_t fn[] = u"функция";
    static const char32_t uni[] = U"ünïcode💩";
    /* a real 3.11+ line table (tests/unit/test_codecache.c) */
    static const uint8_t table311[] = {0xf0, 6, 0, 1, 1, 0xf8, 0xe9, 5, 0xd8, 4, 9, 0x82, 0x12};
    static const char *const tag[2] = {"3.12", "3.14t"};
    char name[64];

    for (int li = 0; li < 2; li++) {
#define SEED(what, ...) (snprintf(name, sizeof name, "seed-%s-%s", tag[li], what), seed_pep393(dir, name, li, __VA_ARGS__))
        SEED("ascii", "<module>", 8, 1, 1, 1);
        SEED("latin1", cafe, 4, 1, 0, 1);
        SEED("ucs2", fn, 7, 2, 0, 1);
        SEED("ucs4", uni, 8, 4, 0, 1);
        SEED("subclass-ucs2", fn, 7, 2, 0, 0);
        SEED("subclass-ascii", "world", 5, 1, 1, 0);
#undef SEED
        snprintf(name, sizeof name, "seed-%s-bytes-linetable", tag[li]);
        seed_bytes(dir, name, li, table311, sizeof table311);
    }
    seed_bytes(dir, "seed-2.7-str-ascii", 2, "<module>", 8);
    seed_bytes(dir, "seed-2.7-str-utf8", 2, u8"café_関数", sizeof u8"café_関数" - 1);
    seed_unicode2(dir, "seed-2.7-unicode", uni, 8);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setup();
    verbose = getenv("GILSCOPE_FUZZ_VERBOSE") != NULL;
    fuzz_seeds_if_asked(write_seeds);
    return 0;
}
