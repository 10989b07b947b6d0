/*
 * pystr — read a target's str / unicode / bytes objects and turn them into
 * UTF-8, for every supported CPython layout (2.7 str and unicode, 3.3+
 * PEP 393 compact ASCII, compact and legacy non-compact strings).
 *
 * Two layers: pure converters over local buffers (testable without a
 * target), and remote readers that copy an object out of the target with
 * proc_mem_read (normally one read per string) and validate it on the way:
 * the object's type must be the version's string type, its state word and
 * length must be plausible, so a stale or garbage pointer yields -EINVAL or
 * -EFAULT rather than nonsense text.
 *
 * Assumes a little-endian target (x86-64, aarch64), where the PEP 393 state
 * bit-field is allocated from the least significant bit.
 */
#ifndef GILSCOPE_PYSTR_H
#define GILSCOPE_PYSTR_H

#include <stddef.h>
#include <stdint.h>

struct proc_mem;
struct py_offsets;

/* Longest string, in characters, that pystr_read accepts; a longer length
 * is taken for garbage (-EINVAL). Legal names can be long (generated code
 * has 70,000-character identifiers), and only what fits in the output is
 * ever read, so this only rejects lengths no real string has. */
#define PYSTR_MAX_CHARS (1 << 30)

/*
 * pystr_pep393_to_utf8 — convert NCHARS code points stored as KIND bytes
 * each (1 = Latin-1, 2 = UCS-2, 4 = UCS-4, native byte order) at DATA into
 * UTF-8 in OUT (OUTLEN bytes).
 *
 * Code points that UTF-8 cannot carry (surrogates U+D800–U+DFFF, values
 * above U+10FFFF) become U+FFFD; surrogates are never paired, as in PEP 393
 * each one is a character of its own. OUT is always NUL-terminated; when it
 * is too small the text is cut at a character boundary. DATA need not be
 * aligned. Returns the number of bytes written (excluding the NUL), or
 * -EINVAL for a KIND other than 1, 2, 4, OUTLEN 0, or NULL DATA with NCHARS
 * > 0.
 */
int pystr_pep393_to_utf8(const void *data, size_t nchars, int kind,
                         char *out, size_t outlen);

/* The fields of a PEP 393 PyASCIIObject.state word. */
struct pystr_state {
    int interned;               /* 0 = not interned; 1–3 by version */
    int kind;                   /* 1, 2, 4; 0 = legacy wchar_t (≤3.11, not ready) */
    int compact;                /* data follows the object header */
    int ascii;                  /* only U+0000–U+007F; kind is then 1 */
    int ready;                  /* ≤3.11 "ready" bit; 1 from 3.12 (no such bit) */
    int statically_allocated;   /* 3.12+; 0 before */
};

/*
 * pystr_state_decode — split the 32-bit STATE word (PyASCIIObject.state, as
 * read from the target) into OUT, using the bit positions of layout O
 * (uni_kind_shift, uni_compact_shift, uni_ascii_shift, uni_ready_shift:
 * generated from each version's own bit-fields; in free-threaded 3.14
 * "interned" is a whole byte and the rest starts at bit 8). Fills OUT
 * (zeros when O has no PEP 393 strings). Returns 0 when the state
 * describes a string whose characters can be read (kind 1/2/4, ascii only
 * with kind 1, ready), -EINVAL otherwise (including a layout without
 * PEP 393 strings).
 */
int pystr_state_decode(uint32_t state, const struct py_offsets *o, struct pystr_state *out);

/*
 * pystr_read — copy the string object at remote ADDR into OUT (OUTLEN
 * bytes) as NUL-terminated UTF-8, using the layout O of the target's version.
 *
 *   3.x  str (PEP 393), exact type or subclass;
 *   2.7  str (bytes taken as UTF-8, invalid sequences → U+FFFD) and unicode
 *        (UCS-2 builds: surrogate pairs combined; UCS-4 builds).
 *
 * The object's type must carry exactly one of the tp_flags fast-subclass
 * bits (Py_TPFLAGS_UNICODE_SUBCLASS for text, BYTES/STRING_SUBCLASS for
 * 2.7 str) and have a readable tp_name; the built-in names ("str", "unicode",
 * "bytes") must agree with that bit for the version. Subclasses are accepted
 * (3.x subclass instances are the non-compact, data-pointer layout).
 * Verified type addresses are remembered per pid in a small thread-local
 * cache, so the usual cost of a short string is one proc_mem_read.
 *
 * A string longer than OUT holds is truncated at a character boundary (not
 * an error).
 *
 * Returns 0; -EFAULT (or the read's own error, e.g. -ESRCH, -EPERM) when the
 * memory cannot be read; -EINVAL when the object is not a string of this
 * version, its state or length is implausible (more than PYSTR_MAX_CHARS
 * characters), or OUTLEN is 0. On error OUT holds "" (if OUTLEN > 0).
 */
int pystr_read(struct proc_mem *m, const struct py_offsets *o, uint64_t addr,
               char *out, size_t outlen);

/*
 * pybytes_read — copy the raw content of the bytes object at remote ADDR
 * (3.x bytes / 2.7 str, exact type or subclass) into OUT (OUTMAX bytes, no
 * terminator added); *OUTLEN receives its length. Used for line tables.
 *
 * Returns 0; -ENOSPC when the object holds more than OUTMAX bytes (*OUTLEN
 * is then set to the needed size, nothing useful is in OUT); -EFAULT (or the
 * read's own error) when unreadable; -EINVAL when not a bytes object or its
 * size is negative.
 */
int pybytes_read(struct proc_mem *m, const struct py_offsets *o, uint64_t addr,
                 uint8_t *out, size_t outmax, size_t *outlen);

/*
 * pystr_cache_reset — forget the verified type addresses of this thread
 * (tests; or after attaching to a different target that reused a pid).
 */
void pystr_cache_reset(void);

#endif
