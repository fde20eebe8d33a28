/* leakmon scan kernel: strong-identifier scanners, canonicalization, keyed hashing, index look-up.
 *
 * Pure C over a byte block (no Python): module.c wraps it for Python, fuzz.c for libFuzzer.
 * Each scanner reproduces exactly the matches of the recognizer's RE2 ``fast_pattern`` run with
 * ``findall`` (leftmost-first, non-overlapping, one leading boundary byte) and the canonical bytes
 * of its ``fast_canonicals`` (the recognizers in matchers/types/ are the reference; tests/matchers/test_kernel.py
 * prove both agree).
 */
#ifndef LEAKMON_SCAN_H
#define LEAKMON_SCAN_H

#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>

enum { LK_PHONE = 0, LK_EMAIL = 1, LK_RRN = 2, LK_CARD = 3, LK_KINDS = 4 };

/* lk_hit.flags: a phone written with spaces around its separators (010 - 1234 - 5678), read as the slow
 * path reads it (deobfuscate.extract's loose runs: class "separators"). Such a hit is reported whether
 * or not it is indexed, its start is the value's first byte (no boundary byte), and the slow path's
 * trigger search leaves its span out (matchers/engine.py). */
#define LK_SPACED 1

/* Longest canonical a scanner may produce (longer candidates are hashed from the heap). */
#define LK_CANON_MAX 256

/* HMAC-SHA256 pad states: key^ipad absorbed (and, per kind, the message header), key^opad. */
typedef struct {
    SHA256_CTX base;             /* key ^ ipad */
    SHA256_CTX inner[LK_KINDS];  /* key ^ ipad + header of each scanned kind */
    SHA256_CTX outer;            /* key ^ opad */
} lk_keys;

/* One sorted digest-prefix array, with an optional radix table: the keys whose top ``bits`` bits
 * equal b are keys buckets[b] .. buckets[b + 1] - 1 (buckets has 2^bits + 1 entries; NULL: none, bits 0).
 * Keys are little-endian, ``width`` bytes each (LK_KEY_WIDTH of bits):
 * - 8: the whole 64-bit prefix (tiers without a radix table or with fewer than 16 bits);
 * - 6: with a radix table of 16 bits or more, the 48 bits after the slot's ``bits`` implied top bits
 *   (prefix << bits >> 16): nothing of the 64-bit prefix is lost (bits + 48 >= 64). */
typedef struct {
    const uint8_t *keys;
    size_t n;
    const uint32_t *buckets;
    int bits;
    int width;
} lk_tier;

/* The key width of a tier whose radix table has ``bits`` bits (matchers/index.py: key_width). */
#define LK_NARROW_BITS 16
#define LK_KEY_WIDTH(bits) ((bits) >= LK_NARROW_BITS ? 6 : 8)

/* The protected index's two tiers (matchers/index.py). */
typedef struct {
    lk_tier flat, group;
    int everything; /* report every candidate, indexed or not (differential tests, fuzzing) */
} lk_index;

/* E-mail domain aliases ([identifiers.email] aliases): a matched domain equal to alias[i] (lower
 * case) is hashed as target[i]; the first equal alias wins. */
typedef struct {
    const uint8_t *const *alias;
    const size_t *alias_len;
    const uint8_t *const *target;
    const size_t *target_len;
    size_t n;
} lk_aliases;

/* One candidate whose digest prefix is in the index. */
typedef struct {
    int64_t start; /* byte offset of the raw match (its boundary byte included when it has one) */
    int64_t end;   /* byte offset after the raw match */
    int64_t line;  /* 0-based line of the value's first byte */
    int32_t kind;  /* LK_* */
    int32_t flags; /* LK_SPACED, or 0 */
    uint8_t digest[32];
} lk_hit;

typedef struct {
    lk_hit *hits;
    size_t n, cap;
    int failed; /* out of memory */
} lk_out;

void lk_keys_init(lk_keys *keys, const uint8_t *key, size_t key_len, const uint8_t *const headers[LK_KINDS],
                  const size_t header_lens[LK_KINDS]);
void lk_inner_for(const lk_keys *keys, const uint8_t *header, size_t len, SHA256_CTX *inner);
void lk_hmac(const SHA256_CTX *inner, const SHA256_CTX *outer, const uint8_t *msg, size_t len, uint8_t out[32]);
int lk_present(const lk_index *index, const uint8_t digest[32]);

/* Scan ``buf`` for every kernel kind; append hits (phone, e-mail, RRN, card order) to ``out``. */
void lk_scan(const uint8_t *buf, size_t n, const lk_keys *keys, const lk_index *index, const lk_aliases *aliases,
             lk_out *out);

/* ------------------------------------------------------------------ weak tokens (weak.c) */

/* The kinds of weak tokens, i.e. their digest headers: name full, name fl, name f, birth date full. */
enum { LW_NAME = 0, LW_NAME_FL = 1, LW_NAME_F = 2, LW_BIRTH = 3, LW_KINDS = 4 };
/* What lk_weak_scan reads (bits). */
#define LW_READ_NAMES 1
#define LW_READ_MASKED 2
#define LW_READ_BIRTH 4

typedef struct {
    SHA256_CTX inner[LW_KINDS]; /* key ^ ipad + the header of each kind */
    SHA256_CTX outer;
} lk_weak_keys;

/* One weak token whose digest prefix is in the index. */
typedef struct {
    int64_t record;    /* index of its record */
    int64_t start;     /* character offset in the record's decoded text */
    int64_t canon_off; /* its canonical UTF-8 bytes: lk_weak_out.canon[canon_off, canon_off + canon_len) */
    int32_t canon_len;
    int32_t kind; /* LW_* */
    uint8_t digest[32];
} lk_weak_token;

typedef struct {
    lk_weak_token *tokens;
    size_t n, cap;
    uint8_t *canon;
    size_t canon_n, canon_cap;
    int failed; /* out of memory */
} lk_weak_out;

/* Decode UTF-8 as Python does with errors="replace" (cp holds n entries); the number of code points. */
size_t lk_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* The weak tokens (``what``: LW_READ_* bits) of the records of ``buf``: the lines numbered ``lines``
 * (0-based, increasing; trailing carriage returns off), or with ``lines`` NULL the whole buffer as one
 * record. Per record: names, then masked names, then birth dates, each in the recognizer's order. */
void lk_weak_scan(const uint8_t *buf, size_t n, const int64_t *lines, size_t nlines, int what, const lk_weak_keys *keys,
                  const lk_index *index,
                  lk_weak_out *out);

/* ------------------------------------------------------------------ addresses (address.c) */

/* lk_hit.flags of an address: its canonical form is the raw match (0), the raw with commas and spacing
 * folded (LK_ADDR_SPACED), or left to Python's parser (LK_ADDR_PARSE: no digest). */
#define LK_ADDR_SPACED 1
#define LK_ADDR_PARSE 2

/* Every match of address.FAST in ``buf`` (start, end, line of start): the ones in canonical form hashed
 * (inner: key ^ ipad + the address header) and kept when indexed, the others all kept, flagged PARSE. */
void lk_address_scan(const uint8_t *buf, size_t n, const SHA256_CTX *inner, const SHA256_CTX *outer,
                     const lk_index *index, lk_out *out);

#endif
