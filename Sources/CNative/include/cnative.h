#ifndef SCALEKD_CNATIVE_H
#define SCALEKD_CNATIVE_H

#include <stddef.h>

/// Loads OpenBLAS with dlopen so that OPENBLAS_CORETYPE can be set first:
/// the library picks its kernel once, when it is loaded.
/// `coretype` may be NULL (keep the environment as it is).
/// Returns 0 on success; otherwise writes a message into `error`.
int skd_blas_load(const char *coretype, char *error, size_t error_len);
int skd_blas_loaded(void);

/// Row-major single-precision GEMM: C = alpha * op(A) op(B) + beta * C.
void skd_sgemm(int trans_a, int trans_b, int m, int n, int k,
               float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc);

const char *skd_blas_corename(void);
const char *skd_blas_config(void);
const char *skd_blas_library_path(void);
int skd_blas_get_threads(void);
void skd_blas_set_threads(int n);

/// Whether the calling thread is running a chunk of a parallel loop (thread-local), so
/// nested loops and GEMMs run inline instead of splitting again.
int skd_in_parallel(void);
void skd_set_in_parallel(int flag);

/// CPU brand string and feature flags read with cpuid.
void skd_cpu_brand(char *out, size_t len);
int skd_cpu_has(const char *feature);



/// A C string exported by an already-loaded library (e.g. "fftwf_version"), or NULL.
const char *skd_exported_string(const char *symbol);
/// The geometry of a fused attention call: entries of `heads` heads, lq queries, lk keys,
/// d floats per head. Row i of head h of entry b starts at q + b*q_batch + i*q_row + h*d
/// (K, V and O likewise), so Q, K, V are read where the projections wrote them. The
/// optional bias is [heads, lq, lk]; the optional mask [windows, lq, lk], entry b taking
/// window b % windows (Swin's shifted windows). Scores are scale * q.k + bias + mask.
typedef struct skd_attention_geometry {
    long heads, lq, lk, d;
    long q_batch, q_row, k_batch, k_row, v_batch, v_row, o_batch, o_row;
    long windows;
    float scale;
} skd_attention_geometry;

