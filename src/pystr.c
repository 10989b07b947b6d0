/*
 * pystr — str / unicode / bytes objects of a target, as UTF-8 (see pystr.h).
 *
 * Cost model: the object header and the first DATA_CHUNK bytes of inline
 * data come in one read; only long strings, non-compact strings
 * (data elsewhere) and 2.7 unicode (always a separate buffer) need more.
 * A type is verified once per pid (two small reads) and then cached.
 */
#include "pystr.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "proc.h"
#include "pyobj.h"
#include "pyoffsets.h"
#include "utf8.h"

enum {
    /* Bytes of data read together with the header: covers most names and
     * file names in the same read. */
    DATA_CHUNK = 256,
    /* Largest header offset we accept from a layout table; every CPython
     * string/bytes header is far smaller, so a bigger value is a bad table. */
    HDR_MAX = 256,
    /* Staging buffer for data that did not come with the header. */
    STAGE_BYTES = 4096,
    /* Speculative reads never cross a 4 KiB boundary: the object's own bytes
     * are mapped, but what follows a short object near the end of a mapping
     * may not be, and a short read fails as a whole. 4 KiB is the smallest
     * page size, so this is safe whatever the target's page size. */
    PAGE_GRANULE = 4096,
    /* tp_name is read in one go up to this many bytes. */
    TYPE_NAME_MAX = 64,
    TYPE_CACHE_SLOTS = 16,
};

/* tp_flags fast-subclass bits, identical in 2.7 and 3.x (object.h):
 * Py_TPFLAGS_BYTES_SUBCLASS (2.7: STRING_SUBCLASS) and UNICODE_SUBCLASS.
 * The exact types carry them too. */
static const uint64_t TPFLAG_BYTES_SUBCLASS = 1ull << 27;
static const uint64_t TPFLAG_UNICODE_SUBCLASS = 1ull << 28;

/* ---------------------------------------------------------------- UTF-8 -- */

/* An output buffer being filled; keeps room for the final NUL. */
struct sink {
    char *out;
    size_t outlen;      /* > 0 */
    size_t pos;         /* bytes written so far */
    int full;           /* a character did not fit: stop converting */
};

static const uint32_t REPLACEMENT = 0xFFFD;

/* Append code point CP (invalid ones as U+FFFD). Returns 0 when it did not
 * fit, which also marks the sink full so that text is only ever cut at a
 * character boundary. */
static int sink_put(struct sink *s, uint32_t cp)
{
    char b[4];
    size_t n;

    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        cp = REPLACEMENT;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (s->pos + n + 1 > s->outlen) {
        s->full = 1;
        return 0;
    }
    memcpy(s->out + s->pos, b, n);
    s->pos += n;
    return 1;
}

static void sink_finish(struct sink *s)
{
    s->out[s->pos] = '\0';
}

/* How the units of a buffer encode text. */
enum text_form {
    FORM_CODEPOINTS,    /* one code point per unit (PEP 393; 2.7 UCS-4) */
    FORM_UTF16,         /* 2.7 narrow unicode: surrogate pairs combine */
    FORM_UTF8,          /* 2.7 str: bytes meant as UTF-8 */
};

/* Unit I of SRC, KIND bytes wide; memcpy because remote data copied into a
 * byte buffer carries no alignment guarantee. */
static uint32_t unit_at(const uint8_t *src, size_t i, int kind)
{
    if (kind == 1)
        return src[i];
    if (kind == 2) {
        uint16_t v;
        memcpy(&v, src + i * 2, 2);
        return v;
    }
    uint32_t v;
    memcpy(&v, src + i * 4, 4);
    return v;
}

/* Convert N units of SRC into S. MORE says the text continues after SRC:
 * then a sequence cut by the end of SRC (a surrogate pair, a UTF-8
 * sequence) is left for the next call instead of being replaced. Returns
 * the units consumed; fewer than N when S filled up or a sequence was left
 * over. Invalid UTF-8 is replaced per maximal subpart, as Python's
 * decode("utf-8", "replace") does. */
static size_t convert(const uint8_t *src, size_t n, int kind,
                      enum text_form form, int more, struct sink *s)
{
    size_t i = 0;

