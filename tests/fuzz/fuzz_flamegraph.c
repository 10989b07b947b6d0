/*
 * fuzz_flamegraph — the folded-stack reader behind `gilscope flamegraph`,
 * and the SVG writer on what it read.
 *
 * Input: an options byte, then folded text. The text is read with
 * flamegraph_read from a FILE (fmemopen) into the main profile, and each of
 * its lines is given to flamegraph_add_line for the "before" profile; then
 * flamegraph_write renders the graph (plain or differential, by the options
 * byte) into memory. Checked: ASan / UBSan; the SVG is valid UTF-8 without
 * the control characters XML forbids, whatever bytes the frame names held.
 * Seeds: folded files recorded by gilscope from tests/targets, and py-spy /
 * stackcollapse-style lines (tests/fuzz/seed).
 */
#include <stdio.h>

#include "flamegraph.h"
#include "fuzz_common.h"

/* No C0 control character but tab, newline and carriage return. */
static int xml_chars_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t opt = fuzz_u8(&in);
    const char *text = (const char *)in.p;
    size_t len = in.n;
    char err[256];

    struct flamegraph *fg = flamegraph_new();
    FUZZ_CHECK(fg != NULL);
    if (len > 0) {
        FILE *f = fmemopen((void *)text, len, "r");
        FUZZ_CHECK(f != NULL);
        err[0] = '\0';
        int rc = flamegraph_read(fg, f, "fuzz", FLAMEGRAPH_MAIN, err, sizeof err);
        FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENODATA || rc == -EFBIG);
        FUZZ_CHECK(rc == 0 || err[0] != '\0');
        fclose(f);
    }
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) + 1 : len - i;
        const char *why = NULL;
        int rc = flamegraph_add_line(fg, text + i, n, FLAMEGRAPH_BEFORE, &why);
        FUZZ_CHECK(rc == 0 || rc == 1 || (rc == -EINVAL && why != NULL));
        i += n;
    }
    if (opt & 4)
        flamegraph_scale(fg, FLAMEGRAPH_BEFORE, 0.5 + (opt >> 4));

    struct flamegraph_opts o = {
        .title = (opt & 8) ? "fuzz <&> \"title\"" : NULL,
        .info = "Python 3.12, 100 Hz",
        .duration_s = 1.5,
        .width = (opt & 16) ? 1 + (opt >> 5) : 0,
        .minwidth = (opt & 32) ? -1 : 0.1,
        .diff = opt & 1,
        .negate = (opt >> 1) & 1,
    };
    char *svg = NULL;
    size_t svglen = 0;
    FILE *out = open_memstream(&svg, &svglen);
    FUZZ_CHECK(out != NULL);
    struct flamegraph_stats st;
    FUZZ_CHECK(flamegraph_write(fg, out, &o, &st) == 0);
    FUZZ_CHECK(fclose(out) == 0);
    FUZZ_CHECK(st.frames <= FLAMEGRAPH_MAX_FRAMES + 1);
    FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)svg, svglen));
    FUZZ_CHECK(xml_chars_ok((const unsigned char *)svg, svglen));
    free(svg);
    flamegraph_free(fg);
    return 0;
}
