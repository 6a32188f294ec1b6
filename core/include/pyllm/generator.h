// Seedable random numbers. Philox4x32-10 is counter-based: element i of a draw is a pure function of
// (seed, offset + i), so kernels fill tensors in parallel and results do not depend on the thread count.
// A draw reserves a range of counters by advancing the generator's offset.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace pyllm {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed) : seed_(seed), offset_(0) {}
  void manual_seed(uint64_t seed) { seed_ = seed; offset_ = 0; }
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_.load(); }
  void set_offset(uint64_t offset) { offset_ = offset; }  // with seed(), the whole state (for checkpoints)
  // Reserves `n` counters and returns the first.
  uint64_t reserve(uint64_t n) { return offset_.fetch_add(n); }

  static Generator& default_generator();  // what pyllm.manual_seed seeds

 private:
  uint64_t seed_;
  std::atomic<uint64_t> offset_;
};

// Four independent 32-bit random words for (key, counter).
std::array<uint32_t, 4> philox4x32(uint64_t key, uint64_t counter);

// 24 random bits -> float in [0, 1).
inline float uniform01f(uint32_t bits) { return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f); }
// 53 random bits -> double in [0, 1).
inline double uniform01d(uint32_t hi, uint32_t lo) {
  uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

}  // namespace pyllm
