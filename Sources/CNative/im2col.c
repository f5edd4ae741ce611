// im2col and its adjoint for one NCHW image, as plain loops the compiler vectorises
// (the Swift version made one memcpy/memset call per output row, ~20% of a resnet-mini
// step). Row r = (c*kh + ky)*kw + kx of col holds x[c, oy*s - p + ky, ox*s - p + kx]
// at column oy*wo + ox, 0 outside the image.
#include "cnative.h"
#include <stdlib.h>
#include <string.h>

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
static void im2col_rows(const float *x, int c, int h, int w, int kh, int kw, int s, int p,
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
static void col2im_add_rows(const float *col, int c, int h, int w, int kh, int kw, int s, int p,
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

// Small output planes (ResNet-mini's 4x4 and 8x8 stages, stride-2 convs): the row loops
// above copy a few floats per call of their inner loop, so im2col cost as much as the GEMM.
// Here the image is copied once into zero-padded planes of width Wp = w + 2p, and every
// column row is a branch-free gather: row (ci, ky, kx) at j = oy*wo + ox reads
// plane_ci[ky*Wp + kx + idx[j]] with idx[j] = oy*s*Wp + ox*s. The adjoint scatters into
// padded planes that start as a copy of dx, adding in the same (ci, ky, kx) order as
// col2im_add_rows, so results are bit-identical to it.
#define SMALL_WO 16

// Padded copy of one image and the gather index of its output positions.
typedef struct {
    float *padded;
    int *idx;
    int hp, wp;
} padded_image;

static padded_image padded_image_of(const float *x, int c, int h, int w, int s, int p, int ho, int wo) {
    padded_image im = {0};
    im.hp = h + 2 * p;
    im.wp = w + 2 * p;
    im.padded = calloc((size_t)c * im.hp * im.wp, sizeof(float));
    im.idx = malloc(sizeof(int) * (size_t)ho * wo);
    for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++) im.idx[oy * wo + ox] = oy * s * im.wp + ox * s;
    for (int ci = 0; ci < c; ci++)
        for (int y = 0; y < h; y++)
            memcpy(im.padded + ((size_t)ci * im.hp + y + p) * im.wp + p, x + ((size_t)ci * h + y) * w, sizeof(float) * (size_t)w);
    return im;
}

static void padded_image_free(padded_image *im) {
    free(im->idx);
    free(im->padded);
}

// scatter = 0: col rows = gathers from the padded planes; 1: padded planes += col rows.
SKD_CLONES
static void gather_or_scatter(padded_image im, float *col, int c, int kh, int kw, int n, int scatter) {
    for (int ci = 0; ci < c; ci++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                float *plane = im.padded + (size_t)ci * im.hp * im.wp + ky * im.wp + kx;
                float *row = col + (size_t)((ci * kh + ky) * kw + kx) * n;
                if (scatter) for (int j = 0; j < n; j++) plane[im.idx[j]] += row[j];
                else for (int j = 0; j < n; j++) row[j] = plane[im.idx[j]];
            }
}

void skd_im2col_image(const float *x, int c, int h, int w, int kh, int kw, int s, int p,
                      int ho, int wo, float *col) {
    if (wo >= SMALL_WO) { im2col_rows(x, c, h, w, kh, kw, s, p, ho, wo, col); return; }
    padded_image im = padded_image_of(x, c, h, w, s, p, ho, wo);
    gather_or_scatter(im, col, c, kh, kw, ho * wo, 0);
    padded_image_free(&im);
}

void skd_col2im_add_image(const float *col, int c, int h, int w, int kh, int kw, int s, int p,
                          int ho, int wo, float *dx) {
    if (wo >= SMALL_WO) { col2im_add_rows(col, c, h, w, kh, kw, s, p, ho, wo, dx); return; }
    padded_image im = padded_image_of(dx, c, h, w, s, p, ho, wo);
    gather_or_scatter(im, (float *)col, c, kh, kw, ho * wo, 1);
    for (int ci = 0; ci < c; ci++)
        for (int y = 0; y < h; y++)
            memcpy(dx + ((size_t)ci * h + y) * w, im.padded + ((size_t)ci * im.hp + y + p) * im.wp + p, sizeof(float) * (size_t)w);
    padded_image_free(&im);
}
