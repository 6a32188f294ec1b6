// Where a tensor's memory lives. Every op dispatches on this; CPU is built today, CUDA slots in beside it.
#pragma once

#include <string>

namespace pyllm {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;  // which GPU; always 0 for the CPU

  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu", "cuda:0"
  static Device parse(const std::string& text);  // "cpu", "cuda", "cuda:1"; ValueError otherwise
};

inline Device cpu_device() { return Device{}; }

}  // namespace pyllm