/// The kernels below are built once per instruction-set variant from one source each
/// (isa_variants.h): NAME_avx512 and NAME_avx2 on x86-64, NAME_baseline everywhere. NAME
/// itself calls the variant chosen once per process (skd_isa_active). Each entry is
/// X(name, (parameters), (arguments)); every kernel returns void.
#define SKD_VARIANT_KERNELS(X) \
    /* GELU (erf form) forward y = x Phi(x), and backward dx += g * GELU'(x). */ \
    X(skd_gelu_forward, (const float *x, float *y, long n), (x, y, n)) \
    X(skd_gelu_backward, (const float *x, const float *g, float *dx, long n), (x, g, dx, n)) \
    /* ReLU forward y = max(x, 0), and backward dx += g where y > 0. */ \
    X(skd_relu_forward, (const float *x, float *y, long n), (x, y, n)) \
    X(skd_relu_backward, (const float *y, const float *g, float *dx, long n), (y, g, dx, n)) \
    /* out = a op b elementwise, op 0 +, 1 -, 2 *, 3 /. */ \
    X(skd_binary, (int op, const float *a, long sa, const float *b, long sb, float *out, long n), (op, a, sa, b, sb, out, n)) \
    /* x = exp(x), vectorised (relative error ~2e-7). */ \
    X(skd_exp_inplace, (float *x, long n), (x, n)) \
    /* Layer norm over the last axis of [rows, d]: y and per-row (mean, 1/std) into stats; */ \
    /* w and b may be NULL. The backward adds the input gradient into dx. */ \
    X(skd_layernorm_forward_rows, (const float *x, const float *w, const float *b, float *y, float *stats, long rows, long d, float eps), \
      (x, w, b, y, stats, rows, d, eps)) \
    X(skd_layernorm_backward_rows, (const float *x, const float *g, const float *w, const float *stats, float *dx, long rows, long d), \
      (x, g, w, stats, dx, rows, d)) \
    /* out[i] += sum over rows of x[r, i], for x [rows, d]. */ \
    X(skd_column_sums_add, (const float *x, long rows, long d, float *out), (x, rows, d, out)) \
    /* The layer norm's parameter gradients over rows: dw += sum g * xhat, db += sum g. */ \
    X(skd_layernorm_param_grads_rows, (const float *x, const float *g, const float *stats, long rows, long d, float *dw, float *db), \
      (x, g, stats, rows, d, dw, db)) \
    /* Batch norm, channel ch of [n, c, inner]: mean and sum of squared deviations; and the */ \
    /* backward's sums of g and g * xhat. Double accumulators. */ \
    X(skd_bn_channel_moments, (const float *x, long n, long c, long inner, long ch, double *mean, double *var), \
      (x, n, c, inner, ch, mean, var)) \
    X(skd_bn_channel_grad_sums, (const float *x, const float *g, long n, long c, long inner, long ch, float mean, float inv_std, \
                                 double *sum_g, double *sum_g_xhat), \
      (x, g, n, c, inner, ch, mean, inv_std, sum_g, sum_g_xhat)) \
    /* Row-wise softmax of [rows, n] (max-shifted), and its backward dx += y * (g - <g, y>). */ \
    X(skd_softmax_rows, (const float *x, float *y, long rows, long n), (x, y, rows, n)) \
    X(skd_softmax_backward_rows, (const float *y, const float *g, float *dx, long rows, long n), (y, g, dx, rows, n)) \
    /* Fused multi-head attention of entries b0..<b1 (skd_attention_geometry), and its */ \
    /* backward (gradients added; any of dq, dk, dv, dbias may be NULL). */ \
    X(skd_attention_forward, (const skd_attention_geometry *g, const float *q, const float *k, const float *v, const float *bias, \
                              const float *mask, float *o, float *p, long b0, long b1), (g, q, k, v, bias, mask, o, p, b0, b1)) \
    X(skd_attention_backward, (const skd_attention_geometry *g, const float *q, const float *k, const float *v, const float *p, \
                               const float *go, float *dq, float *dk, float *dv, float *dbias, long b0, long b1), \
      (g, q, k, v, p, go, dq, dk, dv, dbias, b0, b1)) \
    /* dst [cols, rows] = transpose of src [rows, cols], for src rows r0..<r1. */ \
    X(skd_transpose_block, (const float *src, float *dst, long rows, long cols, long r0, long r1), (src, dst, rows, cols, r0, r1)) \
    /* im2col of one NCHW image into col [c*kh*kw, ho*wo] (zeros outside the image), and the */ \
    /* adjoint: dx += the columns scattered back. */ \
    X(skd_im2col_image, (const float *x, int c, int h, int w, int kh, int kw, int s, int p, int ho, int wo, float *col), \
      (x, c, h, w, kh, kw, s, p, ho, wo, col)) \
    X(skd_col2im_add_image, (const float *col, int c, int h, int w, int kh, int kw, int s, int p, int ho, int wo, float *dx), \
      (col, c, h, w, kh, kw, s, p, ho, wo, dx)) \
    /* Direct 3x3 conv of one image from padded planes and packed weights (see below): out */ \
    /* [cout, h, w] is written (+ bias) or, with accumulate = 1, added to. */ \
    X(skd_conv3x3_image, (const float *padded, int cin, int h, int w, const float *packed, int cout, const float *bias, \
                          int accumulate, float *out), \
      (padded, cin, h, w, packed, cout, bias, accumulate, out)) \
    /* dw [cout, cin, 3, 3] += the weight gradient of one image, from its padded input and */ \
    /* padded output gradient. */ \
    X(skd_conv3x3_weight_grad_image, (const float *padded_x, int cin, const float *padded_g, int cout, int h, int w, float *dw), \
      (padded_x, cin, padded_g, cout, h, w, dw)) \
    /* Channels-last depthwise conv, stride 1, padding k/2, one image [h, w, c]; wt is [k*k][c]. */ \
    X(skd_dwconv_nhwc_forward, (const float *x, const float *wt, const float *bias, float *out, int h, int w, int c, int k), \
      (x, wt, bias, out, h, w, c, k)) \
    X(skd_dwconv_nhwc_backward_input, (const float *g, const float *wt, float *dx, int h, int w, int c, int k), (g, wt, dx, h, w, c, k)) \
    X(skd_dwconv_nhwc_backward_weight, (const float *x, const float *g, float *dwt, int h, int w, int c, int k), (x, g, dwt, h, w, c, k)) \
    /* Depthwise conv on one (sample, channel) plane; scratch holds (h+2p)*(w+2p) floats. The */ \
    /* input gradient adds into dx, the kernel gradient into dk. */ \
    X(skd_dwconv_forward_plane, (const float *x, const float *k, float bias, float *out, int h, int w, int kh, int kw, int s, int p, \
                                 int ho, int wo, float *scratch), \
      (x, k, bias, out, h, w, kh, kw, s, p, ho, wo, scratch)) \
    X(skd_dwconv_backward_input_plane, (const float *g, const float *k, float *dx, int h, int w, int kh, int kw, int s, int p, \
                                        int ho, int wo, float *scratch), \
      (g, k, dx, h, w, kh, kw, s, p, ho, wo, scratch)) \
    X(skd_dwconv_backward_weight_plane, (const float *x, const float *g, float *dk, int h, int w, int kh, int kw, int s, int p, \
                                         int ho, int wo, float *scratch), \
      (x, g, dk, h, w, kh, kw, s, p, ho, wo, scratch))

