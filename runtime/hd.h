// AD_HD marks functions that must compile for both the host (CPU reference, emulated kernel
// launches) and the device (real CUDA kernels). Plain g++ sees nothing.
#pragma once
#if defined(__CUDACC__)
#define AD_HD __host__ __device__
#define AD_DEVICE __device__
#else
#define AD_HD
#define AD_DEVICE
#endif
