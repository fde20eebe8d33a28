/* Weak tokens of records: personal names and birth dates (matchers/types/name.py, birthdate.py).
 *
 * A record's bytes are decoded as Python decodes them (UTF-8, errors="replace": one U+FFFD per
 * maximal invalid subpart), and the recognizers' regular expressions are emulated on the code points,
 * so a token's start is the character offset ``record_tokens`` / ``masked_tokens`` report:
 * - names (``NameRecognizer.record_tokens(text, partial=False)``): with zero-width characters in the
 *   record, the tokens of the text without them first; then syllable-spaced names (``_spaced``), then
 *   Hangul runs of 2-7 syllables (and the names an honorific may hide) merged with romanized names;
 * - masked names (``masked_tokens``): ``MASKED`` matches, forms fl and f;
 * - birth dates (``Recognizer.record_tokens`` with birthdate.SCAN and ``parse_date``).
 * Each token is hashed (HMAC-SHA256 from the pad states, header of its kind) and kept when its digest
 * prefix is in the index (every token with ``everything``). tests/matchers/test_kernel_weak.py
 * proves the tokens equal the Python recognizers'. */
#include <stdlib.h>
#include <string.h>

#include "scan.h"

/* ------------------------------------------------------------------ decoding */

/* Decode s[0, n) into code points as Python's UTF-8 decoder with errors="replace" does. */
size_t lk_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    size_t i = 0, m = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (b < 0x80) {
            cp[m++] = b;
            i++;
            continue;
        }
        int need;
        uint8_t lo = 0x80, hi = 0xBF;
        uint32_t v;
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
            v = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            v = b & 0x0F;
            if (b == 0xE0) lo = 0xA0;
            if (b == 0xED) hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            v = b & 0x07;
            if (b == 0xF0) lo = 0x90;
            if (b == 0xF4) hi = 0x8F;
        } else {
            cp[m++] = 0xFFFD;
            i++;
            continue;
        }
        size_t j = i + 1;
        int k = 0;
        for (; k < need && j < n; k++, j++) {
            uint8_t c = s[j];
            if (k == 0 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
            v = (v << 6) | (c & 0x3F);
        }
        if (k == need) {
            cp[m++] = v;
        } else {
            cp[m++] = 0xFFFD; /* the maximal subpart: the lead byte and the continuation bytes it took */
        }
        i = j;
    }
    return m;
}

static size_t encode(const uint32_t *cp, size_t m, uint8_t *out) {
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t c = cp[i];
        if (c < 0x80) {
            out[k++] = (uint8_t)c;
        } else if (c < 0x800) {
            out[k++] = (uint8_t)(0xC0 | (c >> 6));
            out[k++] = (uint8_t)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out[k++] = (uint8_t)(0xE0 | (c >> 12));
            out[k++] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
            out[k++] = (uint8_t)(0x80 | (c & 0x3F));
        } else {
            out[k++] = (uint8_t)(0xF0 | (c >> 18));
            out[k++] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
            out[k++] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
            out[k++] = (uint8_t)(0x80 | (c & 0x3F));
        }
    }
    return k;
}

/* ------------------------------------------------------------------ output */

typedef struct {
    const lk_weak_keys *keys;
    const lk_index *index;
    lk_weak_out *out;
    int64_t record;
    uint8_t scratch[4 * 64];
} wctx;

static void wpush(wctx *c, int kind, int64_t start, const uint32_t *cp, size_t m) {
    lk_weak_out *o = c->out;
    if (o->failed) return;
    uint8_t *canon = c->scratch;
    uint8_t *heap = NULL;
    if (m > sizeof c->scratch / 4) {
        heap = malloc(4 * m);
        if (!heap) {
            o->failed = 1;
            return;
        }
        canon = heap;
    }
    size_t len = encode(cp, m, canon);
    lk_weak_token t;
    lk_hmac(&c->keys->inner[kind], &c->keys->outer, canon, len, t.digest);
    if (!lk_present(c->index, t.digest)) {
        free(heap);
        return;
    }
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        lk_weak_token *grown = realloc(o->tokens, cap * sizeof *grown);
        if (!grown) {
            o->failed = 1;
            free(heap);
            return;
        }
        o->tokens = grown;
        o->cap = cap;
    }
    if (o->canon_n + len > o->canon_cap) {
        size_t cap = o->canon_cap ? o->canon_cap : 4096;
        while (cap < o->canon_n + len) cap *= 2;
        uint8_t *grown = realloc(o->canon, cap);
        if (!grown) {
            o->failed = 1;
            free(heap);
            return;
        }
        o->canon = grown;
        o->canon_cap = cap;
    }
    memcpy(o->canon + o->canon_n, canon, len);
    t.record = c->record;
    t.start = start;
    t.canon_off = (int64_t)o->canon_n;
    t.canon_len = (int32_t)len;
    t.kind = kind;
    o->canon_n += len;
    o->tokens[o->n++] = t;
    free(heap);
}

