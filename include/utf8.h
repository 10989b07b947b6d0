/*
 * utf8 — the one rule for well-formed UTF-8 (Unicode 15, table 3-7): which
 * bytes start a sequence, how long it is, and which second bytes it allows
 * (no overlong forms, no surrogates U+D800..U+DFFF, nothing past U+10FFFF;
 * 0xC0, 0xC1 and 0xF5..0xFF never appear).
 *
 * Nothing here allocates or writes anywhere but *CP; callers decide what
 * to do with bytes that are not well-formed (replace them, escape them).
 */
#ifndef GILSCOPE_UTF8_H
#define GILSCOPE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* utf8_seq — the sequence at S, with N ≥ 1 bytes available.
 *  > 0  S starts a well-formed sequence of that many bytes (1..4); its
 *       code point is stored in *CP when CP is not NULL.
 *  < 0  S starts an ill-formed one: minus the length of its maximal
 *       subpart (1..3), the bytes one U+FFFD replaces when decoding as
 *       Python's decode("utf-8", "replace") and the WHATWG decoder do.
 *  0    the N bytes are all a well-formed prefix of a longer sequence:
 *       more bytes could complete it (a caller with no more replaces the
 *       N bytes by one U+FFFD).
 * *CP is left alone unless the result is > 0. S may be NUL-terminated
 * with N larger than what is left: no byte after a NUL is read (a NUL
 * never continues a sequence). */
int utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);

/* utf8_valid_len — the length (1..4) of the well-formed sequence at S
 * (N ≥ 1 bytes available), or 0 when S does not start one within N bytes
 * (ill-formed or cut short). */
size_t utf8_valid_len(const unsigned char *s, size_t n);

#endif
