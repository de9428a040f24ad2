/* tokenizer.c — SentencePiece-BPE and GPT-2 byte-level BPE tokenizers, detokenization and a
 * streaming UTF-8-safe detokenizer, read from GGUF tokenizer.ggml.* metadata. Each step
 * follows llama.cpp's src/llama-vocab.cpp (named in the comments) so ids match exactly. */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "unicode.h"

/* Token attributes: llama.cpp's llama_token_attr bits. */
enum {
    ATTR_UNKNOWN = 1 << 0,
    ATTR_UNUSED = 1 << 1,
    ATTR_NORMAL = 1 << 2,
    ATTR_CONTROL = 1 << 3,
    ATTR_USER_DEFINED = 1 << 4,
    ATTR_BYTE = 1 << 5
};

/* BPE pre-tokenizers: which splits run, in order (llama.cpp's llm_tokenizer_bpe regex_exprs). */
enum { PRE_DEFAULT = 0, PRE_GPT2 = 1, PRE_SMOLLM = 2 };

struct mllm_tokenizer {
    int32_t kind;             /* MLLM_TOKENIZER_SPM | MLLM_TOKENIZER_GPT2 */
    int32_t pre;              /* PRE_* (gpt2 only) */
    int32_t n_vocab;
    int32_t bos, eos, unk;    /* -1 when absent */
    int32_t add_bos, add_eos, add_space_prefix, clean_spaces;

    char *text;               /* every piece's bytes, back to back */
    uint32_t *off;            /* piece i is text[off[i] .. off[i+1]) */
    float *score;
    uint16_t *attr;
    uint32_t max_piece;       /* longest decoded piece (mllm_token_to_piece) in bytes */

    int32_t *map;             /* open addressing piece -> id, -1 empty */
    uint32_t map_mask;

    int32_t n_merges;
    char *mtext;              /* every merge string "left right", back to back */
    uint32_t *moff;           /* merge i is mtext[moff[i] .. moff[i+1]) */
    uint32_t *msplit;         /* length of the left part */
    int32_t *mmap;            /* open addressing merge -> rank, -1 empty */
    uint32_t mmap_mask;

    int32_t byte_tok[256];    /* SPM: <0xNN> (or the byte itself) per byte; GPT-2: the 1-byte piece */
    int32_t *special;         /* control/user-defined/unknown ids, longest text first */
    int32_t n_special;
    int32_t *eog;             /* end-of-generation ids */
    int32_t n_eog;
};

static size_t piece_write(const mllm_tokenizer *t, int32_t id, char *out, size_t cap);

/* ------------------------------------------------------------------ hashing */

static uint32_t fnv_step(uint32_t h, const char *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}
#define FNV_INIT 2166136261u

static uint32_t piece_len(const mllm_tokenizer *t, int32_t id) { return t->off[id + 1] - t->off[id]; }
static const char *piece_ptr(const mllm_tokenizer *t, int32_t id) { return t->text + t->off[id]; }

/* Id of the piece with exactly these bytes, -1 when none (llama.cpp's text_to_token). */
static int32_t vocab_find(const mllm_tokenizer *t, const char *s, size_t n) {
    uint32_t i = fnv_step(FNV_INIT, s, n) & t->map_mask;
    for (;; i = (i + 1) & t->map_mask) {
        int32_t id = t->map[i];
        if (id < 0) return -1;
        if (piece_len(t, id) == n && memcmp(piece_ptr(t, id), s, n) == 0) return id;
    }
}

/* Rank of merging (l, r), -1 when it is no merge (llama.cpp's find_bpe_rank). */
static int32_t merge_rank(const mllm_tokenizer *t, const char *l, size_t nl, const char *r, size_t nr) {
    uint32_t h = fnv_step(fnv_step(fnv_step(FNV_INIT, l, nl), " ", 1), r, nr);
    uint32_t i = h & t->mmap_mask;
    for (;; i = (i + 1) & t->mmap_mask) {
        int32_t k = t->mmap[i];
        const char *m;
        if (k < 0) return -1;
        m = t->mtext + t->moff[k];
        if (t->msplit[k] == nl && t->moff[k + 1] - t->moff[k] == nl + 1 + nr && memcmp(m, l, nl) == 0 &&
            memcmp(m + nl + 1, r, nr) == 0)
            return k;
    }
}

