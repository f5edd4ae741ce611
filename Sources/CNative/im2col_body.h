// The im2col kernels of im2col.c, compiled there once per variant (isa_variants.h):
// every function is named SKD_VARIANT(name).

static void SKD_VARIANT(im2col_rows)(const float *x, int c, int h, int w, int kh, int kw, int s, int p,
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

static void SKD_VARIANT(col2im_add_rows)(const float *col, int c, int h, int w, int kh, int kw, int s, int p,
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

static void SKD_VARIANT(gather_or_scatter)(padded_image im, float *col, int c, int kh, int kw, int n, int scatter) {
    for (int ci = 0; ci < c; ci++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                float *plane = im.padded + (size_t)ci * im.hp * im.wp + ky * im.wp + kx;
                float *row = col + (size_t)((ci * kh + ky) * kw + kx) * n;
                if (scatter) for (int j = 0; j < n; j++) plane[im.idx[j]] += row[j];
                else for (int j = 0; j < n; j++) row[j] = plane[im.idx[j]];
            }
}

void SKD_VARIANT(skd_im2col_image)(const float *x, int c, int h, int w, int kh, int kw, int s, int p,
                      int ho, int wo, float *col) {
    if (wo >= SMALL_WO) { SKD_VARIANT(im2col_rows)(x, c, h, w, kh, kw, s, p, ho, wo, col); return; }
    padded_image im = padded_image_of(x, c, h, w, s, p, ho, wo);
    SKD_VARIANT(gather_or_scatter)(im, col, c, kh, kw, ho * wo, 0);
    padded_image_free(&im);
}

void SKD_VARIANT(skd_col2im_add_image)(const float *col, int c, int h, int w, int kh, int kw, int s, int p,
                          int ho, int wo, float *dx) {
    if (wo >= SMALL_WO) { SKD_VARIANT(col2im_add_rows)(col, c, h, w, kh, kw, s, p, ho, wo, dx); return; }
    padded_image im = padded_image_of(dx, c, h, w, s, p, ho, wo);
    SKD_VARIANT(gather_or_scatter)(im, (float *)col, c, kh, kw, ho * wo, 1);
    for (int ci = 0; ci < c; ci++)
        for (int y = 0; y < h; y++)
            memcpy(dx + ((size_t)ci * h + y) * w, im.padded + ((size_t)ci * im.hp + y + p) * im.wp + p, sizeof(float) * (size_t)w);
    padded_image_free(&im);
}
