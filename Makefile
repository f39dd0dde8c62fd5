# txnflow — build, test, demo.
#
#   make            release build: build/txnflow (-O2 -g)
#   make asan       sanitizer build: build/asan/txnflow (ASan + UBSan)
#   make deps       install what is missing (apt + npm ci); quick when done
#   make test       deps + both builds + unit and end-to-end tests
#   make check      test + valgrind on the unit tests
#   make demo       deps + build + the main job on the default project
#   make bench      benchmarks (long; not part of test)
#   make fuzz       long fuzz runs (short ones are part of test)
#   make fuzz-lake  only the lake's bit flips (600 trials, ~18 min)
#
# DUCKDB_DIR=/path  use another libduckdb.so (and duckdb.h, if it is there)

SHELL := /bin/bash
CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif

DUCKDB_DIR ?= node_modules/@duckdb/node-bindings-linux-x64
DUCKDB_INCLUDE ?= $(if $(wildcard $(DUCKDB_DIR)/duckdb.h),$(DUCKDB_DIR),node_modules/duckdb/src/duckdb/src/include)
DUCKDB_LIBDIR := $(abspath $(DUCKDB_DIR))

PKGS := libzstd libcurl sqlite3 yaml-0.1 libcrypto libmicrohttpd libpq jansson
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g -ffp-contract=off $(WARN) -Isrc -Ibuild/gen -isystem $(DUCKDB_INCLUDE) -MMD -MP
LIBS = $(PKG_LIBS) -lsnappy -L$(DUCKDB_LIBDIR) -Wl,-rpath,$(DUCKDB_LIBDIR) -lduckdb -lpthread -lm

REL_CFLAGS := -O2 $(BASE_CFLAGS)
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_CFLAGS := -O1 $(ASAN_FLAGS) $(BASE_CFLAGS)

SRCS := $(shell find src -name '*.c' | sort)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
UNIT_SRCS := $(shell find tests/unit -name '*.c' | sort) tests/lib/unit_main.c
GEN_SRCS := build/gen/scaffold_files.c build/gen/web_files.c
GEN_HDRS := build/gen/commands.inc build/gen/unit_list.h
SCAFFOLD := $(shell find scaffold -type f | sort)
# The dashboard's pages and the pinned uPlot build (serve).
WEB := $(shell find web -type f | sort) node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css

REL_OBJS := $(SRCS:%.c=build/obj/%.o) build/obj/gen/scaffold_files.o build/obj/gen/web_files.o
REL_LIB_OBJS := $(LIB_SRCS:%.c=build/obj/%.o) build/obj/gen/scaffold_files.o build/obj/gen/web_files.o
ASAN_OBJS := $(SRCS:%.c=build/asan/obj/%.o) build/asan/obj/gen/scaffold_files.o build/asan/obj/gen/web_files.o
ASAN_LIB_OBJS := $(LIB_SRCS:%.c=build/asan/obj/%.o) build/asan/obj/gen/scaffold_files.o build/asan/obj/gen/web_files.o
REL_UNIT_OBJS := $(UNIT_SRCS:%.c=build/obj/%.o)
ASAN_UNIT_OBJS := $(UNIT_SRCS:%.c=build/asan/obj/%.o)

.PHONY: all release asan deps test check demo bench fuzz fuzz-lake clean unit-asan unit-release format
all: release
release: build/txnflow build/unit-tests
asan: build/asan/txnflow build/asan/unit-tests

deps:
	@sh scripts/deps.sh

# Generated sources: the command table, the unit test list, embedded files.
build/gen/commands.inc: $(wildcard src/cli/cmd_*.c) scripts/gen-lists.sh
	@mkdir -p build/gen && sh scripts/gen-lists.sh commands $@ src/cli/cmd_*.c
build/gen/unit_list.h: $(filter-out tests/lib/unit_main.c,$(UNIT_SRCS)) scripts/gen-lists.sh
	@mkdir -p build/gen && sh scripts/gen-lists.sh tests $@ $(filter-out tests/lib/unit_main.c,$(UNIT_SRCS))
build/tools/embed: tools/embed.c
	@mkdir -p build/tools && $(CC) -O1 -std=c11 -Wall -Wextra -Werror -o $@ $<
build/gen/scaffold_files.c: build/tools/embed $(SCAFFOLD)
	@mkdir -p build/gen && build/tools/embed txf_scaffold scaffold $(SCAFFOLD) > $@.tmp && mv $@.tmp $@
build/gen/web_files.c: build/tools/embed $(WEB)
	@mkdir -p build/gen && build/tools/embed txf_web_files . $(WEB) > $@.tmp && mv $@.tmp $@

build/obj/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo "CC $<"; $(CC) $(REL_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<
build/asan/obj/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo "CC [asan] $<"; $(CC) $(ASAN_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<
build/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c -o $@ $<
build/asan/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -c -o $@ $<

build/txnflow: $(REL_OBJS)
	$(CC) -o $@ $^ $(LIBS)
build/asan/txnflow: $(ASAN_OBJS)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LIBS)
build/unit-tests: $(REL_UNIT_OBJS) $(REL_LIB_OBJS)
	$(CC) -o $@ $^ $(LIBS)
build/asan/unit-tests: $(ASAN_UNIT_OBJS) $(ASAN_LIB_OBJS)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LIBS)

# main.c and the unit runner include the generated lists.
build/obj/src/main.o build/asan/obj/src/main.o: build/gen/commands.inc
build/obj/tests/lib/unit_main.o build/asan/obj/tests/lib/unit_main.o: build/gen/unit_list.h

test: deps
	@$(MAKE) --no-print-directory asan release
	@TXNFLOW=$(CURDIR)/build/asan/txnflow UNIT=$(CURDIR)/build/asan/unit-tests bash tests/run.sh

check: test
	@valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
	  --error-exitcode=1 --suppressions=tests/valgrind.supp build/unit-tests --no-fork

demo: deps
	@$(MAKE) --no-print-directory release
	@sh scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory release
	@sh bench/run.sh

fuzz: deps
	@$(MAKE) --no-print-directory asan
	@sh tests/fuzz/run.sh long

fuzz-lake: deps
	@$(MAKE) --no-print-directory asan
	@sh tests/fuzz/f30-lake-bitflip.sh long

format:
	clang-format -i $(SRCS) $(UNIT_SRCS)

clean:
	rm -rf build tests/out

-include $(shell find build -name '*.d' 2>/dev/null)
