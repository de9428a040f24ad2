/* generator.c — streaming generation over a context, written against the public API only.
 *
 * One step: sample from the last logits -> accept into the sampler's repetition window ->
 * end-of-generation token (unless ignore_eos): release held-back text, stop EOS -> push the
 * token to the streaming detokenizer (whole UTF-8 characters only) -> append to the pending
 * window and scan it for stop strings (stop.h): a stop string found ends the text right before
 * it (stop STRING); otherwise all text that cannot begin a stop string is released -> after
 * max_tokens tokens: release everything, stop LENGTH -> else evaluate the token. A token the
 * context cannot hold any more ends the run normally: every pending byte is released and the
 * stop is CONTEXT (status OK). A NaN among the logits (weights whose arithmetic overflows)
 * ends the run with MLLM_ERR_FORMAT instead of sampling around it. A generator that has
 * stopped answers later steps with the same stop reason and status, sampling nothing.
 *
 * With a grammar (mllm_generator_set_grammar) the token comes from constrain.c instead of the
 * plain sampler (masked sampling; the shortest completion forced when the tokens left, by
 * max_tokens or the context, run short), and a complete value that can go no further ends the
 * run with stop EOS.
 *
 * Buffers: `pend` (not-yet-final window) and `out` (this step's final text, NUL-terminated)
 * both hold `cap` bytes, sized in new/add_stop only:
 *   cap = 3 * (max_piece + 3) + 9 + (max_stop - 1) + 1 + 8
 * because one detokenizer push gives at most the token's piece plus up to 3 bytes of an
 * unfinished UTF-8 character, each byte possibly replaced by U+FFFD (3 bytes); a flush gives
 * at most 3 such replacements (9 bytes); the held-back text is shorter than the longest stop
 * string; one byte for the NUL; 8 spare. max_piece is the tokenizer's, measured at load.
 *
 * The generator borrows the context and the sampler (the caller frees them, after it); it
 * owns its detokenizer and stop strings. It does not feed the prompt into the sampler's
 * repetition window: the caller accepts prompt tokens if it wants them penalized.
 */
#include "mobilellm.h"
#include "model.h"
#include "tokenizer.h"
#include "sampler.h"
#include "stop.h"
#include "constrain.h"
#include "grammar.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

struct mllm_generator {
    mllm_context *ctx;
    mllm_sampler *smp;
    const mllm_model *model;
    mllm_generator_params p;
    mllm_detok *detok;
    mllm_stops stops;
    int32_t max_piece;  /* longest token piece, bytes */
    int32_t cap;        /* bytes of pend and of out */
    char *pend;
    int32_t pend_len;
    char *out;
    int32_t out_len;
    int32_t n_generated;
    int32_t finished;      /* 1 once a stop reason or an error ended the run */
    int32_t final_stop;    /* mllm_stop_reason to repeat after finishing */
    mllm_status final_status;
    mllm_constrain con;    /* con.gr set: grammar-constrained (constrain.h) */
};

static int32_t needed_cap(int32_t max_piece, int32_t max_stop) {
    return 3 * (max_piece + 3) + 9 + (max_stop > 0 ? max_stop - 1 : 0) + 1 + 8;
}

/* (Re)size pend and out to `cap`, keeping their contents. */
static mllm_status resize(mllm_generator *g, int32_t cap, mllm_error *err) {
    char *p, *o;
    if (cap <= g->cap) return MLLM_OK;
    p = (char *)realloc(g->pend, (size_t)cap);
    if (!p) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory sizing the generator's text buffers.");
    g->pend = p;
    o = (char *)realloc(g->out, (size_t)cap);
    if (!o) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory sizing the generator's text buffers.");
    g->out = o;
    if (g->cap == 0) g->out[0] = '\0';
    g->cap = cap;
    return MLLM_OK;
}

mllm_status mllm_generator_new(mllm_context *c, mllm_sampler *s, const mllm_generator_params *p,
                               mllm_generator **out, mllm_error *err) {
    mllm_generator *g;
    mllm_model_info info;
    mllm_status st;

    if (out) *out = NULL;
    if (!c || !s || !out)
        return mllm_fail(err, MLLM_ERR_ARG, "mllm_generator_new needs a context, a sampler and an output pointer.");
    g = (mllm_generator *)calloc(1, sizeof *g);
    if (!g) return mllm_fail(err, MLLM_ERR_NOMEM, "out of memory allocating the generator.");
    mllm_stops_init(&g->stops);
    g->ctx = c;
    g->smp = s;
    g->model = mllm_context_model(c);
    if (p) g->p = *p;
    if (!g->model) {
        mllm_generator_free(g);
        return mllm_fail(err, MLLM_ERR_ARG, "the context given to mllm_generator_new has no model.");
    }
    mllm_model_get_info(g->model, &info);
    if (info.n_vocab != mllm_sampler_n_vocab(s)) {
        mllm_generator_free(g);
        return mllm_fail(err, MLLM_ERR_ARG, "the sampler was made for %d tokens but the model has %d.",
                         (int)mllm_sampler_n_vocab(s), (int)info.n_vocab);
    }
    g->max_piece = tokenizer_max_piece(model_tokenizer(g->model));
    st = mllm_detok_new(g->model, 0 /* a continuation keeps its leading space */, &g->detok, err);
    if (st != MLLM_OK) {
        mllm_generator_free(g);
        return st;
    }
    st = resize(g, needed_cap(g->max_piece, 0), err);
    if (st != MLLM_OK) {
        mllm_generator_free(g);
        return st;
    }
    *out = g;
    mllm_error_clear(err);
    return MLLM_OK;
}

