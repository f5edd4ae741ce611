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
/// GELU (erf form) forward y = x Phi(x), and backward dx += g * GELU'(x).
void skd_gelu_forward(const float *x, float *y, long n);
void skd_gelu_backward(const float *x, const float *g, float *dx, long n);
/// ReLU forward y = max(x, 0), and backward dx += g where y > 0.
void skd_relu_forward(const float *x, float *y, long n);
void skd_relu_backward(const float *y, const float *g, float *dx, long n);
/// out = a op b elementwise, op 0 +, 1 -, 2 *, 3 /.
void skd_binary(int op, const float *a, long sa, const float *b, long sb, float *out, long n);
/// x = exp(x), vectorised (relative error ~2e-7).
void skd_exp_inplace(float *x, long n);
/// Layer norm over the last axis of [rows, d]: y and per-row (mean, 1/std) into stats;
/// w and b may be NULL. The backward adds the input gradient into dx.
void skd_layernorm_forward_rows(const float *x, const float *w, const float *b, float *y,
                                float *stats, long rows, long d, float eps);
void skd_layernorm_backward_rows(const float *x, const float *g, const float *w, const float *stats,
                                 float *dx, long rows, long d);
/// out[i] += sum over rows of x[r, i], for x [rows, d].
void skd_column_sums_add(const float *x, long rows, long d, float *out);
/// The layer norm's parameter gradients over rows: dw += sum g * xhat, db += sum g.
void skd_layernorm_param_grads_rows(const float *x, const float *g, const float *stats, long rows, long d,
                                    float *dw, float *db);
/// Batch norm, channel ch of [n, c, inner]: mean and sum of squared deviations; and the
/// backward's sums of g and g * xhat. Double accumulators.
void skd_bn_channel_moments(const float *x, long n, long c, long inner, long ch, double *mean, double *var);
void skd_bn_channel_grad_sums(const float *x, const float *g, long n, long c, long inner, long ch,
                              float mean, float inv_std, double *sum_g, double *sum_g_xhat);
/// Row-wise softmax of [rows, n] (max-shifted), and its backward dx += y * (g - <g, y>).
void skd_softmax_rows(const float *x, float *y, long rows, long n);
void skd_softmax_backward_rows(const float *y, const float *g, float *dx, long rows, long n);

/// im2col of one NCHW image into col [c*kh*kw, ho*wo] (zeros outside the image), and the
/// adjoint: dx += the columns scattered back.
void skd_im2col_image(const float *x, int c, int h, int w, int kh, int kw, int s, int p,
                      int ho, int wo, float *col);
void skd_col2im_add_image(const float *col, int c, int h, int w, int kh, int kw, int s, int p,
                          int ho, int wo, float *dx);

/// Direct 3x3 stride-1 pad-1 conv of one image (conv3x3.c). Input planes are copied
/// zero-padded, plane stride skd_conv3x3_plane_stride; weights packed once per call
/// into skd_conv3x3_packed_count floats (transposed = 1 packs the input-gradient conv:
/// kernel flipped, in/out channels swapped). out [cout, h, w] is written (+ bias) or,
/// with accumulate = 1, added to.
long skd_conv3x3_plane_stride(int h, int w);
long skd_conv3x3_packed_count(int cout, int cin);
void skd_conv3x3_pack_weights(const float *k, int cout, int cin, int transposed, float *packed);
void skd_conv3x3_pad_image(const float *x, int c, int h, int w, float *padded);
void skd_conv3x3_image(const float *padded, int cin, int h, int w, const float *packed, int cout,
                       const float *bias, int accumulate, float *out);
/// dw [cout, cin, 3, 3] += the weight gradient of one image, from its padded input and
/// padded output gradient.
void skd_conv3x3_weight_grad_image(const float *padded_x, int cin, const float *padded_g, int cout,
                                   int h, int w, float *dw);

/// Channels-last depthwise conv, stride 1, padding k/2, one image [h, w, c]; wt is [k*k][c].
void skd_dwconv_nhwc_forward(const float *x, const float *wt, const float *bias, float *out, int h, int w, int c, int k);
void skd_dwconv_nhwc_backward_input(const float *g, const float *wt, float *dx, int h, int w, int c, int k);
void skd_dwconv_nhwc_backward_weight(const float *x, const float *g, float *dwt, int h, int w, int c, int k);
/// Depthwise conv on one (sample, channel) plane; scratch holds (h+2p)*(w+2p) floats.
void skd_dwconv_forward_plane(const float *x, const float *k, float bias, float *out,
                              int h, int w, int kh, int kw, int s, int p, int ho, int wo, float *scratch);
/// dx += the input gradient of one plane.
void skd_dwconv_backward_input_plane(const float *g, const float *k, float *dx,
                                     int h, int w, int kh, int kw, int s, int p, int ho, int wo, float *scratch);
/// dk += the kernel gradient contributed by one plane.
void skd_dwconv_backward_weight_plane(const float *x, const float *g, float *dk,
                                      int h, int w, int kh, int kw, int s, int p, int ho, int wo, float *scratch);

/// dst [cols, rows] = transpose of src [rows, cols], for src rows r0..<r1.
void skd_transpose_block(const float *src, float *dst, long rows, long cols, long r0, long r1);

/// Keeps freed large blocks in the heap instead of returning them to the kernel.
void skd_configure_allocator(void);
#endif
