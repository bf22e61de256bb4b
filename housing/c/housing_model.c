/* The quantized model's integer-only kernel: no floating point, no allocation, no libc.
 * The constants are in housing_model.h, written by `housing export --c`; the arithmetic is
 * housing/integer.py's, which the tests require to agree with this bit for bit. */
#include "housing_model.h"

static const int32_t CODES[HOUSING_N_FEATURES] = HOUSING_CODES;
static const int16_t SHIFTS[HOUSING_N_FEATURES] = HOUSING_SHIFTS;

/* round(v / 2**k), halves away from zero, for 0 < k <= 62; on the magnitude, so that no
 * negative number is shifted (implementation-defined in C) */
static int64_t round_shift(int64_t v, int k)
{
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    m = (m + ((uint64_t)1 << (k - 1))) >> k;
    return v < 0 ? -(int64_t)m : (int64_t)m;
}

int64_t housing_predict(const int32_t x[HOUSING_N_FEATURES])
{
    int64_t acc = HOUSING_INTERCEPT;
    for (int j = 0; j < HOUSING_N_FEATURES; j++) {
        int64_t p = (int64_t)x[j] * CODES[j];
        if (SHIFTS[j] >= 0)
            acc += p * ((int64_t)1 << SHIFTS[j]);
        else
            acc += round_shift(p, -SHIFTS[j] > 62 ? 62 : -SHIFTS[j]);
    }
    /* round(acc * M / 2**N), |acc| < 2**63, M < 2**32, 33 <= N <= 63: the 96-bit product
     * in two 32-bit halves, each below 2**64 */
    uint64_t a = acc < 0 ? (uint64_t)0 - (uint64_t)acc : (uint64_t)acc;
    uint64_t hi = (a >> 32) * HOUSING_MULTIPLIER;
    uint64_t lo = (a & 0xFFFFFFFFu) * HOUSING_MULTIPLIER;
    uint64_t r = (hi + (lo >> 32) + ((uint64_t)1 << (HOUSING_RSHIFT - 33)))
                 >> (HOUSING_RSHIFT - 32);
    return acc < 0 ? -(int64_t)r : (int64_t)r;
}
