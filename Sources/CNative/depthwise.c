// Depthwise 2-D convolution on one (sample, channel) plane. The input plane is first
// copied into a zero-padded scratch plane, so the inner loops carry no bounds checks
// and run over contiguous rows (vectorised at stride 1). Scratch holds (h+2p)*(w+2p)
// floats. Summation order is fixed, so results are deterministic.
#include "cnative.h"
#include <string.h>

static void pad_plane(const float *x, int h, int w, int p, float *xp) {
    int wp = w + 2 * p;
    memset(xp, 0, sizeof(float) * (size_t)(h + 2 * p) * (size_t)wp);
    for (int y = 0; y < h; y++) memcpy(xp + (size_t)(y + p) * wp + p, x + (size_t)y * w, sizeof(float) * (size_t)w);
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

// The kernels, once per instruction-set variant (isa_variants.h).
#define SKD_BODY "depthwise_body.h"
#include "isa_variants.h"
