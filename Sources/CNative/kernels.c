// Elementwise kernels the Swift compiler cannot vectorise (they need exp): plain
// loops over a branch-free exp, compiled for AVX-512, AVX2 and baseline x86-64
// (isa_variants.h), the variant picked once per process (isa.c).
#include "cnative.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// exp(x) for x in float range: 2^k * p(r), r = x - k ln2, |r| <= ln2/2; relative error ~2e-7.
static inline float skd_exp(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float k = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// erf by Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7).
static inline float skd_erf(float v) {
    float x = __builtin_fabsf(v);
    float t = 1.0f / (1.0f + 0.3275911f * x);
    float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    float y = 1.0f - poly * skd_exp(-x * x);
    return v < 0 ? -y : y;
}

typedef float skd_v8 __attribute__((ext_vector_type(8), aligned(4)));

// One 8x8 block: dst row j (stride ds) = src column j (rows at stride ss), in registers:
// the unpack / 64-bit shuffle / 128-bit lane swap sequence of an AVX transpose.
static inline __attribute__((always_inline)) void transpose8x8(const float *src, long ss, float *dst, long ds) {
    skd_v8 r0 = *(const skd_v8 *)(src), r1 = *(const skd_v8 *)(src + ss), r2 = *(const skd_v8 *)(src + 2 * ss),
           r3 = *(const skd_v8 *)(src + 3 * ss), r4 = *(const skd_v8 *)(src + 4 * ss), r5 = *(const skd_v8 *)(src + 5 * ss),
           r6 = *(const skd_v8 *)(src + 6 * ss), r7 = *(const skd_v8 *)(src + 7 * ss);
#define UNPACKLO(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 4, 12, 5, 13)
#define UNPACKHI(a, b) __builtin_shufflevector(a, b, 2, 10, 3, 11, 6, 14, 7, 15)
#define PAIRLO(a, b) __builtin_shufflevector(a, b, 0, 1, 8, 9, 4, 5, 12, 13)
#define PAIRHI(a, b) __builtin_shufflevector(a, b, 2, 3, 10, 11, 6, 7, 14, 15)
#define HALFLO(a, b) __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11)
#define HALFHI(a, b) __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15)
    skd_v8 t0 = UNPACKLO(r0, r1), t1 = UNPACKHI(r0, r1), t2 = UNPACKLO(r2, r3), t3 = UNPACKHI(r2, r3);
    skd_v8 t4 = UNPACKLO(r4, r5), t5 = UNPACKHI(r4, r5), t6 = UNPACKLO(r6, r7), t7 = UNPACKHI(r6, r7);
    skd_v8 u0 = PAIRLO(t0, t2), u1 = PAIRHI(t0, t2), u2 = PAIRLO(t1, t3), u3 = PAIRHI(t1, t3);
    skd_v8 u4 = PAIRLO(t4, t6), u5 = PAIRHI(t4, t6), u6 = PAIRLO(t5, t7), u7 = PAIRHI(t5, t7);
    *(skd_v8 *)(dst) = HALFLO(u0, u4);
    *(skd_v8 *)(dst + ds) = HALFLO(u1, u5);
    *(skd_v8 *)(dst + 2 * ds) = HALFLO(u2, u6);
    *(skd_v8 *)(dst + 3 * ds) = HALFLO(u3, u7);
    *(skd_v8 *)(dst + 4 * ds) = HALFHI(u0, u4);
    *(skd_v8 *)(dst + 5 * ds) = HALFHI(u1, u5);
    *(skd_v8 *)(dst + 6 * ds) = HALFHI(u2, u6);
    *(skd_v8 *)(dst + 7 * ds) = HALFHI(u3, u7);
#undef UNPACKLO
#undef UNPACKHI
#undef PAIRLO
#undef PAIRHI
#undef HALFLO
#undef HALFHI
}

// The kernels, once per instruction-set variant (isa_variants.h).
#define SKD_BODY "kernels_body.h"
#include "isa_variants.h"
