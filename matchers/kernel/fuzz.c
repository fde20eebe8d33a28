/* libFuzzer target for the scan kernel (make fuzz: clang, ASan + UBSan). Scans the input three times:
 * reporting every candidate, against a fixed small index, and against an index built from some of the
 * candidates' own prefixes (6-byte keys under a 16-bit radix table, 8-byte keys under a small one or
 * none), and checks what comes back: the look-up must keep exactly the candidates whose prefix it holds.
 * The weak-token reader (weak.c: the whole input as one record, and its lines) and the address pass
 * (address.c) run the same way: every candidate, then an index of some of them. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

static lk_keys keys;
static int ready;

static void check(const uint8_t *data, size_t size, const lk_out *out) {
    int64_t prev[LK_KINDS] = {-1, -1, -1, -1};
    for (size_t i = 0; i < out->n; i++) {
        const lk_hit *h = &out->hits[i];
        assert(h->kind >= 0 && h->kind < LK_KINDS);
        assert(0 <= h->start && h->start < h->end && (size_t)h->end <= size);
        assert(h->start >= prev[h->kind]); /* non-overlapping, in order, per kind */
        prev[h->kind] = h->end;
        int64_t lines = 0;
        for (int64_t p = 0; p < h->start + (h->start > 0); p++) lines += data[p] == '\n';
        assert(lines == h->line);
        assert(h->flags == 0 || h->flags == LK_SPACED);
        if (h->flags == LK_SPACED) { /* a spaced phone: its value, 9-12 digits with a spaced separator */
            int digits = 0, spaced = 0;
            assert(h->kind == LK_PHONE && data[h->start] == '0' && h->end - h->start <= 18);
            for (int64_t p = h->start; p < h->end; p++) {
                digits += data[p] >= '0' && data[p] <= '9';
                spaced |= data[p] == ' ';
                assert(data[p] != '\n');
            }
            assert(digits >= 9 && digits <= 12 && spaced);
        }
    }
}

static uint64_t prefix_of(const uint8_t d[32]) {
    uint64_t q = 0;
    for (int i = 0; i < 8; i++) q = (q << 8) | d[i];
    return q;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A tier of the sorted prefixes p[0..n) as matchers/index.py lays it out (keybuf: 8 bytes per key,
 * buckets: 2^bits + 1 entries). */
static lk_tier build_tier(const uint64_t *p, size_t n, int bits, uint8_t *keybuf, uint32_t *buckets) {
    int width = LK_KEY_WIDTH(bits);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = width == 6 ? (p[i] << bits) >> 16 : p[i];
        for (int b = 0; b < width; b++) keybuf[i * (size_t)width + (size_t)b] = (uint8_t)(v >> (8 * b));
    }
    if (bits) {
        size_t slots = (size_t)1 << bits, i = 0;
        for (size_t s = 0; s <= slots; s++) {
            while (i < n && (p[i] >> (64 - bits)) < s) i++;
            buckets[s] = (uint32_t)i;
        }
    }
    lk_tier t = {keybuf, n, bits ? buckets : NULL, bits, width};
    return t;
}

static int holds(const uint64_t *p, size_t n, uint64_t q) {
    for (size_t i = 0; i < n; i++)
        if (p[i] == q) return 1;
    return 0;
}

static uint32_t wide_buckets[(1u << 16) + 1];

/* Against an index of some of the candidates of ``all`` (every other one, and a few near misses that
 * differ in one bit), the hits are exactly the candidates it holds (spaced phones always), in order. */
static void check_lookup(const uint8_t *buf, size_t size, const lk_aliases *aliases, const lk_out *all) {
    size_t m = all->n < 4096 ? all->n : 4096, nf = 0, ng = 0;
    uint64_t *flat = malloc((m + 2) * sizeof *flat), *group = malloc((m + 2) * sizeof *group);
    uint8_t *fk = malloc((m + 2) * 8), *gk = malloc((m + 2) * 8);
    uint32_t small[5];
    assert(flat && group && fk && gk);
    for (size_t i = 0; i < m; i++) {
        uint64_t q = prefix_of(all->hits[i].digest);
        if (i % 3 == 0) flat[nf++] = q;
        else if (i % 3 == 1) group[ng++] = q ^ ((uint64_t)1 << (i % 64)); /* a near miss, held instead */
        else if (i % 6 == 2) group[ng++] = q;
    }
    flat[nf++] = 0; /* the ends of the key space */
    group[ng++] = UINT64_MAX;
    qsort(flat, nf, sizeof *flat, cmp_u64);
    qsort(group, ng, sizeof *group, cmp_u64);
    int gbits = size % 2 ? 2 : 0;
    lk_index ix = {build_tier(flat, nf, 16, fk, wide_buckets), build_tier(group, ng, gbits, gk, small), 0};
    lk_out out = {0};
    lk_scan(buf, size, &keys, &ix, aliases, &out);
    size_t j = 0;
    for (size_t i = 0; i < all->n; i++) {
        const lk_hit *h = &all->hits[i];
        uint64_t q = prefix_of(h->digest);
        int held = holds(flat, nf, q) || holds(group, ng, q);
        assert(lk_present(&ix, h->digest) == held);
        if (!held && !(h->flags & LK_SPACED)) continue;
        assert(j < out.n);
        assert(out.hits[j].start == h->start && out.hits[j].end == h->end && out.hits[j].kind == h->kind);
        assert(memcmp(out.hits[j].digest, h->digest, 32) == 0);
        j++;
    }
    assert(j == out.n);
    free(out.hits);
    free(flat);
    free(group);
    free(fk);
    free(gk);
}

