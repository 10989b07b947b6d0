/*
 * textesc — make text read from a target safe to print: function, file and
 * thread names are the target's data, and a name holding terminal escapes
 * (ESC, OSC … BEL), newlines or other control characters would otherwise
 * reach the operator's terminal, or break a line-based file, as it is.
 *
 * Every C0 control character (U+0000–U+001F), DEL (U+007F) and C1 control
 * (U+0080–U+009F, bytes C2 80–C2 9F in UTF-8) becomes the four characters
 * \xNN (NN its code in lowercase hex); everything else is copied unchanged.
 * The JSON and SVG writers escape on their own terms.
 */
#ifndef GILSCOPE_TEXTESC_H
#define GILSCOPE_TEXTESC_H

#include <stddef.h>
#include <stdio.h>

/* textesc_copy — append S, escaped, to OUT (OUTLEN bytes) at offset AT and
 * keep OUT NUL-terminated. Stops before an escape or character that would
 * not fit whole. Returns the new length (AT if nothing fit). */
size_t textesc_copy(char *out, size_t outlen, size_t at, const char *s);

/* textesc_fputs — write S, escaped, to F. Returns 0, or EOF on a write error. */
int textesc_fputs(const char *s, FILE *f);

#endif
