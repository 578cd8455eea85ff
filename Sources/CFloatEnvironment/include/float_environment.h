#ifndef MPIVAE_FLOAT_ENVIRONMENT_H
#define MPIVAE_FLOAT_ENVIRONMENT_H
#include <stdbool.h>

/// Whether the calling thread flushes subnormal floats to zero, inputs and results alike
/// (x86: MXCSR's DAZ and FTZ bits both set; AArch64: FPCR.FZ).
bool mpivae_subnormals_flushed(void);

/// Sets or clears flushing on the calling thread only. Threads created afterwards by this thread
/// inherit the setting; threads that already exist keep their own.
void mpivae_set_subnormals_flushed(bool flushed);

/// What the start-up hook did in this process: 1 if it set flushing, 0 if the opt-out variable
/// kept IEEE subnormals, -1 if this executable has no such hook (a platform without
/// .preinit_array).
int mpivae_startup_flush_state(void);

#endif
