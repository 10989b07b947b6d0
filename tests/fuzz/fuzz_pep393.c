/*
 * fuzz_pep393 — pystr_pep393_to_utf8 on hostile character data.
 *
 * Input: a kind selector byte (low 3 bits: 1, 2, 4 and the invalid 0, 3),
 * the output size (uint16 LE, 0 included), then the characters. The output
 * is a heap buffer of exactly that size, so writing past it is caught by
 * ASan. Checked: the result is below the output size, NUL-terminated there,
 * valid UTF-8 (no surrogates, nothing above U+10FFFF: those become U+FFFD),
 * and, when the output is large enough, complete (one character out per
 * character in). Seeds: real text in each kind (tests/fuzz/seed).
 */
#include <uchar.h>

#include "fuzz_common.h"
#include "pystr.h"

static const int kinds[8] = {1, 2, 4, 1, 2, 4, 0, 3};

static void seed(const char *dir, const char *name, int sel, uint16_t outlen,
                 const void *chars, size_t bytes)
{
    uint8_t buf[256];
    FUZZ_CHECK(3 + bytes <= sizeof buf);
    buf[0] = (uint8_t)sel;
    fuzz_put(buf + 1, outlen, 2);
    memcpy(buf + 3, chars, bytes);
    fuzz_seed_write(dir, name, buf, 3 + bytes);
}

static void write_seeds(const char *dir)
{
    static const uint8_t cafe[] = {'c', 'a', 'f', 0xE9};
    static const char16_t fn[] = u"функция_関数";
    static const char32_t uni[] = U"ünïcode💩";
    static const char16_t lone[] = {'a', 0xD800, 'b', 0xDC00};
    static const char32_t bad4[] = {0xDFFF, 0x110000, 0xFFFFFFFF, 0x10FFFF};

    seed(dir, "seed-latin1-ascii", 0, 64, "<module>", 8);
    seed(dir, "seed-latin1-cafe", 0, 64, cafe, sizeof cafe);
    seed(dir, "seed-ucs2-names", 1, 64, fn, sizeof fn - 2);
    seed(dir, "seed-ucs2-cut", 1, 6, fn, sizeof fn - 2);
    seed(dir, "seed-ucs2-surrogates", 1, 64, lone, sizeof lone);
    seed(dir, "seed-ucs4-emoji", 2, 64, uni, sizeof uni - 4);
    seed(dir, "seed-ucs4-cut", 2, 13, uni, sizeof uni - 4);
    seed(dir, "seed-ucs4-invalid", 2, 64, bad4, sizeof bad4);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_seeds_if_asked(write_seeds);
    return 0;
}

/* Characters in valid UTF-8 text of LEN bytes. */
static size_t utf8_chars(const unsigned char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += (s[i] & 0xC0) != 0x80;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    int kind = kinds[fuzz_u8(&in) & 7];
    size_t outlen = fuzz_u16(&in);
    size_t nchars = kind ? in.n / (size_t)kind : in.n;
    const void *chars = in.n ? in.p : NULL;

    char *out = malloc(outlen ? outlen : 1);
    FUZZ_CHECK(out != NULL);
    int rc = pystr_pep393_to_utf8(chars, nchars, kind, out, outlen);
    if (kind != 1 && kind != 2 && kind != 4) {
        FUZZ_CHECK(rc == -EINVAL);
    } else if (outlen == 0) {
        FUZZ_CHECK(rc == -EINVAL);
    } else {
        FUZZ_CHECK(rc >= 0 && (size_t)rc < outlen);
        FUZZ_CHECK(out[rc] == '\0');
        FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)out, (size_t)rc));
        size_t got = utf8_chars((const unsigned char *)out, (size_t)rc);
        FUZZ_CHECK(got <= nchars);
        if (outlen > 4 * nchars)
            FUZZ_CHECK(got == nchars);
    }
    free(out);
    return 0;
}
