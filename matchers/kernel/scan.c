/* leakmon scan kernel (see scan.h). The regex emulations below follow RE2's leftmost-first
 * semantics: at each start position the alternatives are tried in pattern order and every
 * quantifier greedily, with backtracking, in the order the pattern lists them. */
#include "scan.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define HMAC_BLOCK 64

static inline int is_digit(uint8_t c) { return (uint8_t)(c - '0') < 10; }
static inline int is_alpha(uint8_t c) { return (uint8_t)((c | 0x20) - 'a') < 26; }
/* e-mail local-part bytes: A-Za-z0-9._%+- */
static inline int is_local(uint8_t c) {
    return is_digit(c) || is_alpha(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
/* e-mail domain-label bytes: A-Za-z0-9- */
static inline int is_label(uint8_t c) { return is_digit(c) || is_alpha(c) || c == '-'; }

/* ------------------------------------------------------------------ keyed hashing (OpenSSL) */

void lk_keys_init(lk_keys *keys, const uint8_t *key, size_t key_len, const uint8_t *const headers[LK_KINDS],
                  const size_t header_lens[LK_KINDS]) {
    uint8_t block[HMAC_BLOCK], pad[HMAC_BLOCK];
    memset(block, 0, sizeof block);
    if (key_len > HMAC_BLOCK) {
        SHA256(key, key_len, block);
    } else if (key_len) {
        memcpy(block, key, key_len);
    }
    for (int i = 0; i < HMAC_BLOCK; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&keys->base);
    SHA256_Update(&keys->base, pad, HMAC_BLOCK);
    for (int i = 0; i < HMAC_BLOCK; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&keys->outer);
    SHA256_Update(&keys->outer, pad, HMAC_BLOCK);
    for (int k = 0; k < LK_KINDS; k++) lk_inner_for(keys, headers[k], header_lens[k], &keys->inner[k]);
}

void lk_inner_for(const lk_keys *keys, const uint8_t *header, size_t len, SHA256_CTX *inner) {
    *inner = keys->base;
    SHA256_Update(inner, header, len);
}

void lk_hmac(const SHA256_CTX *inner, const SHA256_CTX *outer, const uint8_t *msg, size_t len, uint8_t out[32]) {
    SHA256_CTX ctx = *inner;
    uint8_t ih[32];
    SHA256_Update(&ctx, msg, len);
    SHA256_Final(ih, &ctx);
    ctx = *outer;
    SHA256_Update(&ctx, ih, sizeof ih);
    SHA256_Final(out, &ctx);
}

/* ------------------------------------------------------------------ index look-up */

/* Key i of a tier (see lk_tier), little-endian: 6 bytes in two loads (nothing read past the array), or 8. */
static inline uint64_t key_at(const lk_tier *t, size_t i) {
    const uint8_t *p = t->keys + i * (size_t)t->width;
    uint64_t k;
    if (t->width == 6) {
        uint32_t lo;
        uint16_t hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 2);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap16(hi);
#endif
        k = ((uint64_t)hi << 32) | lo;
    } else {
        memcpy(&k, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        k = __builtin_bswap64(k);
#endif
    }
    return k;
}

/* The prefix q as the tier stores it: whole, or (6-byte keys) the 48 bits after the slot's top bits. */
static inline uint64_t tier_key(const lk_tier *t, uint64_t q) { return t->width == 6 ? (q << t->bits) >> 16 : q; }

/* The slice of a tier where q may be: its radix slot, or the whole array. */
static void tier_bounds(const lk_tier *t, uint64_t q, size_t *lo, size_t *hi) {
    if (t->buckets && t->bits > 0 && t->bits < 64) {
        uint64_t b = q >> (64 - t->bits);
        *lo = t->buckets[b];
        *hi = t->buckets[b + 1];
    } else {
        *lo = 0;
        *hi = t->n;
    }
}

/* Whether stored key qk is in keys[lo, hi) (never looks at hi: past a radix slot's end, a 6-byte key
 * belongs to another slot and may equal qk). */
static int tier_search(const lk_tier *t, uint64_t qk, size_t lo, size_t hi) {
    size_t end = hi;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_at(t, mid) < qk)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < end && key_at(t, lo) == qk;
}

/* Where q would be in keys[lo, hi) if the keys there are spread evenly (digests are uniform). */
static size_t tier_guess(const lk_tier *t, uint64_t q, size_t lo, size_t hi) {
    uint64_t frac = t->buckets && t->bits > 0 && t->bits < 64 ? q << t->bits : q;
    return lo + (size_t)(((unsigned __int128)frac * (hi - lo)) >> 64);
}

/* tier_search for prefix q starting from the guess g in [lo, hi): a few steps along the keys from g
 * (one or two cache lines), then a binary search of what is left. */
static int tier_find(const lk_tier *t, uint64_t q, size_t lo, size_t hi, size_t g) {
    if (lo >= hi) return 0;
    uint64_t qk = tier_key(t, q), k = key_at(t, g);
    if (k == qk) return 1;
    if (k < qk) {
        size_t i = g + 1;
        for (int step = 0; step < 8 && i < hi; step++, i++) {
            k = key_at(t, i);
            if (k >= qk) return k == qk;
        }
        lo = i;
    } else {
        size_t i = g;
        for (int step = 0; step < 8 && i > lo; step++) {
            i--;
            k = key_at(t, i);
            if (k <= qk) return k == qk;
        }
        hi = i;
    }
    return tier_search(t, qk, lo, hi);
}

static int tier_contains(const lk_tier *t, uint64_t q) {
    size_t lo, hi;
    tier_bounds(t, q, &lo, &hi);
    return tier_search(t, tier_key(t, q), lo, hi);
}

static uint64_t prefix_of(const uint8_t d[32]) {
    uint64_t q = 0;
    for (int i = 0; i < 8; i++) q = (q << 8) | d[i];
    return q;
}

int lk_present(const lk_index *index, const uint8_t d[32]) {
    if (index->everything) return 1;
    uint64_t q = prefix_of(d);
    return tier_contains(&index->flat, q) || tier_contains(&index->group, q);
}

/* ------------------------------------------------------------------ output */

static void push(lk_out *out, const lk_hit *hit) {
    if (out->failed) return;
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 256;
        lk_hit *grown = realloc(out->hits, cap * sizeof *grown);
        if (!grown) {
            out->failed = 1;
            return;
        }
        out->hits = grown;
        out->cap = cap;
    }
    out->hits[out->n++] = *hit;
}

