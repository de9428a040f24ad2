# tests/fuzz/fuzz.mk — coverage-guided fuzzing of the C engine with libFuzzer (clang-19
# -fsanitize=fuzzer,address,undefined; the runtime is Debian's libclang-rt-19-dev). Included by
# the Makefile. Targets (tests/fuzz/fuzz_*.c; the JS harnesses beside them are tests/fuzz/run.js
# with tests/fuzz/regressions/): gguf (the GGUF reader), model (mllm_model_load,
# then tokenize/eval/generate when it loads), tokenizer (random vocabularies and text).
#   make fuzz             each target for FUZZ_SECONDS (default 300), one at a time, nice'd; the
#                         corpus grows in build/fuzz/corpus/<target>, crashes land in
#                         build/fuzz/crashes/<target>/ (copy them to tests/fuzz/c_regressions/<target>/
#                         once fixed)
#   make test-fuzz        (part of make test) every regression input once, then a short pass of
#                         FUZZ_SHORT_SECONDS per target from the seeds
# Seeds are written at build time by tests/fuzz/make_seeds.c from tests/c/tiny_model.h.

FUZZ_CC := clang-19
FUZZ_TARGETS := gguf model tokenizer
FUZZ_SECONDS ?= 300
FUZZ_SHORT_SECONDS ?= 15
FUZZ_MAX_LEN := 65536
CFLAGS_FUZZ := $(CFLAGS_COMMON) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_OBJ := $(patsubst src/%.c,build/fuzz/obj/%.o,$(SRC))
# libFuzzer's own options: stop at the first crash, leaks count, a hang is 10 s on one input
FUZZ_OPTS := -max_len=$(FUZZ_MAX_LEN) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

.PHONY: fuzz test-fuzz fuzz-build

build/fuzz/obj/%.o: src/%.c $(HDR) | build/.apt-stamp build/.apt-test-stamp
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/libmllm.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/c/*.h build/fuzz/libmllm.a
	$(FUZZ_CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer -Itests/c $< build/fuzz/libmllm.a -lm -o $@

build/fuzz/make_seeds: tests/fuzz/make_seeds.c tests/c/*.h build/native/libmllm.a
	$(CC) $(CFLAGS_NATIVE) -Itests/c $< build/native/libmllm.a -lm -o $@

build/fuzz/seeds/.stamp: build/fuzz/make_seeds
	@rm -rf build/fuzz/seeds && mkdir -p build/fuzz/seeds/model build/fuzz/seeds/tokenizer
	build/fuzz/make_seeds build/fuzz/seeds
	@ln -s model build/fuzz/seeds/gguf
	@touch $@

fuzz-build: $(addprefix build/fuzz/fuzz_,$(FUZZ_TARGETS)) build/fuzz/seeds/.stamp

# Each target in turn grows build/fuzz/corpus/<target> from the seeds and the regressions; the
# full log is build/fuzz/<target>.log, its final figures are printed.
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t build/fuzz/crashes/$$t tests/fuzz/c_regressions/$$t; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
	  nice -n 10 build/fuzz/fuzz_$$t $(FUZZ_OPTS) -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=build/fuzz/crashes/$$t/ build/fuzz/corpus/$$t build/fuzz/seeds/$$t \
	    tests/fuzz/c_regressions/$$t >build/fuzz/$$t.log 2>&1 || { tail -60 build/fuzz/$$t.log; exit 1; }; \
	  grep -E '^(#[0-9]+ +DONE|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb))' \
	    build/fuzz/$$t.log | sed "s/^/fuzz_$$t: /"; \
	done

# The regression inputs (every crash found so far) run once each, then a short fresh pass
# from the seeds only (a scratch corpus, so make test does not depend on earlier runs).
test-fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  files=$$(find tests/fuzz/c_regressions/$$t -type f 2>/dev/null | sort); \
	  if [ -n "$$files" ]; then echo "fuzz_$$t: $$(echo "$$files" | wc -l) regression inputs"; \
	    build/fuzz/fuzz_$$t $(FUZZ_OPTS) $$files >build/fuzz/$$t-regressions.log 2>&1 || \
	      { cat build/fuzz/$$t-regressions.log; exit 1; }; fi; \
	  rm -rf build/fuzz/short/$$t && mkdir -p build/fuzz/short/$$t build/fuzz/crashes/$$t; \
	  build/fuzz/fuzz_$$t $(FUZZ_OPTS) -max_total_time=$(FUZZ_SHORT_SECONDS) -artifact_prefix=build/fuzz/crashes/$$t/ \
	    build/fuzz/short/$$t build/fuzz/seeds/$$t >build/fuzz/$$t-short.log 2>&1 || \
	    { tail -60 build/fuzz/$$t-short.log; exit 1; }; \
	  grep -E '^stat::number_of_executed_units' build/fuzz/$$t-short.log | sed "s/^/fuzz_$$t short pass: /"; \
	done
