// Elementwise kernels the Swift compiler cannot vectorise (they need exp): plain
// loops over a branch-free exp, compiled for AVX-512, AVX2 and baseline x86-64, with
// the best one picked at load time (target_clones).
#include "cnative.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define SKD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SKD_CLONES
#endif

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

SKD_CLONES
void skd_gelu_forward(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + skd_erf(x[i] * 0.70710678118654752f));
}

SKD_CLONES
void skd_gelu_backward(const float *x, const float *g, float *dx, long n) {
    for (long i = 0; i < n; i++) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + skd_erf(v * 0.70710678118654752f));
        float pdf = skd_exp(-0.5f * v * v) * 0.39894228040143268f;
        dx[i] += g[i] * (cdf + v * pdf);
    }
}

SKD_CLONES
void skd_relu_forward(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

SKD_CLONES
void skd_relu_backward(const float *y, const float *g, float *dx, long n) {
    for (long i = 0; i < n; i++) dx[i] += y[i] > 0 ? g[i] : 0;
}

// out[i] = a[i * sa] op b[i * sb]. One loop per operator and stride pattern (both unit, or
// one side a broadcast scalar), so each vectorises (a per-element closure call did not).
#define SKD_BINARY_LOOPS(EXPR)                                                                   \
    if (sa == 1 && sb == 1) { for (long i = 0; i < n; i++) { float x = a[i], y = b[i]; out[i] = EXPR; } } \
    else if (sa == 1 && sb == 0) { float y = b[0]; for (long i = 0; i < n; i++) { float x = a[i]; out[i] = EXPR; } } \
    else if (sa == 0 && sb == 1) { float x = a[0]; for (long i = 0; i < n; i++) { float y = b[i]; out[i] = EXPR; } } \
    else { for (long i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; out[i] = EXPR; } }

SKD_CLONES
void skd_binary(int op, const float *a, long sa, const float *b, long sb, float *out, long n) {
    switch (op) {
    case 0: SKD_BINARY_LOOPS(x + y) break;
    case 1: SKD_BINARY_LOOPS(x - y) break;
    case 2: SKD_BINARY_LOOPS(x * y) break;
    default: SKD_BINARY_LOOPS(x / y) break;
    }
}
#undef SKD_BINARY_LOOPS

SKD_CLONES
void skd_exp_inplace(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = skd_exp(x[i]);
}

// Row kernels for layer norm and softmax. The row sums are reassociated so they vectorise
// (a fixed order for a given build and CPU: results stay deterministic).
#pragma clang fp reassociate(on)

SKD_CLONES
void skd_layernorm_forward_rows(const float *x, const float *w, const float *b, float *y,
                                float *stats, long rows, long d, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *s = x + r * d;
        float *o = y + r * d;
        float mu = 0;
        for (long i = 0; i < d; i++) mu += s[i];
        mu /= (float)d;
        float v = 0;
        for (long i = 0; i < d; i++) { float t = s[i] - mu; v += t * t; }
        float inv = 1.0f / __builtin_sqrtf(v / (float)d + eps);
        stats[2 * r] = mu;
        stats[2 * r + 1] = inv;
        if (w && b) for (long i = 0; i < d; i++) o[i] = (s[i] - mu) * inv * w[i] + b[i];
        else if (w) for (long i = 0; i < d; i++) o[i] = (s[i] - mu) * inv * w[i];
        else for (long i = 0; i < d; i++) o[i] = (s[i] - mu) * inv + (b ? b[i] : 0.0f);
    }
}

SKD_CLONES
void skd_layernorm_backward_rows(const float *x, const float *g, const float *w, const float *stats,
                                 float *dx, long rows, long d) {
    for (long r = 0; r < rows; r++) {
        const float *s = x + r * d, *gr = g + r * d;
        float *o = dx + r * d;
        float mu = stats[2 * r], inv = stats[2 * r + 1];
        float sum_dxh = 0, sum_dxh_xh = 0;
        for (long i = 0; i < d; i++) {
            float dxh = gr[i] * (w ? w[i] : 1.0f);
            sum_dxh += dxh;
            sum_dxh_xh += dxh * (s[i] - mu) * inv;
        }
        float k = inv / (float)d;
        for (long i = 0; i < d; i++) {
            float dxh = gr[i] * (w ? w[i] : 1.0f);
            float xh = (s[i] - mu) * inv;
            o[i] += k * ((float)d * dxh - sum_dxh - xh * sum_dxh_xh);
        }
    }
}

