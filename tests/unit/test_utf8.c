/* Unit tests: the UTF-8 rule (include/utf8.h), with the cases decoders get
 * wrong: overlongs, surrogates, past U+10FFFF, truncation, bytes that never
 * appear; and a cross-check against a decoder written from the definition. */
#include <check.h>
#include <string.h>

#include "utf8.h"
#include "unit.h"

static int seq(const char *s, size_t n, uint32_t *cp)
{
    return utf8_seq((const unsigned char *)s, n, cp);
}

START_TEST(test_valid)
{
    uint32_t cp = 0;
    ck_assert_int_eq(seq("A", 1, &cp), 1);
    ck_assert_uint_eq(cp, 'A');
    ck_assert_int_eq(seq("\x00", 1, &cp), 1);
    ck_assert_uint_eq(cp, 0);
    ck_assert_int_eq(seq("\x7f", 1, &cp), 1);
    ck_assert_int_eq(seq("\xc2\x80", 2, &cp), 2);                 /* U+0080, the first 2-byte */
    ck_assert_uint_eq(cp, 0x80);
    ck_assert_int_eq(seq("\xdf\xbf", 2, &cp), 2);
    ck_assert_uint_eq(cp, 0x7ff);
    ck_assert_int_eq(seq("\xe0\xa0\x80", 3, &cp), 3);             /* U+0800 */
    ck_assert_uint_eq(cp, 0x800);
    ck_assert_int_eq(seq("\xe2\x82\xac", 3, &cp), 3);             /* € */
    ck_assert_uint_eq(cp, 0x20ac);
    ck_assert_int_eq(seq("\xed\x9f\xbf", 3, &cp), 3);             /* U+D7FF, just below the surrogates */
    ck_assert_uint_eq(cp, 0xd7ff);
    ck_assert_int_eq(seq("\xee\x80\x80", 3, &cp), 3);             /* U+E000, just above */
    ck_assert_uint_eq(cp, 0xe000);
    ck_assert_int_eq(seq("\xef\xbf\xbf", 3, &cp), 3);             /* U+FFFF: well-formed (XML refuses it, not UTF-8) */
    ck_assert_uint_eq(cp, 0xffff);
    ck_assert_int_eq(seq("\xf0\x90\x80\x80", 4, &cp), 4);         /* U+10000 */
    ck_assert_uint_eq(cp, 0x10000);
    ck_assert_int_eq(seq("\xf0\x9f\x98\x80", 4, &cp), 4);         /* 😀 */
    ck_assert_uint_eq(cp, 0x1f600);
    ck_assert_int_eq(seq("\xf4\x8f\xbf\xbf", 4, &cp), 4);         /* U+10FFFF, the last */
    ck_assert_uint_eq(cp, 0x10ffff);
    /* More bytes available than the sequence needs. */
    ck_assert_int_eq(seq("\xc3\xa9xyz", 5, NULL), 2);
    ck_assert_uint_eq(utf8_valid_len((const unsigned char *)"\xe2\x82\xac!", 4), 3);
}
END_TEST

START_TEST(test_never_bytes)
{
    uint32_t cp = 12345;
    /* 0xC0, 0xC1 (only overlongs), 0xF5..0xFF (past U+10FFFF), continuation bytes. */
    static const unsigned char bad[] = { 0xc0, 0xc1, 0xf5, 0xf6, 0xf7, 0xf8, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
                                         0x80, 0x8f, 0xbf };
    for (size_t i = 0; i < sizeof bad; i++) {
        unsigned char s[4] = { bad[i], 0x80, 0x80, 0x80 };
        ck_assert_int_eq(utf8_seq(s, 4, &cp), -1);
        ck_assert_int_eq(utf8_seq(s, 1, &cp), -1);      /* not "truncated": nothing could complete it */
        ck_assert_uint_eq(utf8_valid_len(s, 4), 0);
    }
    ck_assert_uint_eq(cp, 12345);                       /* untouched unless well-formed */
}
END_TEST

START_TEST(test_overlong)
{
    ck_assert_int_eq(seq("\xc0\xaf", 2, NULL), -1);                 /* '/' in 2 bytes */
    ck_assert_int_eq(seq("\xc1\xbf", 2, NULL), -1);
    ck_assert_int_eq(seq("\xe0\x80\xaf", 3, NULL), -1);             /* in 3: E0 needs A0..BF next */
    ck_assert_int_eq(seq("\xe0\x9f\xbf", 3, NULL), -1);             /* U+07FF in 3 */
    ck_assert_int_eq(seq("\xf0\x80\x80\xaf", 4, NULL), -1);         /* in 4: F0 needs 90..BF next */
    ck_assert_int_eq(seq("\xf0\x8f\xbf\xbf", 4, NULL), -1);         /* U+FFFF in 4 */
}
END_TEST

