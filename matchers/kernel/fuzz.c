/* libFuzzer target for the scan kernel (make fuzz: clang, ASan + UBSan). Scans the input three times:
 * reporting every candidate, against a fixed small index, and against an index built from some of the
 * candidates' own prefixes (6-byte keys under a 16-bit radix table, 8-byte keys under a small one or
 * none), and checks what comes back: the look-up must keep exactly the candidates whose prefix it holds. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ready) {
        static const uint8_t key[] = "leakmon-fuzz-key-not-a-secret-01";
        const uint8_t *headers[LK_KINDS] = {(const uint8_t *)"leakmon/v1/phone/full", (const uint8_t *)"leakmon/v1/email/full",
                                            (const uint8_t *)"leakmon/v1/rrn/full", (const uint8_t *)"leakmon/v1/card/full"};
        size_t lens[LK_KINDS] = {22, 22, 20, 21};
        lk_keys_init(&keys, key, sizeof key - 1, headers, lens);
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
    free(buf);
    return 0;
}
