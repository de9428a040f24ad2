# models/model.mk — rebuilds the bundled default model from nothing (included by the top Makefile).
#
#   make model           corpus -> tokenizer -> train -> models/default/ (HF layout) -> Q8_0 GGUF
#                        models/default.gguf -> held-out perplexities and samples (build/model/eval.json)
#   make model-ablation  the short architecture ablations (build/model/ablation/ablation.md)
#
# Everything intermediate lives in build/model/. Training runs niced on 2 threads; it takes about
# 30 minutes on an idle 2-core CPU with native bf16 (AMX / AVX512-BF16), longer on a busy one;
# see models/README.md.

PY ?= /usr/bin/python3
DEFAULT_MODEL ?= models/default.gguf
MODEL_BUILD := build/model
MODEL_HF := models/default
MODEL_SRC := models/train/model.py models/train/data.py models/train/hf_export.py models/train/train.py
MODEL_APT := bible-kjv python3-torch python3-numpy python3-sentencepiece
# Debian's torch links the reference BLAS (about 5 GFLOP/s here); OpenBLAS, unpacked locally
# from the Debian package (nothing installed system-wide), is some 40x faster for the fp32 parts.
MODEL_OPENBLAS := $(MODEL_BUILD)/openblas/root/usr/lib/x86_64-linux-gnu/openblas-pthread
MODEL_RUN := env LD_LIBRARY_PATH=$(abspath $(MODEL_OPENBLAS)) OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 nice -n 10 $(PY)

.PHONY: model model-ablation model-eval

$(MODEL_BUILD)/.apt-stamp:
	$(call apt_install,$(MODEL_APT))

$(MODEL_BUILD)/openblas/.stamp: | $(MODEL_BUILD)/.apt-stamp
	@mkdir -p $(MODEL_BUILD)/openblas
	@cd $(MODEL_BUILD)/openblas && rm -f *.deb && \
	if apt-get download libopenblas0-pthread >/dev/null 2>&1; then dpkg -x libopenblas0-pthread_*.deb root; \
	else echo "warning: could not fetch libopenblas0-pthread; training falls back to the system BLAS (slow)"; fi
	@touch $@

$(MODEL_BUILD)/corpus/train.txt: models/train/make_corpus.py | $(MODEL_BUILD)/.apt-stamp
	$(PY) models/train/make_corpus.py $(MODEL_BUILD)/corpus

$(MODEL_BUILD)/tokenizer.model: models/train/train_tokenizer.py $(MODEL_BUILD)/corpus/train.txt
	$(MODEL_RUN) models/train/train_tokenizer.py $(MODEL_BUILD)/corpus $(MODEL_BUILD)/tokenizer 4096

$(MODEL_HF)/model.safetensors: $(MODEL_SRC) $(MODEL_BUILD)/tokenizer.model $(MODEL_BUILD)/openblas/.stamp
	$(MODEL_RUN) models/train/train.py --preset default --corpus $(MODEL_BUILD)/corpus \
	  --tokenizer $(MODEL_BUILD)/tokenizer.model --out $(MODEL_HF) --ckpt $(MODEL_BUILD)/default.pt \
	  --summary $(MODEL_BUILD)/default.json 2>&1 | tee $(MODEL_BUILD)/train_default.log; test $${PIPESTATUS[0]} = 0

model: $(MODEL_HF)/model.safetensors
	node -e "import('./models/convert/convert.js').then(m => m.convertToFile('$(MODEL_HF)', '$(DEFAULT_MODEL).tmp', {type: 'q8_0'}))"
	mv $(DEFAULT_MODEL).tmp $(DEFAULT_MODEL)
	@ls -l $(DEFAULT_MODEL)
	$(MODEL_RUN) models/train/evaluate.py --corpus $(MODEL_BUILD)/corpus --hf $(MODEL_HF) \
	  $$(test -f $(MODEL_BUILD)/default.pt && echo --ckpt $(MODEL_BUILD)/default.pt) \
	  --out $(MODEL_BUILD)/eval.json --windows $(MODEL_BUILD)/heldout_windows.json
	@if [ -f dist/mobilellm.js ]; then node models/train/score_heldout.js $(DEFAULT_MODEL) \
	  $(MODEL_BUILD)/heldout_windows.json; else echo "(dist/ not built: skipping the engine's held-out score)"; fi

model-ablation: $(MODEL_BUILD)/tokenizer.model $(MODEL_BUILD)/openblas/.stamp $(MODEL_SRC) models/train/ablate.py
	$(MODEL_RUN) models/train/ablate.py --corpus $(MODEL_BUILD)/corpus --tokenizer $(MODEL_BUILD)/tokenizer.model \
	  --dir $(MODEL_BUILD)/ablation

# make model-eval: the next-verse task and the held-out perplexity of the shipped GGUF through
# `mobilellm eval` (models/README.md "Evaluation"); needs only bible-kjv and the wasm build.
model-eval: wasm $(DEFAULT_MODEL) | $(MODEL_BUILD)/.apt-stamp
	$(PY) models/train/make_kjv_task.py $(MODEL_BUILD)/kjv
	node bin/mobilellm.js eval -m $(DEFAULT_MODEL) --task $(MODEL_BUILD)/kjv/next_verse.jsonl --perplexity $(MODEL_BUILD)/kjv/heldout.jsonl
