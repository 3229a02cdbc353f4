// seqlm's LSTM direction: the whole time loop, forward or backward, in one call (float32 and
// float64 operands; the bf16 products keep their per-step loop in seqlm/nn/fast/compiled.py).
//
// Per step the loop makes the recurrent product and calls kernels.cpp's step kernel, as the
// Python loop it replaces did, without Python between the two: measured here (1 thread, AMD
// EPYC) the Python loop spent ~40 us forward and ~60 us backward per step beyond the
// arithmetic, 5% of a training step at H = 256, twice that share with two threads, where the
// arithmetic halves and the serial Python part does not. The product goes through oneDNN's
// linear with the weight it was given reordered (mkldnn::_linear_pointwise, the op behind
// seqlm.nn.fast.matmul.prepacked_linear, called through the dispatcher), or at::mm where no
// reordered weight is given (float64: the gradchecks of this path). Built with kernels.cpp.
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/mm.h>
#include <torch/library.h>

#include <string>
#include <vector>

#include "step_math.h"

using namespace seqlm;  // NOLINT: this file is the namespace's user

namespace {

// x (B, K) times weight^T, weight (N, K): through oneDNN's reordered copy `packed` of weight
// if given, else at::mm.
Tensor product(const Tensor& x, const Tensor& weight, const Maybe& packed) {
  if (!packed.has_value()) return at::mm(x, weight.t());
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "");
  std::vector<c10::IValue> stack{x, *packed, c10::IValue(), std::string("none"),
                                 c10::List<std::optional<c10::Scalar>>(), std::string("")};
  op.callBoxed(&stack);
  return stack[0].toTensor();
}

}  // namespace

// gates (T, B, 4H): the input projections (g block doubled, as kernels.cpp's lstm_forward),
// overwritten by the activations; h0, c0 (B, H); w_hh (4H, H) with its g rows doubled and
// packed its oneDNN reordering or None. Writes cells, tanh_cells and out (T, B, H).
void lstm_forward_loop(const Tensor& gates, const Tensor& h0, const Tensor& c0,
                       const Tensor& w_hh, const Maybe& packed, const Tensor& cells,
                       const Tensor& tanh_cells, const Tensor& out) {
  Tensor h = h0, c = c0;
  for (int64_t t = 0; t < gates.size(0); ++t) {
    const Tensor a = gates[t];
    // the kernel adds gi_t (a) to h W_hh^T and overwrites it with the activations
    lstm_forward(product(h, w_hh, packed), c, a, cells[t], tanh_cells[t], out[t], a);
    h = out[t];
    c = cells[t];
  }
}

// The reverse walk: gates, cells, tanh_cells (T, B, .) from the forward loop, c0 (B, H);
// w_back (H, 4H) = W_hh^T (g columns doubled) and packed its reordering or None; d_out
// (T, B, H) the outputs' gradients or None; dh (B, H) the gradient reaching h_T; dc (B, H) the
// one reaching c_T, updated in place to c_0's; d_gates (T, B, 4H), which may be gates itself,
// receives every step's gradient of the pre-activations. Returns the gradient reaching h_0.
Tensor lstm_backward_loop(const Tensor& gates, const Tensor& cells, const Tensor& tanh_cells,
                          const Tensor& c0, const Tensor& w_back, const Maybe& packed,
                          const Maybe& d_out, const Tensor& dh, const Tensor& dc,
                          const Tensor& d_gates) {
  Tensor d = dh;
  for (int64_t t = gates.size(0) - 1; t >= 0; --t) {
    const Maybe d_out_t = d_out.has_value() ? Maybe((*d_out)[t]) : Maybe();
    lstm_backward(gates[t], t > 0 ? cells[t - 1] : c0, tanh_cells[t], d, dc, d_gates[t],
                  Maybe(), d_out_t);
    d = product(d_gates[t], w_back, packed);  // backprop into h_{t-1}
  }
  return d;
}

TORCH_LIBRARY_FRAGMENT(seqlm_kernels, m) {
  m.def("lstm_forward_loop(Tensor(a!) gates, Tensor h0, Tensor c0, Tensor w_hh, Tensor? packed, "
        "Tensor(b!) cells, Tensor(c!) tanh_cells, Tensor(d!) out) -> ()", lstm_forward_loop);
  m.def("lstm_backward_loop(Tensor(a!) gates, Tensor cells, Tensor tanh_cells, Tensor c0, "
        "Tensor w_back, Tensor? packed, Tensor? d_out, Tensor dh, Tensor(b!) dc, "
        "Tensor(c!) d_gates) -> Tensor", lstm_backward_loop);
}