/* Lines are counted forward from the previous hit of the same scanner. */
typedef struct {
    const uint8_t *buf;
    int64_t pos, line;
} line_counter;

static int64_t line_at(line_counter *lc, int64_t pos) {
    assert(pos >= lc->pos); /* asked in position order (counting on from the last position) */
    const uint8_t *p = lc->buf + lc->pos, *end = lc->buf + pos;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        lc->line++;
        p++;
    }
    lc->pos = pos;
    return lc->line;
}

/* Look-ups are pipelined so that the index's cache misses overlap: a candidate's radix slot is
 * prefetched when it is hashed, its keys STAGE candidates later, and it is decided PIPE candidates
 * later (in order, so hits keep their order). */
#define PIPE 16
#define STAGE 8

typedef struct {
    lk_hit hit;
    lk_out *dest;
    uint64_t q;
    size_t lo[2], hi[2], guess[2];
    int staged;
} pending;

typedef struct {
    pending item[PIPE];
    unsigned head, count;
} lookup_pipe;

typedef struct {
    const uint8_t *s;
    int64_t n;
    const lk_keys *keys;
    const lk_index *index;
    const lk_aliases *aliases;
    line_counter lines;
    lookup_pipe pipe;
} scan_ctx;

static void stage(const lk_index *ix, pending *p) {
    const lk_tier *tiers[2] = {&ix->flat, &ix->group};
    for (int t = 0; t < 2; t++) {
        tier_bounds(tiers[t], p->q, &p->lo[t], &p->hi[t]);
        p->guess[t] = tier_guess(tiers[t], p->q, p->lo[t], p->hi[t]);
        if (p->lo[t] < p->hi[t]) __builtin_prefetch(tiers[t]->keys + p->guess[t] * (size_t)tiers[t]->width);
    }
    p->staged = 1;
}

static void decide(scan_ctx *c, pending *p) {
    const lk_index *ix = c->index;
    if (!p->staged) stage(ix, p);
    if (ix->everything || tier_find(&ix->flat, p->q, p->lo[0], p->hi[0], p->guess[0]) ||
        tier_find(&ix->group, p->q, p->lo[1], p->hi[1], p->guess[1])) {
        p->hit.line = line_at(&c->lines, p->hit.line); /* enqueued: the value's first byte; decided in order */
        push(p->dest, &p->hit);
    }
}

static void enqueue(scan_ctx *c, lk_out *dest, const lk_hit *hit) {
    lookup_pipe *pp = &c->pipe;
    if (pp->count == PIPE) {
        decide(c, &pp->item[pp->head]);
        pp->head = (pp->head + 1) % PIPE;
        pp->count--;
    }
    pending *p = &pp->item[(pp->head + pp->count) % PIPE];
    pp->count++;
    p->hit = *hit;
    p->dest = dest;
    p->q = prefix_of(hit->digest);
    p->staged = 0;
    const lk_tier *tiers[2] = {&c->index->flat, &c->index->group};
    for (int t = 0; t < 2; t++)
        if (tiers[t]->buckets && tiers[t]->bits > 0 && tiers[t]->bits < 64)
            __builtin_prefetch(&tiers[t]->buckets[p->q >> (64 - tiers[t]->bits)]);
    if (pp->count > STAGE) {
        pending *older = &pp->item[(pp->head + pp->count - 1 - STAGE) % PIPE];
        if (!older->staged) stage(c->index, older);
    }
}

