/* utf8 — see include/utf8.h. */
#include "utf8.h"

int utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    int need;
    uint32_t acc;

    if (c < 0x80) {
        if (cp)
            *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        acc = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        acc = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0;      /* else overlong */
        if (c == 0xED)
            hi = 0x9F;      /* else a surrogate */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        acc = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;      /* else overlong */
        if (c == 0xF4)
            hi = 0x8F;      /* else past U+10FFFF */
    } else {
        return -1;          /* a continuation byte, 0xC0, 0xC1, 0xF5..0xFF */
    }
    for (int j = 1; j < need; j++) {
        if ((size_t)j >= n)
            return 0;
        unsigned b = s[j];
        if (b < lo || b > hi)
            return -j;
        acc = (acc << 6) | (b & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    if (cp)
        *cp = acc;
    return need;
}

size_t utf8_valid_len(const unsigned char *s, size_t n)
{
    int k = utf8_seq(s, n, NULL);
    return k > 0 ? (size_t)k : 0;
}
