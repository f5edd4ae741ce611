// oneDNN (Debian's libdnnl-dev, no pkg-config file), through its C API. The engine is
// written against the 2.x API (Debian bookworm ships 2.6.3): 3.0 replaced the op
// descriptors and made memory descriptors opaque handles.
#include <oneapi/dnnl/dnnl.h>
#if DNNL_VERSION_MAJOR != 2
#error "the oneDNN glue (Sources/Tensor/DNNL.swift) is written for the oneDNN 2.x C API"
#endif

// Debian's oneDNN runs on OpenMP (libgomp). The engine calls it with a team of one on each
// of its own loop threads (see DNNL.swift); omp.h is GCC's and not on clang's path.
void omp_set_num_threads(int);
