#ifndef MPIVAE_CZLIB_SHIM_H
#define MPIVAE_CZLIB_SHIM_H
#include <zlib.h>
#endif
