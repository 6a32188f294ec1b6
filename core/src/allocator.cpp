// Host memory for tensors: 64-byte aligned so that SIMD kernels can use aligned loads and rows start on
// cache lines. CUDA allocation joins here with the CUDA backend.
#include <cstdint>
#include <cstdlib>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "pyllm/tensor.h"

namespace pyllm {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  PYLLM_CHECK(device.type == DeviceType::CPU, RuntimeError,
              "cannot allocate on " << device.str() << ": this build of pyllm has no CUDA backend");
  constexpr size_t kAlign = 64;
  size_t rounded = (nbytes + kAlign - 1) / kAlign * kAlign;
  void* data = rounded == 0 ? nullptr : std::aligned_alloc(kAlign, rounded);
  PYLLM_CHECK(rounded == 0 || data != nullptr, RuntimeError,
              "out of memory allocating " << nbytes << " bytes on " << device.str());
#ifdef __linux__
  // Large blocks come fresh from the kernel (glibc maps them), and their first touch faults page by
  // page: 4 KiB pages make writing a new 50 MB matmul output cost more than a third of the product
  // itself. Transparent huge pages (NumPy asks for them the same way) cut the faults 512-fold.
  constexpr size_t kHugeThreshold = size_t(4) << 20, kPage = 4096;
  if (rounded >= kHugeThreshold) {
    uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kPage - 1) / kPage * kPage;
    uintptr_t end = (reinterpret_cast<uintptr_t>(data) + rounded) / kPage * kPage;
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // a hint: failure is harmless
  }
#endif
  auto storage = std::make_shared<Storage>();
  storage->data = data;
  storage->nbytes = nbytes;
  storage->device = device;
  storage->owner = std::shared_ptr<void>(data, [](void* p) { std::free(p); });
  return storage;
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner) {
  auto storage = std::make_shared<Storage>();
  storage->data = data;
  storage->nbytes = nbytes;
  storage->device = device;
  storage->owner = std::move(owner);
  return storage;
}

}  // namespace pyllm
