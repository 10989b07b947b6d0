/* textesc — see include/textesc.h. */
#include "textesc.h"

#include <string.h>

/* The control character at S (C0, DEL, or a C1 in UTF-8), with its byte
 * length in *LEN; -1 when S starts with something else. */
static int control_at(const unsigned char *s, size_t *len)
{
    if (s[0] < 0x20 || s[0] == 0x7f) {
        *len = 1;
        return s[0];
    }
    if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f) {
        *len = 2;
        return s[1];
    }
    return -1;
}

size_t textesc_copy(char *out, size_t outlen, size_t at, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    if (outlen == 0)
        return 0;
    while (*p) {
        size_t len;
        int c = control_at(p, &len);
        if (c >= 0) {
            if (at + 4 >= outlen)
                break;
            out[at++] = '\\';
            out[at++] = 'x';
            out[at++] = hex[c >> 4];
            out[at++] = hex[c & 15];
            p += len;
            continue;
        }
        /* A whole UTF-8 sequence or nothing (continuation bytes follow it). */
        size_t n = 1;
        while (p[n] && (p[n] & 0xc0) == 0x80 && n < 4)
            n++;
        if (at + n >= outlen)
            break;
        memcpy(out + at, p, n);
        at += n;
        p += n;
    }
    out[at < outlen ? at : outlen - 1] = '\0';
    return at;
}

int textesc_fputs(const char *s, FILE *f)
{
    char buf[512];
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        /* Escape in pieces; cut only between characters. */
        size_t take = 0, len;
        while (p[take] && take < 120) {
            if (control_at(p + take, &len) >= 0) {
                take += len;
                continue;
            }
            take++;
            while (p[take] && (p[take] & 0xc0) == 0x80)
                take++;
        }
        char piece[128];
        memcpy(piece, p, take);
        piece[take] = '\0';
        textesc_copy(buf, sizeof buf, 0, piece);
        if (fputs(buf, f) == EOF)
            return EOF;
        p += take;
    }
    return 0;
}
