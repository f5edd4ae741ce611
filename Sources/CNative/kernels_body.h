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

// max of s[0..<n]: 8-float lanes, then the lanes and the tail. A plain loop compiles to a
// chain of dependent scalar max instructions (it was most of the fused attention forward's
// time at 64 keys). max is exact, so the result is the plain loop's.
static inline float SKD_VARIANT(skd_row_max)(const float *s, long n) {
    float mx = -__builtin_inff();
    long j = 0;
    if (n >= 8) {
        skd_v8 m = *(const skd_v8 *)s;
        for (j = 8; j + 8 <= n; j += 8) m = __builtin_elementwise_max(m, *(const skd_v8 *)(s + j));
        mx = __builtin_reduce_max(m);
    }
    for (; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    return mx;
}

void SKD_VARIANT(skd_softmax_rows)(const float *x, float *y, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float *s = x + r * n;
        float *o = y + r * n;
        const float mx = SKD_VARIANT(skd_row_max)(s, n);
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
// Fused multi-head attention (skd_attention_geometry in cnative.h). Each small product is
// register-blocked: an output row is built 32 (then 8) floats at a time in vector
// accumulators over the summed index, so loops over d = 16..64 and over 16..64 keys run at
// vector width without the per-element load-store a plain loop over a short row pays.

// The micro-kernel of the products below, on 8-float vectors (W; 16-float ones on
// AVX-512 measured no faster on these sizes): for R rows r and NB blocks of W columns, acc[r][c] = sum_t w(r, t) * y[t, W c ..],
// then out (+)= alpha * acc. w(r, t) = w[r*rs + t*ts]; y's rows y_row apart. R * NB
// independent accumulators (at most 8) hide the FMA latency; R and NB are constants at
// every call, so acc lives in registers.
static inline __attribute__((always_inline)) void SKD_VARIANT(skd_att_block)(
    const int R, const int NB, const float *w, long rs, long ts, const float *y, long y_row, long terms,
    float alpha, int accumulate, float *out, long out_row) {
    typedef skd_v8 vec;
    enum { W = 8 };
    vec acc[4][4];
    for (int r = 0; r < R; r++) for (int c = 0; c < NB; c++) acc[r][c] = 0;
    for (long t = 0; t < terms; t++) {
        const float *yr = y + t * y_row;
        vec yv[4];
        for (int c = 0; c < NB; c++) yv[c] = *(const vec *)(yr + W * c);
        for (int r = 0; r < R; r++) {
            const float wt = w[r * rs + t * ts];
            for (int c = 0; c < NB; c++) acc[r][c] += wt * yv[c];
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < NB; c++) {
            vec *o = (vec *)(out + r * out_row + W * c);
            if (accumulate) *o += alpha * acc[r][c]; else *o = alpha * acc[r][c];
        }
}

// out[r, c] (+)= alpha * sum_t w[r*rs + t*ts] * y[t, c] for r < rows, c < width, t < terms:
// S = Q K^T and dP = dO V^T against a packed transpose (width lkp, a multiple of W), O = P V
// and dQ = dS K (rs = row length, ts = 1), dV = P^T dO and dK = dS^T Q (rs = 1, ts = row
// length). Columns past the last multiple of W are summed one by one.
static void SKD_VARIANT(skd_att_product)(const float *w, long rs, long ts, const float *y, long y_row, long rows, long terms,
                                         long width, float alpha, int accumulate, float *out, long out_row) {
    enum { W = 8 };
#define SKD_ATT_BLOCKS(R, NB) SKD_VARIANT(skd_att_block)(R, NB, w + r * rs, rs, ts, y + c, y_row, terms, alpha, accumulate, \
                                                        out + r * out_row + c, out_row)
    const long blocked = width / W * W;
    for (long c = 0; c < blocked;) {
        const long nb = (blocked - c) / W >= 4 ? 4 : (blocked - c) / W;
        long r = 0;
        switch (nb) {
        case 4: for (; r + 2 <= rows; r += 2) SKD_ATT_BLOCKS(2, 4); for (; r < rows; r++) SKD_ATT_BLOCKS(1, 4); break;
        case 3: for (; r + 2 <= rows; r += 2) SKD_ATT_BLOCKS(2, 3); for (; r < rows; r++) SKD_ATT_BLOCKS(1, 3); break;
        case 2: for (; r + 4 <= rows; r += 4) SKD_ATT_BLOCKS(4, 2); for (; r < rows; r++) SKD_ATT_BLOCKS(1, 2); break;
        default: for (; r + 4 <= rows; r += 4) SKD_ATT_BLOCKS(4, 1); for (; r < rows; r++) SKD_ATT_BLOCKS(1, 1); break;
        }
        c += W * nb;
    }
#undef SKD_ATT_BLOCKS
    for (long r = 0; r < rows; r++) {
        const float *wr = w + r * rs;
        float *o = out + r * out_row;
        for (long c = blocked; c < width; c++) {
            float a = 0;
            for (long t = 0; t < terms; t++) a += wr[t * ts] * y[t * y_row + c];
            o[c] = accumulate ? o[c] + alpha * a : alpha * a;
        }
    }
}

// yt [d][lkp] = the first d floats of y's lk rows, transposed (columns lk..<lkp are left as
// they are: zero from the caller's calloc). 8x8 blocks in registers, the ragged edges one
// by one (vectorised, that loop becomes scatters: a third of the forward's time).
static void SKD_VARIANT(skd_att_pack_transposed)(const float *y, long y_row, long lk, long d, long lkp, float *yt) {
    const long j8 = lk / 8 * 8, e8 = d / 8 * 8;
    for (long j = 0; j < j8; j += 8)
        for (long e = 0; e < e8; e += 8) transpose8x8(y + j * y_row + e, y_row, yt + e * lkp + j, lkp);
    for (long j = 0; j < lk; j++) {
        const float *yr = y + j * y_row;
#pragma clang loop vectorize(disable)
        for (long e = j < j8 ? e8 : 0; e < d; e++) yt[e * lkp + j] = yr[e];
    }
}

// Entries b0..<b1: S = scale Q K^T + bias[h] + mask[b % windows], P = softmax(S), O = P V.
// p, when not NULL, keeps P [entry, head, lq, lk] for the backward (and O is read from it).
void SKD_VARIANT(skd_attention_forward)(const skd_attention_geometry *g, const float *q, const float *k, const float *v,
                                        const float *bias, const float *mask, float *o, float *p, long b0, long b1) {
    const long heads = g->heads, lq = g->lq, lk = g->lk, d = g->d, lkp = (lk + 7) / 8 * 8;
    const float scale = g->scale;
    float *kt = calloc((size_t)(d * lkp + lq * lkp), sizeof(float));
    float *scores = kt + d * lkp;  // [lq][lkp]
    for (long b = b0; b < b1; b++) {
        const float *mb = mask ? mask + (b % g->windows) * lq * lk : NULL;
        for (long h = 0; h < heads; h++) {
            const float *qb = q + b * g->q_batch + h * d, *kb = k + b * g->k_batch + h * d, *vb = v + b * g->v_batch + h * d;
            const float *bh = bias ? bias + h * lq * lk : NULL;
            float *probs = p ? p + (b * heads + h) * lq * lk : scores;
            const long prow = p ? lk : lkp;
            SKD_VARIANT(skd_att_pack_transposed)(kb, g->k_row, lk, d, lkp, kt);
            SKD_VARIANT(skd_att_product)(qb, g->q_row, 1, kt, lkp, lq, d, lkp, 1.0f, 0, scores, lkp);
            for (long i = 0; i < lq; i++) {
                float *s = scores + i * lkp, *pr = probs + i * prow;
                for (long j = 0; j < lk; j++) s[j] *= scale;
                if (bh) for (long j = 0; j < lk; j++) s[j] += bh[i * lk + j];
                if (mb) for (long j = 0; j < lk; j++) s[j] += mb[i * lk + j];
                const float mx = SKD_VARIANT(skd_row_max)(s, lk);
                float z = 0;
                for (long j = 0; j < lk; j++) { float ex = skd_exp(s[j] - mx); s[j] = ex; z += ex; }
                const float inv = 1.0f / z;
                for (long j = 0; j < lk; j++) pr[j] = s[j] * inv;
            }
            SKD_VARIANT(skd_att_product)(probs, prow, 1, vb, g->v_row, lq, lk, d, 1.0f, 0, o + b * g->o_batch + h * d, g->o_row);
        }
    }
    free(kt);
}

// Its backward from the kept P and the output gradient go (O's layout): dP = dO V^T,
// dS = P (dP - <P, dP>) row by row, then dV += P^T dO, dQ += scale dS K, dK += scale dS^T Q,
// dbias[h] += dS. Each of dq, dk, dv, dbias may be NULL; entries write only their own rows of
// dq, dk, dv, so ranges of entries run side by side (each range with a dbias of its own).
void SKD_VARIANT(skd_attention_backward)(const skd_attention_geometry *g, const float *q, const float *k, const float *v,
                                         const float *p, const float *go, float *dq, float *dk, float *dv, float *dbias,
                                         long b0, long b1) {
    const long heads = g->heads, lq = g->lq, lk = g->lk, d = g->d, lkp = (lk + 7) / 8 * 8;
    const float scale = g->scale;
    float *vt = calloc((size_t)(d * lkp + lq * lkp), sizeof(float));
    float *ds = vt + d * lkp;  // [lq][lkp]: dP, then dS
    for (long b = b0; b < b1; b++) {
        for (long h = 0; h < heads; h++) {
            const float *qb = q + b * g->q_batch + h * d, *kb = k + b * g->k_batch + h * d, *vb = v + b * g->v_batch + h * d;
            const float *gb = go + b * g->o_batch + h * d, *pb = p + (b * heads + h) * lq * lk;
            if (dv) SKD_VARIANT(skd_att_product)(pb, 1, lk, gb, g->o_row, lk, lq, d, 1.0f, 1, dv + b * g->v_batch + h * d, g->v_row);
            if (!dq && !dk && !dbias) continue;
            SKD_VARIANT(skd_att_pack_transposed)(vb, g->v_row, lk, d, lkp, vt);
            SKD_VARIANT(skd_att_product)(gb, g->o_row, 1, vt, lkp, lq, d, lkp, 1.0f, 0, ds, lkp);
            for (long i = 0; i < lq; i++) {
                const float *pi = pb + i * lk;
                float *dsi = ds + i * lkp, dot = 0;
                for (long j = 0; j < lk; j++) dot += pi[j] * dsi[j];
                for (long j = 0; j < lk; j++) dsi[j] = pi[j] * (dsi[j] - dot);
                if (dbias) {
                    float *db = dbias + (h * lq + i) * lk;
                    for (long j = 0; j < lk; j++) db[j] += dsi[j];
                }
            }
            if (dq) SKD_VARIANT(skd_att_product)(ds, lkp, 1, kb, g->k_row, lq, lk, d, scale, 1, dq + b * g->q_batch + h * d, g->q_row);
            if (dk) SKD_VARIANT(skd_att_product)(ds, 1, lkp, qb, g->q_row, lk, lq, d, scale, 1, dk + b * g->k_batch + h * d, g->k_row);
        }
    }
    free(vt);
}
#pragma clang fp reassociate(off)
