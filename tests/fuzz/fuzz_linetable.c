/*
 * fuzz_linetable — the line-table decoders (linetable.h) on hostile tables.
 *
 * Input: first line (int32 LE), position (int32 LE), then the table bytes.
 * Every input goes through all four decoders: linetable_lnotab with an
 * unsigned and a signed line increment, linetable_310 and linetable_311.
 * Checked: nothing is read outside the table (ASan: the table is the input's
 * own heap buffer, exactly its size), no undefined arithmetic (UBSan), and
 * a negative position answers the first line, as every decoder promises.
 *
 * Seeds (GILSCOPE_FUZZ_SEEDS=DIR): the real tables of
 * tests/unit/fixtures/linetables.h, each with one real instruction position.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "linetable.h"
#include "fixtures/linetables.h"

static void write_seeds(const char *dir)
{
    for (size_t i = 0; i < LT_FIXTURE_COUNT; i++) {
        const struct lt_fixture *f = &lt_fixtures[i];
        size_t len = 8 + f->table_len;
        uint8_t *buf = malloc(len);
        FUZZ_CHECK(buf != NULL);
        /* the middle instruction, in the unit its decoder takes */
        int32_t pos = f->n_expect ? f->expect[f->n_expect / 2][0] : 0;
        if (f->major == 3 && f->minor >= 10)
            pos /= 2;
        fuzz_put(buf, (uint32_t)f->firstlineno, 4);
        fuzz_put(buf + 4, (uint32_t)pos, 4);
        memcpy(buf + 8, f->table, f->table_len);
        char name[64];
        snprintf(name, sizeof name, "seed-fixture-%03zu-%d.%d", i, f->major, f->minor);
        fuzz_seed_write(dir, name, buf, len);
        free(buf);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_seeds_if_asked(write_seeds);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    int first = (int)fuzz_u32(&in);
    int pos = (int)fuzz_u32(&in);
    /* TAB may be NULL when LEN is 0 */
    const uint8_t *tab = in.n ? in.p : NULL;
    size_t len = in.n;

    (void)linetable_lnotab(tab, len, first, pos, 0);
    (void)linetable_lnotab(tab, len, first, pos, 1);
    (void)linetable_310(tab, len, first, pos);
    (void)linetable_311(tab, len, first, pos);

    int neg = pos < 0 ? pos : -1 - (pos & 0xFFFF);
    FUZZ_CHECK(linetable_lnotab(tab, len, first, neg, 0) == first);
    FUZZ_CHECK(linetable_lnotab(tab, len, first, neg, 1) == first);
    FUZZ_CHECK(linetable_310(tab, len, first, neg) == first);
    FUZZ_CHECK(linetable_311(tab, len, first, neg) == first);
    return 0;
}
