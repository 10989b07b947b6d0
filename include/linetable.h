/*
 * linetable — map an instruction position to a source line, from a copy of a
 * code object's line table.
 *
 * Pure functions over a local buffer: no allocation, no remote reads, no
 * global state. Every walk is bounded by LEN (the table object's ob_size),
 * never by a terminator, so a truncated or garbage table yields a wrong line
 * or -1 but never an out-of-bounds read. TAB may be NULL when LEN is 0.
 *
 * Which decoder and which unit, by version:
 *
 *   version    table                 decoder          position argument
 *   2.7–3.9    co_lnotab             linetable_lnotab f_lasti, a BYTE offset into co_code
 *   3.10       co_linetable          linetable_310    f_lasti, a CODE-UNIT index (2 bytes each)
 *   3.11+      co_linetable (locs)   linetable_311    (prev_instr | instr_ptr − co_code_adaptive)
 *                                                     as a CODE-UNIT index
 *
 * A negative position means "not started yet"; like PyCode_Addr2Line, every
 * decoder then answers co_firstlineno.
 */
#ifndef GILSCOPE_LINETABLE_H
#define GILSCOPE_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * linetable_lnotab — line of the instruction at byte offset LASTI_BYTES,
 * from a 2.7–3.9 co_lnotab (TAB, LEN bytes).
 *
 * The table is (address increment u8, line increment) pairs; the line
 * increment is an int8 from 3.6 on (SIGNED_LINE_INCR = 1) and a uint8 on
 * 2.7 and 3.0–3.5 (SIGNED_LINE_INCR = 0). FIRSTLINENO is co_firstlineno.
 * A trailing odd byte is ignored.
 *
 * Returns the line. This table has no "no line" entry, so the result is
 * never -1 unless the table itself says so (garbage in, garbage out).
 */
int linetable_lnotab(const uint8_t *tab, size_t len, int firstlineno,
                     int lasti_bytes, int signed_line_incr);

/*
 * linetable_310 — line of the instruction at code-unit index LASTI_UNITS
 * (3.10's f_lasti; byte offset = 2 × LASTI_UNITS), from a 3.10 co_linetable
 * (TAB, LEN bytes): (byte-length u8, line delta s8) pairs, where a delta of
 * -128 marks a range with no line.
 *
 * Returns the line, or -1 when the instruction has no line (artificial
 * instructions) or lies past the end of the table.
 */
int linetable_310(const uint8_t *tab, size_t len, int firstlineno,
                  int lasti_units);

/*
 * linetable_311 — line of the instruction at CODE_UNIT_INDEX (2-byte units
 * from the start of co_code_adaptive, i.e. the pointer difference of
 * prev_instr / instr_ptr and co_code_adaptive divided by 2), from a 3.11+
 * location table (co_linetable, TAB, LEN bytes; PEP 626/657 format, entry
 * codes 0–15, varint / svarint operands).
 *
 * Returns the line, or -1 when the entry covering the instruction carries
 * no location (code 15) or the index lies past the end of the table.
 */
int linetable_311(const uint8_t *tab, size_t len, int firstlineno,
                  int code_unit_index);

/*
 * linetable_311_loc — linetable_311, and in *COLUMN (may be NULL) the
 * instruction's start column (0-based, in UTF-8 bytes, as CPython counts
 * it), or -1 when the entry has none (no-columns and no-location forms,
 * an index before the table or past its end).
 */
int linetable_311_loc(const uint8_t *tab, size_t len, int firstlineno,
                      int code_unit_index, int *column);

#endif
