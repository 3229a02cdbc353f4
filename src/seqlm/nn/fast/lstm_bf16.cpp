// seqlm's LSTM forward step for bf16 products: reads the bf16 input projection and step product
// itself and writes h also in bf16, so that the loop in seqlm/nn/fast/compiled.py casts nothing
// (the backward counterpart is kernels.cpp's lstm_backward with its d_low output). The state and
// the elementwise work stay float32. Built with kernels.cpp into one library.
#include <torch/library.h>

#include "step_math.h"

using namespace seqlm;  // NOLINT: this file is the namespace's user

// LSTM forward step of the bf16 products (float32 state): gi (B, 4H) the step's bf16 input
// projection and prod (B, 4H) the bf16 recurrent product, summed in float32 (pre = gi + prod,
// g doubled as above); then as lstm_forward, and h also rounded to bf16 into h_low (B, H), the
// next step's product operand.
void lstm_forward_low(const Tensor& gi, const Tensor& prod, const Tensor& c_prev,
                      const Tensor& act, const Tensor& c, const Tensor& tanh_c, const Tensor& h,
                      const Tensor& h_low) {
  const int64_t B = gi.size(0), H = c_prev.size(1);
  check(gi, "gi", B, 4 * H, at::kBFloat16);
  check(prod, "prod", B, 4 * H, at::kBFloat16);
  check(h_low, "h_low", B, H, at::kBFloat16);
  for (const auto& [t, name, width] : {std::tuple(&act, "act", 4), std::tuple(&c_prev, "c_prev", 1),
                                      std::tuple(&c, "c", 1), std::tuple(&tanh_c, "tanh_c", 1),
                                      std::tuple(&h, "h", 1)})
    check(*t, name, B, width * H, at::kFloat);
  using Vec = at::vec::Vectorized<float>;
  over_rows(B, 4 * H, [&](int64_t b) {
    const c10::BFloat16* x = gi.data_ptr<c10::BFloat16>() + b * gi.stride(0);
    const c10::BFloat16* q = prod.data_ptr<c10::BFloat16>() + b * prod.stride(0);
    const float* cp = c_prev.data_ptr<float>() + b * c_prev.stride(0);
    float* a = act.data_ptr<float>() + b * act.stride(0);
    float* c_row = c.data_ptr<float>() + b * c.stride(0);
    float* tc_row = tanh_c.data_ptr<float>() + b * tanh_c.stride(0);
    float* h_row = h.data_ptr<float>() + b * h.stride(0);
    c10::BFloat16* hl = h_low.data_ptr<c10::BFloat16>() + b * h_low.stride(0);
    const auto pre = [&](int64_t k, int64_t n) { return load(x + k, n) + load(q + k, n); };
    for (int64_t j = 0; j < H; j += Vec::size()) {
      const int64_t n = std::min<int64_t>(Vec::size(), H - j);
      const LstmUnits<Vec> u = lstm_units(pre, load(cp + j, n), H, j, n);
      store(u.i, a + j, n); store(u.f, a + H + j, n); store(u.g, a + 2 * H + j, n);
      store(u.o, a + 3 * H + j, n);
      store(u.c, c_row + j, n);
      store(u.tanh_c, tc_row + j, n);
      store(u.o * u.tanh_c, h_row + j, n);
      store(u.o * u.tanh_c, hl + j, n);
    }
  });
}

TORCH_LIBRARY_FRAGMENT(seqlm_kernels, m) {
  m.def("lstm_forward_low(Tensor gi, Tensor prod, Tensor c_prev, Tensor(a!) act, "
        "Tensor(b!) c, Tensor(c!) tanh_c, Tensor(d!) h, Tensor(e!) h_low) -> ()",
        lstm_forward_low);
}
