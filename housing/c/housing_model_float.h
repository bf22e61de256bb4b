/* Conversions between floating point and the kernel's fixed-point formats, for hosts that
 * have an FPU; the kernel itself (housing_model.c) never needs this file. */
#ifndef HOUSING_MODEL_FLOAT_H
#define HOUSING_MODEL_FLOAT_H
#include "housing_model.h"

static const double HOUSING_INPUT_SCALES[HOUSING_N_FEATURES] = HOUSING_INPUT_SCALE_VALUES;

/* x (features in HOUSING_FEATURE_NAMES order) as the kernel's inputs: round(x * 2**s),
 * halves away from zero. Returns -1, or the index of the first value that does not fit. */
static inline int housing_to_fixed(const double x[HOUSING_N_FEATURES],
                                   int32_t out[HOUSING_N_FEATURES])
{
    for (int j = 0; j < HOUSING_N_FEATURES; j++) {
        double v = x[j] * HOUSING_INPUT_SCALES[j];
        double w = v < 0 ? v - 0.5 : v + 0.5;
        if (!(w > -2147483648.0 && w < 2147483648.0))
            return j;
        out[j] = (int32_t)w; /* truncates towards zero */
    }
    return -1;
}

/* The prediction in $100,000 (exact whenever |y| < 2**53). */
static inline double housing_from_fixed(int64_t y)
{
    return (double)y / (double)((int64_t)1 << HOUSING_OUT_FRACTION_BITS);
}
#endif