START_TEST(test_surrogates_and_range)
{
    ck_assert_int_eq(seq("\xed\xa0\x80", 3, NULL), -1);             /* U+D800 */
    ck_assert_int_eq(seq("\xed\xbf\xbf", 3, NULL), -1);             /* U+DFFF */
    ck_assert_int_eq(seq("\xed\xa0\x80\xed\xb0\x80", 6, NULL), -1); /* CESU-8 pair */
    ck_assert_int_eq(seq("\xf4\x90\x80\x80", 4, NULL), -1);         /* U+110000 */
    ck_assert_int_eq(seq("\xf4\xbf\xbf\xbf", 4, NULL), -1);
    ck_assert_int_eq(seq("\xf5\x80\x80\x80", 4, NULL), -1);
}
END_TEST

START_TEST(test_maximal_subpart)
{
    /* Bad third or fourth byte: the well-formed prefix is one subpart. */
    ck_assert_int_eq(seq("\xe2\x82X", 3, NULL), -2);
    ck_assert_int_eq(seq("\xf0\x9f\x98X", 4, NULL), -3);
    ck_assert_int_eq(seq("\xf0\x9fX", 3, NULL), -2);
    ck_assert_int_eq(seq("\xc3X", 2, NULL), -1);
    ck_assert_int_eq(seq("\xe2\x82\xe2\x82\xac", 5, NULL), -2);     /* a new lead ends the subpart */
    /* A NUL ends it too: NUL-terminated input with a generous N is safe. */
    ck_assert_int_eq(seq("\xe2", 4, NULL), -1);
    ck_assert_int_eq(seq("\xf0\x9f", 4, NULL), -2);
}
END_TEST

START_TEST(test_truncated)
{
    ck_assert_int_eq(seq("\xc3", 1, NULL), 0);
    ck_assert_int_eq(seq("\xe2\x82", 2, NULL), 0);
    ck_assert_int_eq(seq("\xe2", 1, NULL), 0);
    ck_assert_int_eq(seq("\xf0\x9f\x98", 3, NULL), 0);
    ck_assert_int_eq(seq("\xf4\x8f", 2, NULL), 0);
    /* A prefix that no byte could complete is ill-formed, not truncated. */
    ck_assert_int_eq(seq("\xed\xa0", 2, NULL), -1);
    ck_assert_int_eq(seq("\xe0\x80", 2, NULL), -1);
    ck_assert_int_eq(seq("\xf4\x90", 2, NULL), -1);
    ck_assert_uint_eq(utf8_valid_len((const unsigned char *)"\xe2\x82", 2), 0);
}
END_TEST

/* From the definition: decode by bit pattern, then refuse overlongs,
 * surrogates and code points past U+10FFFF. Returns the length or 0. */
static int reference(const unsigned char *s, size_t n, uint32_t *cp)
{
    int len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || (size_t)len > n)
        return 0;
    uint32_t v = len == 1 ? s[0] : s[0] & (0x7fu >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

START_TEST(test_against_reference)
{
    /* Every 1-, 2- and 3-byte string, and every 4-byte one with a lead of
     * 0xF0..0xF4 and the last two bytes from a spread of values. */
    static const unsigned char tail[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xe0, 0xf4, 0xff };
    unsigned char s[4];
    uint32_t a, b;
    for (unsigned x = 0; x < 256; x++)
        for (unsigned y = 0; y < 256; y++)
            for (unsigned z = 0; z < 256; z++) {
                s[0] = (unsigned char)x, s[1] = (unsigned char)y, s[2] = (unsigned char)z;
                int r = reference(s, 3, &a), k = utf8_seq(s, 3, &b);
                /* Plain tests: a Check assertion per string would take seconds. */
                if (r ? (k != r || a != b) : k > 0)
                    ck_abort_msg("%02x %02x %02x: %d, reference %d", x, y, z, k, r);
            }
    for (unsigned x = 0xf0; x <= 0xf4; x++)
        for (unsigned y = 0; y < 256; y++)
            for (size_t i = 0; i < sizeof tail; i++)
                for (size_t j = 0; j < sizeof tail; j++) {
                    s[0] = (unsigned char)x, s[1] = (unsigned char)y, s[2] = tail[i], s[3] = tail[j];
                    int r = reference(s, 4, &a), k = utf8_seq(s, 4, &b);
                    if (r ? (k != r || a != b) : !(k < 0 && -k < 4))
                        ck_abort_msg("%02x %02x %02x %02x: %d, reference %d", x, y, s[2], s[3], k, r);
                }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("utf8");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_valid);
    tcase_add_test(tc, test_never_bytes);
    tcase_add_test(tc, test_overlong);
    tcase_add_test(tc, test_surrogates_and_range);
    tcase_add_test(tc, test_maximal_subpart);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_against_reference);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