/* ------------------------------------------------------------------ names (name.py) */

static inline int is_syl(uint32_t c) { return c >= 0xAC00 && c <= 0xD7A3; }             /* [가-힣] */
static inline int is_letter(uint32_t c) { return c < 128 && (uint8_t)((c | 0x20) - 'a') < 26; } /* [A-Za-z] */
static inline int is_digit_cp(uint32_t c) { return c >= '0' && c <= '9'; }                 /* [0-9] */
static inline int is_zero_width(uint32_t c) {                                           /* _ZERO_WIDTH */
    return (c >= 0x200B && c <= 0x200D) || c == 0x2060 || c == 0xFEFF || c == 0x00AD;
}
/* MASKED's mask: [*＊xX●○◯] | ㅇ | O */
static inline int is_mask(uint32_t c) {
    return c == '*' || c == 0xFF0A || c == 'x' || c == 'X' || c == 0x25CF || c == 0x25CB || c == 0x25EF ||
           c == 0x3147 || c == 'O';
}

typedef struct {
    int64_t s, e;
} span;

/* Maximal runs of Hangul syllables (_RUN), into *runs (grown as needed); their number, or -1. */
static int64_t hangul_runs(const uint32_t *t, int64_t m, span **runs, int64_t *cap) {
    int64_t k = 0;
    for (int64_t i = 0; i < m;) {
        if (!is_syl(t[i])) {
            i++;
            continue;
        }
        int64_t s = i;
        while (i < m && is_syl(t[i])) i++;
        if (k == *cap) {
            int64_t grown_cap = *cap ? *cap * 2 : 64;
            span *grown = realloc(*runs, (size_t)grown_cap * sizeof *grown);
            if (!grown) return -1;
            *runs = grown;
            *cap = grown_cap;
        }
        (*runs)[k].s = s;
        (*runs)[k].e = i;
        k++;
    }
    return k;
}

/* name._spaced: syllables spaced one by one (2-5 of them), or a run of 1-2, a space and a run of 1-3. */
static void spaced_names(wctx *c, const uint32_t *t, const span *runs, int64_t n) {
    uint32_t joined[8];
    int64_t i = 0;
    while (i < n) {
        int64_t s = runs[i].s, e = runs[i].e, j = i;
        if (e - s == 1) {
            while (j + 1 < n && j - i < 4) {
                int64_t end = runs[j].e, ns = runs[j + 1].s, ne = runs[j + 1].e;
                if (ne - ns != 1 || ns != end + 1 || t[end] != ' ') break;
                j++;
            }
        }
        if (j > i) {
            size_t k = 0;
            for (int64_t r = i; r <= j; r++) joined[k++] = t[runs[r].s];
            wpush(c, LW_NAME, s, joined, k);
            i = j + 1;
            continue;
        }
        if (e - s <= 2 && i + 1 < n) {
            int64_t ns = runs[i + 1].s, ne = runs[i + 1].e;
            if (ns == e + 1 && t[e] == ' ' && ne - ns <= 3) {
                size_t k = 0;
                for (int64_t p = s; p < e; p++) joined[k++] = t[p];
                for (int64_t p = ns; p < ne; p++) joined[k++] = t[p];
                wpush(c, LW_NAME, s, joined, k);
                i += 2;
                continue;
            }
        }
        i++;
    }
}

/* The next romanized name (name._LATIN_TOKEN: 2-3 words of 2+ ASCII letters, one space apart, no
 * letter before or after) at or after *from: its span, or 0. */
