// im2col and its adjoint for one NCHW image, as plain loops the compiler vectorises
// (the Swift version made one memcpy/memset call per output row, ~20% of a resnet-mini
// step). Row r = (c*kh + ky)*kw + kx of col holds x[c, oy*s - p + ky, ox*s - p + kx]
// at column oy*wo + ox, 0 outside the image.
#include "cnative.h"

#if defined(__x86_64__) && defined(__clang__)
#define SKD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SKD_CLONES
#endif

// Output columns ox whose input column ox*s - p + kx lies inside [0, w): [*lo, *hi).
static inline void valid_columns(int w, int wo, int kx, int s, int p, int *lo, int *hi) {
    int low_need = p - kx, high_need = w - 1 + p - kx;
    int l = low_need <= 0 ? 0 : (low_need + s - 1) / s;
    int h = high_need < 0 ? 0 : high_need / s + 1;
    if (h > wo) h = wo;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

SKD_CLONES
void skd_im2col_image(const float *x, int c, int h, int w, int kh, int kw, int s, int p,
                      int ho, int wo, float *col) {
    for (int ci = 0; ci < c; ci++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                float *dst = col + (size_t)((ci * kh + ky) * kw + kx) * ho * wo;
                int lo, hi;
                valid_columns(w, wo, kx, s, p, &lo, &hi);
                for (int oy = 0; oy < ho; oy++) {
                    float *d = dst + (size_t)oy * wo;
                    int iy = oy * s - p + ky;
                    if (iy < 0 || iy >= h) { for (int ox = 0; ox < wo; ox++) d[ox] = 0; continue; }
                    const float *src = x + ((size_t)ci * h + iy) * w + kx - p;
                    for (int ox = 0; ox < lo; ox++) d[ox] = 0;
                    if (s == 1) for (int ox = lo; ox < hi; ox++) d[ox] = src[ox];
                    else for (int ox = lo; ox < hi; ox++) d[ox] = src[ox * s];
                    for (int ox = hi; ox < wo; ox++) d[ox] = 0;
                }
            }
}

SKD_CLONES
void skd_col2im_add_image(const float *col, int c, int h, int w, int kh, int kw, int s, int p,
                          int ho, int wo, float *dx) {
    for (int ci = 0; ci < c; ci++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                const float *src = col + (size_t)((ci * kh + ky) * kw + kx) * ho * wo;
                int lo, hi;
                valid_columns(w, wo, kx, s, p, &lo, &hi);
                for (int oy = 0; oy < ho; oy++) {
                    int iy = oy * s - p + ky;
                    if (iy < 0 || iy >= h) continue;
                    const float *sr = src + (size_t)oy * wo;
                    float *d = dx + ((size_t)ci * h + iy) * w + kx - p;
                    if (s == 1) for (int ox = lo; ox < hi; ox++) d[ox] += sr[ox];
                    else for (int ox = lo; ox < hi; ox++) d[ox * s] += sr[ox];
                }
            }
}
