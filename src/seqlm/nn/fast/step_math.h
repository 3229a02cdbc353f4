// The shared pieces of seqlm's step kernels (kernels.cpp, lstm_bf16.cpp, stack_step.cpp):
// sigmoid and tanh through it, operand checks, rows split over the threads, and loads and stores
// of one SIMD vector of a row, tails included, from float, double or bf16 memory.
#pragma once
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>
#include <algorithm>
#include <optional>
#include <tuple>
#include <type_traits>

namespace seqlm {

using at::Tensor;
using Maybe = std::optional<Tensor>;  // None from Python

constexpr int64_t kWork = 16384;  // elements per thread below which a step stays on one thread

template <typename Vec>
inline Vec sigmoid(Vec x) { return Vec(1) / (Vec(1) + x.neg().exp_u20()); }

template <typename Vec>
inline Vec tanh_via_sigmoid(Vec x2) { return Vec(2) * sigmoid(x2) - Vec(1); }  // of x2 = 2x

// The LSTM cell at hidden units j .. j+n of a row: pre(k, n) is the pre-activation vector at
// column k (blocks i, f, 2 g, o of width H: g's columns come doubled for tanh_via_sigmoid).
// The one copy of the cell's arithmetic for the sequence, bf16 and batch-1 kernels.
template <typename Vec>
struct LstmUnits { Vec i, f, g, o, c, tanh_c; };

template <typename Vec, typename Pre>
inline LstmUnits<Vec> lstm_units(const Pre& pre, Vec c_prev, int64_t H, int64_t j, int64_t n) {
  LstmUnits<Vec> u;
  u.i = sigmoid(pre(j, n));
  u.f = sigmoid(pre(H + j, n));
  u.g = tanh_via_sigmoid(pre(2 * H + j, n));
  u.o = sigmoid(pre(3 * H + j, n));
  u.c = u.f * c_prev + u.i * u.g;
  u.tanh_c = tanh_via_sigmoid(u.c * Vec(2));
  return u;
}

inline Tensor or_undefined(const Maybe& t) { return t.has_value() ? *t : Tensor(); }

template <typename T>
inline T* rows(const Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; }

inline int64_t stride(const Tensor& t) { return t.defined() ? t.stride(0) : 0; }

inline void check(const Tensor& t, const char* name, int64_t batch, int64_t width,
           at::ScalarType type) {
  TORCH_CHECK(t.scalar_type() == type && t.device().is_cpu(), name, " must be a ",
              c10::toString(type), " CPU tensor like the step's first operand");
  TORCH_CHECK(t.dim() == 2 && t.size(0) == batch && t.size(1) == width && t.stride(1) == 1,
              name, " must be (", batch, ", ", width, ") with rows of unit stride");
}

template <typename F>
inline void over_rows(int64_t batch, int64_t width, const F& row) {
  int64_t grain = std::max<int64_t>(1, kWork / std::max<int64_t>(width, 1));
  at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) row(b);
  });
}

// One vector of the hidden units j .. j+n of a row: n < the vector's width at a row's tail.
template <typename T>
inline at::vec::Vectorized<T> load(const T* p, int64_t n) {
  using Vec = at::vec::Vectorized<T>;
  return n == Vec::size() ? Vec::loadu(p) : Vec::loadu(p, n);
}
template <typename T>
inline void store(const at::vec::Vectorized<T>& v, T* p, int64_t n) { v.store(p, n); }

// The same between float vectors and bf16 memory (rounding to nearest even, as .to(bf16)).
inline at::vec::Vectorized<float> load(const c10::BFloat16* p, int64_t n) {
  at::vec::Vectorized<float> wide;
  if (n == wide.size()) {
    at::vec::load_to_float(p, wide);
    return wide;
  }
  c10::BFloat16 part[at::vec::Vectorized<float>::size()] = {};  // a row's tail
  std::copy(p, p + n, part);
  at::vec::load_to_float(part, wide);
  return wide;
}
template <typename T>
inline void store(const at::vec::Vectorized<T>& v, c10::BFloat16* p, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    at::vec::convert_from_float<c10::BFloat16>(v, v).store(p, n);  // the first n of v
  } else {  // float64 (gradchecks): through float
    T wide[at::vec::Vectorized<T>::size()];
    v.store(wide, n);
    for (int64_t k = 0; k < n; ++k) p[k] = c10::BFloat16(static_cast<float>(wide[k]));
  }
}

}  // namespace seqlm

// kernels.cpp's step kernels, which loops.cpp's whole-sequence loops call directly.
void lstm_forward(const at::Tensor& pre, const at::Tensor& c_prev, const seqlm::Maybe& act_or_none,
                  const at::Tensor& c, const seqlm::Maybe& tanh_c_or_none, const at::Tensor& h,
                  const seqlm::Maybe& add_or_none);
void lstm_backward(const at::Tensor& act, const at::Tensor& c_prev, const at::Tensor& tanh_c,
                   const at::Tensor& dh, const at::Tensor& dc, const at::Tensor& d_pre,
                   const seqlm::Maybe& d_low_or_none, const seqlm::Maybe& dh_add_or_none);
void gru_forward(const at::Tensor& gates, const at::Tensor& gh, const at::Tensor& h_prev,
                 const seqlm::Maybe& gh_n_or_none, const at::Tensor& h, double n_scale);
void gru_backward(const at::Tensor& act, const at::Tensor& gh_n, const at::Tensor& h_prev,
                  const at::Tensor& dh, const seqlm::Maybe& d_out_prev_or_none,
                  const at::Tensor& d_gh, const at::Tensor& d_pn, const at::Tensor& d_direct);
void rnn_forward(const at::Tensor& pre, const at::Tensor& h, bool relu);
void rnn_backward(const at::Tensor& h, const at::Tensor& dh, const at::Tensor& d_pre, bool relu);
void lstm_forward_low(const at::Tensor& gi, const at::Tensor& prod, const at::Tensor& c_prev,
                      const at::Tensor& act, const at::Tensor& c, const at::Tensor& tanh_c,
                      const at::Tensor& h, const at::Tensor& h_low);