    while (i < n) {
        uint32_t cp = unit_at(src, i, kind);
        size_t used = 1;

        if (form == FORM_UTF16 && cp >= 0xD800 && cp <= 0xDBFF) {
            if (i + 1 >= n && more)
                break;
            if (i + 1 < n) {
                uint32_t lo = unit_at(src, i + 1, kind);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    used = 2;
                }
            }
        } else if (form == FORM_UTF8 && cp >= 0x80) {
            /* FORM_UTF8 text is bytes (kind 1). */
            int k = utf8_seq(src + i, n - i, &cp);

            if (k > 0) {
                used = (size_t)k;
            } else if (k == 0 && more) {
                break;      /* cut by the chunk end; finish it next time */
            } else {
                cp = REPLACEMENT;   /* one per maximal subpart */
                used = k < 0 ? (size_t)-k : n - i;
            }
        }
        if (!sink_put(s, cp))
            break;
        i += used;
    }
    return i;
}

int pystr_pep393_to_utf8(const void *data, size_t nchars, int kind,
                         char *out, size_t outlen)
{
    if (out == NULL || outlen == 0)
        return -EINVAL;
    out[0] = '\0';
    if ((kind != 1 && kind != 2 && kind != 4) || (data == NULL && nchars > 0))
        return -EINVAL;

    struct sink s = {out, outlen, 0, 0};
    (void)convert(data, nchars, kind, FORM_CODEPOINTS, 0, &s);
    sink_finish(&s);
    /* outlen is caller-sized; a result beyond INT_MAX cannot be returned */
    return s.pos > 0x7FFFFFFF ? -EINVAL : (int)s.pos;
}

/* ---------------------------------------------------------- PEP 393 state -- */

int pystr_state_decode(uint32_t state, const struct py_offsets *o, struct pystr_state *out)
{
    memset(out, 0, sizeof *out);
    if (o->text_model != PYOFF_TEXT_PEP393 || o->uni_kind_shift < 0 || o->uni_kind_shift > 24 ||
        o->uni_compact_shift < 0 || o->uni_compact_shift > 31 || o->uni_ascii_shift < 0 ||
        o->uni_ascii_shift > 30)
        return -EINVAL;
    /* Everything below kind is "interned" (two bits, or a whole byte in
     * free-threaded builds). */
    out->interned = (int)(state & ((1u << o->uni_kind_shift) - 1));
    out->kind = (int)((state >> o->uni_kind_shift) & 7);
    out->compact = (int)((state >> o->uni_compact_shift) & 1);
    out->ascii = (int)((state >> o->uni_ascii_shift) & 1);
    /* After ascii: "ready" where strings can be not ready, else
     * "statically_allocated". */
    if (o->uni_ready_shift >= 0 && o->uni_ready_shift < 32) {
        out->ready = (int)((state >> o->uni_ready_shift) & 1);
    } else {
        out->ready = 1;
        out->statically_allocated = (int)((state >> (o->uni_ascii_shift + 1)) & 1);
    }

    if (out->kind != 1 && out->kind != 2 && out->kind != 4)
        return -EINVAL;
    if (out->ascii && out->kind != 1)
        return -EINVAL;
    if (!out->ready)
        return -EINVAL;
    return 0;
}

/* ------------------------------------------------------------- type cache -- */

enum str_class {
    CLASS_NONE,
    CLASS_UNICODE,      /* 3.x str, 2.7 unicode (or a subclass) */
    CLASS_BYTES,        /* 3.x bytes, 2.7 str (or a subclass) */
};

struct type_slot {
    pid_t pid;
    uint64_t type;      /* 0 = empty */
    enum str_class cls;
};

/* Thread-local so concurrent samplers need no locking; a miss only costs
 * re-verification. */
static _Thread_local struct type_slot type_cache[TYPE_CACHE_SLOTS];
static _Thread_local unsigned type_cache_next;

void pystr_cache_reset(void)
{
    memset(type_cache, 0, sizeof type_cache);
    type_cache_next = 0;
}

