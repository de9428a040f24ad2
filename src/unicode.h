/* unicode.h — the Unicode pieces the tokenizers need, written to behave exactly like
 * llama.cpp's src/unicode.cpp: lenient UTF-8 decoding, code point categories (\p{L}, \p{N},
 * \p{P}, ...) and \s from generated range tables (unicode_data.c), the GPT-2 byte <-> code point
 * map, the BPE pre-tokenizer splits implemented by hand (no regex library), and a streaming
 * UTF-8 sanitizer with the WHATWG decoder's U+FFFD rules.
 *
 * All functions are pure; the tables are const data.
 */
#ifndef MLLM_UNICODE_H
#define MLLM_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Category flags: the same bits as llama.cpp's unicode_cpt_flags, so the generated table and
 * the split rules read like theirs. Exactly one category bit per code point. */
enum {
    UCPT_UNDEFINED = 0x0001,   /* Cn, and anything past U+10FFFF */
    UCPT_NUMBER = 0x0002,      /* \p{N} */
    UCPT_LETTER = 0x0004,      /* \p{L} */
    UCPT_SEPARATOR = 0x0008,   /* \p{Z} */
    UCPT_MARK = 0x0010,        /* \p{M} */
    UCPT_PUNCTUATION = 0x0020, /* \p{P} */
    UCPT_SYMBOL = 0x0040,      /* \p{S} */
    UCPT_CONTROL = 0x0080,     /* \p{C} */
    UCPT_CATEGORIES = 0x00FF,
    UCPT_WHITESPACE = 0x0100,  /* \s: the White_Space property */
    UCPT_UPPER = 0x0200,       /* \p{Lu} or \p{Lt} (with UCPT_LETTER) */
    UCPT_LOWER = 0x0400        /* \p{Ll} (with UCPT_LETTER); Lm and Lo letters have neither */
};

/* Generated tables (unicode_data.c). */
extern const uint32_t unicode_ranges[];    /* (first << 11) | category and case flags, ascending */
extern const uint32_t unicode_ranges_n;
extern const uint32_t unicode_whitespace[]; /* ascending */
extern const uint32_t unicode_whitespace_n;

/* Category flag of cpt, its case flag when it is a cased letter, plus UCPT_WHITESPACE when it
 * is White_Space. */
uint32_t unicode_cpt_flags(uint32_t cpt);

/* Bytes of the UTF-8 sequence a lead byte announces, by its high nibble only (llama.cpp's
 * unicode_len_utf8): 1 for ASCII and stray continuation bytes, 2, 3 or 4. */
static inline size_t unicode_len_utf8(unsigned char lead) {
    static const unsigned char lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[lead >> 4];
}

/* Decodes one code point at s[*pos] (pos < len) the way llama.cpp's unicode_cpts_from_utf8
 * does: only the continuation-byte pattern is checked (overlong forms and surrogates decode);
 * a bad sequence yields U+FFFD and advances one byte. Code points past U+10FFFF, which
 * llama.cpp cannot re-encode (it throws), are also U+FFFD + one byte here. */
uint32_t unicode_decode_lenient(const unsigned char *s, size_t len, size_t *pos);

/* UTF-8 of cpt (<= U+10FFFF) into out[0..3]; returns its length. */
size_t unicode_encode_utf8(uint32_t cpt, char *out);

/* GPT-2 byte-level map: byte -> printable code point, and back (-1 for a code point that is
 * not one of the 256). */
uint32_t unicode_byte_to_cpt(uint8_t byte);
int32_t unicode_cpt_to_byte(uint32_t cpt);

/* ---------------------------------------------------------------- pre-tokenizer splits
 *
 * A split refines a segmentation of a code point array: `seg_in` holds n_in segment lengths
 * (in code points, summing to the array length); each segment is split independently and
 * the resulting lengths go to seg_out (capacity: the number of code points). Returns the
 * number of output segments. These are llama.cpp's unicode_regex_split for the regexes
 * named below; the "stl" ones reproduce its std::regex fallback on category-collapsed text. */
typedef enum unicode_split_kind {
    /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+  (custom gpt2) */
    UNICODE_SPLIT_GPT2 = 0,
    /* \p{N}  — every number character on its own */
    UNICODE_SPLIT_EACH_NUMBER = 1,
    /* [\p{P}\$\+<=>\^~\|]+ */
    UNICODE_SPLIT_PUNCT_RUNS = 2,
    /* \p{N}+ */
    UNICODE_SPLIT_NUMBER_RUNS = 3,
    /* [0-9][0-9][0-9] */
    UNICODE_SPLIT_DIGIT_TRIPLES = 4,
    /* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
     * \s*[\r\n]+|\s+(?!\S)|\s+  (Llama 3; llama.cpp's custom llama3) */
    UNICODE_SPLIT_LLAMA3 = 5,
    /* [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
     * [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
     * \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
     * (GPT-4o / Llama 4, as a backtracking regex engine matches it on real Unicode categories:
     * Hugging Face tokenizers' semantics; see tokenizer.h for where llama.cpp differs) */
    UNICODE_SPLIT_GPT4O = 6
} unicode_split_kind;

size_t unicode_split(unicode_split_kind kind, const uint32_t *cpts, const uint32_t *seg_in, size_t n_in,
                     uint32_t *seg_out);

/* ---------------------------------------------------------------- UTF-8 stream sanitizer
 *
 * Turns arbitrary bytes into valid UTF-8 incrementally, never emitting half a character:
 * complete sequences pass through, an incomplete tail is held, and each maximal invalid
 * subpart becomes one U+FFFD as soon as it is known invalid (the WHATWG Encoding Standard's
 * UTF-8 decoder, so the chunks concatenate to what TextDecoder gives for the whole). */
typedef struct unicode_utf8_stream {
    uint32_t needed;   /* continuation bytes still expected */
    uint32_t seen;     /* continuation bytes seen */
    uint32_t lower, upper; /* allowed range of the next continuation byte */
    uint32_t n_pend;
    unsigned char pend[4];
} unicode_utf8_stream;

void unicode_utf8_stream_init(unicode_utf8_stream *s);
/* Feeds n bytes; writes at most 3 * (n + 3) bytes to out and returns how many. */
size_t unicode_utf8_stream_feed(unicode_utf8_stream *s, const unsigned char *in, size_t n, char *out);
/* End of input: a held incomplete sequence becomes one U+FFFD (3 bytes written) */
size_t unicode_utf8_stream_flush(unicode_utf8_stream *s, char *out);

#endif
