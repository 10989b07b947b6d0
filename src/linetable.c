/*
 * linetable — instruction position → source line, for every CPython line
 * table format (see linetable.h). Each decoder mirrors the interpreter's own
 * PyCode_Addr2Line for its version, including what it answers for a negative
 * position (co_firstlineno) and for a position past the table (-1 for 3.10+).
 */
#include "linetable.h"

#include <limits.h>

/* Line arithmetic is done in 64 bits so that a garbage table cannot overflow
 * an int (undefined behaviour); a result outside int range is reported as
 * "no line". */
static int clamp_line(int64_t line)
{
    if (line < INT_MIN || line > INT_MAX)
        return -1;
    return (int)line;
}

/* The byte as a two's-complement int8, without relying on the
 * implementation-defined conversion of out-of-range values to int8_t. */
static int as_int8(uint8_t b)
{
    return b >= 128 ? (int)b - 256 : (int)b;
}

int linetable_lnotab(const uint8_t *tab, size_t len, int firstlineno,
                     int lasti_bytes, int signed_line_incr)
{
    int64_t line = firstlineno;
    int64_t addr = 0;

    for (size_t i = 0; i + 1 < len; i += 2) {
        addr += tab[i];
        if (addr > lasti_bytes)
            break;
        line += signed_line_incr ? as_int8(tab[i + 1]) : tab[i + 1];
    }
    return clamp_line(line);
}

int linetable_310(const uint8_t *tab, size_t len, int firstlineno,
                  int lasti_units)
{
    if (lasti_units < 0)
        return firstlineno;

    /* The table measures ranges in bytes; f_lasti counts 2-byte units. */
    int64_t target = (int64_t)lasti_units * 2;
    int64_t end = 0;
    int64_t line = firstlineno;

    for (size_t i = 0; i + 1 < len; i += 2) {
        int ldelta = as_int8(tab[i + 1]);
        end += tab[i];
        /* -128 means "no line" for this range only; the running line is
         * kept for the ranges that follow. */
        if (ldelta != -128)
            line += ldelta;
        /* Ranges are contiguous from 0 and target >= 0, so the first range
         * ending after target is the one holding it (empty ranges, used to
         * carry line deltas larger than one byte, never match). */
        if (target < end)
            return ldelta == -128 ? -1 : clamp_line(line);
    }
    return -1;
}

/* Location-table entry codes (Include/internal/pycore_code.h,
 * _PyCodeLocationInfoKind). 0–9 are the short forms. */
enum {
    LOC_ONE_LINE0 = 10,
    LOC_ONE_LINE1 = 11,
    LOC_ONE_LINE2 = 12,
    LOC_NO_COLUMNS = 13,
    LOC_LONG = 14,
    LOC_NONE = 15,
};

/* Signed varint at TAB[*POS] (6-bit chunks, least significant first, 0x40 =
 * more follows; the lowest bit of the result is the sign). Stops at LEN and
 * after 5 chunks, which is all a 32-bit line delta needs; returns 0 with
 * *OK = 0 if the table ends inside the number. */
static uint64_t read_varint(const uint8_t *tab, size_t len, size_t *pos, int *ok)
{
    uint64_t val = 0;
    unsigned shift = 0;

    *ok = 0;
    while (*pos < len && shift <= 24) {
        uint8_t b = tab[(*pos)++];
        val |= (uint64_t)(b & 63) << shift;
        shift += 6;
        if (!(b & 64)) {
            *ok = 1;
            return val;
        }
    }
    return 0;
}

static int64_t read_svarint(const uint8_t *tab, size_t len, size_t pos, int *ok)
{
    uint64_t val = read_varint(tab, len, &pos, ok);
    return (val & 1) ? -(int64_t)(val >> 1) : (int64_t)(val >> 1);
}

/* The start column of the entry at TAB[I] with code CODE, -1 when it has none. */
static int entry_column(const uint8_t *tab, size_t len, size_t i, int code)
{
    int ok;
    size_t pos = i + 1;
    if (code < LOC_ONE_LINE0)       /* short form: column = code * 8 + high bits of the next byte */
        return pos < len ? code * 8 + ((tab[pos] >> 4) & 7) : -1;
    if (code <= LOC_ONE_LINE2)
        return pos < len ? tab[pos] : -1;
    if (code != LOC_LONG)
        return -1;
    read_varint(tab, len, &pos, &ok);           /* line delta */
    if (ok)
        read_varint(tab, len, &pos, &ok);       /* end line delta */
    uint64_t col = ok ? read_varint(tab, len, &pos, &ok) : 0;
    return ok && col > 0 && col <= 1000000 ? (int)col - 1 : -1;
}

int linetable_311(const uint8_t *tab, size_t len, int firstlineno,
                  int code_unit_index)
{
    return linetable_311_loc(tab, len, firstlineno, code_unit_index, NULL);
}

int linetable_311_loc(const uint8_t *tab, size_t len, int firstlineno,
                      int code_unit_index, int *column)
{
    if (column)
        *column = -1;
    if (code_unit_index < 0)
        return firstlineno;

    int64_t addr = 0;   /* in code units */
    int64_t line = firstlineno;
    size_t i = 0;

    while (i < len) {
        uint8_t b = tab[i];
        /* Entries start with bit 7 set and operand bytes never have it, so
         * a stray byte (only possible in garbage) is skipped, as CPython's
         * own walker would. */
        if (!(b & 0x80)) {
            i++;
            continue;
        }
        int code = (b >> 3) & 15;
        int units = (b & 7) + 1;

        switch (code) {
        case LOC_ONE_LINE0:
        case LOC_ONE_LINE1:
        case LOC_ONE_LINE2:
            line += code - LOC_ONE_LINE0;
            break;
        case LOC_NO_COLUMNS:
        case LOC_LONG: {
            int ok;
            line += read_svarint(tab, len, i + 1, &ok);
            if (!ok)
                return -1;
            break;
        }
        default:        /* short forms and LOC_NONE keep the line */
            break;
        }

        if (code_unit_index < addr + units) {
            if (code == LOC_NONE)
                return -1;
            if (column)
                *column = entry_column(tab, len, i, code);
            return clamp_line(line);
        }
        addr += units;

        /* Skip the operands: CPython finds the next entry the same way,
         * which keeps us in step with it even for forms we do not parse. */
        do
            i++;
        while (i < len && !(tab[i] & 0x80));
    }
    return -1;
}
