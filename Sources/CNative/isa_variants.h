// Compiles the kernel body SKD_BODY (a header of function definitions) once per variant,
// each function named SKD_VARIANT(name): name_avx512 and name_avx2 under the target feature
// sets the former target_clones("avx512f", "avx2", "default") had, so each variant is the
// same machine code as that clone was, and name_baseline with the build's own flags. One
// source per kernel, no copies; isa.c dispatches to the variant chosen. Non-x86 builds
// (or compilers other than clang) get the baseline only.
#define SKD_CAT_(a, b) a##b
#define SKD_CAT(a, b) SKD_CAT_(a, b)
#define SKD_VARIANT(name) SKD_CAT(name, SKD_SUFFIX)

#if SKD_X86_VARIANTS
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#define SKD_SUFFIX _avx512
#include SKD_BODY
#undef SKD_SUFFIX
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#define SKD_SUFFIX _avx2
#include SKD_BODY
#undef SKD_SUFFIX
#pragma clang attribute pop
#endif

#define SKD_SUFFIX _baseline
#include SKD_BODY
#undef SKD_SUFFIX
