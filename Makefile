# gilscope — build, test, install.  See README.md.
CC       ?= cc
PREFIX   ?= /usr/local
BUILD    ?= build
PKGS      = libelf ncursesw libunwind-ptrace libprotobuf-c
OPT      ?= -O2
CFLAGS_W  = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# libdwarf (Debian's 20210528: no pkg-config file, headers in their own
# directory, taken as system headers so -Werror does not judge them). It
# comes before libelf and zlib, which it uses, for a static link too.
# -lstdc++ is for __cxa_demangle (nativesym).
DWARF_CFLAGS ?= -isystem /usr/include/libdwarf
DWARF_LIBS   ?= -ldwarf
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) -g $(CFLAGS_W) -Iinclude -Ipython_offsets $(SANFLAGS) \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(DWARF_CFLAGS)
LDLIBS   += $(DWARF_LIBS) $(shell pkg-config --libs $(PKGS) 2>/dev/null || \
              echo -lelf -lncursesw -ltinfo -lunwind-ptrace -lunwind-generic -lunwind -lprotobuf-c) \
            -lz -lstdc++
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)

SRCS      = $(wildcard src/*.c)
LIB_OBJS  = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(filter-out src/main.c,$(SRCS)))
MAIN_OBJ  = $(BUILD)/obj/main.o
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
HEADERS   = $(wildcard include/*.h python_offsets/*.h)

.PHONY: all deps testdeps check unit integration terminal asan demo install clean bench bench-soak offsets \
        fuzz fuzz-build fuzz-smoke

all: gilscope

# Replaced by rename, so a gilscope that is running keeps its file.
gilscope: $(BUILD)/gilscope
	@if [ "$(BUILD)" = build ]; then cp $(BUILD)/gilscope gilscope.tmp && mv -f gilscope.tmp gilscope; fi

$(BUILD)/gilscope: $(MAIN_OBJ) $(BUILD)/libgilscope.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libgilscope.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libgilscope.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libgilscope.a $(LDLIBS) $(CHECK_LIBS)

deps:
	@scripts/install-deps

unit: $(UNIT_BINS)
	@scripts/run-unit $(UNIT_BINS)

integration: $(BUILD)/gilscope
	@GILSCOPE=$(BUILD)/gilscope tests/integration/run

# top, completions, the man page, colours, record -q: through tmux and pipes.
terminal: $(BUILD)/gilscope
	@GILSCOPE=$(BUILD)/gilscope tests/terminal/run

# Flame-graph SVGs in headless Chromium (scripts/install-deps --browser);
# prints SKIPPED without a browser. Screenshots in build/test-artifacts/.
.PHONY: browser
browser: $(BUILD)/gilscope
	@GILSCOPE=$(BUILD)/gilscope tests/browser/run

# The tests also need tmux, groff, Chromium (the flame-graph page) and npm
# packages for the speedscope schema (installed under tests/formats/).
testdeps:
	@scripts/install-deps --browser --formats

# The libraries a program linked against libgilscope.a needs, for
# tests/formats/run's driver (tests/formats/tee.c).
.PHONY: print-ldlibs
print-ldlibs:
	@echo $(LDLIBS)

# speedscope and Trace Event files: schema (npm speedscope + ajv), the same
# samples in all three formats, real targets.
.PHONY: formats
formats: $(BUILD)/gilscope
	@GILSCOPE=$(BUILD)/gilscope tests/formats/run

check: testdeps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit integration terminal browser formats fuzz-smoke

asan: testdeps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  $(addprefix build-asan/tests/,$(notdir $(UNIT_BINS))) build-asan/gilscope
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  scripts/run-unit $(addprefix build-asan/tests/,$(notdir $(UNIT_BINS)))
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  GILSCOPE=build-asan/gilscope tests/integration/run
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  GILSCOPE=build-asan/gilscope tests/terminal/run
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  GILSCOPE=build-asan/gilscope tests/browser/run
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  GILSCOPE=build-asan/gilscope tests/formats/run

# libFuzzer targets (tests/fuzz/fuzz_*.c) for every parser of untrusted
# bytes, built with clang against the parsers' sources instrumented with
# ASan + UBSan, in FUZZ_BUILD. `make fuzz` runs each for FUZZ_SECONDS from
# its committed corpus (tests/fuzz/corpus/NAME; new inputs go to
# FUZZ_BUILD/corpus, or are merged into the committed corpus with
# FUZZ_MERGE=1; crashes are kept in FUZZ_BUILD/crashes). fuzz-smoke, part of
# check, replays each corpus and fuzzes a few seconds more; without clang or
# libFuzzer it prints SKIPPED. tests/fuzz/seed regenerates the corpora.
FUZZ_CC     ?= clang
FUZZ_BUILD  ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  = -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Wno-unused-parameter -Iinclude \
               -Ipython_offsets -Itests/unit $(shell pkg-config --cflags libelf 2>/dev/null) $(DWARF_CFLAGS)
FUZZ_LIBSRC  = linetable pystr proc pyoffsets flamegraph strtab elfsym hashtab utf8 pyobj clock nativesym
# nativesym's: libdwarf (before libelf and zlib, which it uses), libstdc++'s demangler.
FUZZ_LIBS    = $(DWARF_LIBS) $(shell pkg-config --libs libelf 2>/dev/null || echo -lelf) -lz -lstdc++
FUZZ_OBJS    = $(patsubst %,$(FUZZ_BUILD)/obj/%.o,$(FUZZ_LIBSRC))
FUZZ_BINS    = $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_OBJS) $(HEADERS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_OBJS) $(FUZZ_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZ_BINS)

fuzz-smoke:
	@if why=$$(FUZZ_CC=$(FUZZ_CC) tests/fuzz/run --probe); then \
	  $(MAKE) --no-print-directory -s fuzz-build && \
	  FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run --smoke $(FUZZ_BINS); \
	else echo "SKIPPED: fuzz smoke: $$why"; fi

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo

offsets:
	scripts/gen-offsets

# Benchmarks (bench/run; not tests: nothing asserts a time). austin, the
# peer, is optional: without it the peer rows say so.
BENCH_BINS = $(BUILD)/bench/vmread $(BUILD)/bench/ptpause
BENCH_ENV  = GILSCOPE=$(CURDIR)/gilscope VMREAD=$(CURDIR)/$(BUILD)/bench/vmread \
             PTPAUSE=$(CURDIR)/$(BUILD)/bench/ptpause

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

bench: all $(BENCH_BINS)
	@scripts/install-deps --bench || echo "bench: austin not installed; peer rows will say so" >&2
	@$(BENCH_ENV) bench/run

bench-soak: all $(BENCH_BINS)
	@$(BENCH_ENV) bench/run --soak

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 gilscope $(DESTDIR)$(PREFIX)/bin/gilscope
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 docs/gilscope.1 $(DESTDIR)$(PREFIX)/share/man/man1/gilscope.1

clean:
	rm -rf build build-asan $(FUZZ_BUILD) gilscope
