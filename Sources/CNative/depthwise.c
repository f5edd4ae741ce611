// Depthwise 2-D convolution on one (sample, channel) plane. The input plane is first
// copied into a zero-padded scratch plane, so the inner loops carry no bounds checks
// and run over contiguous rows (vectorised at stride 1). Scratch holds (h+2p)*(w+2p)
// floats. Summation order is fixed, so results are deterministic.
#include "cnative.h"
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define SKD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SKD_CLONES
#endif

static void pad_plane(const float *x, int h, int w, int p, float *xp) {
    int wp = w + 2 * p;
    memset(xp, 0, sizeof(float) * (size_t)(h + 2 * p) * (size_t)wp);
    for (int y = 0; y < h; y++) memcpy(xp + (size_t)(y + p) * wp + p, x + (size_t)y * w, sizeof(float) * (size_t)w);
}

SKD_CLONES
void skd_dwconv_forward_plane(const float *x, const float *k, float bias, float *out,
                              int h, int w, int kh, int kw, int s, int p, int ho, int wo, float *scratch) {
    int wp = w + 2 * p;
    pad_plane(x, h, w, p, scratch);
    for (int oy = 0; oy < ho; oy++) {
        float *o = out + (size_t)oy * wo;
        for (int ox = 0; ox < wo; ox++) o[ox] = bias;
        for (int ky = 0; ky < kh; ky++) {
            const float *row = scratch + (size_t)(oy * s + ky) * wp;
            for (int kx = 0; kx < kw; kx++) {
                float kv = k[ky * kw + kx];
                const float *r = row + kx;
                if (s == 1) { for (int ox = 0; ox < wo; ox++) o[ox] += kv * r[ox]; }
                else { for (int ox = 0; ox < wo; ox++) o[ox] += kv * r[ox * s]; }
            }
        }
    }
}

SKD_CLONES
void skd_dwconv_backward_input_plane(const float *g, const float *k, float *dx,
                                     int h, int w, int kh, int kw, int s, int p, int ho, int wo, float *scratch) {
    int wp = w + 2 * p;
    memset(scratch, 0, sizeof(float) * (size_t)(h + 2 * p) * (size_t)wp);
    for (int oy = 0; oy < ho; oy++) {
        const float *go = g + (size_t)oy * wo;
        for (int ky = 0; ky < kh; ky++) {
            float *row = scratch + (size_t)(oy * s + ky) * wp;
            for (int kx = 0; kx < kw; kx++) {
                float kv = k[ky * kw + kx];
                float *r = row + kx;
                if (s == 1) { for (int ox = 0; ox < wo; ox++) r[ox] += kv * go[ox]; }
                else { for (int ox = 0; ox < wo; ox++) r[ox * s] += kv * go[ox]; }
            }
        }
    }
    for (int y = 0; y < h; y++) {
        const float *src = scratch + (size_t)(y + p) * wp + p;
        float *d = dx + (size_t)y * w;
        for (int x = 0; x < w; x++) d[x] += src[x];
    }
}

// dk[ky,kx] += sum over the plane of g[oy,ox] * xpad[oy*s+ky, ox*s+kx].
SKD_CLONES
void skd_dwconv_backward_weight_plane(const float *x, const float *g, float *dk,
                                      int h, int w, int kh, int kw, int s, int p, int ho, int wo, float *scratch) {
    int wp = w + 2 * p;
    pad_plane(x, h, w, p, scratch);
    for (int ky = 0; ky < kh; ky++) {
        for (int kx = 0; kx < kw; kx++) {
            float acc = 0;
            for (int oy = 0; oy < ho; oy++) {
                const float *r = scratch + (size_t)(oy * s + ky) * wp + kx, *go = g + (size_t)oy * wo;
                float part = 0;
                if (s == 1) {
                    // Reassociating this sum lets it vectorise; the order is still fixed per build.
#pragma clang fp reassociate(on)
                    for (int ox = 0; ox < wo; ox++) part += go[ox] * r[ox];
                } else { for (int ox = 0; ox < wo; ox++) part += go[ox] * r[ox * s]; }
                acc += part;
            }
            dk[ky * kw + kx] += acc;
        }
    }
}

// Channels-last depthwise convolution, stride 1, padding k/2 (ConvNeXt's blocks): one image
// [h, w, c] at a time, every loop innermost over the c contiguous channels, so it vectorises
// for any plane size and needs neither padded copies nor NCHW <-> NHWC permutes around it.
// wt is the kernel packed taps-major, [k*k][c]. Taps are added in (ky, kx) order.
//
// All three passes walk every position (y, x) and every tap whose partner position
// (y + sign (ky - p), x + sign (kx - p)) lies in the plane: the forward pass and the weight
// gradient read the input there (sign +1), the input gradient reads the output gradient
// (sign -1: dx[i] gathers g[i - tap + p], so each dx row is written by one thread only).
static inline __attribute__((always_inline)) void nhwc_walk(int sign, int weight_grad, const float *src, const float *other,
                                                            float *out, int h, int w, int c, int k) {
    int p = k / 2;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t pos = ((size_t)y * w + x) * c;
            for (int ky = 0; ky < k; ky++) {
                int sy = y + sign * (ky - p);
                if (sy < 0 || sy >= h) continue;
                for (int kx = 0; kx < k; kx++) {
                    int sx = x + sign * (kx - p);
                    if (sx < 0 || sx >= w) continue;
                    const float *s = src + ((size_t)sy * w + sx) * c;
                    size_t tap = (size_t)(ky * k + kx) * c;
                    if (weight_grad) {  // dwt[tap] += g[y, x] * x[partner]
                        const float *g = other + pos;
                        float *d = out + tap;
                        for (int ch = 0; ch < c; ch++) d[ch] += g[ch] * s[ch];
                    } else {  // out[y, x] += src[partner] * wt[tap]
                        const float *wk = other + tap;
                        float *o = out + pos;
                        for (int ch = 0; ch < c; ch++) o[ch] += s[ch] * wk[ch];
                    }
                }
            }
        }
}

SKD_CLONES
void skd_dwconv_nhwc_forward(const float *x, const float *wt, const float *bias, float *out, int h, int w, int c, int k) {
    for (size_t i = 0; i < (size_t)h * w; i++)
        for (int ch = 0; ch < c; ch++) out[i * c + ch] = bias ? bias[ch] : 0;
    nhwc_walk(1, 0, x, wt, out, h, w, c, k);
}

SKD_CLONES
void skd_dwconv_nhwc_backward_input(const float *g, const float *wt, float *dx, int h, int w, int c, int k) {
    nhwc_walk(-1, 0, g, wt, dx, h, w, c, k);
}

SKD_CLONES
void skd_dwconv_nhwc_backward_weight(const float *x, const float *g, float *dwt, int h, int w, int c, int k) {
    nhwc_walk(1, 1, x, g, dwt, h, w, c, k);
}