static void flush(scan_ctx *c) {
    lookup_pipe *pp = &c->pipe;
    while (pp->count) {
        decide(c, &pp->item[pp->head]);
        pp->head = (pp->head + 1) % PIPE;
        pp->count--;
    }
}

/* Hash a canonical value of ``kind``; record a hit for the raw match [start, end) if indexed. */
static void emit(scan_ctx *c, lk_out *out, int kind, const uint8_t *canon, size_t len, int64_t start, int64_t end) {
    lk_hit hit;
    lk_hmac(&c->keys->inner[kind], &c->keys->outer, canon, len, hit.digest);
    hit.start = start;
    hit.end = end;
    hit.kind = kind;
    hit.flags = 0;
    hit.line = start + (start > 0); /* the value's first byte (Python: lead = pos > 0): its line once indexed */
    enqueue(c, out, &hit);
}

/* ------------------------------------------------------------------ small matchers */

/* Positions after an optional element at p, in greedy order (taken first). */
static int opt(const uint8_t *s, int64_t n, int64_t p, int (*in)(uint8_t), int64_t out[2]) {
    if (p < n && in(s[p])) {
        out[0] = p + 1;
        out[1] = p;
        return 2;
    }
    out[0] = p;
    return 1;
}

static int digits_at(const uint8_t *s, int64_t n, int64_t p, int k) {
    if (p + k > n) return 0;
    for (int i = 0; i < k; i++)
        if (!is_digit(s[p + i])) return 0;
    return 1;
}

static int64_t digit_run_end(const uint8_t *s, int64_t n, int64_t p) {
    while (p < n && is_digit(s[p])) p++;
    return p;
}

static int is_phone_sep(uint8_t c) { return c == '-' || c == '.' || c == ' ' || c == '/'; }
static int is_dot_sep(uint8_t c) { return c == '-' || c == '.' || c == ' '; }
static int is_open(uint8_t c) { return c == '('; }
static int is_close(uint8_t c) { return c == ')'; }
static int is_zero(uint8_t c) { return c == '0'; }
static int is_dial_digit(uint8_t c) { return c == '1' || c == '2' || c == '5' || c == '6' || c == '7' || c == '8'; }

/* ------------------------------------------------------------------ candidate starts, 64 bytes at a time */

/* The scanners try a pattern only where it can start: a digit after a non-digit (every pattern's
 * boundary is [^0-9] or ^), and for phones also "(" or "+". Each 64-byte window is classified at
 * once (SSE2 where there is one) into bit masks, so the scan loops visit candidates, not bytes. */
typedef struct {
    const uint8_t *s;
    int64_t n, base; /* window [base, base + 64) */
    uint64_t left;   /* the window's candidate starts */
    int phone;       /* phone starts (( 0 + 8 1), or every digit */
} starts;

static void classify(starts *it) {
    uint8_t pad[64];
    const uint8_t *p = it->s + it->base;
    int64_t len = it->n - it->base;
    if (len < 64) {
        memset(pad, 0, sizeof pad);
        memcpy(pad, p, (size_t)len);
        p = pad;
    }
    uint64_t digit = 0, phone = 0;
#ifdef __SSE2__
    const __m128i shift = _mm_set1_epi8((char)(0x80 - '0')), ten = _mm_set1_epi8((char)(0x80 + 10));
    const __m128i c0 = _mm_set1_epi8('0'), c1 = _mm_set1_epi8('1'), c8 = _mm_set1_epi8('8');
    const __m128i open = _mm_set1_epi8('('), plus = _mm_set1_epi8('+');
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i d = _mm_cmplt_epi8(_mm_add_epi8(v, shift), ten); /* '0'..'9' -> -128..-119 */
        __m128i f = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, c0), _mm_cmpeq_epi8(v, c1)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, c8), _mm_or_si128(_mm_cmpeq_epi8(v, open), _mm_cmpeq_epi8(v, plus))));
        digit |= (uint64_t)(uint16_t)_mm_movemask_epi8(d) << (16 * k);
        phone |= (uint64_t)(uint16_t)_mm_movemask_epi8(f) << (16 * k);
    }
#else
    for (int i = 0; i < 64; i++) {
        uint8_t b = p[i];
        digit |= (uint64_t)is_digit(b) << i;
        phone |= (uint64_t)(b == '0' || b == '1' || b == '8' || b == '(' || b == '+') << i;
    }
#endif
    uint64_t after_digit = (digit << 1) | (uint64_t)(it->base > 0 && is_digit(it->s[it->base - 1]));
    it->left = (it->phone ? phone : digit) & ~after_digit;
}

static void starts_init(starts *it, const uint8_t *s, int64_t n, int phone) {
    it->s = s;
    it->n = n;
    it->base = 0;
    it->phone = phone;
    it->left = 0;
    if (n > 0) classify(it);
}

