#include <mpi.h>

// OpenMPI spells MPI_COMM_WORLD and MPI_FLOAT as macros over the addresses of its
// globals, which Swift does not import; these return them.
static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cmpi_int(void) { return MPI_INT; }
