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

#if defined(__x86_64__) && defined(__clang__)
#define SKD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SKD_CLONES
#endif

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

SKD_CLONES
void skd_conv3x3_image(const float *padded, int cin, int h, int w, const float *packed, int cout,
                       const float *bias, int accumulate, float *out) {
    int W = w + 2;
    long ps = skd_conv3x3_plane_stride(h, w);
    int total = h * W;
    int blocks = (cout + COB - 1) / COB;
    const int taps[9] = {0, 1, 2, W, W + 1, W + 2, 2 * W, 2 * W + 1, 2 * W + 2};
    float tile[COB][PB] __attribute__((aligned(64)));
    for (int p0 = 0; p0 < total; p0 += PB) {
        for (int bl = 0; bl < blocks; bl++) {
            v16 acc[COB][NV];
            for (int j = 0; j < COB; j++) for (int v = 0; v < NV; v++) acc[j][v] = (v16){0};
            const float *wk = packed + (size_t)bl * cin * 9 * COB;
            for (int ci = 0; ci < cin; ci++) {
                const float *src = padded + (size_t)ci * ps + p0;
                for (int t = 0; t < 9; t++) {
                    const float *s = src + taps[t];
                    v16 in[NV];
                    for (int v = 0; v < NV; v++) in[v] = *(const v16u *)(s + 16 * v);
                    const float *wt = wk + ((size_t)ci * 9 + t) * COB;
#pragma clang loop unroll(full)
                    for (int j = 0; j < COB; j++) {
                        float kv = wt[j];
                        for (int v = 0; v < NV; v++) acc[j][v] += in[v] * kv;
                    }
                }
            }
            for (int j = 0; j < COB; j++) for (int v = 0; v < NV; v++) *(v16 *)&tile[j][16 * v] = acc[j][v];
            // Store the valid positions (x < w, p < total) of each real channel.
            int nco = cout - bl * COB < COB ? cout - bl * COB : COB;
            for (int j = 0; j < nco; j++) {
                int co = bl * COB + j;
                float bv = bias ? bias[co] : 0;
                float *o = out + (size_t)co * h * w;
                int p = p0, y = p0 / W, x = p0 - y * W;
                int end = p0 + PB < total ? p0 + PB : total;
                for (int i = 0; p < end; i++, p++) {
                    if (x < w) {
                        if (accumulate) o[y * w + x] += tile[j][i];
                        else o[y * w + x] = tile[j][i] + bv;
                    }
                    if (++x == W) { x = 0; y++; }
                }
            }
        }
    }
}

// Weight gradient of one image: dw[co][ci][ky*3+kx] += sum_p g[co][p] * x[ci][p + ky*W + kx]
// over the flat positions p = y*W + x. Both inputs are padded as by skd_conv3x3_pad_image;
// the output gradient's padded plane, read from offset W + 1, is exactly the flat layout
// with zeros in the garbage columns, so those positions add nothing. A block of 8 output
// channels x 3 taps (one kernel row) accumulates in 24 vector registers over all
// positions, then each is summed across its lanes.
SKD_CLONES
void skd_conv3x3_weight_grad_image(const float *padded_x, int cin, const float *padded_g, int cout,
                                   int h, int w, float *dw) {
    int W = w + 2;
    long ps = skd_conv3x3_plane_stride(h, w);
    int end = (h * W + 15) / 16 * 16;
    for (int co0 = 0; co0 < cout; co0 += COB) {
        int nco = cout - co0 < COB ? cout - co0 : COB;
        const float *g[COB];
        // A partial block repeats its last channel; those sums are dropped.
        for (int j = 0; j < COB; j++) g[j] = padded_g + (size_t)(co0 + (j < nco ? j : nco - 1)) * ps + W + 1;
        for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < 3; ky++) {
                const float *xr = padded_x + (size_t)ci * ps + (size_t)ky * W;
                v16 acc[COB][3];
                for (int j = 0; j < COB; j++) for (int k = 0; k < 3; k++) acc[j][k] = (v16){0};
                for (int p = 0; p < end; p += 16) {
                    v16 x0 = *(const v16u *)(xr + p), x1 = *(const v16u *)(xr + p + 1), x2 = *(const v16u *)(xr + p + 2);
#pragma clang loop unroll(full)
                    for (int j = 0; j < COB; j++) {
                        v16 gv = *(const v16u *)(g[j] + p);
                        acc[j][0] += gv * x0;
                        acc[j][1] += gv * x1;
                        acc[j][2] += gv * x2;
                    }
                }
                for (int j = 0; j < nco; j++)
                    for (int k = 0; k < 3; k++) {
                        float lanes[16] __attribute__((aligned(64)));
                        *(v16 *)lanes = acc[j][k];
                        float s = 0;
                        for (int i = 0; i < 16; i++) s += lanes[i];
                        dw[((size_t)(co0 + j) * cin + ci) * 9 + ky * 3 + k] += s;
                    }
            }
    }
}
