// Direct 3x3, stride-1, pad-1 convolution of one NCHW image, for the small channel counts
// of the mini CNNs, where im2col + GEMM is bound by packing: each im2col column is used
// only cout times (16 in ResNet-mini's first stage; 28-37 GFLOP/s against ~100 per core).
//
// Layout trick ("padded flat"): the input is copied into zero-padded planes of width
// W = w + 2, and output position p = y*W + x is computed for every x in [0, W), so
// out[p] = sum_{ci, ky, kx} k * in[ci][p + ky*W + kx] runs over one contiguous index.
// The columns x >= w are garbage and never stored. A block of 8 output channels x 32
// positions lives in registers (16 AVX-512 accumulators); each tap loads two input
// vectors and broadcasts 8 weights. Summation order is fixed (ci, ky, kx), so results
// are deterministic and independent of the thread count.
//
// The input gradient of the same conv is this conv applied to the output gradient with
// the kernel transposed and flipped (skd_conv3x3_pack_weights with transposed = 1).
#include "cnative.h"
#include <string.h>

#define COB 8   // output channels per register block
#ifndef NV
#define NV 2    // 16-float vectors of output positions per register block
#endif
#define PB (16 * NV)

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

long skd_conv3x3_plane_stride(int h, int w) {
    // Reads of the last (partly garbage) position block reach PB + 2 past the padded
    // plane; rounded to 16 floats so planes start 64-byte apart.
    long n = (long)(h + 2) * (w + 2) + PB + 2;
    return (n + 15) / 16 * 16;
}

long skd_conv3x3_packed_count(int cout, int cin) {
    return (long)((cout + COB - 1) / COB) * COB * cin * 9;
}

void skd_conv3x3_pack_weights(const float *k, int cout, int cin, int transposed, float *packed) {
    // Effective conv: co_e in [0, cout_e), ci_e in [0, cin_e). Transposed: the input-gradient
    // conv, k_e[a][b][ky][kx] = k[b][a][2-ky][2-kx] with cout_e = cin, cin_e = cout.
    int cout_e = transposed ? cin : cout, cin_e = transposed ? cout : cin;
    int blocks = (cout_e + COB - 1) / COB;
    for (int bl = 0; bl < blocks; bl++)
        for (int ci = 0; ci < cin_e; ci++)
            for (int t = 0; t < 9; t++)
                for (int j = 0; j < COB; j++) {
                    int co = bl * COB + j;
                    float v = 0;
                    if (co < cout_e) {
                        if (transposed) v = k[((size_t)ci * cin + co) * 9 + (8 - t)];
                        else v = k[((size_t)co * cin + ci) * 9 + t];
                    }
                    packed[(((size_t)bl * cin_e + ci) * 9 + t) * COB + j] = v;
                }
}

void skd_conv3x3_pad_image(const float *x, int c, int h, int w, float *padded) {
    int W = w + 2;
    long ps = skd_conv3x3_plane_stride(h, w);
    for (int ci = 0; ci < c; ci++) {
        float *pl = padded + (size_t)ci * ps;
        memset(pl, 0, sizeof(float) * (size_t)W);
        for (int y = 0; y < h; y++) {
            float *row = pl + (size_t)(y + 1) * W;
            row[0] = 0;
            memcpy(row + 1, x + ((size_t)ci * h + y) * w, sizeof(float) * (size_t)w);
            row[w + 1] = 0;
        }
        memset(pl + (size_t)(h + 1) * W, 0, sizeof(float) * (size_t)(ps - (long)(h + 1) * W));
    }
}

// The kernels, once per instruction-set variant (isa_variants.h).
#define SKD_BODY "conv3x3_body.h"
#include "isa_variants.h"