static int next_latin(const uint32_t *t, int64_t m, int64_t from, int64_t *start, int64_t *end) {
    int64_t i = from;
    while (i < m) {
        if (!is_letter(t[i]) || (i > 0 && is_letter(t[i - 1]))) {
            i++;
            continue;
        }
        int64_t w = i;
        while (w < m && is_letter(t[w])) w++;
        if (w - i >= 2) {
            int64_t e = w;
            int words = 1;
            while (words < 3 && e + 1 < m && t[e] == ' ' && is_letter(t[e + 1])) {
                int64_t r = e + 1;
                while (r < m && is_letter(t[r])) r++;
                if (r - (e + 1) < 2) break;
                e = r;
                words++;
            }
            if (words >= 2) {
                *start = i;
                *end = e;
                return 1;
            }
        }
        i = w;
    }
    return 0;
}

static void push_latin(wctx *c, const uint32_t *t, int64_t s, int64_t e) {
    uint32_t low[64] = {0};
    size_t len = (size_t)(e - s);
    uint32_t *buf = len <= 64 ? low : calloc(len, sizeof *buf);
    if (!buf) {
        c->out->failed = 1;
        return;
    }
    for (size_t k = 0; k < len; k++) buf[k] = t[s + (int64_t)k] | (t[s + (int64_t)k] == ' ' ? 0 : 0x20); /* ASCII case-fold */
    wpush(c, LW_NAME, s, buf, len);
    if (buf != low) free(buf);
}

/* Honorifics (name.SUFFIXES, in order): 님, 씨, 고객님, 고객. */
static const uint32_t SUFFIX[4][3] = {{0xB2D8}, {0xC528}, {0xACE0, 0xAC1D, 0xB2D8}, {0xACE0, 0xAC1D}};
static const int SUFFIX_LEN[4] = {1, 1, 3, 2};

/* name.NameRecognizer._tokens(text, partial=False): Hangul runs of 2-7 syllables (and the names an
 * honorific may hide) merged by position with romanized names. */
static void name_tokens(wctx *c, const uint32_t *t, int64_t m, const span *runs, int64_t n) {
    int64_t ls = 0, le = 0, from = 0;
    int have = next_latin(t, m, from, &ls, &le);
    for (int64_t r = 0; r < n; r++) {
        int64_t s = runs[r].s, e = runs[r].e, len = e - s;
        if (len < 2 || len > 7) continue;
        while (have && ls < s) {
            push_latin(c, t, ls, le);
            have = next_latin(t, m, le, &ls, &le);
        }
        wpush(c, LW_NAME, s, t + s, (size_t)len);
        for (int k = 0; k < 4; k++) {
            int sl = SUFFIX_LEN[k];
            if (len - sl < 2) continue;
            if (memcmp(t + e - sl, SUFFIX[k], (size_t)sl * sizeof *t) == 0) wpush(c, LW_NAME, s, t + s, (size_t)(len - sl));
        }
    }
    while (have) {
        push_latin(c, t, ls, le);
        have = next_latin(t, m, le, &ls, &le);
    }
}

/* name.MASKED matches, each read by NameRecognizer.masked: (form, canonical). */
static void masked_names(wctx *c, const uint32_t *t, int64_t m) {
    uint32_t canon[8];
    int64_t i = 0;
    while (i < m) {
        if (!is_syl(t[i]) || (i > 0 && is_syl(t[i - 1]))) {
            i++;
            continue;
        }
        int64_t run = 0;
        while (run < 5 && i + 1 + run < m && is_mask(t[i + 1 + run])) run++;
        if (run == 0) {
            i++;
            continue;
        }
        int64_t k = run < 4 ? run : 4, p = i + 1 + k, end = -1;
        if (run > 4) {
            end = p; /* a fifth mask after the four */
        } else if (p < m && is_syl(t[p])) {
            if (p + 1 >= m || !is_syl(t[p + 1]))
                end = p + 1;
            else if (k > 1)
                end = p - 1; /* one mask fewer: a mask, not a syllable, follows */
        } else {
            end = p;
        }
        if (end < 0) {
            i++;
            continue;
        }
        int64_t len = end - i;
        canon[0] = t[i];
        if (is_syl(t[end - 1]) && len >= 3) {
            for (int64_t q = 1; q < len - 1; q++) canon[q] = '*';
            canon[len - 1] = t[end - 1];
            wpush(c, LW_NAME_FL, i, canon, (size_t)len);
        } else {
            for (int64_t q = 1; q < len; q++) canon[q] = '*';
            wpush(c, LW_NAME_F, i, canon, (size_t)len);
        }
        i = end;
    }
}

