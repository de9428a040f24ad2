/* tokenizer_load.c — a tokenizer from a GGUF's tokenizer.ggml.* keys: pieces, scores, types
 * and merges copied out, the lookup tables, byte tokens, special and end-of-generation ids,
 * with llama.cpp's per-family defaults (llama_vocab::impl::load). */
#include "tokenizer_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gguf_keys.h"

/* Most tokens or merges a vocabulary may have (real ones have under a million): keeps
 * tok_table_size's doubling and the 32-bit offsets far from overflow. */
#define MAX_TABLE_ENTRIES (1u << 28)

/* Token texts llama.cpp marks end-of-generation (and forces to control type) in
 * llama_vocab::impl::load: the EOG list plus the FIM pad/repo/file-separator lists. */
static int eog_text(const char *s, size_t n) {
#define NAME(x) {x, sizeof(x) - 1}
    static const struct { const char *s; size_t n; } names[] = {
        NAME("<|eot_id|>"), NAME("<|im_end|>"), NAME("<|end|>"), NAME("<|return|>"), NAME("<|call|>"),
        NAME("<|flush|>"), NAME("<|calls|>"), NAME("<end_of_turn>"), NAME("<|endoftext|>"), NAME("</s>"),
        NAME("<|eom_id|>"), NAME("<EOT>"), NAME("_<EOT>"), NAME("[EOT]"), NAME("[EOS]"), NAME("<|end_of_text|>"),
        NAME("<end_of_utterance>"), NAME("<eos>"), NAME("<turn|>"), NAME("<|tool_response>"),
        NAME("<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>"), NAME("[e~["),
        NAME("<|fim_pad|>"), NAME("<fim-pad>"), NAME("<fim_pad>"), NAME("<PAD>"), NAME("[PAD]"),
        NAME("<|fim_repo|>"), NAME("<|repo_name|>"), NAME("<fim-repo>"), NAME("<REPO>"), NAME("<reponame>"),
        NAME("<|file_sep|>")};
#undef NAME
    size_t i;
    if (n == 0 || (s[0] != '<' && s[0] != '[' && s[0] != '_')) return 0; /* how every name starts */
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].n == n && memcmp(s, names[i].s, n) == 0) return 1;
    return 0;
}

/* Reads an optional token id key; an id past the vocabulary keeps the default, as in
 * llama.cpp. */
static mllm_status read_id(const gguf_file *f, const char *key, int32_t n_vocab, int32_t *id, mllm_error *err) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (*id >= n_vocab) *id = -1;
    if (!kv) return MLLM_OK;
    switch (kv->type) {
    case GGUF_VT_UINT8: case GGUF_VT_INT8: case GGUF_VT_UINT16: case GGUF_VT_INT16: case GGUF_VT_UINT32:
    case GGUF_VT_INT32: case GGUF_VT_UINT64: case GGUF_VT_INT64:
        break;
    default:
        return mllm_fail(err, MLLM_ERR_FORMAT, "metadata key '%s' is not an integer token id", key);
    }
    if (kv->i >= 0 && kv->i < n_vocab && kv->u < (uint64_t)n_vocab) *id = (int32_t)kv->i;
    return MLLM_OK;
}

