// OpenBLAS reads OPENBLAS_CORETYPE in its load-time constructor, so linking it
// normally would fix the kernel before our code runs. We dlopen it instead,
// after the caller has chosen (and exported) the kernel.
#define _GNU_SOURCE
#include "cnative.h"
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef char *(*str_fn)(void);
typedef int (*int_fn)(void);
typedef void (*set_int_fn)(int);

static void *handle;
static sgemm_fn p_sgemm;
static str_fn p_corename, p_config;
static int_fn p_get_threads;
static set_int_fn p_set_threads;
static char lib_path[1024];
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *candidates[] = {
    "libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "libopenblas.so",
    NULL,
};

int skd_blas_load(const char *coretype, char *error, size_t error_len) {
    pthread_mutex_lock(&load_lock);
    if (handle) { pthread_mutex_unlock(&load_lock); return 0; }
    if (coretype && coretype[0]) setenv("OPENBLAS_CORETYPE", coretype, 1);
    // Idle BLAS threads spin for 2^28 cycles by default, taking a core from the loops
    // that run between GEMMs; 2^4 makes them sleep almost at once. A user's value wins.
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
    const char *tried = "";
    for (int i = 0; candidates[i]; i++) {
        handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (handle) break;
        tried = dlerror();
    }
    if (!handle) {
        snprintf(error, error_len,
                 "cannot load OpenBLAS (%s); install it with: apt-get install libopenblas-dev", tried);
        pthread_mutex_unlock(&load_lock);
        return 1;
    }
    p_sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    p_corename = (str_fn)dlsym(handle, "openblas_get_corename");
    p_config = (str_fn)dlsym(handle, "openblas_get_config");
    p_get_threads = (int_fn)dlsym(handle, "openblas_get_num_threads");
    p_set_threads = (set_int_fn)dlsym(handle, "openblas_set_num_threads");
    struct link_map *map = NULL;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name)
        snprintf(lib_path, sizeof lib_path, "%s", map->l_name);
    if (!p_sgemm) {
        snprintf(error, error_len, "the loaded BLAS library has no cblas_sgemm");
        dlclose(handle);
        handle = NULL;
        pthread_mutex_unlock(&load_lock);
        return 1;
    }
    pthread_mutex_unlock(&load_lock);
    return 0;
}

int skd_blas_loaded(void) { return handle != NULL; }

void skd_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta,
               float *c, int ldc) {
    p_sgemm(RowMajor, trans_a ? Trans : NoTrans, trans_b ? Trans : NoTrans, m, n, k,
            alpha, a, lda, b, ldb, beta, c, ldc);
}

const char *skd_blas_corename(void) { return p_corename ? p_corename() : "unknown"; }
const char *skd_blas_config(void) { return p_config ? p_config() : "unknown"; }
const char *skd_blas_library_path(void) { return lib_path; }
int skd_blas_get_threads(void) { return p_get_threads ? p_get_threads() : 1; }
void skd_blas_set_threads(int n) { if (p_set_threads) p_set_threads(n); }

static _Thread_local int in_parallel;
int skd_in_parallel(void) { return in_parallel; }
void skd_set_in_parallel(int flag) { in_parallel = flag; }

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
void skd_cpu_brand(char *out, size_t len) {
    unsigned int regs[12];
    unsigned int max = __get_cpuid_max(0x80000000, NULL);
    if (max < 0x80000004) { snprintf(out, len, "unknown x86"); return; }
    for (unsigned int i = 0; i < 3; i++)
        __get_cpuid(0x80000002 + i, &regs[i * 4], &regs[i * 4 + 1], &regs[i * 4 + 2], &regs[i * 4 + 3]);
    char brand[49];
    memcpy(brand, regs, 48);
    brand[48] = 0;
    char *s = brand;
    while (*s == ' ') s++;
    snprintf(out, len, "%s", s);
}

int skd_cpu_has(const char *f) {
    // Feature names follow /proc/cpuinfo; builtin checks include OS support for the registers.
    __builtin_cpu_init();
    if (!strcmp(f, "sse3")) return __builtin_cpu_supports("sse3");
    if (!strcmp(f, "avx")) return __builtin_cpu_supports("avx");
    if (!strcmp(f, "avx2")) return __builtin_cpu_supports("avx2");
    if (!strcmp(f, "fma")) return __builtin_cpu_supports("fma");
    if (!strcmp(f, "avx512f")) return __builtin_cpu_supports("avx512f");
    if (!strcmp(f, "avx512bw")) return __builtin_cpu_supports("avx512bw");
    if (!strcmp(f, "avx512vl")) return __builtin_cpu_supports("avx512vl");
    if (!strcmp(f, "avx512dq")) return __builtin_cpu_supports("avx512dq");
    if (!strcmp(f, "avx512cd")) return __builtin_cpu_supports("avx512cd");
    if (!strcmp(f, "avx512vnni")) return __builtin_cpu_supports("avx512vnni");
    if (!strcmp(f, "avx512bf16")) return __builtin_cpu_supports("avx512bf16");
    return 0;
}
#else
void skd_cpu_brand(char *out, size_t len) { snprintf(out, len, "non-x86 CPU"); }
int skd_cpu_has(const char *f) { (void)f; return 0; }
#endif

const char *skd_exported_string(const char *symbol) {
    return (const char *)dlsym(RTLD_DEFAULT, symbol);
}

#include <malloc.h>
void skd_configure_allocator(void) {
#ifdef M_MMAP_THRESHOLD
    /* Large blocks stay in the heap instead of being unmapped on free (and faulted
       in zeroed again in the next step), and the heap is never trimmed: a batch-256
       backward can free more than any finite trim threshold, and giving that back
       every step made a vit-mini-l teacher spend a third of its time in page faults. */
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, -1);
#endif
}
