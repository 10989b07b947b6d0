/* json — see include/json.h. */
#include "json.h"

#include <errno.h>
#include <stdint.h>

#include "utf8.h"

int json_string(FILE *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    putc('"', out);
    while (*s) {
        /* 4: the string is NUL-terminated, and a NUL never continues a sequence. */
        size_t n = utf8_valid_len(s, 4);
        if (n == 0) {
            fputs("\\ufffd", out);
            s++;
        } else if (*s == '"' || *s == '\\') {
            putc('\\', out);
            putc(*s++, out);
        } else if (*s < 0x20) {
            fprintf(out, "\\u%04x", *s++);
        } else {
            fwrite(s, 1, n, out);
            s += n;
        }
    }
    putc('"', out);
    return ferror(out) ? -EIO : 0;
}
