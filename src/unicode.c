/* unicode.c — code point categories, lenient UTF-8, the GPT-2 byte map, the BPE
 * pre-tokenizer splits and the UTF-8 stream sanitizer. Behaviour follows llama.cpp's
 * src/unicode.cpp line by line where it matters for token ids (see unicode.h). */
#include "unicode.h"

uint32_t unicode_cpt_flags(uint32_t cpt) {
    uint32_t lo = 0, hi, flags, ws = 0;
    if (cpt >= 0x110000) return UCPT_UNDEFINED;
    /* last range whose first code point is <= cpt (ranges[0] starts at 0) */
    hi = unicode_ranges_n;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((unicode_ranges[mid] >> 11) <= cpt) lo = mid;
        else hi = mid;
    }
    flags = unicode_ranges[lo] & 0x7FF;
    /* White_Space is 25 code points: all in 0x09..0x3000 */
    if (cpt <= 0x3000 && (cpt <= 0x20 || cpt >= 0x85)) {
        uint32_t i;
        for (i = 0; i < unicode_whitespace_n; i++) {
            if (unicode_whitespace[i] == cpt) { ws = UCPT_WHITESPACE; break; }
            if (unicode_whitespace[i] > cpt) break;
        }
    }
    return flags | ws;
}

uint32_t unicode_decode_lenient(const unsigned char *s, size_t len, size_t *pos) {
    size_t o = *pos;
    unsigned char c = s[o];
    uint32_t cpt;
    size_t n, i;
    if (!(c & 0x80)) { *pos = o + 1; return c; }
    if (!(c & 0x40)) goto bad;            /* stray continuation byte */
    if (!(c & 0x20)) { n = 2; cpt = c & 0x1F; }
    else if (!(c & 0x10)) { n = 3; cpt = c & 0x0F; }
    else if (!(c & 0x08)) { n = 4; cpt = c & 0x07; }
    else goto bad;                        /* 0xF8..0xFF */
    if (o + n > len) goto bad;
    for (i = 1; i < n; i++) {
        if ((s[o + i] & 0xC0) != 0x80) goto bad;
        cpt = (cpt << 6) | (s[o + i] & 0x3F);
    }
    if (cpt > 0x10FFFF) goto bad;
    *pos = o + n;
    return cpt;
bad:
    *pos = o + 1;
    return 0xFFFD;
}