/* The first candidate start at or after ``from``, or n. */
static int64_t next_start(starts *it, int64_t from) {
    while (from < it->n) {
        if (from >= it->base + 64) {
            it->base = from & ~(int64_t)63;
            classify(it);
        }
        uint64_t m = it->left & (~(uint64_t)0 << (from - it->base));
        if (m) return it->base + __builtin_ctzll(m);
        from = it->base + 64;
    }
    return it->n;
}

/* ------------------------------------------------------------------ phone (matchers/types/phone.py FAST) */

/* The area code after its trunk 0: 1[016789] | 2 | [3-6][1-5] | 70 | 50[2-8] (alternatives disjoint). */
static int64_t area_tail(const uint8_t *s, int64_t n, int64_t p) {
    if (p >= n) return -1;
    uint8_t a = s[p], b = p + 1 < n ? s[p + 1] : 0;
    if (a == '1') return (b == '0' || b == '1' || (b >= '6' && b <= '9')) ? p + 2 : -1;
    if (a == '2') return p + 1;
    if (a >= '3' && a <= '6' && b >= '1' && b <= '5') return p + 2;
    if (a == '7') return b == '0' ? p + 2 : -1;
    if (a == '5' && b == '0' && p + 2 < n && s[p + 2] >= '2' && s[p + 2] <= '8') return p + 3;
    return -1;
}

/* [-. /]? [0-9]{3,4} [-. /]? [0-9]{4} */
static int64_t phone_rest(const uint8_t *s, int64_t n, int64_t p) {
    int64_t c1[2], c2[2];
    int n1 = opt(s, n, p, is_phone_sep, c1);
    for (int i = 0; i < n1; i++) {
        for (int k = 4; k >= 3; k--) {
            if (!digits_at(s, n, c1[i], k)) continue;
            int n2 = opt(s, n, c1[i] + k, is_phone_sep, c2);
            for (int j = 0; j < n2; j++)
                if (digits_at(s, n, c2[j], 4)) return c2[j] + 4;
        }
    }
    return -1;
}

/* \(? AREA \)? rest */
static int64_t phone_national(const uint8_t *s, int64_t n, int64_t p) {
    int64_t c1[2], c2[2];
    int n1 = opt(s, n, p, is_open, c1);
    for (int i = 0; i < n1; i++) {
        int64_t q = c1[i];
        if (q >= n || s[q] != '0') continue;
        int64_t a = area_tail(s, n, q + 1);
        if (a < 0) continue;
        int n2 = opt(s, n, a, is_close, c2);
        for (int j = 0; j < n2; j++) {
            int64_t r = phone_rest(s, n, c2[j]);
            if (r >= 0) return r;
        }
    }
    return -1;
}

/* (?:\+|00[125678]?[-. ]?)? 82 [-. ]? (?:\(0\)[-. ]?)? 0? AREA-without-0 rest */
static int64_t phone_plus82(const uint8_t *s, int64_t n, int64_t p) {
    int64_t starts[6];
    int ns = 0;
    if (p < n && s[p] == '+') starts[ns++] = p + 1;
    if (p + 1 < n && s[p] == '0' && s[p + 1] == '0') {
        int64_t c1[2], c2[2];
        int n1 = opt(s, n, p + 2, is_dial_digit, c1);
        for (int i = 0; i < n1; i++) {
            int n2 = opt(s, n, c1[i], is_dot_sep, c2);
            for (int j = 0; j < n2; j++) starts[ns++] = c2[j];
        }
    }
    starts[ns++] = p;
    for (int g = 0; g < ns; g++) {
        int64_t q = starts[g];
        if (q + 1 >= n || s[q] != '8' || s[q + 1] != '2') continue;
        int64_t c1[2];
        int n1 = opt(s, n, q + 2, is_dot_sep, c1);
        for (int i = 0; i < n1; i++) {
            int64_t trunk[3];
            int nt = 0;
            int64_t r = c1[i];
            if (r + 2 < n && s[r] == '(' && s[r + 1] == '0' && s[r + 2] == ')') {
                int64_t c2[2];
                int n2 = opt(s, n, r + 3, is_dot_sep, c2);
                for (int j = 0; j < n2; j++) trunk[nt++] = c2[j];
            }
            trunk[nt++] = r;
            for (int t = 0; t < nt; t++) {
                int64_t c3[2];
                int n3 = opt(s, n, trunk[t], is_zero, c3);
                for (int z = 0; z < n3; z++) {
                    int64_t a = area_tail(s, n, c3[z]);
                    if (a < 0) continue;
                    int64_t e = phone_rest(s, n, a);
                    if (e >= 0) return e;
                }
            }
        }
    }
    return -1;
}

/* (?:[-. ]?[0-9]{2,4}){1,4}: one group must match; further groups are taken greedily (what follows
 * the pattern, [0-9]*, always matches, so no backtracking into earlier groups is ever needed). */
