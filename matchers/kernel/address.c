/* Korean postal addresses (matchers/types/address.py): the matches of ``FAST`` (RE2, leftmost-first,
 * over bytes) and, for the ones already in canonical form (``_FIXPOINT``, as written or with commas
 * and spacing folded: what ``canonical_address`` returns without its parser), the canonical bytes,
 * their digest and the index look-up. The others are reported for Python's parser
 * (``LK_ADDR_PARSE``). tests/matchers/test_kernel_address.py proves the spans equal RE2's and the
 * canonical forms canonical_address's. */
#include <stdlib.h>
#include <string.h>

#include "scan.h"

/* address._STARTS in pattern order (longest first, then as PROVINCES lists them). */
static const char *const STARTS[] = {
    "세종특별자치시", "강원특별자치도", "전북특별자치도", "제주특별자치도", "서울특별시", "부산광역시", "대구광역시",
    "인천광역시", "광주광역시", "대전광역시", "울산광역시", "충청북도", "충청남도", "전라북도", "전라남도",
    "경상북도", "경상남도", "서울시", "부산시", "대구시", "인천시", "대전시", "울산시", "세종시", "경기도",
    "강원도", "제주도", "서울", "부산", "대구", "인천", "대전", "울산", "세종", "경기", "강원", "충북", "충남",
    "전북", "전남", "경북", "경남", "제주", "광주",
};
#define NSTARTS (sizeof STARTS / sizeof *STARTS)

/* The canonical provinces (PROVINCES' values). */
static const char *const CANON[] = {
    "세종특별자치시", "전북특별자치도", "제주특별자치도", "강원특별자치도", "부산광역시", "서울특별시",
    "대전광역시", "인천광역시", "울산광역시", "광주광역시", "대구광역시", "전라남도", "충청북도", "충청남도",
    "경상북도", "경상남도", "경기도",
};
#define NCANON (sizeof CANON / sizeof *CANON)

#define SYL(p, a, b, c) ((p)[0] == (a) && (p)[1] == (b) && (p)[2] == (c))

static inline int is_digit(uint8_t c) { return (uint8_t)(c - '0') < 10; }

/* _H: one Hangul-syllable-shaped UTF-8 sequence (U+AC00..U+D7BF) at p, or 0. */
static inline int h_at(const uint8_t *s, int64_t n, int64_t p) {
    if (p + 3 > n) return 0;
    uint8_t a = s[p], b = s[p + 1], c = s[p + 2];
    if (c < 0x80 || c > 0xBF) return 0;
    if (a == 0xEA) return b >= 0xB0 && b <= 0xBF;
    if (a == 0xEB || a == 0xEC) return b >= 0x80 && b <= 0xBF;
    if (a == 0xED) return b >= 0x80 && b <= 0x9E;
    return 0;
}

static inline int lit(const uint8_t *s, int64_t n, int64_t p, const char *w, int64_t len) {
    return p + len <= n && memcmp(s + p, w, (size_t)len) == 0;
}

static int64_t digits_end(const uint8_t *s, int64_t n, int64_t p) {
    while (p < n && is_digit(s[p])) p++;
    return p;
}

/* After the road's suffix: " *(?:산 ?|지하 ?)?[0-9]+(?:-[0-9]+)?(?:[, ]+[1-9][0-9]{0,3}-[0-9]{3,4})?
 * (?:[, ]*(?:제 ?)?[0-9]+ *(?:동|층|호))*": the end, or -1. */
static int64_t after_branch(const uint8_t *s, int64_t n, int64_t q) {
    while (q < n && s[q] == ' ') q++;
    int64_t x = -1;
    if (lit(s, n, q, "산", 3)) {
        if (q + 3 < n && s[q + 3] == ' ' && q + 4 < n && is_digit(s[q + 4])) x = q + 4;
        else if (q + 3 < n && is_digit(s[q + 3])) x = q + 3;
    } else if (lit(s, n, q, "지하", 6)) {
        if (q + 6 < n && s[q + 6] == ' ' && q + 7 < n && is_digit(s[q + 7])) x = q + 7;
        else if (q + 6 < n && is_digit(s[q + 6])) x = q + 6;
    } else if (q < n && is_digit(s[q])) {
        x = q;
    }
    if (x < 0) return -1;
    int64_t e = digits_end(s, n, x);
    if (e + 1 < n && s[e] == '-' && is_digit(s[e + 1])) e = digits_end(s, n, e + 1);
    /* the dong-ho shorthand: [, ]+[1-9][0-9]{0,3}-[0-9]{3,4} */
    int64_t g = e;
    while (g < n && (s[g] == ',' || s[g] == ' ')) g++;
    if (g > e && g < n && s[g] >= '1' && s[g] <= '9') {
        int64_t h = digits_end(s, n, g);
        if (h - g <= 4 && h < n && s[h] == '-') {
            int64_t k = digits_end(s, n, h + 1);
            if (k - (h + 1) >= 4)
                e = h + 5;
            else if (k - (h + 1) == 3)
                e = h + 4;
        }
    }
    /* units: (?:[, ]*(?:제 ?)?[0-9]+ *(?:동|층|호))* */
    for (;;) {
        g = e;
        while (g < n && (s[g] == ',' || s[g] == ' ')) g++;
        int64_t d = -1;
        if (lit(s, n, g, "제", 3)) {
            if (g + 4 < n && s[g + 3] == ' ' && is_digit(s[g + 4])) d = g + 4;
            else if (g + 3 < n && is_digit(s[g + 3])) d = g + 3;
        } else if (g < n && is_digit(s[g])) {
            d = g;
        }
        if (d < 0) break;
        int64_t u = digits_end(s, n, d);
        while (u < n && s[u] == ' ') u++;
        if (lit(s, n, u, "동", 3) || lit(s, n, u, "층", 3) || lit(s, n, u, "호", 3))
            e = u + 3;
        else
            break;
    }
    return e;
}

