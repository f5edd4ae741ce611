// The elementwise and row kernels of kernels.c, compiled there once per variant
// (isa_variants.h): every function is named SKD_VARIANT(name). The row sums are
// reassociated from layer norm on; the pragma is switched off again at the end so the
// next variant's first kernels are compiled as before.

void SKD_VARIANT(skd_gelu_forward)(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + skd_erf(x[i] * 0.70710678118654752f));
}

void SKD_VARIANT(skd_gelu_backward)(const float *x, const float *g, float *dx, long n) {
    for (long i = 0; i < n; i++) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + skd_erf(v * 0.70710678118654752f));
        float pdf = skd_exp(-0.5f * v * v) * 0.39894228040143268f;
        dx[i] += g[i] * (cdf + v * pdf);
    }
}

void SKD_VARIANT(skd_relu_forward)(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

void SKD_VARIANT(skd_relu_backward)(const float *y, const float *g, float *dx, long n) {
    for (long i = 0; i < n; i++) dx[i] += y[i] > 0 ? g[i] : 0;
}

// out[i] = a[i * sa] op b[i * sb]. One loop per operator and stride pattern (both unit, or
// one side a broadcast scalar), so each vectorises (a per-element closure call did not).
#define SKD_BINARY_LOOPS(EXPR)                                                                   \
    if (sa == 1 && sb == 1) { for (long i = 0; i < n; i++) { float x = a[i], y = b[i]; out[i] = EXPR; } } \
    else if (sa == 1 && sb == 0) { float y = b[0]; for (long i = 0; i < n; i++) { float x = a[i]; out[i] = EXPR; } } \
    else if (sa == 0 && sb == 1) { float x = a[0]; for (long i = 0; i < n; i++) { float y = b[i]; out[i] = EXPR; } } \
    else { for (long i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; out[i] = EXPR; } }

void SKD_VARIANT(skd_binary)(int op, const float *a, long sa, const float *b, long sb, float *out, long n) {
    switch (op) {
    case 0: SKD_BINARY_LOOPS(x + y) break;
    case 1: SKD_BINARY_LOOPS(x - y) break;
    case 2: SKD_BINARY_LOOPS(x * y) break;
    default: SKD_BINARY_LOOPS(x / y) break;
    }
}
#undef SKD_BINARY_LOOPS

void SKD_VARIANT(skd_exp_inplace)(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = skd_exp(x[i]);
}

// Row kernels for layer norm and softmax. The row sums are reassociated so they vectorise
// (a fixed order for a given build and CPU: results stay deterministic).
#pragma clang fp reassociate(on)

void SKD_VARIANT(skd_layernorm_forward_rows)(const float *x, const float *w, const float *b, float *y,
                                float *stats, long rows, long d, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *s = x + r * d;
        float *o = y + r * d;
        float mu = 0;
        for (long i = 0; i < d; i++) mu += s[i];
        mu /= (float)d;
        float v = 0;
        for (long i = 0; i < d; i++) { float t = s[i] - mu; v += t * t; }
        float inv = 1.0f / __builtin_sqrtf(v / (float)d + eps);
        stats[2 * r] = mu;
        stats[2 * r + 1] = inv;
        if (w && b) for (long i = 0; i < d; i++) o[i] = (s[i] - mu) * inv * w[i] + b[i];
        else if (w) for (long i = 0; i < d; i++) o[i] = (s[i] - mu) * inv * w[i];
        else for (long i = 0; i < d; i++) o[i] = (s[i] - mu) * inv + (b ? b[i] : 0.0f);
    }
}

void SKD_VARIANT(skd_layernorm_backward_rows)(const float *x, const float *g, const float *w, const float *stats,
                                 float *dx, long rows, long d) {
    for (long r = 0; r < rows; r++) {
        const float *s = x + r * d, *gr = g + r * d;
        float *o = dx + r * d;
        float mu = stats[2 * r], inv = stats[2 * r + 1];
        float sum_dxh = 0, sum_dxh_xh = 0;
        for (long i = 0; i < d; i++) {
            float dxh = gr[i] * (w ? w[i] : 1.0f);
            sum_dxh += dxh;
            sum_dxh_xh += dxh * (s[i] - mu) * inv;
        }
        float k = inv / (float)d;
        for (long i = 0; i < d; i++) {
            float dxh = gr[i] * (w ? w[i] : 1.0f);
            float xh = (s[i] - mu) * inv;
            o[i] += k * ((float)d * dxh - sum_dxh - xh * sum_dxh_xh);
        }
    }
}

