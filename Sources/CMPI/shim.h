#ifndef MPIVAE_CMPI_SHIM_H
#define MPIVAE_CMPI_SHIM_H
#include <mpi.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <signal.h>
#endif

// Open MPI's handles are macros over addresses of library globals (MPI_COMM_WORLD is
// &ompi_mpi_comm_world, ...); Swift imports none of them, so each gets an inline getter.
static inline MPI_Comm mpivae_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm mpivae_comm_self(void) { return MPI_COMM_SELF; }
static inline MPI_Comm mpivae_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype mpivae_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype mpivae_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype mpivae_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype mpivae_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype mpivae_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype mpivae_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype mpivae_char(void) { return MPI_CHAR; }
static inline MPI_Op mpivae_op_sum(void) { return MPI_SUM; }
static inline MPI_Op mpivae_op_max(void) { return MPI_MAX; }
static inline MPI_Op mpivae_op_min(void) { return MPI_MIN; }
static inline void *mpivae_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *mpivae_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Request mpivae_request_null(void) { return MPI_REQUEST_NULL; }
static inline int mpivae_any_source(void) { return MPI_ANY_SOURCE; }
static inline MPI_Errhandler mpivae_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int mpivae_undefined(void) { return MPI_UNDEFINED; }
static inline int mpivae_success(void) { return MPI_SUCCESS; }
static inline int mpivae_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int mpivae_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }
static inline int mpivae_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
static inline int mpivae_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int mpivae_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline MPI_Info mpivae_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Win mpivae_win_null(void) { return MPI_WIN_NULL; }
static inline int mpivae_mode_nocheck(void) { return MPI_MODE_NOCHECK; }

// prctl is variadic, which Swift cannot call. Asks the kernel to send `sig` to this process when
// its parent dies (Linux); does nothing elsewhere.
static inline int mpivae_set_parent_death_signal(int sig) {
#ifdef __linux__
    return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0UL, 0UL, 0UL);
#else
    (void)sig;
    return -1;
#endif
}

#endif