static mllm_status load_pieces(mllm_tokenizer *t, const gguf_file *f, mllm_error *err) {
    const gguf_kv *toks, *scores = NULL, *types = NULL;
    gguf_str *s;
    uint64_t n, i, total = 0;
    mllm_status st;
    char name[32];

    if ((st = gguf_get_arr(f, GGUF_KEY_TOKENIZER_TOKENS, GGUF_VT_STRING, &toks, err))) return st;
    n = toks->arr_len;
    if (n == 0 || n > MAX_TABLE_ENTRIES)
        return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.tokens has %llu entries, not a usable vocabulary",
                         (unsigned long long)n);
    if (gguf_find_kv(f, GGUF_KEY_TOKENIZER_SCORES)) {
        if ((st = gguf_get_arr(f, GGUF_KEY_TOKENIZER_SCORES, -1, &scores, err))) return st;
        if (scores->arr_type != GGUF_VT_FLOAT32 && scores->arr_type != GGUF_VT_INT32)
            return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.scores must be an array of float32 or int32");
        if (scores->arr_len < n)
            return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.scores has %llu entries for %llu tokens",
                             (unsigned long long)scores->arr_len, (unsigned long long)n);
    }
    if (gguf_find_kv(f, GGUF_KEY_TOKENIZER_TOKEN_TYPE)) {
        if ((st = gguf_get_arr(f, GGUF_KEY_TOKENIZER_TOKEN_TYPE, GGUF_VT_INT32, &types, err))) return st;
        if (types->arr_len < n)
            return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.token_type has %llu entries for %llu tokens",
                             (unsigned long long)types->arr_len, (unsigned long long)n);
    }

    t->n_vocab = (int32_t)n;
    s = (gguf_str *)malloc(n * sizeof *s);
    if (!s) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory reading %llu tokens", (unsigned long long)n);
    gguf_arr_strings(toks, s);
    for (i = 0; i < n; i++) total += s[i].len ? s[i].len : 20; /* room for "[EMPTY_i]" */
    if (total > 0x7FFFFFFFu) {
        free(s);
        return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.tokens holds more than 2 GiB of text");
    }
    t->text = (char *)malloc(total ? total : 1);
    t->off = (uint32_t *)malloc((n + 1) * sizeof *t->off);
    t->score = (float *)malloc(n * sizeof *t->score);
    t->attr = (uint16_t *)malloc(n * sizeof *t->attr);
    t->map_mask = tok_table_size((uint32_t)n) - 1;
    t->map = (int32_t *)malloc(((size_t)t->map_mask + 1) * sizeof *t->map);
    if (!t->text || !t->off || !t->score || !t->attr || !t->map) {
        free(s);
        return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory building a %llu-token vocabulary", (unsigned long long)n);
    }
    memset(t->map, 0xFF, ((size_t)t->map_mask + 1) * sizeof *t->map);

    total = 0;
    for (i = 0; i < n; i++) {
        const char *p = s[i].ptr;
        size_t len = (size_t)s[i].len;
        uint32_t h;
        int32_t ty = types ? (int32_t)gguf_arr_i64(types, i) : MLLM_TOKTYPE_NORMAL;
        if (len == 0) { /* llama.cpp renames empty pieces so they stay distinct */
            snprintf(name, sizeof name, "[EMPTY_%u]", (unsigned)i);
            p = name;
            len = strlen(name);
        }
        t->off[i] = (uint32_t)total;
        memcpy(t->text + total, p, len);
        total += len;
        t->score[i] = scores ? (float)gguf_arr_f64(scores, i) : 0.0f;
        switch (ty) {
        case MLLM_TOKTYPE_NORMAL: t->attr[i] = ATTR_NORMAL; break;
        case MLLM_TOKTYPE_UNKNOWN: t->attr[i] = ATTR_UNKNOWN; break;
        case MLLM_TOKTYPE_CONTROL: t->attr[i] = ATTR_CONTROL; break;
        case MLLM_TOKTYPE_USER_DEFINED: t->attr[i] = ATTR_USER_DEFINED; break;
        case MLLM_TOKTYPE_UNUSED: t->attr[i] = ATTR_UNUSED; break;
        case MLLM_TOKTYPE_BYTE: t->attr[i] = ATTR_BYTE; break;
        default: t->attr[i] = 0; break;
        }
        /* insert; a repeated piece maps to its last id (llama.cpp: token_to_id[word] = i) */
        h = tok_fnv(TOK_FNV_INIT, p, len) & t->map_mask;
        for (;; h = (h + 1) & t->map_mask) {
            int32_t id = t->map[h];
            if (id < 0 || (tok_piece_len(t, id) == len && memcmp(tok_piece_ptr(t, id), p, len) == 0)) {
                t->map[h] = (int32_t)i;
                break;
            }
        }
    }
    t->off[n] = (uint32_t)total;
    free(s);
    return MLLM_OK;
}