void SKD_VARIANT(skd_column_sums_add)(const float *x, long rows, long d, float *out) {
    for (long r = 0; r < rows; r++) {
        const float *s = x + r * d;
        for (long i = 0; i < d; i++) out[i] += s[i];
    }
}

void SKD_VARIANT(skd_layernorm_param_grads_rows)(const float *x, const float *g, const float *stats, long rows, long d,
                                    float *dw, float *db) {
    for (long r = 0; r < rows; r++) {
        const float *s = x + r * d, *gr = g + r * d;
        float mu = stats[2 * r], inv = stats[2 * r + 1];
        for (long i = 0; i < d; i++) {
            dw[i] += gr[i] * (s[i] - mu) * inv;
            db[i] += gr[i];
        }
    }
}

void SKD_VARIANT(skd_softmax_rows)(const float *x, float *y, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float *s = x + r * n;
        float *o = y + r * n;
        float mx = -__builtin_inff();
        for (long i = 0; i < n; i++) mx = s[i] > mx ? s[i] : mx;
        float z = 0;
        for (long i = 0; i < n; i++) { float e = skd_exp(s[i] - mx); o[i] = e; z += e; }
        float inv = 1.0f / z;
        for (long i = 0; i < n; i++) o[i] *= inv;
    }
}

void SKD_VARIANT(skd_softmax_backward_rows)(const float *y, const float *g, float *dx, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float *yr = y + r * n, *gr = g + r * n;
        float *o = dx + r * n;
        float dot = 0;
        for (long i = 0; i < n; i++) dot += gr[i] * yr[i];
        for (long i = 0; i < n; i++) o[i] += yr[i] * (gr[i] - dot);
    }
}

// Batch-norm per-channel sums over the n planes of channel ch in [n, c, inner], in double
// (a batch has up to millions of terms); reassociated so the loops vectorise.
void SKD_VARIANT(skd_bn_channel_moments)(const float *x, long n, long c, long inner, long ch, double *mean, double *var) {
    double s = 0;
    for (long b = 0; b < n; b++) {
        const float *p = x + (b * c + ch) * inner;
        for (long i = 0; i < inner; i++) s += (double)p[i];
    }
    double mu = s / (double)(n * inner), v = 0;
    for (long b = 0; b < n; b++) {
        const float *p = x + (b * c + ch) * inner;
        for (long i = 0; i < inner; i++) { double d = (double)p[i] - mu; v += d * d; }
    }
    *mean = mu;
    *var = v;
}

void SKD_VARIANT(skd_bn_channel_grad_sums)(const float *x, const float *g, long n, long c, long inner, long ch,
                              float mean, float inv_std, double *sum_g, double *sum_g_xhat) {
    double a = 0, b2 = 0;
    for (long b = 0; b < n; b++) {
        long off = (b * c + ch) * inner;
        for (long i = 0; i < inner; i++) {
            double gv = (double)g[off + i];
            a += gv;
            b2 += gv * (double)((x[off + i] - mean) * inv_std);
        }
    }
    *sum_g = a;
    *sum_g_xhat = b2;
}

// dst [cols, rows] = src [rows, cols] transposed, rows r0..r1 of src, in 32-column tiles so
// both sides stay in cache; full 8x8 blocks in registers (a scalar loop writes dst at a
// stride of `rows` and cannot be vectorised), the ragged edges element by element.
void SKD_VARIANT(skd_transpose_block)(const float *src, float *dst, long rows, long cols, long r0, long r1) {
    long r8 = r0 + (r1 - r0) / 8 * 8;
    for (long c0 = 0; c0 < cols; c0 += 32) {
        long c1 = c0 + 32 < cols ? c0 + 32 : cols, c8 = c0 + (c1 - c0) / 8 * 8;
        for (long r = r0; r < r8; r += 8)
            for (long c = c0; c < c8; c += 8) transpose8x8(src + r * cols + c, cols, dst + c * rows + r, rows);
        for (long r = r0; r < r1; r++) {
            const float *s = src + r * cols;
            for (long c = r < r8 ? c8 : c0; c < c1; c++) dst[c * rows + r] = s[c];
        }
    }
}
#pragma clang fp reassociate(off)