/* ------------------------------------------------------------------ birth dates (birthdate.py) */

#define NYEON 0xB144 /* 년 */
#define WOL 0xC6D4   /* 월 */
#define IL 0xC77C    /* 일 */

static inline uint32_t at(const uint32_t *t, int64_t m, int64_t p) { return p < m ? t[p] : 0; }

/* Separator choices after p: [-./], or the word (년/월) with an optional space (taken first). */
static int sep_opts(const uint32_t *t, int64_t m, int64_t p, uint32_t word, int64_t out[2]) {
    uint32_t ch = at(t, m, p);
    if (ch == '-' || ch == '.' || ch == '/') {
        out[0] = p + 1;
        return 1;
    }
    if (ch == word) {
        if (at(t, m, p + 1) == ' ') {
            out[0] = p + 2;
            out[1] = p + 1;
            return 2;
        }
        out[0] = p + 1;
        return 1;
    }
    return 0;
}

/* [lo-hi]?[0-9] choices at p (two digits first). */
static int num_opts(const uint32_t *t, int64_t m, int64_t p, uint32_t hi, int64_t out[2]) {
    int k = 0;
    uint32_t a = at(t, m, p);
    if (a >= '0' && a <= hi && is_digit_cp(at(t, m, p + 1))) out[k++] = p + 2;
    if (is_digit_cp(a)) out[k++] = p + 1;
    return k;
}

static int digit_at(const uint32_t *t, int64_t m, int64_t p) { return is_digit_cp(at(t, m, p)); }
static int num(const uint32_t *t, int64_t s, int64_t e) {
    int v = 0;
    for (int64_t p = s; p < e; p++) v = v * 10 + (int)(t[p] - '0');
    return v;
}

/* birthdate.SCAN at i (lookbehind checked by the caller): the end, or -1; *y, *mo, *d as parse_date reads them. */
static int64_t date_at(const uint32_t *t, int64_t m, int64_t i, int *y, int *mo, int *d) {
    int century = at(t, m, i) == '1' ? at(t, m, i + 1) == '9' : at(t, m, i) == '2' && at(t, m, i + 1) == '0';
    if (century && digit_at(t, m, i + 2) && digit_at(t, m, i + 3)) {
        int64_t s1[2], mo_[2], s2[2], da[2];
        int n1 = sep_opts(t, m, i + 4, NYEON, s1);
        for (int a = 0; a < n1; a++) {
            int nm = num_opts(t, m, s1[a], '1', mo_);
            for (int b = 0; b < nm; b++) {
                int n2 = sep_opts(t, m, mo_[b], WOL, s2);
                for (int cc = 0; cc < n2; cc++) {
                    int nd = num_opts(t, m, s2[cc], '3', da);
                    for (int dd = 0; dd < nd; dd++) {
                        int64_t v = da[dd], ends[2];
                        int ne = 0;
                        if (at(t, m, v) == IL) ends[ne++] = v + 1;
                        ends[ne++] = v;
                        for (int e = 0; e < ne; e++) {
                            if (digit_at(t, m, ends[e])) continue;
                            /* _PARTS: the year, then the digits after each separator */
                            *y = num(t, i, i + 4);
                            *mo = num(t, s1[a], mo_[b]);
                            *d = num(t, s2[cc], da[dd]);
                            return ends[e];
                        }
                    }
                }
            }
        }
        int64_t p = i + 4;
        uint32_t m0 = at(t, m, p), d0 = at(t, m, p + 2);
        if ((m0 == '0' || m0 == '1') && digit_at(t, m, p + 1) && d0 >= '0' && d0 <= '3' && digit_at(t, m, p + 3) &&
            !digit_at(t, m, p + 4)) {
            *y = num(t, i, i + 4);
            *mo = num(t, p, p + 2);
            *d = num(t, p + 2, p + 4);
            return p + 4;
        }
    }
    /* [0-9]{2}[-./][01][0-9][-./][0-3][0-9] */
    uint32_t s1 = at(t, m, i + 2), m0 = at(t, m, i + 3), s2 = at(t, m, i + 5), d0 = at(t, m, i + 6);
    if (digit_at(t, m, i) && digit_at(t, m, i + 1) && (s1 == '-' || s1 == '.' || s1 == '/') && (m0 == '0' || m0 == '1') &&
        digit_at(t, m, i + 4) && (s2 == '-' || s2 == '.' || s2 == '/') && d0 >= '0' && d0 <= '3' &&
        digit_at(t, m, i + 7) && !digit_at(t, m, i + 8)) {
        int yy = num(t, i, i + 2);
        *y = yy + (yy < 30 ? 2000 : 1900);
        *mo = num(t, i + 3, i + 5);
        *d = num(t, i + 6, i + 8);
        return i + 8;
    }
    return -1;
}