static mllm_status load_merges(mllm_tokenizer *t, const gguf_file *f, mllm_error *err) {
    const gguf_kv *kv;
    gguf_str *s;
    uint64_t n, i, total = 0;
    mllm_status st;

    if ((st = gguf_get_arr(f, GGUF_KEY_TOKENIZER_MERGES, GGUF_VT_STRING, &kv, err))) return st;
    n = kv->arr_len;
    if (n > MAX_TABLE_ENTRIES)
        return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.merges has %llu entries, more than the %u allowed",
                         (unsigned long long)n, (unsigned)MAX_TABLE_ENTRIES);
    s = (gguf_str *)malloc((n ? n : 1) * sizeof *s);
    if (!s) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory reading %llu merges", (unsigned long long)n);
    gguf_arr_strings(kv, s);
    for (i = 0; i < n; i++) total += s[i].len;
    if (total > 0x7FFFFFFFu) {
        free(s);
        return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.merges holds more than 2 GiB of text");
    }
    t->mtext = (char *)malloc(total ? total : 1);
    t->moff = (uint32_t *)malloc((n + 1) * sizeof *t->moff);
    t->msplit = (uint32_t *)malloc((n ? n : 1) * sizeof *t->msplit);
    t->mmap_mask = tok_table_size((uint32_t)n) - 1;
    t->mmap = (int32_t *)malloc(((size_t)t->mmap_mask + 1) * sizeof *t->mmap);
    if (!t->mtext || !t->moff || !t->msplit || !t->mmap) {
        free(s);
        return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory building %llu merges", (unsigned long long)n);
    }
    memset(t->mmap, 0xFF, ((size_t)t->mmap_mask + 1) * sizeof *t->mmap);
    total = 0;
    for (i = 0; i < n; i++) {
        const char *p = s[i].ptr;
        size_t len = (size_t)s[i].len, sp;
        t->moff[i] = (uint32_t)total;
        memcpy(t->mtext + total, p, len);
        total += len;
        /* "left right", split at the first space after the first byte */
        for (sp = 1; sp < len && p[sp] != ' '; sp++) {}
        t->msplit[i] = (uint32_t)sp;
        if (sp >= len) continue; /* no separator: llama.cpp stores an unmatchable ("", "") */
        {
            uint32_t h = tok_fnv(TOK_FNV_INIT, p, len) & t->mmap_mask;
            for (;; h = (h + 1) & t->mmap_mask) {
                int32_t k = t->mmap[h];
                if (k < 0) {
                    t->mmap[h] = (int32_t)i;
                    break;
                }
                /* a repeated merge keeps its first rank (std::map::emplace) */
                if (t->moff[k + 1] - t->moff[k] == len && t->msplit[k] == sp &&
                    memcmp(t->mtext + t->moff[k], p, len) == 0)
                    break;
            }
        }
    }
    t->moff[n] = (uint32_t)total;
    t->n_merges = (int32_t)n;
    free(s);
    return MLLM_OK;
}

/* Pre-tokenizer names llama.cpp accepts, for the split rules implemented here, with the
 * settings llama.cpp ties to them (llama_vocab::impl::load): space clean-up on detokenizing,
 * whole-word pieces before merges, BOS by default. */
static mllm_status pick_pre(mllm_tokenizer *t, const gguf_file *f, mllm_error *err) {
    const gguf_kv *kv = gguf_find_kv(f, GGUF_KEY_TOKENIZER_PRE);
    static const struct { const char *name; int32_t pre, clean, ignore_merges, add_bos; } table[] = {
        {"default", PRE_DEFAULT, 1, 0, 0}, {"gpt-2", PRE_GPT2, 1, 0, 0}, {"gpt2", PRE_GPT2, 1, 0, 0},
        {"phi-2", PRE_GPT2, 1, 0, 0}, {"mpt", PRE_GPT2, 1, 0, 0}, {"olmo", PRE_GPT2, 1, 0, 0},
        {"smollm", PRE_SMOLLM, 0, 0, 0}, {"starcoder", PRE_SMOLLM, 1, 0, 0}, {"refact", PRE_SMOLLM, 1, 0, 0},
        {"codeshell", PRE_SMOLLM, 1, 0, 0}, {"command-r", PRE_SMOLLM, 0, 0, 0},
        {"llama-bpe", PRE_LLAMA3, 1, 1, 1}, {"llama3", PRE_LLAMA3, 1, 1, 1}, {"llama-v3", PRE_LLAMA3, 1, 1, 1},
        {"falcon3", PRE_LLAMA3, 1, 1, 1}, {"falcon-h1", PRE_LLAMA3, 1, 1, 1}, {"pixtral", PRE_LLAMA3, 1, 1, 1},
        {"midm-2.0", PRE_LLAMA3, 1, 1, 1}, {"lfm2", PRE_LLAMA3, 1, 1, 1},
        {"llama4", PRE_GPT4O, 0, 0, 0}, {"gpt-4o", PRE_GPT4O, 0, 0, 0}};
    size_t i;
    t->pre = PRE_DEFAULT;
    t->clean_spaces = 1;
    if (!kv) return MLLM_OK; /* llama.cpp warns and uses "default" */
    if (kv->type != GGUF_VT_STRING) return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.pre is not a string");
    if (kv->str.len == 0) return MLLM_OK;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (tok_str_is(kv->str.ptr, (size_t)kv->str.len, table[i].name)) {
            t->pre = table[i].pre;
            t->clean_spaces = table[i].clean;
            t->ignore_merges = table[i].ignore_merges;
            if (table[i].add_bos) t->add_bos = 1;
            return MLLM_OK;
        }
    }
    return mllm_fail(err, MLLM_ERR_UNSUPPORTED,
                     "unsupported pre-tokenizer '%.*s' (tokenizer.ggml.pre); supported: default, gpt-2, smollm, llama-bpe, llama4 and their aliases",
                     (int)(kv->str.len > 64 ? 64 : kv->str.len), kv->str.ptr);
}