/* ------------------------------------------------------------------ weak tokens and addresses */

static lk_weak_keys weak_keys;
static SHA256_CTX address_inner;

/* Weak tokens: records in range and in order, offsets and canonical bytes within bounds. */
static void check_weak(const uint8_t *data, size_t size, const lk_weak_out *out, size_t records) {
    uint32_t *cp = malloc((size ? size : 1) * sizeof *cp);
    assert(cp);
    size_t m = lk_decode(data, size, cp);
    assert(m <= size);
    int64_t prev = 0;
    for (size_t i = 0; i < out->n; i++) {
        const lk_weak_token *t = &out->tokens[i];
        assert(t->kind >= 0 && t->kind < LW_KINDS);
        assert(t->record >= prev && (size_t)t->record < records);
        prev = t->record;
        assert(t->start >= 0 && (size_t)t->start < (m ? m : 1));
        assert(t->canon_len > 0 && t->canon_off >= 0 && (size_t)(t->canon_off + t->canon_len) <= out->canon_n);
        if (t->kind == LW_BIRTH) assert(t->canon_len == 8);
    }
    free(cp);
}

/* Against an index of every other token's prefix (flat, no radix table): exactly those come back. */
static void check_weak_lookup(const uint8_t *buf, size_t size, const int64_t *lines, size_t nlines, const lk_weak_out *all) {
    size_t m = all->n < 4096 ? all->n : 4096, nk = 0;
    uint64_t *p = malloc((m + 1) * sizeof *p);
    uint8_t *kb = malloc((m + 1) * 8);
    assert(p && kb);
    for (size_t i = 0; i < m; i += 2) p[nk++] = prefix_of(all->tokens[i].digest);
    qsort(p, nk, sizeof *p, cmp_u64);
    uint32_t none[1];
    lk_index ix = {build_tier(p, nk, 0, kb, none), {kb, 0, NULL, 0, 8}, 0};
    lk_weak_out out = {0};
    lk_weak_scan(buf, size, lines, nlines, LW_READ_NAMES | LW_READ_MASKED | LW_READ_BIRTH, &weak_keys, &ix, &out);
    assert(!out.failed);
    size_t j = 0;
    for (size_t i = 0; i < all->n; i++) {
        if (!holds(p, nk, prefix_of(all->tokens[i].digest))) continue;
        assert(j < out.n);
        const lk_weak_token *a = &all->tokens[i], *b = &out.tokens[j];
        assert(a->record == b->record && a->start == b->start && a->kind == b->kind && a->canon_len == b->canon_len);
        assert(memcmp(all->canon + a->canon_off, out.canon + b->canon_off, (size_t)a->canon_len) == 0);
        assert(memcmp(a->digest, b->digest, 32) == 0);
        j++;
    }
    assert(j == out.n);
    free(out.tokens);
    free(out.canon);
    free(p);
    free(kb);
}

static void fuzz_weak(const uint8_t *buf, size_t size, const lk_index *all_ix) {
    lk_weak_out out = {0};
    int what = LW_READ_NAMES | LW_READ_MASKED | LW_READ_BIRTH;
    lk_weak_scan(buf, size, NULL, 0, what, &weak_keys, all_ix, &out); /* the whole input, one record */
    assert(!out.failed);
    check_weak(buf, size, &out, 1);
    if (out.n) check_weak_lookup(buf, size, NULL, 0, &out);
    free(out.tokens);
    free(out.canon);
    /* its lines, every one (and one past the end), then every other one */
    size_t nl = 2;
    for (size_t i = 0; i < size; i++) nl += buf[i] == '\n';
    int64_t *lines = malloc(nl * sizeof *lines);
    assert(lines);
    for (int step = 1; step <= 2; step++) {
        size_t k = 0;
        for (size_t i = 0; i < nl; i += (size_t)step) lines[k++] = (int64_t)i;
        memset(&out, 0, sizeof out);
        lk_weak_scan(buf, size, lines, k, what, &weak_keys, all_ix, &out);
        assert(!out.failed);
        check_weak(buf, size, &out, k);
        if (out.n && step == 1) check_weak_lookup(buf, size, lines, k, &out);
        free(out.tokens);
        free(out.canon);
    }
    free(lines);
}