/* At a road or lot suffix (로|길|동|리|가) at p, the rest of FAST: the end, or -1. */
static int64_t suffix_rest(const uint8_t *s, int64_t n, int64_t p) {
    if (!(lit(s, n, p, "로", 3) || lit(s, n, p, "길", 3) || lit(s, n, p, "동", 3) || lit(s, n, p, "리", 3) ||
          lit(s, n, p, "가", 3)))
        return -1;
    int64_t q = p + 3, d = digits_end(s, n, q);
    if (d > q) { /* a branch road: [0-9]+번?길 */
        int64_t b = lit(s, n, d, "번길", 6) ? d + 6 : lit(s, n, d, "길", 3) ? d + 3 : -1;
        if (b >= 0) {
            int64_t e = after_branch(s, n, b);
            if (e >= 0) return e;
        }
    }
    return after_branch(s, n, q);
}

/* The first syllables of STARTS (each province starts with one of them). */
static const char FIRSTS[] = "세강전제서부대인광울충경";

/* FAST at i: the end of the match, or -1. */
static int64_t address_at(const uint8_t *s, int64_t n, int64_t i) {
    if (i + 3 > n) return -1;
    size_t j = 0;
    while (j < sizeof FIRSTS - 1 && memcmp(s + i, FIRSTS + j, 3) != 0) j += 3;
    if (j == sizeof FIRSTS - 1) return -1; /* no province starts with this syllable */
    for (size_t a = 0; a < NSTARTS; a++) {
        int64_t len = (int64_t)strlen(STARTS[a]);
        if (!lit(s, n, i, STARTS[a], len)) continue;
        int64_t p = i + len;
        for (int k = 0; k < 48; k++) { /* (?:_H|[0-9 ]){1,48}?: the fewest units first */
            if (h_at(s, n, p))
                p += 3;
            else if (p < n && (is_digit(s[p]) || s[p] == ' '))
                p += 1;
            else
                break;
            int64_t e = suffix_rest(s, n, p);
            if (e >= 0) return e;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------ the canonical form (_FIXPOINT) */

/* The code point of a UTF-8 Hangul syllable [가-힣] at p (3 bytes), or 0. */
static uint32_t syl_at(const uint8_t *s, int64_t n, int64_t p) {
    if (p + 3 > n || s[p] < 0xEA || s[p] > 0xED) return 0;
    if ((s[p + 1] & 0xC0) != 0x80 || (s[p + 2] & 0xC0) != 0x80) return 0;
    uint32_t c = ((uint32_t)(s[p] & 0x0F) << 12) | ((uint32_t)(s[p + 1] & 0x3F) << 6) | (s[p + 2] & 0x3F);
    return c >= 0xAC00 && c <= 0xD7A3 ? c : 0;
}

#define C_SI 0xC2DC  /* 시 */
#define C_GUN 0xAD70 /* 군 */
#define C_GU 0xAD6C  /* 구 */
#define C_RO 0xB85C  /* 로 */
#define C_GIL 0xAE38 /* 길 */
#define C_DONG 0xB3D9 /* 동 */
#define C_CHEUNG 0xCE35 /* 층 */
#define C_HO 0xD638  /* 호 */

/* [1-9][0-9]{0,3} at [p, e): the end of it within e, or -1. */
static int64_t small_number(const uint8_t *s, int64_t p, int64_t e) {
    if (p >= e || s[p] < '1' || s[p] > '9') return -1;
    int64_t q = p + 1;
    while (q < e && is_digit(s[q]) && q - p < 4) q++;
    return q;
}

/* Whether t[0, n) fullmatches address._FIXPOINT (tokens one space apart: province, 시/군/구 ending
 * in 구 or 군, road, building number, units). */
static int fixpoint(const uint8_t *t, int64_t n) {
    int64_t p = 0, tok = 0, regions = 0;
    int last_region = 0, state = 0; /* 0 province, 1 regions, 2 number, 3 units */
    while (p <= n) {
        int64_t e = p;
        while (e < n && t[e] != ' ') e++;
        if (e == p) return 0; /* an empty token: leading, trailing or double space */
        if (tok == 0) {
            int ok = 0;
            for (size_t k = 0; k < NCANON && !ok; k++)
                ok = (int64_t)strlen(CANON[k]) == e - p && memcmp(t + p, CANON[k], (size_t)(e - p)) == 0;
            if (!ok) return 0;
            state = 1;
        } else if (state == 1) {
            /* a 시/군/구: [가-힣]+ then 시|군|구; else the road: [가-힣](?:[가-힣]|[0-9]{1,4}(?![0-9]))*(?:로|길) */
            int all_syl = 1;
            uint32_t first = syl_at(t, e, p), lastc = 0;
            int64_t q = p, chars = 0;
            int road_ok = first != 0;
            while (q < e) {
                uint32_t c = syl_at(t, e, q);
                if (c) {
                    lastc = c;
                    q += 3;
                } else if (is_digit(t[q])) {
                    int64_t r = q;
                    while (r < e && is_digit(t[r])) r++;
                    if (r - q > 4) road_ok = 0;
                    all_syl = 0;
                    lastc = 0;
                    q = r;
                } else {
                    return 0;
                }
                chars++;
            }
            if (all_syl && chars >= 2 && (lastc == C_SI || lastc == C_GUN || lastc == C_GU)) {
                regions++;
                last_region = lastc == C_GU || lastc == C_GUN;
            } else if (road_ok && chars >= 2 && (lastc == C_RO || lastc == C_GIL) && regions > 0 && last_region) {
                state = 2;
            } else {
                return 0;
            }
        } else if (state == 2) {
            int64_t q = small_number(t, p, e);
            if (q >= 0 && q < e && t[q] == '-') q = small_number(t, q + 1, e);
            if (q != e) return 0;
            state = 3;
        } else {
            int64_t q = small_number(t, p, e);
            if (q < 0 || q + 3 != e) return 0;
            uint32_t c = syl_at(t, e, q);
            if (c != C_DONG && c != C_CHEUNG && c != C_HO) return 0;
        }
        tok++;
        p = e + 1;
    }
    return state >= 3;
}

/* ------------------------------------------------------------------ the scan */

static int grow(lk_out *out) {
    if (out->n < out->cap) return 1;
    size_t cap = out->cap ? out->cap * 2 : 256;
    lk_hit *grown = realloc(out->hits, cap * sizeof *grown);
    if (!grown) {
        out->failed = 1;
        return 0;
    }
    out->hits = grown;
    out->cap = cap;
    return 1;
}

void lk_address_scan(const uint8_t *s, size_t size, const SHA256_CTX *inner, const SHA256_CTX *outer,
                     const lk_index *index, lk_out *out) {
    int64_t n = (int64_t)size, line = 0, counted = 0;
    uint8_t small[512];
    for (int64_t i = 0; i < n && !out->failed; i++) {
        uint8_t b = s[i];
        if (b < 0xEA || b > 0xEC) continue; /* every province starts with one of these lead bytes */
        int64_t e = address_at(s, n, i);
        if (e < 0) continue;
        const uint8_t *p = s + counted;
        while ((p = memchr(p, '\n', (size_t)(s + i - p))) != NULL) {
            line++;
            p++;
        }
        counted = i;
        lk_hit hit = {.start = i, .end = e, .line = line, .kind = 0, .flags = LK_ADDR_PARSE};
        memset(hit.digest, 0, sizeof hit.digest);
        const uint8_t *canon = NULL;
        int64_t len = e - i;
        uint8_t *heap = NULL;
        if (fixpoint(s + i, len)) {
            canon = s + i;
            hit.flags = 0;
        } else {
            uint8_t *buf = len <= (int64_t)sizeof small ? small : (heap = malloc((size_t)len));
            if (!buf) {
                out->failed = 1;
                break;
            }
            int64_t k = 0; /* " ".join(raw.replace(",", " ").split()): the raw holds no other whitespace */
            for (int64_t q = i; q < e; q++) {
                if (s[q] == ' ' || s[q] == ',') {
                    if (k > 0 && buf[k - 1] != ' ') buf[k++] = ' ';
                } else {
                    buf[k++] = s[q];
                }
            }
            if (k > 0 && buf[k - 1] == ' ') k--;
            if (fixpoint(buf, k)) {
                canon = buf;
                len = k;
                hit.flags = LK_ADDR_SPACED;
            }
        }
        if (canon) lk_hmac(inner, outer, canon, (size_t)len, hit.digest);
        free(heap);
        if (!canon || lk_present(index, hit.digest)) {
            if (!grow(out)) break;
            out->hits[out->n++] = hit;
        }
        i = e - 1;
    }
}
