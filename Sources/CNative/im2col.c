// im2col and its adjoint for one NCHW image, as plain loops the compiler vectorises
// (the Swift version made one memcpy/memset call per output row, ~20% of a resnet-mini
// step). Row r = (c*kh + ky)*kw + kx of col holds x[c, oy*s - p + ky, ox*s - p + kx]
// at column oy*wo + ox, 0 outside the image.
#include "cnative.h"
#include <stdlib.h>
#include <string.h>

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
// The kernels, once per instruction-set variant (isa_variants.h).
#define SKD_BODY "im2col_body.h"
#include "isa_variants.h"