SKD_CLONES
void skd_column_sums_add(const float *x, long rows, long d, float *out) {
    for (long r = 0; r < rows; r++) {
        const float *s = x + r * d;
        for (long i = 0; i < d; i++) out[i] += s[i];
    }
}

SKD_CLONES
void skd_layernorm_param_grads_rows(const float *x, const float *g, const float *stats, long rows, long d,
                                    float *dw, float *db) {
    for (long r = 0; r < rows; r++) {
        const float *s = x + r * d, *gr = g + r * d;
        float mu = stats[2 * r], inv = stats[2 * r + 1];
        for (long i = 0; i < d; i++) {
            dw[i] += gr[i] * (s[i] - mu) * inv;
            db[i] += gr[i];
        }
    }
}

SKD_CLONES
void skd_softmax_rows(const float *x, float *y, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float *s = x + r * n;
        float *o = y + r * n;
        float mx = -__builtin_inff();
        for (long i = 0; i < n; i++) mx = s[i] > mx ? s[i] : mx;
        float z = 0;
        for (long i = 0; i < n; i++) { float e = skd_exp(s[i] - mx); o[i] = e; z += e; }
        float inv = 1.0f / z;
        for (long i = 0; i < n; i++) o[i] *= inv;
    }
}

SKD_CLONES
void skd_softmax_backward_rows(const float *y, const float *g, float *dx, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float *yr = y + r * n, *gr = g + r * n;
        float *o = dx + r * n;
        float dot = 0;
        for (long i = 0; i < n; i++) dot += gr[i] * yr[i];
        for (long i = 0; i < n; i++) o[i] += yr[i] * (gr[i] - dot);
    }
}

// Batch-norm per-channel sums over the n planes of channel ch in [n, c, inner], in double
// (a batch has up to millions of terms); reassociated so the loops vectorise.
SKD_CLONES
void skd_bn_channel_moments(const float *x, long n, long c, long inner, long ch, double *mean, double *var) {
    double s = 0;
    for (long b = 0; b < n; b++) {
        const float *p = x + (b * c + ch) * inner;
        for (long i = 0; i < inner; i++) s += (double)p[i];
    }
    double mu = s / (double)(n * inner), v = 0;
    for (long b = 0; b < n; b++) {
        const float *p = x + (b * c + ch) * inner;
        for (long i = 0; i < inner; i++) { double d = (double)p[i] - mu; v += d * d; }
    }
    *mean = mu;
    *var = v;
}

SKD_CLONES
void skd_bn_channel_grad_sums(const float *x, const float *g, long n, long c, long inner, long ch,
                              float mean, float inv_std, double *sum_g, double *sum_g_xhat) {
    double a = 0, b2 = 0;
    for (long b = 0; b < n; b++) {
        long off = (b * c + ch) * inner;
        for (long i = 0; i < inner; i++) {
            double gv = (double)g[off + i];
            a += gv;
            b2 += gv * (double)((x[off + i] - mean) * inv_std);
        }
    }
    *sum_g = a;
    *sum_g_xhat = b2;
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

// dst [cols, rows] = src [rows, cols] transposed, rows r0..r1 of src, in 32-column tiles so
// both sides stay in cache; full 8x8 blocks in registers (a scalar loop writes dst at a
// stride of `rows` and cannot be vectorised), the ragged edges element by element.
SKD_CLONES
void skd_transpose_block(const float *src, float *dst, long rows, long cols, long r0, long r1) {
    long r8 = r0 + (r1 - r0) / 8 * 8;
    for (long c0 = 0; c0 < cols; c0 += 32) {
        long c1 = c0 + 32 < cols ? c0 + 32 : cols, c8 = c0 + (c1 - c0) / 8 * 8;
        for (long r = r0; r < r8; r += 8)
            for (long c = c0; c < c8; c += 8) transpose8x8(src + r * cols + c, cols, dst + c * rows + r, rows);
        for (long r = r0; r < r1; r++) {
            const float *s = src + r * cols;
            for (long c = r < r8 ? c8 : c0; c < c1; c++) dst[c * rows + r] = s[c];
        }
    }
}