size_t unicode_encode_utf8(uint32_t cpt, char *out) {
    if (cpt <= 0x7F) {
        out[0] = (char)cpt;
        return 1;
    }
    if (cpt <= 0x7FF) {
        out[0] = (char)(0xC0 | (cpt >> 6));
        out[1] = (char)(0x80 | (cpt & 0x3F));
        return 2;
    }
    if (cpt <= 0xFFFF) {
        out[0] = (char)(0xE0 | (cpt >> 12));
        out[1] = (char)(0x80 | ((cpt >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cpt & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | ((cpt >> 18) & 0x07));
    out[1] = (char)(0x80 | ((cpt >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cpt >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cpt & 0x3F));
    return 4;
}

/* GPT-2's bytes_to_unicode: the printable Latin-1 bytes (! .. ~, ¡ .. ¬, ® .. ÿ) map to
 * themselves; the other 68 (0x00-0x20, 0x7F-0xA0, 0xAD) map, in byte order, to U+0100.. */
uint32_t unicode_byte_to_cpt(uint8_t byte) {
    uint32_t b = byte;
    if (b <= 0x20) return 256 + b;
    if (b >= 0x7F && b <= 0xA0) return 256 + 33 + (b - 0x7F);
    if (b == 0xAD) return 256 + 67;
    return b;
}

int32_t unicode_cpt_to_byte(uint32_t cpt) {
    if (cpt < 256) return (cpt <= 0x20 || (cpt >= 0x7F && cpt <= 0xA0) || cpt == 0xAD) ? -1 : (int32_t)cpt;
    if (cpt < 256 + 33) return (int32_t)(cpt - 256);
    if (cpt < 256 + 67) return (int32_t)(0x7F + (cpt - 256 - 33));
    if (cpt == 256 + 67) return 0xAD;
    return -1;
}

/* ---------------------------------------------------------------- splits */

/* Outside the segment a code point reads as "out of range" with no flags at all. */
static uint32_t seg_cpt(const uint32_t *cpts, size_t b, size_t e, size_t p) {
    return p >= b && p < e ? cpts[p] : 0xFFFFFFFFu;
}
static uint32_t seg_flags(const uint32_t *cpts, size_t b, size_t e, size_t p) {
    return p >= b && p < e ? unicode_cpt_flags(cpts[p]) : 0u;
}

/* llama.cpp's unicode_regex_split_custom_gpt2 over one segment [b, e). */
static size_t split_gpt2(const uint32_t *cpts, size_t b, size_t e, uint32_t *out, size_t n_out) {
    const uint32_t OUT = 0xFFFFFFFFu;
    size_t pos = b, prev_end = b;
#define CPT(p) seg_cpt(cpts, b, e, (p))
#define FLAGS(p) seg_flags(cpts, b, e, (p))
#define ADD(end_)                                              \
    do {                                                       \
        size_t end__ = (end_);                                 \
        if (end__ > prev_end) out[n_out++] = (uint32_t)(end__ - prev_end); \
        prev_end = end__;                                      \
    } while (0)
    while (pos < e) {
        uint32_t cpt = CPT(pos), flags = FLAGS(pos), flags2;
        size_t nws;
        /* 's|'t|'re|'ve|'m|'ll|'d */
        if (cpt == '\'' && pos + 1 < e) {
            uint32_t c1 = CPT(pos + 1);
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                ADD(pos + 2);
                pos += 2;
                continue;
            }
            if (pos + 2 < e) {
                uint32_t c2 = CPT(pos + 2);
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    ADD(pos + 3);
                    pos += 3;
                    continue;
                }
            }
        }
        flags2 = cpt == ' ' ? FLAGS(pos + 1) : flags;
        /* <space>?\p{L}+ */
        if (flags2 & UCPT_LETTER) {
            pos += cpt == ' ';
            while (flags2 & UCPT_LETTER) flags2 = FLAGS(++pos);
            ADD(pos);
            continue;
        }
        /* <space>?\p{N}+ */
        if (flags2 & UCPT_NUMBER) {
            pos += cpt == ' ';
            while (flags2 & UCPT_NUMBER) flags2 = FLAGS(++pos);
            ADD(pos);
            continue;
        }
        /* <space>?[^\s\p{L}\p{N}]+  (flags2 == 0 only past the segment's end) */
        if (!(flags2 & (UCPT_WHITESPACE | UCPT_LETTER | UCPT_NUMBER)) && flags2) {
            pos += cpt == ' ';
            while (!(flags2 & (UCPT_WHITESPACE | UCPT_LETTER | UCPT_NUMBER)) && flags2) flags2 = FLAGS(++pos);
            ADD(pos);
            continue;
        }
        nws = 0;
        while (FLAGS(pos + nws) & UCPT_WHITESPACE) nws++;
        /* \s+(?!\S): leave the last space to prefix the next word */
        if (nws > 1 && CPT(pos + nws) != OUT) {
            pos += nws - 1;
            ADD(pos);
            continue;
        }
        /* \s+ */
        if (nws > 0) {
            pos += nws;
            ADD(pos);
            continue;
        }
        ADD(++pos); /* no match */
    }
#undef CPT
#undef FLAGS
#undef ADD
    return n_out;
}

/* ASCII lower case: the contraction letters have no non-ASCII upper case (llama.cpp lowers
 * with unicode_tolower, to the same effect). */
static uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Length (0, 2 or 3) of a contraction 's 't 're 've 'm 'll 'd, any case, at p (segment end e). */
static size_t contraction_len(const uint32_t *cpts, size_t p, size_t e) {
    uint32_t c1, c2;
    if (p + 1 >= e || cpts[p] != '\'') return 0;
    c1 = ascii_lower(cpts[p + 1]);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if (p + 2 >= e) return 0;
    c2 = ascii_lower(cpts[p + 2]);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
    return 0;
}

/* The tail both Llama 3 and GPT-4o share after their letter and number rules, at pos:
 *  ?[^\s\p{L}\p{N}]+[\r\n]* (with '/' in the trailing set when slash), \s*[\r\n]+,
 * \s+(?!\S), \s+, else one code point. Returns the match's end. */
static size_t match_tail(const uint32_t *cpts, size_t b, size_t e, size_t pos, int slash) {
    const uint32_t OUT = 0xFFFFFFFFu;
    uint32_t cpt = seg_cpt(cpts, b, e, pos), flags = seg_flags(cpts, b, e, pos);
    uint32_t flags2 = cpt == ' ' ? seg_flags(cpts, b, e, pos + 1) : flags;
    size_t nws = 0, last_rn = 0;
    if (!(flags2 & (UCPT_WHITESPACE | UCPT_LETTER | UCPT_NUMBER)) && flags) {
        uint32_t c2;
        pos += cpt == ' ';
        while (!(flags2 & (UCPT_WHITESPACE | UCPT_LETTER | UCPT_NUMBER)) && flags2) flags2 = seg_flags(cpts, b, e, ++pos);
        for (c2 = seg_cpt(cpts, b, e, pos); c2 == '\r' || c2 == '\n' || (slash && c2 == '/');) c2 = seg_cpt(cpts, b, e, ++pos);
        return pos;
    }
    while (seg_flags(cpts, b, e, pos + nws) & UCPT_WHITESPACE) {
        uint32_t c2 = cpts[pos + nws];
        if (c2 == '\r' || c2 == '\n') last_rn = pos + nws + 1;
        nws++;
    }
    if (last_rn > 0) return last_rn;                                   /* \s*[\r\n]+ */
    if (nws > 1 && seg_cpt(cpts, b, e, pos + nws) != OUT) return pos + nws - 1; /* \s+(?!\S) */
    if (nws > 0) return pos + nws;                                     /* \s+ */
    return pos + 1;                                                    /* no match */
}

/* \p{N}{1,3} at pos (a number): the end of up to three number code points. */
static size_t match_numbers(const uint32_t *cpts, size_t b, size_t e, size_t pos) {
    size_t n = 0;
    while (n < 3 && (seg_flags(cpts, b, e, pos + n) & UCPT_NUMBER)) n++;
    return pos + n;
}

/* llama.cpp's unicode_regex_split_custom_llama3 over one segment [b, e). */
static size_t split_llama3(const uint32_t *cpts, size_t b, size_t e, uint32_t *out, size_t n_out) {
    size_t pos = b;
    while (pos < e) {
        uint32_t cpt = cpts[pos], flags = unicode_cpt_flags(cpt);
        size_t end = contraction_len(cpts, pos, e);
        if (end) {
            end += pos;
        } else if (!(cpt == '\r' || cpt == '\n' || (flags & UCPT_NUMBER)) &&
                   ((flags & UCPT_LETTER) || (seg_flags(cpts, b, e, pos + 1) & UCPT_LETTER))) {
            /* [^\r\n\p{L}\p{N}]?\p{L}+ */
            end = pos + 1;
            while (seg_flags(cpts, b, e, end) & UCPT_LETTER) end++;
        } else if (flags & UCPT_NUMBER) {
            end = match_numbers(cpts, b, e, pos);
        } else {
            end = match_tail(cpts, b, e, pos, 0);
        }
        out[n_out++] = (uint32_t)(end - pos);
        pos = end;
    }
    return n_out;
}

/* GPT-4o's letter classes: U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], W = [\p{Ll}\p{Lm}\p{Lo}\p{M}]. */
static int in_upper(uint32_t f) { return (f & UCPT_MARK) || ((f & UCPT_LETTER) && !(f & UCPT_LOWER)); }
static int in_lower(uint32_t f) { return (f & UCPT_MARK) || ((f & UCPT_LETTER) && !(f & UCPT_UPPER)); }

/* U*W+ at p as a backtracking engine matches it: the longest U run, given back until W+ can
 * start (then W+ is its W run, or one code point when given back). 0 when it cannot match. */
static size_t match_upper_lower(const uint32_t *cpts, size_t b, size_t e, size_t p) {
    size_t r = 0;
    while (in_upper(seg_flags(cpts, b, e, p + r))) r++;
    if (in_lower(seg_flags(cpts, b, e, p + r))) {
        size_t q = p + r;
        while (in_lower(seg_flags(cpts, b, e, q))) q++;
        return q;
    }
    while (r > 0) {
        r--;
        if (in_lower(seg_flags(cpts, b, e, p + r))) return p + r + 1;
    }
    return 0;
}

/* U+W* at p: 0 when p is not in U. */
static size_t match_upper_run(const uint32_t *cpts, size_t b, size_t e, size_t p) {
    size_t q = p;
    if (!in_upper(seg_flags(cpts, b, e, q))) return 0;
    while (in_upper(seg_flags(cpts, b, e, q))) q++;
    while (in_lower(seg_flags(cpts, b, e, q))) q++;
    return q;
}

/* The GPT-4o / Llama 4 pattern (unicode.h) over one segment [b, e), alternatives tried in
 * order at each position, each with and then without its optional prefix code point. */
static size_t split_gpt4o(const uint32_t *cpts, size_t b, size_t e, uint32_t *out, size_t n_out) {
    size_t pos = b;
    while (pos < e) {
        uint32_t cpt = cpts[pos], flags = unicode_cpt_flags(cpt);
        /* [^\r\n\p{L}\p{N}]? */
        int prefix = !(cpt == '\r' || cpt == '\n' || (flags & (UCPT_LETTER | UCPT_NUMBER)));
        size_t end = 0;
        if (prefix) end = match_upper_lower(cpts, b, e, pos + 1);
        if (!end) end = match_upper_lower(cpts, b, e, pos);
        if (!end && prefix) end = match_upper_run(cpts, b, e, pos + 1);
        if (!end) end = match_upper_run(cpts, b, e, pos);
        if (end) {
            end += contraction_len(cpts, end, e); /* (?i:'s|'t|'re|'ve|'m|'ll|'d)? */
        } else if (flags & UCPT_NUMBER) {
            end = match_numbers(cpts, b, e, pos);
        } else {
            end = match_tail(cpts, b, e, pos, 1);
        }
        out[n_out++] = (uint32_t)(end - pos);
        pos = end;
    }
    return n_out;
}

/* Membership for the std::regex fallback patterns, which llama.cpp runs on "collapsed" text:
 * ASCII stays itself, a non-ASCII code point becomes a marker byte for its category (or
 * vertical tab when it is whitespace), and \p{X} matches ASCII members or that marker. */
static int in_class(unicode_split_kind kind, uint32_t c) {
    uint32_t f;
    if (kind == UNICODE_SPLIT_DIGIT_TRIPLES) return c >= '0' && c <= '9'; /* runs on code points */
    if (c < 128) {
        if (kind == UNICODE_SPLIT_PUNCT_RUNS) {
            /* \p{P} (ASCII: !"#%&'()*,-./:;?@[\]_{}) plus $+<=>^~| */
            return (unicode_cpt_flags(c) & UCPT_PUNCTUATION) || c == '$' || c == '+' || c == '<' || c == '=' ||
                   c == '>' || c == '^' || c == '~' || c == '|';
        }
        return c >= '0' && c <= '9';
    }
    f = unicode_cpt_flags(c);
    if (f & UCPT_WHITESPACE) return 0;
    if (kind == UNICODE_SPLIT_PUNCT_RUNS) return (f & UCPT_CATEGORIES) == UCPT_PUNCTUATION;
    return (f & UCPT_CATEGORIES) == UCPT_NUMBER;
}

/* Leftmost-longest matches of a one-class pattern in [b, e): gaps and matches are both kept
 * as segments (llama.cpp's unicode_regex_split_stl). max_run 1: \p{N}; 3 exactly: [0-9]{3};
 * 0: a run of any length. */
static size_t split_class(unicode_split_kind kind, const uint32_t *cpts, size_t b, size_t e, uint32_t *out,
                          size_t n_out) {
    size_t pos = b, gap = b;
    while (pos < e) {
        size_t run = 0;
        if (kind == UNICODE_SPLIT_EACH_NUMBER) {
            run = in_class(kind, cpts[pos]) ? 1 : 0;
        } else if (kind == UNICODE_SPLIT_DIGIT_TRIPLES) {
            if (pos + 3 <= e && in_class(kind, cpts[pos]) && in_class(kind, cpts[pos + 1]) &&
                in_class(kind, cpts[pos + 2]))
                run = 3;
        } else {
            while (pos + run < e && in_class(kind, cpts[pos + run])) run++;
        }
        if (run == 0) {
            pos++;
            continue;
        }
        if (pos > gap) out[n_out++] = (uint32_t)(pos - gap);
        out[n_out++] = (uint32_t)run;
        pos += run;
        gap = pos;
    }
    if (e > gap) out[n_out++] = (uint32_t)(e - gap);
    return n_out;
}

size_t unicode_split(unicode_split_kind kind, const uint32_t *cpts, const uint32_t *seg_in, size_t n_in,
                     uint32_t *seg_out) {
    size_t i, start = 0, n_out = 0;
    for (i = 0; i < n_in; i++) {
        size_t end = start + seg_in[i];
        if (kind == UNICODE_SPLIT_GPT2) n_out = split_gpt2(cpts, start, end, seg_out, n_out);
        else if (kind == UNICODE_SPLIT_LLAMA3) n_out = split_llama3(cpts, start, end, seg_out, n_out);
        else if (kind == UNICODE_SPLIT_GPT4O) n_out = split_gpt4o(cpts, start, end, seg_out, n_out);
        else n_out = split_class(kind, cpts, start, end, seg_out, n_out);
        start = end;
    }
    return n_out;
}

/* ---------------------------------------------------------------- UTF-8 stream sanitizer */

void unicode_utf8_stream_init(unicode_utf8_stream *s) {
    s->needed = s->seen = 0;
    s->lower = 0x80;
    s->upper = 0xBF;
    s->n_pend = 0;
}

static size_t put_fffd(char *out) {
    out[0] = (char)0xEF;
    out[1] = (char)0xBF;
    out[2] = (char)0xBD;
    return 3;
}

/* The WHATWG UTF-8 decoder, emitting bytes instead of code points. */
size_t unicode_utf8_stream_feed(unicode_utf8_stream *s, const unsigned char *in, size_t n, char *out) {
    size_t i = 0, w = 0;
    while (i < n) {
        unsigned char b = in[i];
        if (s->needed == 0) {
            i++;
            if (b <= 0x7F) {
                out[w++] = (char)b;
            } else if (b >= 0xC2 && b <= 0xDF) {
                s->needed = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                if (b == 0xE0) s->lower = 0xA0;
                if (b == 0xED) s->upper = 0x9F;
                s->needed = 2;
            } else if (b >= 0xF0 && b <= 0xF4) {
                if (b == 0xF0) s->lower = 0x90;
                if (b == 0xF4) s->upper = 0x8F;
                s->needed = 3;
            } else {
                w += put_fffd(out + w);
                continue;
            }
            if (s->needed) {
                s->pend[0] = b;
                s->n_pend = 1;
            }
            continue;
        }
        if (b < s->lower || b > s->upper) {
            /* the held bytes are a maximal invalid subpart; b is looked at again */
            s->needed = s->seen = s->n_pend = 0;
            s->lower = 0x80;
            s->upper = 0xBF;
            w += put_fffd(out + w);
            continue;
        }
        i++;
        s->lower = 0x80;
        s->upper = 0xBF;
        s->pend[s->n_pend++] = b;
        if (++s->seen == s->needed) {
            uint32_t k;
            for (k = 0; k < s->n_pend; k++) out[w++] = (char)s->pend[k];
            s->needed = s->seen = s->n_pend = 0;
        }
    }
    return w;
}

size_t unicode_utf8_stream_flush(unicode_utf8_stream *s, char *out) {
    size_t w = 0;
    if (s->needed) w = put_fffd(out);
    unicode_utf8_stream_init(s);
    return w;
}
