/*
 * fuzz_common.h — what the libFuzzer targets of tests/fuzz share: taking
 * fields off the front of an input, checking that output text is valid
 * UTF-8, the input as a file, fake Python type objects in our own memory,
 * memory that ends at an unreadable page, and writing seed inputs (GILSCOPE_FUZZ_SEEDS=DIR makes a
 * target that knows how write its seeds into DIR and exit; tests/fuzz/seed
 * does this for every target).
 *
 * Header-only: each target is one translation unit. A failed check aborts,
 * which libFuzzer reports as a crash and keeps the input.
 */
#ifndef GILSCOPE_FUZZ_COMMON_H
#define GILSCOPE_FUZZ_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_CHECK(cond)                                                         \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                             \
        }                                                                        \
    } while (0)

/* ------------------------------------------------------------- input -- */

/* The unread rest of an input. Fields past its end read as zeros. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline uint64_t fuzz_take(struct fuzz_in *in, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++) {
        uint64_t b = in->n ? (in->n--, *in->p++) : 0;
        v |= b << (8 * i);
    }
    return v;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in) { return (uint8_t)fuzz_take(in, 1); }
static inline uint16_t fuzz_u16(struct fuzz_in *in) { return (uint16_t)fuzz_take(in, 2); }
static inline uint32_t fuzz_u32(struct fuzz_in *in) { return (uint32_t)fuzz_take(in, 4); }

/* Little-endian stores, for building inputs and fake objects. */
static inline void fuzz_put(uint8_t *p, uint64_t v, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ------------------------------------------------------------ UTF-8 -- */

/* 1 when S (LEN bytes) is valid UTF-8: no overlong forms, no surrogates,
 * nothing above U+10FFFF. NUL bytes are allowed (they are characters). */
static inline int fuzz_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (i + n > len)
            return 0;
        for (size_t j = 1; j < n; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n;
    }
    return 1;
}

/* -------------------------------------------------- guarded memory -- */

/* SIZE readable bytes (a multiple of the page size) followed by a page that
 * cannot be read: anything read past the end fails with EFAULT instead of
 * finding whatever happens to be mapped there. Never freed. */
static inline uint8_t *fuzz_guarded(size_t size)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, size + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    FUZZ_CHECK(m != MAP_FAILED);
    FUZZ_CHECK(mprotect(m + size, pg, PROT_NONE) == 0);
    return m;
}

/* ------------------------------------------------------ input file -- */

/* The input as a file: DATA (SIZE bytes) written over a memfd made on the
 * first call (named NAME), for parsers that open a path. Returns its path,
 * /proc/self/fd/N (static storage). */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create(name, MFD_CLOEXEC);
        FUZZ_CHECK(fd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
    return path;
}

/* --------------------------------------------- fake Python objects -- */

/* tp_flags fast-subclass bits (object.h, the same in 2.7 and 3.x). */
#define FUZZ_TPFLAG_BYTES (1ull << 27)
#define FUZZ_TPFLAG_UNICODE (1ull << 28)

static inline uint64_t fuzz_addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* A type object in T (512 bytes) with tp_name NAME and tp_flags FLAGS, at
 * the offsets of layout O (any struct with tp_name / tp_flags fields). */
#define fuzz_make_type(t, o, name, flags)                                   \
    do {                                                                     \
        memset((t), 0, 512);                                                 \
        fuzz_put((t) + (o)->tp_name, fuzz_addr(name), 8);                    \
        fuzz_put((t) + (o)->tp_flags, (flags), 8);                           \
    } while (0)

/* ------------------------------------------------------------ seeds -- */

/* Write one seed DIR/NAME. */
static inline void fuzz_seed_write(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, len, f) == len || len == 0);
    FUZZ_CHECK(fclose(f) == 0);
}

/* From LLVMFuzzerInitialize: with GILSCOPE_FUZZ_SEEDS=DIR in the
 * environment, WRITE the target's seeds into DIR and exit. */
static inline void fuzz_seeds_if_asked(void (*write)(const char *dir))
{
    const char *dir = getenv("GILSCOPE_FUZZ_SEEDS");
    if (dir && *dir) {
        write(dir);
        exit(0);
    }
}

#endif