static int64_t phone_groups(const uint8_t *s, int64_t n, int64_t p) {
    int64_t end = -1;
    for (int g = 0; g < 4; g++) {
        int64_t c[2], next = -1;
        int nc = opt(s, n, p, is_dot_sep, c);
        for (int i = 0; i < nc && next < 0; i++)
            for (int k = 4; k >= 2 && next < 0; k--)
                if (digits_at(s, n, c[i], k)) next = c[i] + k;
        if (next < 0) break;
        end = p = next;
    }
    return end;
}

/* \+(?:[1-79]|8[013-9])[0-9]{0,2}[-. ]?(?:\([0-9]{1,4}\)[-. ]?)?[0-9]{1,4}(?:[-. ]?[0-9]{2,4}){1,4} */
static int64_t phone_other(const uint8_t *s, int64_t n, int64_t p) {
    if (p >= n || s[p] != '+' || p + 1 >= n) return -1;
    uint8_t a = s[p + 1];
    int64_t q;
    if (a >= '1' && a <= '9' && a != '8')
        q = p + 2;
    else if (a == '8' && p + 2 < n && (s[p + 2] == '0' || s[p + 2] == '1' || (s[p + 2] >= '3' && s[p + 2] <= '9')))
        q = p + 3;
    else
        return -1;
    for (int k = 2; k >= 0; k--) {
        if (!digits_at(s, n, q, k)) continue;
        int64_t c1[2];
        int n1 = opt(s, n, q + k, is_dot_sep, c1);
        for (int i = 0; i < n1; i++) {
            int64_t after[9];
            int na = 0;
            int64_t r = c1[i];
            if (r < n && s[r] == '(') {
                for (int m = 4; m >= 1; m--) {
                    if (digits_at(s, n, r + 1, m) && r + 1 + m < n && s[r + 1 + m] == ')') {
                        int64_t c2[2];
                        int n2 = opt(s, n, r + 2 + m, is_dot_sep, c2);
                        for (int j = 0; j < n2; j++) after[na++] = c2[j];
                    }
                }
            }
            after[na++] = r;
            for (int t = 0; t < na; t++) {
                for (int m = 4; m >= 1; m--) {
                    if (!digits_at(s, n, after[t], m)) continue;
                    int64_t e = phone_groups(s, n, after[t] + m);
                    if (e >= 0) return e;
                }
            }
        }
    }
    return -1;
}

static int64_t phone_body(const uint8_t *s, int64_t n, int64_t p) {
    uint8_t c = s[p];
    int64_t e;
    if (c != '(' && c != '0' && c != '+' && c != '8' && c != '1') return -1;
    if ((e = phone_national(s, n, p)) >= 0) return e;
    if ((e = phone_plus82(s, n, p)) >= 0) return e;
    if (c == '1' && p + 9 < n && s[p + 1] == '0' && digits_at(s, n, p + 2, 8)) return p + 10;
    return phone_other(s, n, p);
}

/* The most digits a phone match is read with (a valid Korean form has at most 17; see scan_phones). */
#define PHONE_DIGITS 20

/* National number (with trunk 0) of a raw match's digits, as matchers.types.phone.national.
 * nat holds at least len bytes (len + 1 - 2: a leading 82 is dropped before a 0 is added). */
static int national(const uint8_t *d, int64_t len, uint8_t *nat, int64_t *nat_len) {
    if (len >= 2 && d[0] == '0' && d[1] == '0') {
        if (len >= 4 && d[2] == '8' && d[3] == '2') {
            d += 2;
            len -= 2;
        } else {
            int64_t cut = len < 3 ? len : 3;
            d += cut;
            len -= cut;
        }
        if (!(len >= 2 && d[0] == '8' && d[1] == '2')) return 0;
    }
    int64_t m = 0;
    if (len >= 2 && d[0] == '8' && d[1] == '2') {
        if (len >= 3 && d[2] == '0') {
            memcpy(nat, d + 2, (size_t)(len - 2));
            m = len - 2;
        } else {
            nat[0] = '0';
            memcpy(nat + 1, d + 2, (size_t)(len - 2));
            m = len - 1;
        }
    } else if (len == 10 && d[0] == '1' && d[1] == '0') {
        nat[0] = '0';
        memcpy(nat + 1, d, 10);
        m = 11;
    } else {
        memcpy(nat, d, (size_t)len);
        m = len;
    }
    *nat_len = m;
    if (m < 3 || nat[0] != '0') return 0;
    uint8_t a = nat[1], b = nat[2];
    if (a == '1' && (b == '0' || b == '1' || (b >= '6' && b <= '9'))) return m == 10 || m == 11;
    if (a == '7' && b == '0') return m == 11;
    if (a == '2') return m == 9 || m == 10;
    if (a >= '3' && a <= '6' && b >= '1' && b <= '5') return m == 10 || m == 11;
    if (a == '5' && b == '0') return m == 11 || m == 12;
    return 0;
}