mllm_status mllm_generator_add_stop(mllm_generator *g, const char *text, int32_t len,
                                    mllm_error *err) {
    mllm_status st;
    if (!g) return mllm_fail(err, MLLM_ERR_ARG, "mllm_generator_add_stop got a NULL generator.");
    if (g->con.gr)
        return mllm_fail(err, MLLM_ERR_ARG, "stop strings cannot be combined with a grammar, which decides where the text ends.");
    st = mllm_stops_add(&g->stops, text, len, err);
    if (st != MLLM_OK) return st;
    return resize(g, needed_cap(g->max_piece, g->stops.max_len), err);
}

const char *mllm_generator_text(const mllm_generator *g) { return g ? g->out : ""; }

mllm_status mllm_generator_set_grammar(mllm_generator *g, mllm_grammar *gr, mllm_error *err) {
    mllm_model_info info;
    if (!g || !gr) return mllm_fail(err, MLLM_ERR_ARG, "mllm_generator_set_grammar got a NULL argument.");
    if (g->n_generated > 0 || g->finished)
        return mllm_fail(err, MLLM_ERR_STATE, "a grammar must be set before the generator's first step.");
    if (g->stops.n > 0)
        return mllm_fail(err, MLLM_ERR_ARG, "stop strings cannot be combined with a grammar, which decides where the text ends.");
    mllm_model_get_info(g->model, &info);
    if (mllm_grammar_n_vocab(gr) != info.n_vocab)
        return mllm_fail(err, MLLM_ERR_ARG, "the grammar was made for %d tokens but the model has %d.",
                         (int)mllm_grammar_n_vocab(gr), (int)info.n_vocab);
    mllm_constrain_free(&g->con);
    return mllm_constrain_init(&g->con, gr, err);
}

/* Tokens this run may still emit, this step's included: max_tokens, and the context (the
 * token that fills it is emitted without being evaluated). */
static int32_t remaining_tokens(const mllm_generator *g) {
    int32_t r = mllm_n_ctx(g->ctx) - mllm_n_past(g->ctx) + 1;
    if (g->p.max_tokens > 0 && g->p.max_tokens - g->n_generated < r) r = g->p.max_tokens - g->n_generated;
    return r;
}

void mllm_generator_free(mllm_generator *g) {
    if (!g) return;
    mllm_detok_free(g->detok);
    mllm_stops_free(&g->stops);
    mllm_constrain_free(&g->con);
    free(g->pend);
    free(g->out);
    free(g);
}

/* Append n bytes of fresh detokenizer text to the pending window. */
static int append_pending(mllm_generator *g, const char *src, int32_t n) {
    if (n <= 0) return 1;
    /* out_len + pend_len is everything this step has taken in, all of which may end up in out */
    if (!src || n > g->cap - 1 - g->out_len - g->pend_len) return 0; /* breaks the documented bound */
    memcpy(g->pend + g->pend_len, src, (size_t)n);
    g->pend_len += n;
    return 1;
}

/* Move the first n pending bytes to this step's output. */
static void release(mllm_generator *g, int32_t n) {
    memcpy(g->out + g->out_len, g->pend, (size_t)n);
    g->out_len += n;
    g->out[g->out_len] = '\0';
    memmove(g->pend, g->pend + n, (size_t)(g->pend_len - n));
    g->pend_len -= n;
}

/* Scan the window: release what is final. Returns 1 when a stop string ended the text. */
static int scan_release(mllm_generator *g) {
    int32_t found, r = mllm_stops_scan(&g->stops, g->pend, g->pend_len, &found);
    release(g, r);
    if (found) g->pend_len = 0; /* the stop string and what follows it are not text */
    return found;
}

static void finish(mllm_generator *g, int32_t stop, mllm_status status) {
    g->finished = 1;
    g->final_stop = stop;
    g->final_status = status;
}

/* End of the run: flush the detokenizer (which may still complete a stop string), then
 * release everything held back. Returns the stop reason actually reached, -1 when the
 * flushed bytes broke the size bound. */