static int date_ok(int y, int mo, int d) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2100 || mo < 1 || mo > 12 || d < 1) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[mo - 1] + (mo == 2 && leap);
}

static void birth_dates(wctx *c, const uint32_t *t, int64_t m) {
    for (int64_t i = 0; i < m; i++) {
        if (!is_digit_cp(t[i]) || (i > 0 && is_digit_cp(t[i - 1]))) continue;
        int y = 0, mo = 0, d = 0;
        int64_t e = date_at(t, m, i, &y, &mo, &d);
        if (e < 0) continue;
        if (date_ok(y, mo, d)) {
            uint32_t canon[8];
            int v[8] = {y / 1000, y / 100 % 10, y / 10 % 10, y % 10, mo / 10, mo % 10, d / 10, d % 10};
            for (int k = 0; k < 8; k++) canon[k] = (uint32_t)('0' + v[k]);
            wpush(c, LW_BIRTH, i, canon, 8);
        }
        i = e - 1;
    }
}

/* ------------------------------------------------------------------ records */

typedef struct {
    uint32_t *cp, *stripped;
    size_t cap;
    span *runs;
    int64_t runs_cap;
} scratch;

static void read_record(wctx *c, scratch *w, const uint8_t *s, size_t n, int what) {
    if (n > w->cap) {
        uint32_t *cp = realloc(w->cp, n * sizeof *cp), *st = cp ? realloc(w->stripped, n * sizeof *st) : NULL;
        if (cp) w->cp = cp;
        if (st) w->stripped = st;
        if (!cp || !st) {
            c->out->failed = 1;
            return;
        }
        w->cap = n;
    }
    int64_t m = (int64_t)lk_decode(s, n, w->cp);
    const uint32_t *t = w->cp;
    if (what & LW_READ_NAMES) {
        int64_t z = 0, k = 0;
        for (int64_t i = 0; i < m; i++)
            if (is_zero_width(t[i])) z = 1;
        if (z) { /* zero-width characters inside a name: the text without them first (offsets shift) */
            for (int64_t i = 0; i < m; i++)
                if (!is_zero_width(t[i])) w->stripped[k++] = t[i];
            int64_t nr = hangul_runs(w->stripped, k, &w->runs, &w->runs_cap);
            if (nr < 0) {
                c->out->failed = 1;
                return;
            }
            name_tokens(c, w->stripped, k, w->runs, nr);
        }
        int64_t nr = hangul_runs(t, m, &w->runs, &w->runs_cap);
        if (nr < 0) {
            c->out->failed = 1;
            return;
        }
        spaced_names(c, t, w->runs, nr);
        name_tokens(c, t, m, w->runs, nr);
    }
    if (what & LW_READ_MASKED) masked_names(c, t, m);
    if (what & LW_READ_BIRTH) birth_dates(c, t, m);
}

void lk_weak_scan(const uint8_t *buf, size_t n, const int64_t *lines, size_t nlines, int what, const lk_weak_keys *keys,
                  const lk_index *index, lk_weak_out *out) {
    wctx c = {.keys = keys, .index = index, .out = out, .record = 0};
    scratch w = {0};
    if (!lines) {
        read_record(&c, &w, buf, n, what);
    } else {
        const uint8_t *p = buf, *end = buf + n; /* p: the start of line ``line`` */
        int64_t line = 0;
        for (size_t r = 0; r < nlines && !out->failed; r++) {
            int64_t want = lines[r];
            while (line < want) {
                const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
                if (!nl) break;
                p = nl + 1;
                line++;
            }
            if (line != want) continue; /* past the block's last line, or not increasing: no text */
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            const uint8_t *stop = nl ? nl : end;
            while (stop > p && stop[-1] == '\r') stop--; /* the line's text: trailing carriage returns off */
            c.record = (int64_t)r;
            read_record(&c, &w, p, (size_t)(stop - p), what);
        }
    }
    free(w.cp);
    free(w.stripped);
    free(w.runs);
}