#define SKD_DECLARE_KERNEL(name, params, args) void name params;
SKD_VARIANT_KERNELS(SKD_DECLARE_KERNEL)
#undef SKD_DECLARE_KERNEL

/// One variant's kernels, member NAME = NAME_variant (for tests that compare variants).
#define SKD_KERNEL_MEMBER(name, params, args) void (*name) params;
typedef struct skd_kernel_table { SKD_VARIANT_KERNELS(SKD_KERNEL_MEMBER) } skd_kernel_table;
#undef SKD_KERNEL_MEMBER

/// Kernel variants, numbered best last. avx512 and avx2 are the target feature sets
/// "avx512f" and "avx2" (no "fma": the AVX2 variant multiplies and adds separately).
enum { SKD_ISA_BASELINE = 0, SKD_ISA_AVX2 = 1, SKD_ISA_AVX512 = 2, SKD_ISA_COUNT = 3 };
/// Whether this build has the x86-64 variants (avx512, avx2); otherwise baseline only.
#if defined(__x86_64__) && defined(__clang__)
#define SKD_X86_VARIANTS 1
#else
#define SKD_X86_VARIANTS 0
#endif
/// "baseline", "avx2", "avx512" (the values of SCALEKD_ISA), or NULL out of range.
const char *skd_isa_name(int isa);
/// Bit i set: variant i is in this build and this CPU runs it.
unsigned skd_isa_supported(void);
/// The variant to run given the supported bit set and SCALEKD_ISA's value (NULL or empty:
/// the best supported). A pure function; -1 with a message in error when `requested`
/// names no variant or one not supported.
int skd_isa_choose(unsigned supported, const char *requested, char *error, size_t error_len);
/// The process's variant, chosen on first use from SCALEKD_ISA and the CPU's flags and
/// fixed from then on; *reason says which decided. -1 with the message in error when
/// SCALEKD_ISA is bad (a kernel called then stops the process with that message).
int skd_isa_active(const char **reason, char *error, size_t error_len);
/// The kernels of variant isa, or NULL when it is not in skd_isa_supported().
const skd_kernel_table *skd_isa_kernels(int isa);

/// Direct 3x3 stride-1 pad-1 conv (conv3x3.c; skd_conv3x3_image above). Input planes are
/// copied zero-padded, plane stride skd_conv3x3_plane_stride; weights packed once per call
/// into skd_conv3x3_packed_count floats (transposed = 1 packs the input-gradient conv:
/// kernel flipped, in/out channels swapped).
long skd_conv3x3_plane_stride(int h, int w);
long skd_conv3x3_packed_count(int cout, int cin);
void skd_conv3x3_pack_weights(const float *k, int cout, int cin, int transposed, float *packed);
void skd_conv3x3_pad_image(const float *x, int c, int h, int w, float *padded);

/// Keeps freed large blocks in the heap instead of returning them to the kernel.
void skd_configure_allocator(void);
#endif