static int32_t flush_all(mllm_generator *g, int32_t reason) {
    int32_t n = mllm_detok_flush(g->detok);
    if (n > 0 && !append_pending(g, mllm_detok_text(g->detok), n)) return -1;
    if (scan_release(g)) return MLLM_STOP_STRING;
    release(g, g->pend_len);
    return reason;
}

static mllm_status overflow(mllm_generator *g, mllm_error *err) {
    finish(g, MLLM_STOP_NONE, MLLM_ERR_STATE);
    return mllm_fail(err, MLLM_ERR_STATE,
                     "the detokenizer produced more text for one token than the generator's %d-byte bound.",
                     (int)g->cap);
}

/* Ends the run in this step: releases the held-back text (unless a stop string was just
 * found, which already did), records the stop and answers. Any stop is a normal end; only a
 * failure with no stop (an eval error) keeps its status, and its message already in err. */
static mllm_status stop_run(mllm_generator *g, mllm_step_result *r, int32_t reason, mllm_status st,
                            mllm_error *err) {
    int32_t stop = reason == MLLM_STOP_STRING ? reason : flush_all(g, reason);
    if (stop < 0) return overflow(g, err);
    if (stop != MLLM_STOP_NONE) st = MLLM_OK;
    finish(g, stop, st);
    r->stop = stop;
    r->text_len = g->out_len;
    if (st == MLLM_OK) mllm_error_clear(err);
    return st;
}

mllm_status mllm_generator_step(mllm_generator *g, mllm_step_result *r, mllm_error *err) {
    const float *logits;
    int32_t tok, n;
    mllm_status st;

    if (!g || !r) return mllm_fail(err, MLLM_ERR_ARG, "mllm_generator_step got a NULL argument.");
    r->token = -1;
    r->stop = MLLM_STOP_NONE;
    r->text_len = 0;
    r->n_generated = g->n_generated;
    g->out_len = 0;
    g->out[0] = '\0';

    if (g->finished) {
        r->stop = g->final_stop;
        if (g->final_status != MLLM_OK)
            return mllm_fail(err, g->final_status, "generation ended earlier with an error.");
        mllm_error_clear(err);
        return MLLM_OK;
    }

    logits = mllm_logits(g->ctx, -1);
    if (!logits)
        return mllm_fail(err, MLLM_ERR_STATE, "the context holds no logits to sample from; evaluate the prompt first.");
    if (g->con.gr) {
        st = mllm_constrain_pick(&g->con, g->smp, logits, remaining_tokens(g), g->p.ignore_eos, &tok, err);
        if (st != MLLM_OK) {
            finish(g, MLLM_STOP_NONE, st);
            return st;
        }
    } else {
        tok = mllm_sampler_sample(g->smp, logits);
    }
    if (tok < 0) return mllm_fail(err, MLLM_ERR_STATE, "the sampler returned no token.");
    if (mllm_sampler_nan_logit(g->smp) >= 0) {
        /* NaN logits come from weights that overflow float arithmetic: an error, not token 0 */
        mllm_fail(err, MLLM_ERR_FORMAT,
                  "the model computed a NaN logit (token %d) after %d generated tokens: its weights overflow float arithmetic.",
                  (int)mllm_sampler_nan_logit(g->smp), (int)g->n_generated);
        return stop_run(g, r, MLLM_STOP_NONE, MLLM_ERR_FORMAT, err);
    }
    mllm_sampler_accept(g->smp, tok);
    g->n_generated++;
    r->token = tok;
    r->n_generated = g->n_generated;

    if (!g->p.ignore_eos && mllm_token_is_eog(g->model, tok)) return stop_run(g, r, MLLM_STOP_EOS, MLLM_OK, err);

    n = mllm_detok_push(g->detok, tok);
    if (n > 0 && !append_pending(g, mllm_detok_text(g->detok), n)) return overflow(g, err);
    if (scan_release(g)) return stop_run(g, r, MLLM_STOP_STRING, MLLM_OK, err);
    if (g->con.gr && mllm_constrain_done(&g->con)) return stop_run(g, r, MLLM_STOP_EOS, MLLM_OK, err);
    if (g->p.max_tokens > 0 && g->n_generated >= g->p.max_tokens) return stop_run(g, r, MLLM_STOP_LENGTH, MLLM_OK, err);

    /* a token the context cannot take ends the run normally; any other failure is an error */
    st = mllm_eval(g->ctx, &tok, 1, 0, err);
    if (st != MLLM_OK) return stop_run(g, r, st == MLLM_ERR_CONTEXT_FULL ? MLLM_STOP_CONTEXT : MLLM_STOP_NONE, st, err);
    r->text_len = g->out_len;
    mllm_error_clear(err);
    return MLLM_OK;
}

const char *mllm_stop_name(int32_t stop) {
    static const char *const names[] = {"none", "eos", "stop", "length", "context_full"}; /* by mllm_stop_reason */
    return stop >= 0 && stop < (int32_t)(sizeof names / sizeof names[0]) ? names[stop] : "unknown";
}