/* Most tokens or merges a vocabulary may have (real ones have under a million): keeps
 * table_size's doubling and the 32-bit offsets far from overflow. */
#define MAX_TABLE_ENTRIES (1u << 28)

static uint32_t table_size(uint32_t n) {
    uint32_t s = 16;
    while (s < 2 * n) s *= 2;
    return s;
}

/* ------------------------------------------------------------------ loading */

static int str_is(const char *s, size_t n, const char *c) { return strlen(c) == n && memcmp(s, c, n) == 0; }

/* Token texts llama.cpp marks end-of-generation (and forces to control type) in
 * llama_vocab::impl::load: the EOG list plus the FIM pad/repo/file-separator lists. */
static int eog_text(const char *s, size_t n) {
    static const char *const names[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>", "[e~[",
        "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
        "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>"};
    size_t i;
    if (n == 0 || (s[0] != '<' && s[0] != '[' && s[0] != '_')) return 0; /* how every name starts */
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (str_is(s, n, names[i])) return 1;
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

    if ((st = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_VT_STRING, &toks, err))) return st;
    n = toks->arr_len;
    if (n == 0 || n > MAX_TABLE_ENTRIES)
        return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.tokens has %llu entries, not a usable vocabulary",
                         (unsigned long long)n);
    if (gguf_find_kv(f, "tokenizer.ggml.scores")) {
        if ((st = gguf_get_arr(f, "tokenizer.ggml.scores", -1, &scores, err))) return st;
        if (scores->arr_type != GGUF_VT_FLOAT32 && scores->arr_type != GGUF_VT_INT32)
            return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.scores must be an array of float32 or int32");
        if (scores->arr_len < n)
            return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.scores has %llu entries for %llu tokens",
                             (unsigned long long)scores->arr_len, (unsigned long long)n);
    }
    if (gguf_find_kv(f, "tokenizer.ggml.token_type")) {
        if ((st = gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_VT_INT32, &types, err))) return st;
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
    t->map_mask = table_size((uint32_t)n) - 1;
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
        h = fnv_step(FNV_INIT, p, len) & t->map_mask;
        for (;; h = (h + 1) & t->map_mask) {
            int32_t id = t->map[h];
            if (id < 0 || (piece_len(t, id) == len && memcmp(piece_ptr(t, id), p, len) == 0)) {
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

    if ((st = gguf_get_arr(f, "tokenizer.ggml.merges", GGUF_VT_STRING, &kv, err))) return st;
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
    t->mmap_mask = table_size((uint32_t)n) - 1;
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
            uint32_t h = fnv_step(FNV_INIT, p, len) & t->mmap_mask;
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

/* Pre-tokenizer names llama.cpp accepts, for the split rules implemented here. */
static mllm_status pick_pre(mllm_tokenizer *t, const gguf_file *f, mllm_error *err) {
    const gguf_kv *kv = gguf_find_kv(f, "tokenizer.ggml.pre");
    static const struct { const char *name; int32_t pre, clean; } table[] = {
        {"default", PRE_DEFAULT, 1}, {"gpt-2", PRE_GPT2, 1}, {"gpt2", PRE_GPT2, 1}, {"phi-2", PRE_GPT2, 1},
        {"mpt", PRE_GPT2, 1}, {"olmo", PRE_GPT2, 1}, {"smollm", PRE_SMOLLM, 0}, {"starcoder", PRE_SMOLLM, 1},
        {"refact", PRE_SMOLLM, 1}, {"codeshell", PRE_SMOLLM, 1}, {"command-r", PRE_SMOLLM, 0}};
    size_t i;
    t->pre = PRE_DEFAULT;
    t->clean_spaces = 1;
    if (!kv) return MLLM_OK; /* llama.cpp warns and uses "default" */
    if (kv->type != GGUF_VT_STRING) return mllm_fail(err, MLLM_ERR_FORMAT, "tokenizer.ggml.pre is not a string");
    if (kv->str.len == 0) return MLLM_OK;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (str_is(kv->str.ptr, (size_t)kv->str.len, table[i].name)) {
            t->pre = table[i].pre;
            t->clean_spaces = table[i].clean;
            return MLLM_OK;
        }
    }
    return mllm_fail(err, MLLM_ERR_UNSUPPORTED,
                     "unsupported pre-tokenizer '%.*s' (tokenizer.ggml.pre); supported: default, gpt-2, smollm and their aliases",
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
            int32_t id = vocab_find(t, buf, 6);
            if (id < 0) id = vocab_find(t, &c, 1);
            if (id < 0) id = t->unk; /* llama.cpp throws here; <unk> (or nothing) is the sane reading */
            t->byte_tok[i] = id;
        } else {
            t->byte_tok[i] = vocab_find(t, &c, 1);
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
            keys[i].len = piece_len(t, t->special[i]);
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
    if ((st = read_id(f, "tokenizer.ggml.eot_token_id", n, &eot, err))) return st;
    if ((st = read_id(f, "tokenizer.ggml.eom_token_id", n, &eom, err))) return st;
    for (i = 0; i < n; i++)
        if (eog_text(piece_ptr(t, i), piece_len(t, i))) cap++;
    t->eog = (int32_t *)malloc((size_t)cap * sizeof *t->eog);
    if (!t->eog) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory listing end-of-generation tokens");
    for (i = 0; i < n; i++) {
        if (eog_text(piece_ptr(t, i), piece_len(t, i))) {
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
    if ((st = gguf_get_str(f, "tokenizer.ggml.model", &model, err))) return st;
    t = (mllm_tokenizer *)calloc(1, sizeof *t);
    if (!t) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory creating the tokenizer");

    /* defaults per family (llama_vocab::impl::load) */
    if (str_is(model.ptr, (size_t)model.len, "llama")) {
        t->kind = MLLM_TOKENIZER_SPM;
        t->bos = 1, t->eos = 2, t->unk = 0;
        t->add_space_prefix = 1, t->add_bos = 1, t->add_eos = 0, t->clean_spaces = 0;
    } else if (str_is(model.ptr, (size_t)model.len, "gpt2")) {
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
    if ((st = gguf_get_bool_opt(f, "tokenizer.ggml.add_space_prefix", t->add_space_prefix, &b, err))) goto fail;
    t->add_space_prefix = b;

    if ((st = load_pieces(t, f, err))) goto fail;
    if (t->kind == MLLM_TOKENIZER_GPT2 && (st = load_merges(t, f, err))) goto fail;

    if ((st = read_id(f, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos, err))) goto fail;
    if ((st = read_id(f, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos, err))) goto fail;
    if ((st = read_id(f, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk, err))) goto fail;
    if ((st = gguf_get_bool_opt(f, "tokenizer.ggml.add_bos_token", t->add_bos, &b, err))) goto fail;
    t->add_bos = b;
    if ((st = gguf_get_bool_opt(f, "tokenizer.ggml.add_eos_token", t->add_eos, &b, err))) goto fail;
    t->add_eos = b;
    if (t->add_bos && t->bos < 0) t->add_bos = 0; /* llama.cpp would assert when tokenizing */
    if (t->add_eos && t->eos < 0) t->add_eos = 0;

    if ((st = build_eog(t, f, err))) goto fail;
    if ((st = build_tables(t, err))) goto fail;
    {
        int32_t i;
        for (i = 0; i < t->n_vocab; i++) {
            size_t k = piece_write(t, i, NULL, 0);
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

/* ------------------------------------------------------------------ merging */

typedef struct sym {
    int32_t prev, next;
    uint32_t off, n; /* bytes text[off .. off+n); n == 0 once merged away */
} sym;

typedef struct bigram {
    double key;      /* SPM: -score; BPE: rank. Smaller first, then smaller left. */
    int32_t left, right;
    uint32_t size;   /* bytes of left + right when queued; a mismatch later means stale */
} bigram;

static int bigram_before(const bigram *a, const bigram *b) {
    return a->key < b->key || (a->key == b->key && a->left < b->left);
}

static void heap_push(bigram *h, size_t *n, bigram v) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bigram_before(&v, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static bigram heap_pop(bigram *h, size_t *n) {
    bigram top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && bigram_before(&h[c + 1], &h[c])) c++;
        if (!bigram_before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

/* Output ids: written while they fit, always counted. */
typedef struct emitter {
    int32_t *out;
    int32_t cap;
    int64_t n;
} emitter;

static void emit(emitter *e, int32_t id) {
    if (e->n < e->cap) e->out[e->n] = id;
    e->n++;
}

/* Work memory of one tokenize call, sized from its input. */
typedef struct work {
    sym *syms;
    bigram *heap;
    size_t cap_syms;   /* heap holds 3 * cap_syms: n - 1 initial bigrams + 2 per merge */
    char *buf;         /* SPM escaped text / GPT-2 byte-encoded word */
    size_t cap_buf;
} work;

static int work_reserve(work *w, size_t n_syms, size_t n_buf) {
    if (n_syms > w->cap_syms) {
        sym *s = (sym *)realloc(w->syms, n_syms * sizeof *s);
        bigram *h;
        if (!s) return 0;
        w->syms = s;
        h = (bigram *)realloc(w->heap, 3 * n_syms * sizeof *h);
        if (!h) return 0;
        w->heap = h;
        w->cap_syms = n_syms;
    }
    if (n_buf > w->cap_buf) {
        char *b = (char *)realloc(w->buf, n_buf);
        if (!b) return 0;
        w->buf = b;
        w->cap_buf = n_buf;
    }
    return 1;
}

/* Symbols per UTF-8 character (lead-byte length, clipped at the end: llama.cpp's split). */
static size_t make_symbols(sym *s, const char *text, size_t len) {
    size_t off = 0, n = 0;
    while (off < len) {
        size_t cl = unicode_len_utf8((unsigned char)text[off]);
        if (cl > len - off) cl = len - off;
        s[n].off = (uint32_t)off;
        s[n].n = (uint32_t)cl;
        s[n].prev = (int32_t)n - 1;
        off += cl;
        s[n].next = off == len ? -1 : (int32_t)n + 1;
        n++;
    }
    return n;
}

/* Queues merging symbols l and r when that is possible: SentencePiece keys it by the merged
 * piece's score (llm_tokenizer_spm_session::try_add_bigram), GPT-2 BPE by the merge's rank
 * (llm_tokenizer_bpe_session::add_new_bigram). */
static void try_bigram(const mllm_tokenizer *t, const char *text, sym *s, bigram *h, size_t *nh, int32_t l,
                       int32_t r) {
    bigram b;
    if (l < 0 || r < 0) return;
    if (t->kind == MLLM_TOKENIZER_SPM) {
        int32_t id = vocab_find(t, text + s[l].off, s[l].n + s[r].n);
        if (id < 0) return;
        b.key = -(double)t->score[id];
    } else {
        int32_t rank = merge_rank(t, text + s[l].off, s[l].n, text + s[r].off, s[r].n);
        if (rank < 0) return;
        b.key = (double)rank;
    }
    b.left = l;
    b.right = r;
    b.size = s[l].n + s[r].n;
    heap_push(h, nh, b);
}

/* The merge loop both families share: symbols per UTF-8 character, best queued pair first,
 * stale pairs skipped (a symbol only grows, so a size mismatch means it changed), the right
 * symbol merged into the left. Then each final symbol is its piece, or — when it is none —
 * its bytes as byte tokens (SPM <0xNN>; GPT-2 the 1-byte pieces, dropped when absent). A
 * merged symbol always is a piece, so llama.cpp's rev_merge resegmentation never applies. */
static void merge_and_emit(const mllm_tokenizer *t, work *w, const char *text, size_t len, emitter *e) {
    sym *s = w->syms;
    bigram *h = w->heap;
    size_t n = make_symbols(s, text, len), nh = 0, i;
    for (i = 1; i < n; i++) try_bigram(t, text, s, h, &nh, (int32_t)i - 1, (int32_t)i);
    while (nh) {
        bigram b = heap_pop(h, &nh);
        sym *l = &s[b.left], *r = &s[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s[r->next].prev = b.left;
        try_bigram(t, text, s, h, &nh, l->prev, b.left);
        try_bigram(t, text, s, h, &nh, b.left, l->next);
    }
    for (i = 0; i < n; i++) { /* array order is chain order once merged symbols are skipped */
        int32_t id;
        if (s[i].n == 0) continue;
        id = vocab_find(t, text + s[i].off, s[i].n);
        if (id >= 0) {
            emit(e, id);
        } else {
            uint32_t j;
            for (j = 0; j < s[i].n; j++) {
                int32_t bt = t->byte_tok[(unsigned char)text[s[i].off + j]];
                if (bt >= 0) emit(e, bt);
            }
        }
    }
}

/* ------------------------------------------------------------------ special tokens */

typedef struct frag {
    int32_t token; /* -1: raw text text[off .. off+len) */
    uint32_t off, len;
} frag;

static const char *find_bytes(const char *hay, size_t nh, const char *needle, size_t nn) {
    size_t i;
    if (nn == 0 || nn > nh) return NULL;
    for (i = 0; i + nn <= nh; i++) {
        const char *p = (const char *)memchr(hay + i, needle[0], nh - nn - i + 1);
        if (!p) return NULL;
        i = (size_t)(p - hay);
        if (memcmp(p, needle, nn) == 0) return p;
    }
    return NULL;
}

/* llama.cpp's tokenizer_st_partition: each special token in turn (longest first) is cut out
 * of every raw fragment. Returns the fragment count; a and b each hold 2 * len + 2. */
static size_t partition(const mllm_tokenizer *t, const char *text, size_t len, int parse_special, frag *a,
                        frag *b) {
    size_t n = 0, i;
    int32_t k;
    if (len == 0) return 0;
    a[n].token = -1, a[n].off = 0, a[n].len = (uint32_t)len, n++;
    for (k = 0; k < t->n_special; k++) {
        int32_t id = t->special[k];
        const char *tok = piece_ptr(t, id);
        size_t tl = piece_len(t, id), m = 0;
        if (!parse_special && (t->attr[id] & (ATTR_CONTROL | ATTR_UNKNOWN))) continue;
        for (i = 0; i < n; i++) {
            size_t off = a[i].off, end = a[i].off + a[i].len;
            const char *p;
            if (a[i].token >= 0) {
                b[m++] = a[i];
                continue;
            }
            while ((p = find_bytes(text + off, end - off, tok, tl)) != NULL) {
                size_t at = (size_t)(p - text);
                if (at > off) b[m].token = -1, b[m].off = (uint32_t)off, b[m].len = (uint32_t)(at - off), m++;
                b[m].token = id, b[m].off = (uint32_t)at, b[m].len = (uint32_t)tl, m++;
                off = at + tl;
            }
            if (end > off) b[m].token = -1, b[m].off = (uint32_t)off, b[m].len = (uint32_t)(end - off), m++;
        }
        memcpy(a, b, m * sizeof *b); /* keep the result in `a` */
        n = m;
    }
    return n;
}

/* ------------------------------------------------------------------ tokenize */

static const struct {
    int n;
    unicode_split_kind kinds[4];
} pre_splits[] = {
    /* default: [\p{P}\$\+<=>\^~\|]+, gpt2, \p{N}+, [0-9][0-9][0-9] */
    {4, {UNICODE_SPLIT_PUNCT_RUNS, UNICODE_SPLIT_GPT2, UNICODE_SPLIT_NUMBER_RUNS, UNICODE_SPLIT_DIGIT_TRIPLES}},
    /* gpt-2 */
    {1, {UNICODE_SPLIT_GPT2, UNICODE_SPLIT_GPT2, UNICODE_SPLIT_GPT2, UNICODE_SPLIT_GPT2}},
    /* smollm and friends: \p{N}, gpt2 */
    {2, {UNICODE_SPLIT_EACH_NUMBER, UNICODE_SPLIT_GPT2, UNICODE_SPLIT_GPT2, UNICODE_SPLIT_GPT2}},
};

/* One raw fragment through the GPT-2 path: code points (lenient), pre-token splits, then
 * each word re-encoded to UTF-8, byte-mapped, and merged. cpts/seg_a/seg_b hold len each. */
static int bpe_fragment(const mllm_tokenizer *t, work *w, const char *text, size_t len, uint32_t *cpts,
                        uint32_t *seg_a, uint32_t *seg_b, emitter *e) {
    size_t nc = 0, pos = 0, nseg, i, j, start, max_bytes = 0;
    int s;
    while (pos < len) cpts[nc++] = unicode_decode_lenient((const unsigned char *)text, len, &pos);
    seg_a[0] = (uint32_t)nc;
    nseg = 1;
    for (s = 0; s < pre_splits[t->pre].n; s++) {
        uint32_t *tmp;
        nseg = unicode_split(pre_splits[t->pre].kinds[s], cpts, seg_a, nseg, seg_b);
        tmp = seg_a, seg_a = seg_b, seg_b = tmp;
    }
    /* size the word buffers for the longest word: one symbol per UTF-8 byte */
    for (i = 0, start = 0; i < nseg; i++) {
        size_t bytes = 0;
        char tmp[4];
        for (j = start; j < start + seg_a[i]; j++) bytes += unicode_encode_utf8(cpts[j], tmp);
        if (bytes > max_bytes) max_bytes = bytes;
        start += seg_a[i];
    }
    if (!work_reserve(w, max_bytes + 1, 2 * max_bytes + 8)) return 0;
    for (i = 0, start = 0; i < nseg; i++) {
        size_t wl = 0;
        for (j = start; j < start + seg_a[i]; j++) {
            char u[4];
            size_t ul = unicode_encode_utf8(cpts[j], u), q;
            for (q = 0; q < ul; q++) wl += unicode_encode_utf8(unicode_byte_to_cpt((uint8_t)u[q]), w->buf + wl);
        }
        merge_and_emit(t, w, w->buf, wl, e);
        start += seg_a[i];
    }
    return 1;
}

int32_t mllm_tokenize(const mllm_model *m, const char *text, int32_t len, int32_t add_bos, int32_t parse_special,
                      int32_t *out, int32_t cap, mllm_error *err) {
    const mllm_tokenizer *t = model_tokenizer(m);
    emitter e;
    work w;
    frag *fa = NULL, *fb = NULL;
    uint32_t *cpts = NULL;
    size_t nf, i, L;
    int ok = 1, prev_special = 1;

    if (!t) return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_tokenize: the model handle is NULL");
    if (len < 0 || (len > 0 && !text))
        return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_tokenize: text is NULL or its length %d is negative",
                                   (int)len);
    if (cap < 0 || (cap > 0 && !out))
        return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_tokenize: the output buffer is NULL or cap %d is negative",
                                   (int)cap);
    if (len > 0x3FFFFFFF)
        return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_tokenize: text of %d bytes is too long", (int)len);
    L = (size_t)len;
    e.out = out, e.cap = cap, e.n = 0;
    memset(&w, 0, sizeof w);

    fa = (frag *)malloc((2 * L + 2) * sizeof *fa);
    fb = (frag *)malloc((2 * L + 2) * sizeof *fb);
    if (t->kind == MLLM_TOKENIZER_SPM) {
        ok = fa && fb;
    } else {
        cpts = (uint32_t *)malloc((3 * L + 3) * sizeof *cpts); /* code points + two segment lists */
        ok = fa && fb && cpts;
    }
    if (!ok) goto nomem;

    nf = partition(t, text, L, parse_special != 0, fa, fb);
    if (add_bos && t->add_bos) emit(&e, t->bos);
    for (i = 0; i < nf; i++) {
        const char *p = text + fa[i].off;
        size_t n = fa[i].len;
        if (fa[i].token >= 0) {
            emit(&e, fa[i].token);
            prev_special = 1;
            continue;
        }
        if (t->kind == MLLM_TOKENIZER_SPM) {
            /* llama_escape_whitespace on (" " if dummy prefix and after a special) + text */
            size_t wl = 0, j, nsym = 0;
            if (!work_reserve(&w, 0, 3 * n + 3)) goto nomem; /* every byte might be a "▁" */
            if (t->add_space_prefix && prev_special) {
                memcpy(w.buf, "\xe2\x96\x81", 3);
                wl = 3;
            }
            for (j = 0; j < n; j++) {
                if (p[j] == ' ') {
                    memcpy(w.buf + wl, "\xe2\x96\x81", 3);
                    wl += 3;
                } else {
                    w.buf[wl++] = p[j];
                }
            }
            for (j = 0; j < wl; j += unicode_len_utf8((unsigned char)w.buf[j])) nsym++;
            if (!work_reserve(&w, nsym + 1, 0)) goto nomem;
            merge_and_emit(t, &w, w.buf, wl, &e);
        } else {
            if (!bpe_fragment(t, &w, p, n, cpts, cpts + L + 1, cpts + 2 * L + 2, &e)) goto nomem;
        }
        prev_special = 0;
    }
    if (add_bos && t->add_eos) emit(&e, t->eos);

    free(fa), free(fb), free(cpts), free(w.syms), free(w.heap), free(w.buf);
    if (e.n > 0x7FFFFFFF)
        return -(int32_t)mllm_fail(err, MLLM_ERR_ARG, "mllm_tokenize: the text gives more than 2^31 tokens");
    return (int32_t)e.n;
nomem:
    free(fa), free(fb), free(cpts), free(w.syms), free(w.heap), free(w.buf);
    return -(int32_t)mllm_fail(err, MLLM_ERR_NOMEM, "mllm_tokenize: out of memory for %d bytes of text", (int)len);
}

/* ------------------------------------------------------------------ detokenize */

/* Raw bytes of token id (llama.cpp's token_to_piece with special = false), written while they
 * fit in cap; returns the full length. */
static size_t piece_write(const mllm_tokenizer *t, int32_t id, char *out, size_t cap) {
    const char *p = piece_ptr(t, id);
    size_t n = piece_len(t, id), w = 0, i = 0;
    uint16_t a = t->attr[id];
#define PUT(c)                                  \
    do {                                        \
        if (w < cap) out[w] = (char)(c);        \
        w++;                                    \
    } while (0)
    if (a & (ATTR_CONTROL | ATTR_UNKNOWN)) return 0;
    if (a & ATTR_USER_DEFINED) {
        for (i = 0; i < n; i++) PUT(p[i]);
        return w;
    }
    if (a & ATTR_NORMAL) {
        if (t->kind == MLLM_TOKENIZER_SPM) {
            while (i < n) { /* U+2581 -> ' ' */
                if (i + 3 <= n && memcmp(p + i, "\xe2\x96\x81", 3) == 0) {
                    PUT(' ');
                    i += 3;
                } else {
                    PUT(p[i]);
                    i++;
                }
            }
        } else {
            while (i < n) { /* undo the byte map; other code points pass through as UTF-8 */
                uint32_t c = unicode_decode_lenient((const unsigned char *)p, n, &i);
                int32_t b = unicode_cpt_to_byte(c);
                if (b >= 0) {
                    PUT(b);
                } else {
                    char u[4];
                    size_t ul = unicode_encode_utf8(c, u), q;
                    for (q = 0; q < ul; q++) PUT(u[q]);
                }
            }
        }
        return w;
    }
    if (a & ATTR_BYTE) { /* "<0xNN>" */
        unsigned v = 0;
        for (i = 3; i < 5 && i < n; i++) {
            char c = p[i];
            v = v * 16 + (unsigned)(c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0);
        }
        PUT(v);
        return w;
    }
#undef PUT
    return 0; /* unused / undefined types render as nothing */
}

int32_t mllm_token_to_piece(const mllm_model *m, int32_t token, char *out, int32_t cap) {
    const mllm_tokenizer *t = model_tokenizer(m);
    if (!t || token < 0 || token >= t->n_vocab || cap < 0 || (cap > 0 && !out)) return -(int32_t)MLLM_ERR_ARG;
    return (int32_t)piece_write(t, token, out, (size_t)cap);
}

/* llama.cpp's clean_up_tokenization_spaces passes (detokenize with clean_spaces). */
static size_t clean_spaces(char *text, size_t total) {
    size_t i, t1, t2, t3;
    t1 = total;
    total = total ? 1 : 0;
    for (i = 1; i < t1; i++) { /* " ?", " !", " .", " ," */
        char x = text[i];
        if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) total--;
        text[total++] = x;
    }
    t2 = total;
    total = total ? 1 : 0;
    for (i = 1; i < t2; i++) { /* " ' " */
        char x = text[i];
        if (x == '\'' && i + 1 < t2 && text[i - 1] == ' ' && text[i + 1] == ' ') {
            total--;
            text[++i] = '\0';
        }
        text[total++] = x;
    }
    t3 = total;
    total = total ? 1 : 0;
    for (i = 1; i < t3; i++) { /* " 's", " 'm", " 're", " 've" */
        char x = text[i];
        if (text[i - 1] == ' ' && x == '\'' && i + 1 < t3) {
            char x1 = text[i + 1];
            if (x1 == 's' || x1 == 'm') total--;
            else if (i + 2 < t3 && ((x1 == 'r' && text[i + 2] == 'e') || (x1 == 'v' && text[i + 2] == 'e'))) total--;
        }
        text[total++] = x;
    }
    return total;
}

/* llama.cpp's detokenize(remove_special = false, unparse_special = false), except that the
 * dummy-prefix space is stripped from the first token that renders anything (see tokenizer.h). */
int32_t mllm_detokenize(const mllm_model *m, const int32_t *tokens, int32_t n, int32_t strip_leading_space,
                        char *out, int32_t cap) {
    const mllm_tokenizer *t = model_tokenizer(m);
    size_t total = 0, c;
    int32_t i;
    int strip;
    if (!t || n < 0 || (n > 0 && !tokens) || cap < 0 || (cap > 0 && !out)) return -(int32_t)MLLM_ERR_ARG;
    for (i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= t->n_vocab) return -(int32_t)MLLM_ERR_ARG;
    c = (size_t)cap;
    /* the dummy prefix's space leaves the first piece that has any bytes */
    strip = strip_leading_space && t->add_space_prefix;
    for (i = 0; i < n; i++) {
        size_t room = total < c ? c - total : 0;
        size_t k = piece_write(t, tokens[i], room ? out + total : NULL, room);
        if (k == 0) continue;
        if (strip) {
            char first;
            strip = 0;
            piece_write(t, tokens[i], &first, 1);
            if (first == ' ') {
                if (k <= room) memmove(out + total, out + total + 1, k - 1);
                k--;
            }
        }
        total += k;
        if (total > 0x7FFFFFFF) return -(int32_t)MLLM_ERR_ARG;
    }
    if (total > c) return (int32_t)total;
    if (t->clean_spaces) total = clean_spaces(out, total);
    return (int32_t)total;
}

/* ------------------------------------------------------------------ streaming */

struct mllm_detok {
    const mllm_tokenizer *t;
    int strip;
    unicode_utf8_stream us;
    char *piece; /* max_piece bytes */
    char *out;   /* 3 * (max_piece + 3) + 1 */
};

mllm_status mllm_detok_new(const mllm_model *m, int32_t strip_leading_space, mllm_detok **out, mllm_error *err) {
    const mllm_tokenizer *t = model_tokenizer(m);
    mllm_detok *d;
    if (!out) return mllm_fail(err, MLLM_ERR_ARG, "mllm_detok_new: out is NULL");
    *out = NULL;
    if (!t) return mllm_fail(err, MLLM_ERR_ARG, "mllm_detok_new: the model handle is NULL");
    d = (mllm_detok *)calloc(1, sizeof *d);
    if (d) {
        d->piece = (char *)malloc((size_t)t->max_piece + 1);
        d->out = (char *)malloc(3 * ((size_t)t->max_piece + 3) + 1);
    }
    if (!d || !d->piece || !d->out) {
        mllm_detok_free(d);
        return mllm_fail(err, MLLM_ERR_NOMEM, "mllm_detok_new: out of memory");
    }
    d->t = t;
    d->strip = strip_leading_space && t->add_space_prefix;
    unicode_utf8_stream_init(&d->us);
    d->out[0] = '\0';
    *out = d;
    return MLLM_OK;
}

int32_t mllm_detok_push(mllm_detok *d, int32_t token) {
    size_t k, off = 0, w;
    if (!d || token < 0 || token >= d->t->n_vocab) return -(int32_t)MLLM_ERR_ARG;
    k = piece_write(d->t, token, d->piece, (size_t)d->t->max_piece);
    if (k && d->strip) {
        d->strip = 0;
        if (d->piece[0] == ' ') off = 1;
    }
    w = unicode_utf8_stream_feed(&d->us, (const unsigned char *)d->piece + off, k - off, d->out);
    d->out[w] = '\0';
    return (int32_t)w;
}

int32_t mllm_detok_flush(mllm_detok *d) {
    size_t w;
    if (!d) return -(int32_t)MLLM_ERR_ARG;
    w = unicode_utf8_stream_flush(&d->us, d->out);
    d->out[w] = '\0';
    return (int32_t)w;
}

const char *mllm_detok_text(const mllm_detok *d) { return d ? d->out : ""; }

void mllm_detok_free(mllm_detok *d) {
    if (!d) return;
    free(d->piece);
    free(d->out);
    free(d);
}

/* ------------------------------------------------------------------ special ids */

int32_t mllm_token_bos(const mllm_model *m) {
    const mllm_tokenizer *t = model_tokenizer(m);
    return t ? t->bos : -1;
}

int32_t mllm_token_eos(const mllm_model *m) {
    const mllm_tokenizer *t = model_tokenizer(m);
    return t ? t->eos : -1;
}

int32_t mllm_token_is_eog(const mllm_model *m, int32_t token) {
    const mllm_tokenizer *t = model_tokenizer(m);
    int32_t i;
    if (!t || token < 0) return 0;
    for (i = 0; i < t->n_eog; i++)
        if (t->eog[i] == token) return 1;
    return 0;
}
