// The one dispatcher of the kernels built per instruction-set variant (isa_variants.h):
// the variant is chosen once per process, from SCALEKD_ISA when set, else the best this
// CPU runs, and every dispatched kernel (SKD_VARIANT_KERNELS in cnative.h) calls it
// through one table. No silent fallback: a SCALEKD_ISA the CPU cannot run, or a name
// that is no variant, is an error. Pinning the variant makes results host-independent
// across x86-64 hosts (the AVX-512 variant sums in other orders than the AVX2 one).
#include "cnative.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SKD_DECLARE_VARIANT(name, params, args) void name##_avx512 params; void name##_avx2 params; void name##_baseline params;
SKD_VARIANT_KERNELS(SKD_DECLARE_VARIANT)

#define SKD_AVX512_ENTRY(name, params, args) .name = name##_avx512,
#define SKD_AVX2_ENTRY(name, params, args) .name = name##_avx2,
#define SKD_BASELINE_ENTRY(name, params, args) .name = name##_baseline,
static const skd_kernel_table tables[SKD_ISA_COUNT] = {
    [SKD_ISA_BASELINE] = {SKD_VARIANT_KERNELS(SKD_BASELINE_ENTRY)},
#if SKD_X86_VARIANTS
    [SKD_ISA_AVX2] = {SKD_VARIANT_KERNELS(SKD_AVX2_ENTRY)},
    [SKD_ISA_AVX512] = {SKD_VARIANT_KERNELS(SKD_AVX512_ENTRY)},
#endif
};

static const char *const names[SKD_ISA_COUNT] = {"baseline", "avx2", "avx512"};

const char *skd_isa_name(int isa) { return isa >= 0 && isa < SKD_ISA_COUNT ? names[isa] : NULL; }

unsigned skd_isa_supported(void) {
    unsigned bits = 1u << SKD_ISA_BASELINE;
#if SKD_X86_VARIANTS
    // The checks the target_clones resolver made: the feature each variant is compiled for.
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) bits |= 1u << SKD_ISA_AVX2;
    if (__builtin_cpu_supports("avx512f")) bits |= 1u << SKD_ISA_AVX512;
#endif
    return bits;
}

// "avx2, baseline": the supported variants, best first.
static void list_supported(unsigned supported, char *out, size_t len) {
    out[0] = 0;
    for (int i = SKD_ISA_COUNT - 1; i >= 0; i--)
        if (supported & (1u << i)) {
            size_t used = strlen(out);
            snprintf(out + used, len - used, "%s%s", used ? ", " : "", names[i]);
        }
}

int skd_isa_choose(unsigned supported, const char *requested, char *error, size_t error_len) {
    supported |= 1u << SKD_ISA_BASELINE;
    int best = SKD_ISA_COUNT - 1;
    while (!(supported & (1u << best))) best--;
    if (!requested || !requested[0]) return best;
    char runs[64];
    list_supported(supported, runs, sizeof runs);
    for (int i = 0; i < SKD_ISA_COUNT; i++) {
        if (strcmp(requested, names[i])) continue;
        if (supported & (1u << i)) return i;
        snprintf(error, error_len,
                 "SCALEKD_ISA=%s names kernels this CPU cannot run: it runs %s. "
                 "Set SCALEKD_ISA to one of those, or unset it to use the best (%s).",
                 requested, runs, names[best]);
        return -1;
    }
    snprintf(error, error_len,
             "SCALEKD_ISA=%s is not a kernel variant: use avx512, avx2 or baseline "
             "(this CPU runs %s), or unset it to use the best (%s).", requested, runs, names[best]);
    return -1;
}

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
static const skd_kernel_table *_Atomic active_table;
static int active_isa = -1;
static const char *active_reason = "";
static char active_error[512];

static void resolve(void) {
    const char *requested = getenv("SCALEKD_ISA");
    int isa = skd_isa_choose(skd_isa_supported(), requested, active_error, sizeof active_error);
    active_reason = requested && requested[0] ? "SCALEKD_ISA" : "the best this CPU runs";
    active_isa = isa;
    if (isa >= 0) atomic_store_explicit(&active_table, &tables[isa], memory_order_release);
}

int skd_isa_active(const char **reason, char *error, size_t error_len) {
    pthread_once(&resolve_once, resolve);
    if (reason) *reason = active_reason;
    if (active_isa < 0 && error) snprintf(error, error_len, "%s", active_error);
    return active_isa;
}

const skd_kernel_table *skd_isa_kernels(int isa) {
    return isa >= 0 && isa < SKD_ISA_COUNT && (skd_isa_supported() & (1u << isa)) ? &tables[isa] : NULL;
}

// The table of the process's variant; the first call resolves it. A bad SCALEKD_ISA stops
// the process here if nothing reported it earlier (the Swift side resolves at start-up).
static const skd_kernel_table *kernels(void) {
    const skd_kernel_table *t = atomic_load_explicit(&active_table, memory_order_acquire);
    if (__builtin_expect(t != NULL, 1)) return t;
    if (skd_isa_active(NULL, NULL, 0) < 0) {
        fprintf(stderr, "scalekd: %s\n", active_error);
        exit(2);
    }
    return atomic_load_explicit(&active_table, memory_order_acquire);
}

#define SKD_DISPATCH(name, params, args) void name params { kernels()->name args; }
SKD_VARIANT_KERNELS(SKD_DISPATCH)
