// seqlm's fused LSTM, GRU and RNN directions: the whole time loop, forward or backward, in one
// call: float32 and float64 operands, and bf16 products (weights given in bf16: each step's
// operand is rounded to bf16 and its product widened again, as seqlm/nn/fast/matmul.py does).
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
#include <ATen/ops/add.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/mm.h>
#include <torch/library.h>

#include <string>
#include <vector>

#include "step_math.h"

using namespace seqlm;  // NOLINT: this file is the namespace's user

namespace {

// x (B, K) times weight^T, weight (N, K), plus bias (N) if given: through oneDNN's reordered
// copy `packed` of weight if given, else at::mm / at::addmm.
Tensor product(const Tensor& x, const Tensor& weight, const Maybe& packed,
               const Maybe& bias = Maybe()) {
  if (!packed.has_value())
    return bias.has_value() ? at::addmm(*bias, x, weight.t()) : at::mm(x, weight.t());
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "");
  std::vector<c10::IValue> stack{x, *packed, bias.has_value() ? c10::IValue(*bias) : c10::IValue(),
                                 std::string("none"), c10::List<std::optional<c10::Scalar>>(),
                                 std::string("")};
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

// The same with bf16 products (lstm_bf16.cpp's step): gi_low (T, B, 4H) the bf16 input
// projections, h0_low (B, H) bf16, w_low (4H, H) bf16 and its reordering; writes the float32
// activations into gates and h also in bf16 into out_low (T, B, H).
void lstm_forward_loop_low(const Tensor& gi_low, const Tensor& h0_low, const Tensor& c0,
                           const Tensor& w_low, const Maybe& packed, const Tensor& gates,
                           const Tensor& cells, const Tensor& tanh_cells, const Tensor& out,
                           const Tensor& out_low) {
  Tensor h = h0_low, c = c0;
  for (int64_t t = 0; t < gates.size(0); ++t) {
    lstm_forward_low(gi_low[t], product(h, w_low, packed), c, gates[t], cells[t], tanh_cells[t],
                     out[t], out_low[t]);
    h = out_low[t];
    c = cells[t];
  }
}

// The reverse walk: gates, cells, tanh_cells (T, B, .) from the forward loop, c0 (B, H);
// w_back (H, 4H) = W_hh^T (g columns doubled) and packed its reordering or None; d_out
// (T, B, H) the outputs' gradients or None; dh (B, H) the gradient reaching h_T; dc (B, H) the
// one reaching c_T, updated in place to c_0's; d_gates (T, B, 4H), which may be gates itself,
// receives every step's gradient of the pre-activations, and d_low (T, B, 4H) if given the
// same in bf16, then the operand of the bf16 product with w_back (bf16). Returns the gradient
// reaching h_0.
Tensor lstm_backward_loop(const Tensor& gates, const Tensor& cells, const Tensor& tanh_cells,
                          const Tensor& c0, const Tensor& w_back, const Maybe& packed,
                          const Maybe& d_out, const Tensor& dh, const Tensor& dc,
                          const Tensor& d_gates, const Maybe& d_low) {
  Tensor d = dh;
  for (int64_t t = gates.size(0) - 1; t >= 0; --t) {
    const Maybe d_out_t = d_out.has_value() ? Maybe((*d_out)[t]) : Maybe();
    const Maybe low = d_low.has_value() ? Maybe((*d_low)[t]) : Maybe();
    lstm_backward(gates[t], t > 0 ? cells[t - 1] : c0, tanh_cells[t], d, dc, d_gates[t], low,
                  d_out_t);
    // backprop into h_{t-1}: a bf16 product is widened for the next step's kernel
    d = product(low.has_value() ? *low : d_gates[t], w_back, packed).to(gates.scalar_type());
  }
  return d;
}

// GRU: gates (T, B, 3H) the input projections, overwritten by r, z, n; w_hh (3H, H), b_hh (3H)
// or None, packed as above; writes gh_n and out (T, B, H). As seqlm/nn/fast/gru.py's loop.
void gru_forward_loop(const Tensor& gates, const Tensor& h0, const Tensor& w_hh,
                      const Maybe& b_hh, const Maybe& packed, const Tensor& gh_n,
                      const Tensor& out) {
  Tensor h = h0;
  for (int64_t t = 0; t < gates.size(0); ++t) {
    const Tensor gh = product(h.to(w_hh.scalar_type()), w_hh, packed, b_hh);
    gru_forward(gates[t], gh.to(gates.scalar_type()), h, gh_n[t], out[t], 2.0);
    h = out[t];
  }
}

// GRU backward: w_back (H, 3H) = W_hh^T; d_gh (T, B, 3H) and d_pn (T, B, H) receive the
// gradients of gh and of n's pre-activation; returns the gradient reaching h_0.
Tensor gru_backward_loop(const Tensor& gates, const Tensor& gh_n, const Tensor& out,
                         const Tensor& h0, const Tensor& w_back, const Maybe& packed,
                         const Maybe& d_out, const Tensor& dh, const Tensor& d_gh,
                         const Tensor& d_pn) {
  const int64_t T = gates.size(0);
  Tensor d = d_out.has_value() ? at::add(dh, (*d_out)[T - 1]) : dh;
  const Tensor d_direct = at::empty_like(out[0]);  // dL/dh_{t-1} outside gh, reused
  for (int64_t t = T - 1; t >= 0; --t) {
    const Maybe d_prev = d_out.has_value() && t > 0 ? Maybe((*d_out)[t - 1]) : Maybe();
    gru_backward(gates[t], gh_n[t], t > 0 ? out[t - 1] : h0, d, d_prev, d_gh[t], d_pn[t],
                 d_direct);
    d = product(d_gh[t].to(w_back.scalar_type()), w_back, packed)  // backprop into h_{t-1}
            .to(out.scalar_type())
            .add_(d_direct);
  }
  return d;
}

// Elman RNN: gi (T, B, H) the input projections (doubled for tanh, as w_hh); writes out.
void rnn_forward_loop(const Tensor& gi, const Tensor& h0, const Tensor& w_hh,
                      const Maybe& packed, const Tensor& out, bool relu) {
  Tensor h = h0;
  for (int64_t t = 0; t < gi.size(0); ++t) {
    Tensor pre = product(h.to(w_hh.scalar_type()), w_hh, packed);
    pre = pre.scalar_type() == gi.scalar_type() ? pre.add_(gi[t]) : at::add(gi[t], pre);
    rnn_forward(pre, out[t], relu);
    h = out[t];
  }
}

// RNN backward: w_back (H, H) = W_hh^T; d_pre (T, B, H) receives dL/d(pre-activations);
// returns the gradient reaching h_0.
Tensor rnn_backward_loop(const Tensor& out, const Tensor& w_back, const Maybe& packed,
                         const Maybe& d_out, const Tensor& dh, const Tensor& d_pre,
                         bool relu) {
  const int64_t T = out.size(0);
  Tensor d = d_out.has_value() ? at::add(dh, (*d_out)[T - 1]) : dh;
  for (int64_t t = T - 1; t >= 0; --t) {
    rnn_backward(out[t], d, d_pre[t], relu);
    d = product(d_pre[t].to(w_back.scalar_type()), w_back, packed)  // backprop into h_{t-1},
            .to(out.scalar_type());                                   // and output t-1's own
    if (d_out.has_value() && t > 0) d.add_((*d_out)[t - 1]);
  }
  return d;
}

TORCH_LIBRARY_FRAGMENT(seqlm_kernels, m) {
  m.def("lstm_forward_loop(Tensor(a!) gates, Tensor h0, Tensor c0, Tensor w_hh, Tensor? packed, "
        "Tensor(b!) cells, Tensor(c!) tanh_cells, Tensor(d!) out) -> ()", lstm_forward_loop);
  m.def("lstm_backward_loop(Tensor(a!) gates, Tensor cells, Tensor tanh_cells, Tensor c0, "
        "Tensor w_back, Tensor? packed, Tensor? d_out, Tensor dh, Tensor(b!) dc, "
        "Tensor(c!) d_gates, Tensor(d!)? d_low=None) -> Tensor", lstm_backward_loop);
  m.def("lstm_forward_loop_low(Tensor gi_low, Tensor h0_low, Tensor c0, Tensor w_low, "
        "Tensor? packed, Tensor(a!) gates, Tensor(b!) cells, Tensor(c!) tanh_cells, "
        "Tensor(d!) out, Tensor(e!) out_low) -> ()", lstm_forward_loop_low);
  m.def("gru_forward_loop(Tensor(a!) gates, Tensor h0, Tensor w_hh, Tensor? b_hh, "
        "Tensor? packed, Tensor(b!) gh_n, Tensor(c!) out) -> ()", gru_forward_loop);
  m.def("gru_backward_loop(Tensor gates, Tensor gh_n, Tensor out, Tensor h0, Tensor w_back, "
        "Tensor? packed, Tensor? d_out, Tensor dh, Tensor(a!) d_gh, Tensor(b!) d_pn) -> Tensor",
        gru_backward_loop);
  m.def("rnn_forward_loop(Tensor gi, Tensor h0, Tensor w_hh, Tensor? packed, Tensor(a!) out, "
        "bool relu) -> ()", rnn_forward_loop);
  m.def("rnn_backward_loop(Tensor out, Tensor w_back, Tensor? packed, Tensor? d_out, "
        "Tensor dh, Tensor(a!) d_pre, bool relu) -> Tensor", rnn_backward_loop);
}