/* A spaced phone's value [p, e) (no boundary byte: the slow path reads it as a run, without one):
 * reported whether or not it is indexed (LK_SPACED), so that the slow path's trigger search can leave
 * out what the kernel has read. */
static void spaced_phone(scan_ctx *c, lk_out *out, int64_t p, int64_t e);

/* ------------------------------------------------------------------ spaced phones (the slow path's loose runs) */

/* What joins the digits of a loose run (matchers/deobfuscate.py _LOOSE: [ .\-/_()\r\n]{0,3}). */
static int is_loose_sep(uint8_t c) {
    return c == ' ' || c == '.' || c == '-' || c == '/' || c == '_' || c == '(' || c == ')' || c == '\r' ||
           c == '\n';
}

/* One separator of a spaced phone at p: "", " ", or one of -./ with an optional space on each side.
 * The position after it; *spaced is set when a space stands beside the -./ (010 - 1234). */
static int64_t spaced_sep(const uint8_t *s, int64_t n, int64_t p, int *spaced) {
    int lead = p < n && s[p] == ' ';
    int64_t q = p + lead;
    if (q < n && (s[q] == '-' || s[q] == '.' || s[q] == '/')) {
        int trail = q + 1 < n && s[q + 1] == ' ';
        if (lead || trail) *spaced = 1;
        return q + 1 + trail;
    }
    return q;
}

/* A Korean number written with spaces around its separators (010 - 1234 - 5678, 02 -345- 6789) at
 * p, as the slow path reads it: the loose digit run of deobfuscate._LOOSE holds exactly this number
 * (no digit within reach of a separator run before or after it, no letter or "+" against it), so
 * deobfuscate.extract reports it as one phone with the class "separators". The end, or -1. Anything
 * less certain is left to the slow path. */
static int64_t phone_spaced(const uint8_t *s, int64_t n, int64_t p) {
    if (p >= n || s[p] != '0') return -1;
    if (p > 0) {
        uint8_t b = s[p - 1];
        if (is_digit(b) || is_alpha(b) || b == '+') return -1;
        for (int64_t k = 1; k <= 4 && p - k >= 0; k++) {
            uint8_t c = s[p - k];
            if (is_digit(c)) return -1;
            if (!is_loose_sep(c)) break;
        }
    }
    int64_t a = area_tail(s, n, p + 1);
    if (a < 0) return -1;
    int spaced = 0;
    int64_t m = spaced_sep(s, n, a, &spaced), m_end = digit_run_end(s, n, m);
    if (m_end - m < 3 || m_end - m > 4) return -1;
    int64_t l = spaced_sep(s, n, m_end, &spaced), e = digit_run_end(s, n, l);
    if (!spaced || e - l != 4) return -1;
    for (int64_t k = 0; k < 4 && e + k < n; k++) {
        uint8_t c = s[e + k];
        if (is_digit(c) || (k == 0 && is_alpha(c))) return -1;
        if (!is_loose_sep(c)) break;
    }
    return e;
}

static void spaced_phone(scan_ctx *c, lk_out *out, int64_t p, int64_t e) {
    uint8_t d[16], nat[20];
    int64_t dl = 0, nl = 0;
    for (int64_t i = p; i < e && dl < 16; i++)
        if (is_digit(c->s[i])) d[dl++] = c->s[i];
    if (dl > 12 || !national(d, dl, nat, &nl)) return;
    uint8_t canon[20] = {'8', '2'};
    memcpy(canon + 2, nat + 1, (size_t)(nl - 1));
    lk_hit hit;
    lk_hmac(&c->keys->inner[LK_PHONE], &c->keys->outer, canon, (size_t)(nl + 1), hit.digest);
    hit.start = p;
    hit.end = e;
    hit.kind = LK_PHONE;
    hit.flags = LK_SPACED;
    flush(c); /* in order, ahead of every later candidate, and without a look-up */
    hit.line = line_at(&c->lines, p); /* after the earlier candidates' lines (the counter only goes forward) */
    push(out, &hit);
}

