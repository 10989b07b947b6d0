/*
 * json — the little JSON writing gilscope needs: strings escaped per RFC
 * 8259 (UTF-8 passed through, control characters and invalid bytes escaped).
 */
#ifndef GILSCOPE_JSON_H
#define GILSCOPE_JSON_H

#include <stdio.h>

/* json_string — write S as a quoted JSON string to OUT. Bytes that are not
 * valid UTF-8 become U+FFFD. Returns 0 or -EIO. */
int json_string(FILE *out, const char *s);

#endif
