// The direct 3x3 conv kernels of conv3x3.c, compiled there once per variant
// (isa_variants.h): every function is named SKD_VARIANT(name).

void SKD_VARIANT(skd_conv3x3_image)(const float *padded, int cin, int h, int w, const float *packed, int cout,
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
void SKD_VARIANT(skd_conv3x3_weight_grad_image)(const float *padded_x, int cin, const float *padded_g, int cout,
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
