/* libFuzzer target for the scan kernel (make fuzz: clang, ASan + UBSan). Scans the input twice,
 * reporting every candidate and against a small index, and checks what comes back. */
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
    static const uint64_t flat[3] = {0, 0x8000000000000000ull, UINT64_MAX}, group[1] = {42};
    static const uint32_t buckets[3] = {0, 1, 3}; /* one bit: keys below / from 2^63 */
    lk_index all = {{flat, 3, buckets, 1}, {group, 1, NULL, 0}, 1};
    lk_index some = {{flat, 3, buckets, 1}, {group, 1, NULL, 0}, 0};
    static const uint8_t *const alias[2] = {(const uint8_t *)"hanmail.net", (const uint8_t *)"a.co"};
    static const uint8_t *const target[2] = {(const uint8_t *)"daum.net", (const uint8_t *)"b.com"};
    static const size_t alias_len[2] = {11, 4}, target_len[2] = {8, 5};
    lk_aliases aliases = {alias, alias_len, target, target_len, 2};
    lk_out out = {0};
    lk_scan(buf, size, &keys, &all, &aliases, &out);
    check(buf, size, &out);
    free(out.hits);
    memset(&out, 0, sizeof out);
    lk_scan(buf, size, &keys, &some, NULL, &out);
    free(out.hits);
    free(buf);
    return 0;
}
