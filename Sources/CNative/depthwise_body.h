// The depthwise conv kernels of depthwise.c, compiled there once per variant
// (isa_variants.h): every function is named SKD_VARIANT(name).

void SKD_VARIANT(skd_dwconv_forward_plane)(const float *x, const float *k, float bias, float *out,
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

void SKD_VARIANT(skd_dwconv_backward_input_plane)(const float *g, const float *k, float *dx,
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
void SKD_VARIANT(skd_dwconv_backward_weight_plane)(const float *x, const float *g, float *dk,
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

void SKD_VARIANT(skd_dwconv_nhwc_forward)(const float *x, const float *wt, const float *bias, float *out, int h, int w, int c, int k) {
    for (size_t i = 0; i < (size_t)h * w; i++)
        for (int ch = 0; ch < c; ch++) out[i * c + ch] = bias ? bias[ch] : 0;
    nhwc_walk(1, 0, x, wt, out, h, w, c, k);
}

void SKD_VARIANT(skd_dwconv_nhwc_backward_input)(const float *g, const float *wt, float *dx, int h, int w, int c, int k) {
    nhwc_walk(-1, 0, g, wt, dx, h, w, c, k);
}

void SKD_VARIANT(skd_dwconv_nhwc_backward_weight)(const float *x, const float *g, float *dwt, int h, int w, int c, int k) {
    nhwc_walk(1, 1, x, g, dwt, h, w, c, k);
}