static void scan_phones(scan_ctx *c, lk_out *out) {
    const uint8_t *s = c->s;
    int64_t n = c->n, prev_end = 0;
    starts it;
    starts_init(&it, s, n, 1);
    for (int64_t j = next_start(&it, 0); j < n; j = next_start(&it, j + 1)) {
        int64_t start;
        if (j == 0)
            start = 0; /* ^ */
        else if (j - 1 >= prev_end)
            start = j - 1; /* [^0-9] */
        else
            continue;
        int64_t e = phone_body(s, n, j);
        if (e < 0) {
            if ((e = phone_spaced(s, n, j)) >= 0) {
                prev_end = e;
                spaced_phone(c, out, j, e);
                j = e - 1;
            }
            continue;
        }
        e = digit_run_end(s, n, e);
        prev_end = e;
        /* canonical: as PhoneRecognizer.fast_canonicals (E.164 digits; another country only with a "+").
         * A Korean number can take 17 digits as written (001 82 0 505 1234 5678); past PHONE_DIGITS
         * digits no form is valid, so the run is skipped as the reference finds nothing there either. */
        uint8_t d[PHONE_DIGITS], nat[PHONE_DIGITS];
        int64_t dl = 0, nl = 0;
        int plus = 0, too_long = 0;
        for (int64_t i = start; i < e; i++) {
            if (is_digit(s[i])) {
                if (dl == PHONE_DIGITS) {
                    too_long = 1;
                    break;
                }
                d[dl++] = s[i];
            } else if (s[i] == '+') {
                plus = 1;
            }
        }
        j = e - 1;
        if (too_long) continue;
        if (national(d, dl, nat, &nl)) {
            uint8_t canon[20] = {'8', '2'};
            memcpy(canon + 2, nat + 1, (size_t)(nl - 1));
            emit(c, out, LK_PHONE, canon, (size_t)(nl + 1), start, e);
        } else if (plus && dl >= 8 && dl <= 15) { /* E.164: at most 15 digits */
            emit(c, out, LK_PHONE, d, (size_t)dl, start, e);
        }
    }
}

/* ------------------------------------------------------------------ e-mail (matchers/types/email.py FAST) */

/* [A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24} at p: the end, or -1. The star takes every
 * label, then gives labels back until one starts with two letters (RE2 backtracking). */
static int64_t email_domain(const uint8_t *s, int64_t n, int64_t p) {
    int64_t r = p;
    while (r < n && is_label(s[r])) r++;
    if (r == p) return -1;
    int64_t best = -1;
    while (r + 1 < n && s[r] == '.' && is_label(s[r + 1])) {
        int64_t label = r + 1, k = 0;
        while (k < 24 && label + k < n && is_alpha(s[label + k])) k++;
        if (k >= 2) best = label + k;
        r = label;
        while (r < n && is_label(s[r])) r++;
    }
    return best;
}

static inline uint8_t lower(uint8_t b) { return is_alpha(b) ? (uint8_t)(b | 0x20) : b; }

/* The alias a matched domain [from, end) equals (case-insensitively), or -1. */
static long find_alias(const lk_aliases *aliases, const uint8_t *s, int64_t from, int64_t end) {
    for (size_t a = 0; aliases && a < aliases->n; a++) {
        if ((int64_t)aliases->alias_len[a] != end - from) continue;
        int64_t i = 0;
        while (i < end - from && lower(s[from + i]) == aliases->alias[a][i]) i++;
        if (i == end - from) return (long)a;
    }
    return -1;
}

static void hash_email(scan_ctx *c, lk_out *out, int64_t start, int64_t value, int64_t at, int64_t end) {
    /* canonical: lower-cased, an aliased domain folded into its target (EmailRecognizer.fast_canonicals) */
    const uint8_t *s = c->s;
    long alias = find_alias(c->aliases, s, at + 1, end);
    int64_t stop = alias >= 0 ? at + 1 : end;
    SHA256_CTX ctx = c->keys->inner[LK_EMAIL];
    uint8_t chunk[256], ih[32];
    for (int64_t i = value; i < stop;) {
        size_t k = 0;
        while (k < sizeof chunk && i < stop) chunk[k++] = lower(s[i++]);
        SHA256_Update(&ctx, chunk, k);
    }
    if (alias >= 0) SHA256_Update(&ctx, c->aliases->target[alias], c->aliases->target_len[alias]);
    SHA256_Final(ih, &ctx);
    lk_hit hit;
    ctx = c->keys->outer;
    SHA256_Update(&ctx, ih, sizeof ih);
    SHA256_Final(hit.digest, &ctx);
    hit.start = start;
    hit.end = end;
    hit.kind = LK_EMAIL;
    hit.flags = 0;
    hit.line = start + (start > 0); /* its line once indexed (decide) */
    enqueue(c, out, &hit);
}

static void scan_emails(scan_ctx *c, lk_out *out) {
    const uint8_t *s = c->s;
    int64_t n = c->n, prev_end = 0;
    const uint8_t *p = s;
    while ((p = memchr(p, '@', (size_t)(s + n - p))) != NULL) {
        int64_t at = p - s, v = at;
        p++;
        while (v > 0 && is_local(s[v - 1])) v--;
        if (v == at) continue;
        int64_t start = v == 0 ? 0 : v - 1; /* ^ or the non-local boundary byte */
        if (start < prev_end || (v == 0 && prev_end > 0)) continue;
        int64_t end = email_domain(s, n, at + 1);
        if (end < 0) continue;
        prev_end = end;
        hash_email(c, out, start, v, at, end);
    }
}

/* ------------------------------------------------------------------ RRN | card (rrn.py, card.py FAST) */

static int is_space(uint8_t c) { return c == ' '; }

