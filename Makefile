# shiproom - a terminal console for production canary rollouts.
#
#   make deps      install what building and testing need (as root), or say how
#   make           build build/shiproom
#   make run       start the console on the built-in simulator
#   make check     every test (unit, scenarios, fuzz smoke, screen)
#   make asan      the whole suite under AddressSanitizer + UBSan
#   make bench     the benchmarks in bench/
#   make install   PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
DATADIR  = $(PREFIX)/share/shiproom

BUILD   ?= build
CC      ?= cc
PKGS     = ncursesw libuv libcurl jansson
# Linked: all but libcurl, which is loaded when first called
# (include/shiproom/curl_load.h); its headers are still used.
LINKED_PKGS = ncursesw libuv jansson
CSTD     = -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN     = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wvla
OPT     ?= -O2 -g
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=
# Where the binary looks for config/ and themes/ when not installed: the
# source tree, so `make run` works without `make install`.
DATADIR_DEFAULT ?= $(CURDIR)

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(LINKED_PKGS) 2>/dev/null) -lm -ldl
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

CFLAGS_ALL  = $(CSTD) $(WARN) $(OPT) -Iinclude $(PKG_CFLAGS) -MMD -MP \
              -DSR_DATADIR='"$(DATADIR_DEFAULT)"' $(EXTRA_CFLAGS)
LDFLAGS_ALL = $(EXTRA_LDFLAGS)

# Every module under src/ except main.c goes into one static library that
# the binary, the unit tests and the fuzz targets link against.
LIB_SRCS  = $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB       = $(BUILD)/libshiproom.a
BIN       = $(BUILD)/shiproom

TEST_SRCS = $(sort $(wildcard tests/unit/test_*.c))
TEST_BINS = $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_SUPPORT_SRCS = $(filter-out $(TEST_SRCS),$(wildcard tests/unit/*.c))
TEST_SUPPORT_OBJS = $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/%.o)

FUZZ_SRCS = $(sort $(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all deps check-deps run check unit scenarios screen fuzz fuzz-smoke asan bench \
        install uninstall clean format format-check

all: $(BIN)

# ---- dependencies --------------------------------------------------------
deps:
	@tests/deps.sh install

check-deps:
	@tests/deps.sh check

# ---- build ---------------------------------------------------------------
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TEST_SUPPORT_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

# ---- run -----------------------------------------------------------------
SPEED ?= 60
SCENARIO ?= healthy
run: deps $(BIN)
	$(BIN) --scenario $(SCENARIO) --speed $(SPEED)

# ---- tests ---------------------------------------------------------------
check: deps
	@$(MAKE) --no-print-directory all-tests
	@tests/run-all.sh $(BUILD)

all-tests: $(BIN) $(TEST_BINS)

unit: all-tests
	@for t in $(TEST_BINS); do $$t || exit 1; done

# The whole suite again, instrumented. A separate build dir so the normal
# build is not rebuilt every time.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang OPT='-O1 -g -fno-omit-frame-pointer' \
	  EXTRA_CFLAGS='-fsanitize=address,undefined -fno-sanitize-recover=all' \
	  EXTRA_LDFLAGS='-fsanitize=address,undefined' all-tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  SR_SANITIZED=1 tests/run-all.sh build-asan

# Fuzz targets: libFuzzer when clang has it. `make fuzz FUZZ_TIME=60` runs
# each for a minute; check runs each for a few seconds over its corpus.
FUZZ_TIME ?= 5
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT='-O1 -g' \
	  EXTRA_CFLAGS='-fsanitize=fuzzer-no-link,address,undefined' \
	  EXTRA_LDFLAGS='-fsanitize=fuzzer,address,undefined' fuzz-bins
	@tests/run-fuzz.sh build-fuzz $(FUZZ_TIME)

fuzz-bins: $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

bench: $(BIN)
	@bench/run.sh $(BUILD)

# ---- install -------------------------------------------------------------
install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(DATADIR)/config/scenarios $(DESTDIR)$(DATADIR)/themes
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/shiproom
	install -m 0644 man/shiproom.1 $(DESTDIR)$(MANDIR)/man1/shiproom.1
	install -m 0644 man/shiproom.json.5 $(DESTDIR)$(MANDIR)/man5/shiproom.json.5
	install -m 0644 config/*.json config/*.md $(DESTDIR)$(DATADIR)/config/ 2>/dev/null || \
	  install -m 0644 config/*.json $(DESTDIR)$(DATADIR)/config/
	install -m 0644 config/scenarios/*.json $(DESTDIR)$(DATADIR)/config/scenarios/
	install -m 0644 themes/*.json $(DESTDIR)$(DATADIR)/themes/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/shiproom $(DESTDIR)$(MANDIR)/man1/shiproom.1 \
	  $(DESTDIR)$(MANDIR)/man5/shiproom.json.5
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build build-asan build-fuzz

# The style of .clang-format: `make format` applies it, `make format-check`
# (run by `make check`) fails on any file that differs, naming it.
FORMAT_FILES = $$(find src include tests bench -name '*.[ch]' | sort)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