/* Addresses: in order, not overlapping, within bounds, lines counted; the ones left to the parser
 * have no digest; against an index of every other canonical one, exactly those and the parser's. */
static void fuzz_addresses(const uint8_t *buf, size_t size, const lk_index *all_ix) {
    lk_out out = {0};
    lk_address_scan(buf, size, &address_inner, &keys.outer, all_ix, &out);
    assert(!out.failed);
    int64_t prev = 0, line = 0, counted = 0;
    size_t held = 0;
    uint64_t *p = malloc((out.n + 1) * sizeof *p);
    uint8_t *kb = malloc((out.n + 1) * 8);
    assert(p && kb);
    for (size_t i = 0; i < out.n; i++) {
        const lk_hit *h = &out.hits[i];
        assert(prev <= h->start && h->start < h->end && (size_t)h->end <= size);
        prev = h->end;
        for (; counted < h->start; counted++) line += buf[counted] == '\n';
        assert(h->line == line);
        assert(h->flags == 0 || h->flags == LK_ADDR_SPACED || h->flags == LK_ADDR_PARSE);
        if (h->flags != LK_ADDR_PARSE && i % 2 == 0) p[held++] = prefix_of(h->digest);
    }
    qsort(p, held, sizeof *p, cmp_u64);
    uint32_t none[1];
    lk_index ix = {build_tier(p, held, 0, kb, none), {kb, 0, NULL, 0, 8}, 0};
    lk_out some = {0};
    lk_address_scan(buf, size, &address_inner, &keys.outer, &ix, &some);
    assert(!some.failed);
    size_t j = 0;
    for (size_t i = 0; i < out.n; i++) {
        const lk_hit *h = &out.hits[i];
        if (h->flags != LK_ADDR_PARSE && !holds(p, held, prefix_of(h->digest))) continue;
        assert(j < some.n && some.hits[j].start == h->start && some.hits[j].end == h->end);
        assert(memcmp(some.hits[j].digest, h->digest, 32) == 0);
        j++;
    }
    assert(j == some.n);
    free(some.hits);
    free(out.hits);
    free(p);
    free(kb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ready) {
        static const uint8_t key[] = "leakmon-fuzz-key-not-a-secret-01";
        const uint8_t *headers[LK_KINDS] = {(const uint8_t *)"leakmon/v1/phone/full", (const uint8_t *)"leakmon/v1/email/full",
                                            (const uint8_t *)"leakmon/v1/rrn/full", (const uint8_t *)"leakmon/v1/card/full"};
        size_t lens[LK_KINDS] = {22, 22, 20, 21};
        lk_keys_init(&keys, key, sizeof key - 1, headers, lens);
        static const char *const weak_headers[LW_KINDS] = {"leakmon/v1/name/full", "leakmon/v1/name/fl",
                                                           "leakmon/v1/name/f", "leakmon/v1/birthdate/full"};
        for (int k = 0; k < LW_KINDS; k++)
            lk_inner_for(&keys, (const uint8_t *)weak_headers[k], strlen(weak_headers[k]) + 1, &weak_keys.inner[k]);
        weak_keys.outer = keys.outer;
        lk_inner_for(&keys, (const uint8_t *)"leakmon/v1/address/full", 24, &address_inner);
        ready = 1;
    }
    /* Exact-size heap copy so ASan sees any read past the end. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    /* little-endian 8-byte keys 0, 2^63, 2^64 - 1 under a one-bit radix table; 42 without one */
    static const uint8_t flat[24] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 255, 255, 255, 255, 255, 255, 255, 255};
    static const uint8_t group[8] = {42};
    static const uint32_t buckets[3] = {0, 1, 3}; /* one bit: keys below / from 2^63 */
    lk_index all = {{flat, 3, buckets, 1, 8}, {group, 1, NULL, 0, 8}, 1};
    lk_index some = {{flat, 3, buckets, 1, 8}, {group, 1, NULL, 0, 8}, 0};
    static const uint8_t *const alias[2] = {(const uint8_t *)"hanmail.net", (const uint8_t *)"a.co"};
    static const uint8_t *const target[2] = {(const uint8_t *)"daum.net", (const uint8_t *)"b.com"};
    static const size_t alias_len[2] = {11, 4}, target_len[2] = {8, 5};
    lk_aliases aliases = {alias, alias_len, target, target_len, 2};
    lk_out out = {0};
    lk_scan(buf, size, &keys, &all, &aliases, &out);
    check(buf, size, &out);
    if (out.n) check_lookup(buf, size, &aliases, &out); /* (no candidate: nothing to look up) */
    free(out.hits);
    memset(&out, 0, sizeof out);
    lk_scan(buf, size, &keys, &some, NULL, &out);
    free(out.hits);
    fuzz_weak(buf, size, &all);
    fuzz_addresses(buf, size, &all);
    free(buf);
    return 0;
}