/* DATE (?: ?- ?| ?) [0-9]{7}, DATE = [0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]) */
static int64_t rrn_body(const uint8_t *s, int64_t n, int64_t p) {
    if (!digits_at(s, n, p, 6)) return -1;
    uint8_t m0 = s[p + 2], m1 = s[p + 3], d0 = s[p + 4], d1 = s[p + 5];
    if (!((m0 == '0' && m1 != '0') || (m0 == '1' && m1 <= '2'))) return -1;
    if (!((d0 == '0' && d1 != '0') || d0 == '1' || d0 == '2' || (d0 == '3' && d1 <= '1'))) return -1;
    int64_t c1[2], c2[2];
    int n1 = opt(s, n, p + 6, is_space, c1);
    for (int i = 0; i < n1; i++) {
        if (c1[i] >= n || s[c1[i]] != '-') continue;
        int n2 = opt(s, n, c1[i] + 1, is_space, c2);
        for (int j = 0; j < n2; j++)
            if (digits_at(s, n, c2[j], 7)) return c2[j] + 7;
    }
    for (int i = 0; i < n1; i++)
        if (digits_at(s, n, c1[i], 7)) return c1[i] + 7;
    return -1;
}

/* 4-4-4-{1,7} | 4 4 4 {1,7} | 4-6-{4,5} | 4 6 {4,5} | [0-9]{13,19} (each then [0-9]*) */
static int64_t card_body(const uint8_t *s, int64_t n, int64_t p) {
    static const uint8_t seps[2] = {'-', ' '};
    if (!digits_at(s, n, p, 4)) return -1;
    for (int k = 0; k < 2; k++) {
        uint8_t sep = seps[k];
        int64_t q = p + 4;
        int ok = 1;
        for (int g = 0; g < 3 && ok; g++, q += 5)
            ok = q < n && s[q] == sep && digits_at(s, n, q + 1, g < 2 ? 4 : 1);
        if (ok) return q - 3; /* after the first digit of the last group */
    }
    for (int k = 0; k < 2; k++) {
        uint8_t sep = seps[k];
        if (p + 4 < n && s[p + 4] == sep && digits_at(s, n, p + 5, 6) && p + 11 < n && s[p + 11] == sep &&
            digits_at(s, n, p + 12, 4))
            return p + 16;
    }
    int64_t e = digit_run_end(s, n, p);
    return e - p >= 13 ? e : -1;
}

/* 1 <= month <= 12 and 1 <= day <= 31 (matchers.types.rrn.is_date_ok) */
static int rrn_date_ok(const uint8_t *d) {
    int month = (d[2] - '0') * 10 + d[3] - '0', day = (d[4] - '0') * 10 + d[5] - '0';
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

static int luhn_ok(const uint8_t *d, int64_t len) {
    int total = 0;
    for (int64_t i = 0; i < len; i++) {
        int v = d[len - 1 - i] - '0';
        if (i % 2) v = v > 4 ? v * 2 - 9 : v * 2;
        total += v;
    }
    return total % 10 == 0;
}

static void scan_numbers(scan_ctx *c, lk_out *out) {
    const uint8_t *s = c->s;
    int64_t n = c->n, prev_end = 0;
    lk_out cards = {0};
    starts it;
    starts_init(&it, s, n, 0);
    for (int64_t j = next_start(&it, 0); j < n; j = next_start(&it, j + 1)) {
        int64_t start;
        if (j == 0)
            start = 0;
        else if (j - 1 >= prev_end)
            start = j - 1;
        else
            continue;
        int64_t e = rrn_body(s, n, j);
        if (e < 0) e = card_body(s, n, j);
        if (e < 0) continue;
        e = digit_run_end(s, n, e);
        prev_end = e;
        j = e - 1;
        uint8_t d[20];
        int64_t dl = 0;
        for (int64_t i = start; i < e && dl <= 19; i++)
            if (is_digit(s[i])) d[dl++] = s[i];
        if (dl == 13 && rrn_date_ok(d)) emit(c, out, LK_RRN, d, 13, start, e);
        if (dl >= 13 && dl <= 19 && luhn_ok(d, dl)) {
            emit(c, &cards, LK_CARD, d, (size_t)dl, start, e);
        }
    }
    flush(c);
    for (size_t i = 0; i < cards.n; i++) push(out, &cards.hits[i]);
    if (cards.failed) out->failed = 1;
    free(cards.hits);
}

void lk_scan(const uint8_t *buf, size_t n, const lk_keys *keys, const lk_index *index, const lk_aliases *aliases,
             lk_out *out) {
    scan_ctx c = {.s = buf, .n = (int64_t)n, .keys = keys, .index = index, .aliases = aliases, .lines = {buf, 0, 0}};
    scan_phones(&c, out);
    flush(&c);
    c.lines = (line_counter){buf, 0, 0};
    scan_emails(&c, out);
    flush(&c);
    c.lines = (line_counter){buf, 0, 0};
    scan_numbers(&c, out);
}
