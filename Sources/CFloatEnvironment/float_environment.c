// Subnormal floats flushed to zero on every thread that computes, set before any of them exists.
//
// OpenBLAS starts its worker threads in its library constructor, before main, and a new thread
// copies the floating-point control register of the thread that creates it. Setting the flush
// mode in main would reach the main thread only: the workers would keep computing with IEEE
// subnormals, which on Intel AVX-512 cores take a microcode path many times slower. An entry in
// the executable's .preinit_array runs before the constructor of any shared library, so the main
// thread already flushes when OpenBLAS spawns its pool and every worker inherits it.
#include "float_environment.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
// MXCSR bit 15: flush results that would be subnormal to zero (FTZ); bit 6: read subnormal
// inputs as zero (DAZ).
static const unsigned int flushBits = 0x8040u;

bool mpivae_subnormals_flushed(void) { return (_mm_getcsr() & flushBits) == flushBits; }

void mpivae_set_subnormals_flushed(bool flushed) {
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(flushed ? (csr | flushBits) : (csr & ~flushBits));
}
#elif defined(__aarch64__)
#include <stdint.h>
// FPCR bit 24 (FZ) flushes subnormal inputs and results of single and double precision.
static const uint64_t flushBit = (uint64_t)1 << 24;

static uint64_t readFPCR(void) {
    uint64_t value;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(value));
    return value;
}

bool mpivae_subnormals_flushed(void) { return (readFPCR() & flushBit) != 0; }

void mpivae_set_subnormals_flushed(bool flushed) {
    uint64_t value = readFPCR();
    value = flushed ? (value | flushBit) : (value & ~flushBit);
    __asm__ __volatile__("msr fpcr, %0" : : "r"(value));
}
#else
bool mpivae_subnormals_flushed(void) { return false; }
void mpivae_set_subnormals_flushed(bool flushed) { (void)flushed; }
#endif

static int startupState = -1;

int mpivae_startup_flush_state(void) { return startupState; }

#if defined(__ELF__)
// The opt-out: MPIVAE_IEEE_SUBNORMALS set to anything but "" or "0". Read from the environment
// the loader passes, by hand: this runs before any library's initialization, libc's included.
static bool optedOut(char **envp) {
    static const char name[] = "MPIVAE_IEEE_SUBNORMALS=";
    for (char **entry = envp; entry && *entry; entry++) {
        const char *c = *entry;
        const char *n = name;
        while (*n && *c == *n) { c++; n++; }
        if (*n) continue;
        return !(c[0] == '\0' || (c[0] == '0' && c[1] == '\0'));
    }
    return false;
}

static void flushAtStartup(int argc, char **argv, char **envp) {
    (void)argc;
    (void)argv;
    if (optedOut(envp)) {
        startupState = 0;
        return;
    }
    mpivae_set_subnormals_flushed(true);
    startupState = 1;
}

// Only an executable may have a .preinit_array; this object is linked into the executables
// (the tool and the test bundle), never into a shared library.
__attribute__((section(".preinit_array"), used))
static void (*const flushAtStartupEntry)(int, char **, char **) = flushAtStartup;
#endif
