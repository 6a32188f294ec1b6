// Factories: empty, zeros, ones, full, arange and the random fills.
#include <climits>
#include <cmath>
#include <cstring>

#include "cpu/copy.h"
#include "cpu/random.h"
#include "ops/common.h"

namespace pyllm::ops {

namespace {

void check_shape(const Shape& shape, const char* op) {
  for (int64_t s : shape)
    PYLLM_CHECK(s >= 0, ValueError, op << ": negative dimension in shape " << shape_str(shape));
}

Generator& generator_or_default(Generator* gen) { return gen ? *gen : Generator::default_generator(); }

}  // namespace

Tensor empty(const Shape& shape, DType dtype, Device device) {
  check_shape(shape, "empty");
  auto storage = Storage::allocate(static_cast<size_t>(numel_of(shape)) * itemsize(dtype), device);
  return Tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device.type != DeviceType::CPU) unsupported_device("zeros", device);
  if (t.numel() > 0) std::memset(t.data_ptr(), 0, static_cast<size_t>(t.numel()) * itemsize(dtype));
  return t;
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device.type != DeviceType::CPU) unsupported_device("full", device);
  cpu::fill(t, value);
  return t;
}

Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor scalar_tensor(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  PYLLM_CHECK(step != 0, ValueError, "arange: step must be nonzero");
  PYLLM_CHECK(std::isfinite(start) && std::isfinite(end), ValueError, "arange: start and end must be finite");
  PYLLM_CHECK((end - start) / step >= 0 || start == end, ValueError,
              "arange: the step " << step << " goes away from end " << end << " starting at " << start);
  PYLLM_CHECK(dtype != DType::Bool, TypeError, "arange: bool is not a supported dtype");
  int64_t n = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor t = empty({std::max<int64_t>(n, 0)}, dtype, device);
  if (device.type != DeviceType::CPU) unsupported_device("arange", device);
  cpu::fill_arange(t, start, step);
  return t;
}

Tensor rand(const Shape& shape, DType dtype, Generator* gen) {
  PYLLM_CHECK(is_compute_float(dtype), TypeError, "rand: dtype must be float32 or float64, got " << dtype_name(dtype));
  Tensor t = empty(shape, dtype);
  Generator& g = generator_or_default(gen);
  cpu::fill_uniform(t, g.seed(), g.reserve(static_cast<uint64_t>(t.numel())));
  return t;
}

Tensor randn(const Shape& shape, DType dtype, Generator* gen) {
  PYLLM_CHECK(is_compute_float(dtype), TypeError, "randn: dtype must be float32 or float64, got " << dtype_name(dtype));
  Tensor t = empty(shape, dtype);
  Generator& g = generator_or_default(gen);
  cpu::fill_normal(t, g.seed(), g.reserve(static_cast<uint64_t>((t.numel() + 1) / 2)));
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Generator* gen) {
  PYLLM_CHECK(is_integral(dtype), TypeError, "randint: dtype must be int32 or int64, got " << dtype_name(dtype));
  PYLLM_CHECK(low < high, ValueError, "randint: low (" << low << ") must be less than high (" << high << ")");
  PYLLM_CHECK(dtype == DType::Int64 || (low >= INT32_MIN && high - 1 <= INT32_MAX), ValueError,
              "randint: [" << low << ", " << high << ") is out of range for int32");
  Tensor t = empty(shape, dtype);
  Generator& g = generator_or_default(gen);
  cpu::fill_randint(t, low, high, g.seed(), g.reserve(static_cast<uint64_t>(t.numel())));
  return t;
}

}  // namespace pyllm::ops