static uint64_t load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static int64_t load_i64(const uint8_t *p)
{
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Bytes to read at ADDR: WANT, cut at the next 4 KiB boundary, but never
 * below NEED (which the caller requires anyway). */
static size_t clamp_to_granule(uint64_t addr, size_t want, size_t need)
{
    size_t room = PAGE_GRANULE - (size_t)(addr % PAGE_GRANULE);
    if (want > room)
        want = room > need ? room : need;
    return want;
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* Offset OFF of a WIDTH-byte field lies inside a header of HDR_MAX bytes. */
static int field_ok(int32_t off, size_t width)
{
    return off >= 0 && (size_t)off + width <= HDR_MAX;
}

/* Classify the type object at TYPE by its fast-subclass flag; the flag has
 * to be unambiguous and tp_name a readable string, so a garbage pointer is
 * very unlikely to pass. */
static int classify_type(struct proc_mem *m, const struct py_offsets *o,
                         uint64_t type, enum str_class *cls)
{
    uint8_t hdr[HDR_MAX + 8];
    char name[TYPE_NAME_MAX];
    size_t hlen;
    int rc;

    *cls = CLASS_NONE;
    if (!field_ok(o->tp_name, 8) || !field_ok(o->tp_flags, 8))
        return -EINVAL;
    hlen = max_size((size_t)o->tp_name, (size_t)o->tp_flags) + 8;
    rc = pyobj_read(m, type, hdr, hlen);
    if (rc < 0)
        return rc;

    uint64_t flags = load_u64(hdr + o->tp_flags);
    uint64_t name_addr = load_u64(hdr + o->tp_name);
    int is_uni = (flags & TPFLAG_UNICODE_SUBCLASS) != 0;
    int is_bytes = (flags & TPFLAG_BYTES_SUBCLASS) != 0;
    if (is_uni == is_bytes || name_addr == 0)
        return -EINVAL;

    size_t nlen = clamp_to_granule(name_addr, sizeof name, 1);
    rc = pyobj_read(m, name_addr, name, nlen);
    if (rc < 0)
        return rc;
    /* A type name is a non-empty run of printable bytes (UTF-8 allowed for
     * heap types); a long one may continue past what we read. */
    if (name[0] == '\0')
        return -EINVAL;
    for (size_t i = 0; i < nlen && name[i] != '\0'; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7F)
            return -EINVAL;
    }
    *cls = is_uni ? CLASS_UNICODE : CLASS_BYTES;

    /* The built-in names must agree with the flag: "str" is the text type
     * on 3.x but the bytes type on 2.7. Any other name is a subclass. */
    size_t len = strnlen(name, nlen);
    int py2 = o->text_model == PYOFF_TEXT_PY2;
    const char *text_name = py2 ? "unicode" : "str";
    const char *bytes_name = py2 ? "str" : "bytes";
    if ((len == strlen(text_name) && memcmp(name, text_name, len) == 0 &&
         *cls != CLASS_UNICODE) ||
        (len == strlen(bytes_name) && memcmp(name, bytes_name, len) == 0 &&
         *cls != CLASS_BYTES)) {
        *cls = CLASS_NONE;
        return -EINVAL;
    }
    return 0;
}

/* The class of the object whose header is in HDR, from the cache or by
 * verifying its type. */
static int object_class(struct proc_mem *m, const struct py_offsets *o,
                        const uint8_t *hdr, enum str_class *cls)
{
    uint64_t type = load_u64(hdr + o->ob_type);

    *cls = CLASS_NONE;
    if (type == 0)
        return -EINVAL;
    for (unsigned i = 0; i < TYPE_CACHE_SLOTS; i++) {
        if (type_cache[i].type == type && type_cache[i].pid == m->pid) {
            *cls = type_cache[i].cls;
            return 0;
        }
    }
    int rc = classify_type(m, o, type, cls);
    if (rc < 0)
        return rc;
    struct type_slot *slot = &type_cache[type_cache_next++ % TYPE_CACHE_SLOTS];
    slot->pid = m->pid;
    slot->type = type;
    slot->cls = *cls;
    return 0;
}

/* ----------------------------------------------------------- remote reads -- */

/* Read the header of the object at ADDR into BUF: at least NEED bytes, up to
 * WANT if that stays within the 4 KiB granule. *GOT receives the count. */
static int read_head(struct proc_mem *m, uint64_t addr, uint8_t *buf,
                     size_t need, size_t want, size_t *got)
{
    *got = clamp_to_granule(addr, want, need);
    return pyobj_read(m, addr, buf, *got);
}

/* Make sure BUF holds NEED bytes of the object at ADDR (the first read may
 * have stopped at a granule boundary before the whole header). */
static int extend_head(struct proc_mem *m, uint64_t addr, uint8_t *buf,
                       size_t *got, size_t need)
{
    if (*got >= need)
        return 0;
    int rc = pyobj_read(m, addr + *got, buf + *got, need - *got);
    if (rc == 0)
        *got = need;
    return rc;
}

/*
 * Convert the first NUNITS of the TOTAL units (KIND bytes each, in FORM) of
 * remote text at DATA into S; NUNITS < TOTAL when the output cannot hold
 * more anyway. PRE holds the first PRE_BYTES bytes of the text when the
 * header read already brought them; the rest is read in STAGE_BYTES pieces.
 */
static int convert_remote(struct proc_mem *m, uint64_t data, size_t nunits,
                          size_t total, int kind, enum text_form form,
                          const uint8_t *pre, size_t pre_bytes, struct sink *s)
{
    uint8_t stage[STAGE_BYTES];
    size_t done = 0;
    size_t pre_units = pre_bytes / (size_t)kind;

    while (done < nunits && !s->full) {
        const uint8_t *src;
        size_t avail;
        int from_pre = done < pre_units;

        if (from_pre) {
            src = pre + done * (size_t)kind;
            avail = pre_units - done;
        } else {
            avail = sizeof stage / (size_t)kind;
            if (avail > nunits - done)
                avail = nunits - done;
            int rc = pyobj_read(m, data + done * (uint64_t)kind, stage,
                                   avail * (size_t)kind);
            if (rc < 0)
                return rc;
            src = stage;
        }
        if (avail > nunits - done)
            avail = nunits - done;
        /* "More follows" is judged against the whole text, so that a
         * sequence cut by our own NUNITS cap is dropped, not replaced. */
        size_t used = convert(src, avail, kind, form, done + avail < total, s);
        int at_cap = done + avail >= nunits;
        done += used;
        if (used < avail && !s->full) {
            if (at_cap)
                break;      /* the rest would not fit the output */
            /* A sequence straddles the end of what we have: continue with a
             * fresh read from DONE, which starts with that sequence. */
            if (!from_pre && used == 0)
                return -EINVAL;     /* cannot happen with a 4 KiB stage */
            pre_units = 0;
        }
    }
    return 0;
}

/* 3.x str: PEP 393. HDR/GOT is the header read so far. */
static int read_pep393(struct proc_mem *m, const struct py_offsets *o,
                       uint64_t addr, uint8_t *hdr, size_t got,
                       struct sink *s)
{
    struct pystr_state st;
    int64_t length = load_i64(hdr + o->uni_length);
    uint32_t state;
    uint64_t data;
    size_t data_off = 0;
    int rc;

    if (length < 0 || length > PYSTR_MAX_CHARS)
        return -EINVAL;
    memcpy(&state, hdr + o->uni_state, sizeof state);
    if (pystr_state_decode(state, o, &st) < 0)
        return -EINVAL;

    if (st.compact) {
        data_off = (size_t)(st.ascii ? o->uni_ascii_size : o->uni_compact_size);
        data = addr + data_off;
    } else {
        rc = extend_head(m, addr, hdr, &got, (size_t)o->uni_data + 8);
        if (rc < 0)
            return rc;
        data = load_u64(hdr + o->uni_data);
        if (data == 0)
            return -EINVAL;
    }

    /* Every character takes at least one output byte. */
    size_t nchars = (size_t)length;
    if (nchars > s->outlen - 1)
        nchars = s->outlen - 1;
    const uint8_t *pre = NULL;
    size_t pre_bytes = 0;
    if (st.compact && got > data_off) {
        pre = hdr + data_off;
        pre_bytes = got - data_off;
    }
    return convert_remote(m, data, nchars, (size_t)length, st.kind,
                          FORM_CODEPOINTS, pre, pre_bytes, s);
}

/* 2.7 str as text: its bytes taken as UTF-8, invalid sequences replaced. */
static int read_bytes_text(struct proc_mem *m, const struct py_offsets *o,
                           uint64_t addr, const uint8_t *hdr, size_t got,
                           struct sink *s)
{
    int64_t size = load_i64(hdr + o->ob_size);
    if (size < 0 || size > PYSTR_MAX_CHARS)
        return -EINVAL;

    /* A valid byte becomes one output byte, an invalid one three: reading
     * outlen - 1 bytes is always enough. */
    size_t n = (size_t)size;
    if (n > s->outlen - 1)
        n = s->outlen - 1;
    size_t off = (size_t)o->bytes_sval;
    const uint8_t *pre = got > off ? hdr + off : NULL;
    return convert_remote(m, addr + off, n, (size_t)size, 1, FORM_UTF8, pre,
                          got > off ? got - off : 0, s);
}

/* 2.7 unicode: Py_UNICODE buffer behind a pointer. */
static int read_unicode2(struct proc_mem *m, const struct py_offsets *o,
                         uint64_t addr, uint8_t *hdr, size_t got,
                         struct sink *s)
{
    int kind = o->uni2_char_size;
    if (kind != 2 && kind != 4)
        return -EINVAL;
    int rc = extend_head(m, addr, hdr, &got,
                         max_size((size_t)o->uni2_str, (size_t)o->uni2_length) + 8);
    if (rc < 0)
        return rc;

    int64_t length = load_i64(hdr + o->uni2_length);
    uint64_t data = load_u64(hdr + o->uni2_str);
    if (length < 0 || length > PYSTR_MAX_CHARS || (length > 0 && data == 0))
        return -EINVAL;

    size_t n = (size_t)length;
    if (n > s->outlen - 1)
        n = s->outlen - 1;
    return convert_remote(m, data, n, (size_t)length, kind,
                          kind == 2 ? FORM_UTF16 : FORM_CODEPOINTS, NULL, 0, s);
}

int pystr_read(struct proc_mem *m, const struct py_offsets *o, uint64_t addr,
               char *out, size_t outlen)
{
    uint8_t hdr[HDR_MAX + DATA_CHUNK];
    size_t need, want, got;
    enum str_class cls;
    int rc;

    if (out == NULL || outlen == 0)
        return -EINVAL;
    out[0] = '\0';
    if (addr == 0 || !field_ok(o->ob_type, 8))
        return -EINVAL;

    if (o->text_model == PYOFF_TEXT_PY2) {
        if (!field_ok(o->ob_size, 8) || !field_ok(o->bytes_sval, 0) ||
            !field_ok(o->uni2_length, 8) || !field_ok(o->uni2_str, 8))
            return -EINVAL;
        /* The type is unknown until read: take what either layout needs. */
        need = max_size((size_t)o->ob_size + 8, (size_t)o->ob_type + 8);
        want = (size_t)o->bytes_sval + DATA_CHUNK;
    } else {
        if (!field_ok(o->uni_length, 8) || !field_ok(o->uni_state, 4) ||
            !field_ok(o->uni_ascii_size, 0) || !field_ok(o->uni_compact_size, 0) ||
            !field_ok(o->uni_data, 8))
            return -EINVAL;
        /* Every PEP 393 string is at least a PyASCIIObject. */
        need = max_size(max_size((size_t)o->uni_ascii_size, (size_t)o->ob_type + 8),
                        max_size((size_t)o->uni_length + 8, (size_t)o->uni_state + 4));
        want = max_size((size_t)o->uni_compact_size, (size_t)o->uni_data + 8) +
               DATA_CHUNK;
    }

    rc = read_head(m, addr, hdr, need, want, &got);
    if (rc < 0)
        return rc;
    rc = object_class(m, o, hdr, &cls);
    if (rc < 0)
        return rc;

    struct sink s = {out, outlen, 0, 0};
    int py2 = o->text_model == PYOFF_TEXT_PY2;
    if (py2 && cls == CLASS_BYTES)
        rc = read_bytes_text(m, o, addr, hdr, got, &s);
    else if (py2 && cls == CLASS_UNICODE)
        rc = read_unicode2(m, o, addr, hdr, got, &s);
    else if (!py2 && cls == CLASS_UNICODE)
        rc = read_pep393(m, o, addr, hdr, got, &s);
    else
        rc = -EINVAL;

    if (rc < 0) {
        out[0] = '\0';
        return rc;
    }
    sink_finish(&s);
    return 0;
}

int pybytes_read(struct proc_mem *m, const struct py_offsets *o, uint64_t addr,
                 uint8_t *out, size_t outmax, size_t *outlen)
{
    uint8_t hdr[HDR_MAX + DATA_CHUNK];
    size_t got;
    enum str_class cls;
    int rc;

    *outlen = 0;
    if (addr == 0 || !field_ok(o->ob_type, 8) || !field_ok(o->ob_size, 8) ||
        !field_ok(o->bytes_sval, 0))
        return -EINVAL;

    size_t off = (size_t)o->bytes_sval;
    size_t need = max_size((size_t)o->ob_size, (size_t)o->ob_type) + 8;
    rc = read_head(m, addr, hdr, need, off + DATA_CHUNK, &got);
    if (rc < 0)
        return rc;
    rc = object_class(m, o, hdr, &cls);
    if (rc < 0)
        return rc;
    if (cls != CLASS_BYTES)
        return -EINVAL;

    int64_t size = load_i64(hdr + o->ob_size);
    if (size < 0)
        return -EINVAL;
    if ((uint64_t)size > outmax) {
        *outlen = (size_t)size;
        return -ENOSPC;
    }

    size_t n = (size_t)size;
    size_t have = got > off ? got - off : 0;
    if (have > n)
        have = n;
    if (have > 0)
        memcpy(out, hdr + off, have);
    if (have < n) {
        rc = pyobj_read(m, addr + off + have, out + have, n - have);
        if (rc < 0)
            return rc;
    }
    *outlen = n;
    return 0;
}