typedef struct special_key { uint32_t len; int32_t id; } special_key;

static int special_cmp(const void *a, const void *b) {
    const special_key *x = (const special_key *)a, *y = (const special_key *)b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->id < y->id ? -1 : (x->id > y->id);
}

/* Byte fallback tables and the special-token list (llama.cpp's cache_special_tokens). */
static mllm_status build_tables(mllm_tokenizer *t, mllm_error *err) {
    int32_t i, n = t->n_vocab, k = 0;
    for (i = 0; i < 256; i++) {
        char c = (char)i;
        if (t->kind == MLLM_TOKENIZER_SPM) {
            static const char hex[] = "0123456789ABCDEF";
            char buf[6] = {'<', '0', 'x', hex[i >> 4], hex[i & 15], '>'};
            int32_t id = tok_vocab_find(t, buf, 6);
            if (id < 0) id = tok_vocab_find(t, &c, 1);
            if (id < 0) id = t->unk; /* llama.cpp throws here; <unk> (or nothing) is the sane reading */
            t->byte_tok[i] = id;
        } else {
            t->byte_tok[i] = tok_vocab_find(t, &c, 1);
        }
    }
    for (i = 0; i < n; i++)
        if (t->attr[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) k++;
    t->special = (int32_t *)malloc((size_t)(k ? k : 1) * sizeof *t->special);
    if (!t->special) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory listing special tokens");
    t->n_special = 0;
    for (i = 0; i < n; i++)
        if (t->attr[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) t->special[t->n_special++] = i;
    /* longest first; ties by id. A file may mark every token special, so not quadratic. */
    if (t->n_special > 1) {
        special_key *keys = (special_key *)malloc((size_t)t->n_special * sizeof *keys);
        if (!keys) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory sorting special tokens");
        for (i = 0; i < t->n_special; i++) {
            keys[i].len = tok_piece_len(t, t->special[i]);
            keys[i].id = t->special[i];
        }
        qsort(keys, (size_t)t->n_special, sizeof *keys, special_cmp);
        for (i = 0; i < t->n_special; i++) t->special[i] = keys[i].id;
        free(keys);
    }
    return MLLM_OK;
}

static mllm_status build_eog(mllm_tokenizer *t, const gguf_file *f, mllm_error *err) {
    int32_t i, n = t->n_vocab, cap = 8, eot = -1, eom = -1;
    mllm_status st;
    if ((st = read_id(f, GGUF_KEY_TOKENIZER_EOT_ID, n, &eot, err))) return st;
    if ((st = read_id(f, GGUF_KEY_TOKENIZER_EOM_ID, n, &eom, err))) return st;
    for (i = 0; i < n; i++)
        if (eog_text(tok_piece_ptr(t, i), tok_piece_len(t, i))) cap++;
    t->eog = (int32_t *)malloc((size_t)cap * sizeof *t->eog);
    if (!t->eog) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory listing end-of-generation tokens");
    for (i = 0; i < n; i++) {
        if (eog_text(tok_piece_ptr(t, i), tok_piece_len(t, i))) {
            t->eog[t->n_eog++] = i;
            t->attr[i] |= ATTR_CONTROL; /* llama.cpp overrides "control-looking" tokens */
        }
    }
    {
        int32_t extra[3], j, m;
        extra[0] = t->eos;
        extra[1] = eot;
        extra[2] = eom;
        for (j = 0; j < 3; j++) {
            if (extra[j] < 0) continue;
            for (m = 0; m < t->n_eog && t->eog[m] != extra[j]; m++) {}
            if (m == t->n_eog) t->eog[t->n_eog++] = extra[j];
        }
    }
    return MLLM_OK;
}

mllm_status tokenizer_new(const gguf_file *f, mllm_tokenizer **out, mllm_error *err) {
    mllm_tokenizer *t;
    gguf_str model;
    mllm_status st;
    int b;

    *out = NULL;
    if ((st = gguf_get_str(f, GGUF_KEY_TOKENIZER_MODEL, &model, err))) return st;
    t = (mllm_tokenizer *)calloc(1, sizeof *t);
    if (!t) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory creating the tokenizer");

    /* defaults per family (llama_vocab::impl::load) */
    if (tok_str_is(model.ptr, (size_t)model.len, mllm_tokenizer_name(MLLM_TOKENIZER_SPM))) {
        t->kind = MLLM_TOKENIZER_SPM;
        t->bos = 1, t->eos = 2, t->unk = 0;
        t->add_space_prefix = 1, t->add_bos = 1, t->add_eos = 0, t->clean_spaces = 0;
    } else if (tok_str_is(model.ptr, (size_t)model.len, mllm_tokenizer_name(MLLM_TOKENIZER_GPT2))) {
        t->kind = MLLM_TOKENIZER_GPT2;
        t->bos = 11, t->eos = 11, t->unk = -1;
        t->add_space_prefix = 0, t->add_bos = 0, t->add_eos = 0;
        if ((st = pick_pre(t, f, err))) goto fail;
    } else {
        st = mllm_fail(err, MLLM_ERR_UNSUPPORTED,
                       "unsupported tokenizer model '%.*s' (tokenizer.ggml.model); supported: llama, gpt2",
                       (int)(model.len > 64 ? 64 : model.len), model.ptr);
        goto fail;
    }
    if ((st = gguf_get_bool_opt(f, GGUF_KEY_TOKENIZER_ADD_SPACE_PREFIX, t->add_space_prefix, &b, err))) goto fail;
    t->add_space_prefix = b;

    if ((st = load_pieces(t, f, err))) goto fail;
    if (t->kind == MLLM_TOKENIZER_GPT2 && (st = load_merges(t, f, err))) goto fail;

    if ((st = read_id(f, GGUF_KEY_TOKENIZER_BOS_ID, t->n_vocab, &t->bos, err))) goto fail;
    if ((st = read_id(f, GGUF_KEY_TOKENIZER_EOS_ID, t->n_vocab, &t->eos, err))) goto fail;
    if ((st = read_id(f, GGUF_KEY_TOKENIZER_UNK_ID, t->n_vocab, &t->unk, err))) goto fail;
    if ((st = gguf_get_bool_opt(f, GGUF_KEY_TOKENIZER_ADD_BOS, t->add_bos, &b, err))) goto fail;
    t->add_bos = b;
    if ((st = gguf_get_bool_opt(f, GGUF_KEY_TOKENIZER_ADD_EOS, t->add_eos, &b, err))) goto fail;
    t->add_eos = b;
    if (t->add_bos && t->bos < 0) t->add_bos = 0; /* llama.cpp would assert when tokenizing */
    if (t->add_eos && t->eos < 0) t->add_eos = 0;

    if ((st = build_eog(t, f, err))) goto fail;
    if ((st = build_tables(t, err))) goto fail;
    {
        /* a piece renders to at most 3 bytes per stored byte (an invalid byte becomes U+FFFD),
         * so only pieces that could beat the longest so far are rendered */
        int32_t i;
        for (i = 0; i < t->n_vocab; i++) {
            size_t k;
            if (3 * (size_t)tok_piece_len(t, i) <= t->max_piece) continue;
            k = tok_piece_write(t, i, NULL, 0);
            if (k > t->max_piece) t->max_piece = (uint32_t)k;
        }
    }
    *out = t;
    return MLLM_OK;
fail:
    tokenizer_free(t);
    return st;
}

void tokenizer_free(mllm_tokenizer *t) {
    if (!t) return;
    free(t->text);
    free(t->off);
    free(t->score);
    free(t->attr);
    free(t->map);
    free(t->mtext);
    free(t->moff);
    free(t->msplit);
    free(t->mmap);
    free(t->special);
    free(t->eog);
    free(t);
}

int32_t tokenizer_n_vocab(const mllm_tokenizer *t) { return t ? t->n_vocab : 0; }
int32_t tokenizer_kind(const mllm_tokenizer *t) { return t ? t->kind : -1; }
int32_t tokenizer_add_bos(const mllm_tokenizer *t) { return t ? t->add_bos : 0; }

const char *mllm_tokenizer_name(int32_t kind) {
    return kind == MLLM_TOKENIZER_SPM ? "llama" : kind == MLLM_TOKENIZER_GPT2 ? "gpt2" : "unknown";
}

int32_t tokenizer_bos(const mllm_tokenizer *t) { return t ? t->bos : -1; }
int32_t tokenizer_eos(const mllm_tokenizer *t) { return t ? t->eos : -1; }

int32_t tokenizer_is_eog(const mllm_tokenizer *t, int32_t token) {
    int32_t i;
    if (!t || token < 0) return 0;
    for (i = 0; i < t->n_eog; i++)
        if (t->eog[i] == token) return 1;
    return 0;
}
