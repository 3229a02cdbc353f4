// seqlm's compiled recurrent step kernels: one call per time step, forward and backward, for the
// LSTM, GRU and Elman RNN directions of seqlm/nn/fast and the batch-1 steppers. Built on first
// use by seqlm/nn/fast/kernels.py (torch.utils.cpp_extension.load) and cached.
//
// Each kernel does the whole elementwise part of one step (gate nonlinearities, the cell update
// and, backward, their derivatives) in one pass over memory: rows split across threads with
// at::parallel_for, each row in ATen's SIMD vectors (at::vec::Vectorized). Operands are rows
// (B, G*H) of float32 (or float64, for gradchecks) with unit stride inside a row; outputs may
// alias the inputs they replace (each element is read before its own position is written).
// The conventions are those of the eager paths beside this file, so both compute the same
// numbers up to rounding: tanh as 2 sigmoid(2x) - 1, the LSTM's g pre-activation and the tanh RNN's pre-activation arriving
// already doubled, the GRU's n pre-activation scaled here by n_scale.
//
// Registered as torch operators (torch.ops.seqlm_kernels.*) from light headers: the library
// builds in a fifth of the time that <torch/extension.h> and pybind11 take (measured here:
// 34 s against 178 s for the same small file at load ~6).
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include "step_math.h"

using namespace seqlm;  // NOLINT: this file is the namespace's user

// LSTM forward step. pre (B, 4H): i, f, 2*g, o pre-activations, plus add (B, 4H) if given (the
// step's input projection beside its recurrent product: summed here, in the pass that reads
// both anyway, rather than by a post-op of the product, which costs the product 10-15%)
// -> act (B, 4H) i, f, g, o; c = f c_prev + i g; tanh_c = tanh(c); h = o tanh_c. act and
// tanh_c may be undefined (the steppers keep neither); act may be add itself.
void lstm_forward(const Tensor& pre, const Tensor& c_prev, const Maybe& act_or_none,
                  const Tensor& c, const Maybe& tanh_c_or_none, const Tensor& h,
                  const Maybe& add_or_none) {
  const Tensor act = or_undefined(act_or_none), tanh_c = or_undefined(tanh_c_or_none);
  const Tensor add = or_undefined(add_or_none);
  const int64_t B = pre.size(0), H = c_prev.size(1);
  const at::ScalarType type = pre.scalar_type();
  check(pre, "pre", B, 4 * H, type);
  check(c_prev, "c_prev", B, H, type);
  check(c, "c", B, H, type);
  check(h, "h", B, H, type);
  if (act.defined()) check(act, "act", B, 4 * H, type);
  if (tanh_c.defined()) check(tanh_c, "tanh_c", B, H, type);
  if (add.defined()) check(add, "add", B, 4 * H, type);
  AT_DISPATCH_FLOATING_TYPES(type, "lstm_forward", [&] {
    using Vec = at::vec::Vectorized<scalar_t>;
    const auto R = [](const Tensor& t) { return rows<scalar_t>(t); };
    scalar_t *P = R(pre), *CP = R(c_prev), *A = R(act), *C = R(c), *TC = R(tanh_c),
          *Hh = R(h), *AD = R(add);
    over_rows(B, 4 * H, [&](int64_t b) {
      const scalar_t* p = P + b * pre.stride(0);
      const scalar_t* cp = CP + b * c_prev.stride(0);
      scalar_t* a = A ? A + b * stride(act) : nullptr;
      scalar_t* c_row = C + b * c.stride(0);
      scalar_t* tc_row = TC ? TC + b * stride(tanh_c) : nullptr;
      scalar_t* h_row = Hh + b * h.stride(0);
      const scalar_t* ad = AD ? AD + b * stride(add) : nullptr;
      const auto in = [&](int64_t k, int64_t n) {  // a pre-activation, the addend summed in
        return ad ? load(p + k, n) + load(ad + k, n) : load(p + k, n);
      };
      for (int64_t j = 0; j < H; j += Vec::size()) {
        const int64_t n = std::min<int64_t>(Vec::size(), H - j);
        const LstmUnits<Vec> u = lstm_units(in, load(cp + j, n), H, j, n);
        if (a) {
          store(u.i, a + j, n); store(u.f, a + H + j, n); store(u.g, a + 2 * H + j, n);
          store(u.o, a + 3 * H + j, n);
        }
        store(u.c, c_row + j, n);
        if (tc_row) store(u.tanh_c, tc_row + j, n);
        store(u.o * u.tanh_c, h_row + j, n);
      }
    });
  });
}

// LSTM backward step. act (B, 4H) i, f, g, o; dh (B, H) the gradient reaching h_t from step t+1,
// plus dh_add (B, H) if given (the gradient of output t, summed here rather than by a post-op
// of step t+1's product); dc (B, H) the gradient reaching c_t from step t+1, replaced by the one
// reaching c_{t-1}; d_pre (B, 4H) receives dL/d(pre-activations) and may be act itself.
void lstm_backward(const Tensor& act, const Tensor& c_prev, const Tensor& tanh_c,
                   const Tensor& dh, const Tensor& dc, const Tensor& d_pre,
                   const Maybe& d_low_or_none, const Maybe& dh_add_or_none) {
  const Tensor d_low = or_undefined(d_low_or_none), dh_add = or_undefined(dh_add_or_none);
  const int64_t B = act.size(0), H = c_prev.size(1);
  const at::ScalarType type = act.scalar_type();
  check(act, "act", B, 4 * H, type);
  check(c_prev, "c_prev", B, H, type);
  check(tanh_c, "tanh_c", B, H, type);
  check(dh, "dh", B, H, type);
  check(dc, "dc", B, H, type);
  check(d_pre, "d_pre", B, 4 * H, type);
  if (d_low.defined()) check(d_low, "d_low", B, 4 * H, at::kBFloat16);
  if (dh_add.defined()) check(dh_add, "dh_add", B, H, type);
  AT_DISPATCH_FLOATING_TYPES(type, "lstm_backward", [&] {
    using Vec = at::vec::Vectorized<scalar_t>;
    const auto R = [](const Tensor& t) { return rows<scalar_t>(t); };
    scalar_t *A = R(act), *CP = R(c_prev), *TC = R(tanh_c), *DH = R(dh), *DC = R(dc),
          *D = R(d_pre), *DA = R(dh_add);
    over_rows(B, 4 * H, [&](int64_t b) {
      const scalar_t* a = A + b * act.stride(0);
      const scalar_t* cp = CP + b * c_prev.stride(0);
      const scalar_t* tc_row = TC + b * tanh_c.stride(0);
      const scalar_t* dh_row = DH + b * dh.stride(0);
      const scalar_t* da_row = DA ? DA + b * stride(dh_add) : nullptr;
      scalar_t* dc_row = DC + b * dc.stride(0);
      scalar_t* d = D + b * d_pre.stride(0);
      c10::BFloat16* dl = d_low.defined() ? d_low.data_ptr<c10::BFloat16>() +
                                                b * d_low.stride(0) : nullptr;
      const Vec one(1.f);
      for (int64_t j = 0; j < H; j += Vec::size()) {
        const int64_t n = std::min<int64_t>(Vec::size(), H - j);
        Vec i = load(a + j, n), f = load(a + H + j, n), g = load(a + 2 * H + j, n),
            o = load(a + 3 * H + j, n);
        Vec tc = load(tc_row + j, n), dhv = load(dh_row + j, n);
        if (da_row) dhv = dhv + load(da_row + j, n);  // output t's own gradient
        Vec dcv = load(dc_row + j, n) + dhv * o * (one - tc * tc);  // backprop into c_t via tanh
        store(dcv * f, dc_row + j, n);                                // backprop into c_{t-1}
        Vec d_i = dcv * g * (i - i * i);                              // into i's pre-activation
        Vec d_f = dcv * load(cp + j, n) * (f - f * f);                // into f's
        Vec d_g = dcv * i * (one - g * g);                            // into g's (tanh')
        Vec d_o = dhv * tc * (o - o * o);                             // into o's
        store(d_i, d + j, n); store(d_f, d + H + j, n); store(d_g, d + 2 * H + j, n);
        store(d_o, d + 3 * H + j, n);
        if (dl) {  // the same in bf16: the next products' operand, rounded here once
          store(d_i, dl + j, n); store(d_f, dl + H + j, n); store(d_g, dl + 2 * H + j, n);
          store(d_o, dl + 3 * H + j, n);
        }
      }
    });
  });
}

// GRU forward step. gates (B, 3H): the input projections gi_r, gi_z, gi_n, replaced by r, z, n;
// gh (B, 3H) = h_prev W_hh^T + b_hh; n = tanh(n_scale / 2 * (gi_n + r gh_n)) (n_scale 2 for
// plain weights, 1 for weights whose n block comes doubled); h = n + z (h_prev - n). gh_n (B, H)
// receives gh's n block and may be undefined.
void gru_forward(const Tensor& gates, const Tensor& gh, const Tensor& h_prev,
                 const Maybe& gh_n_or_none, const Tensor& h, double n_scale) {
  const Tensor gh_n = or_undefined(gh_n_or_none);
  const int64_t B = gates.size(0), H = h_prev.size(1);
  const at::ScalarType type = gates.scalar_type();
  check(gates, "gates", B, 3 * H, type);
  check(gh, "gh", B, 3 * H, type);
  check(h_prev, "h_prev", B, H, type);
  check(h, "h", B, H, type);
  if (gh_n.defined()) check(gh_n, "gh_n", B, H, type);
  AT_DISPATCH_FLOATING_TYPES(type, "gru_forward", [&] {
    using Vec = at::vec::Vectorized<scalar_t>;
    const auto R = [](const Tensor& t) { return rows<scalar_t>(t); };
    scalar_t *G = R(gates), *GH = R(gh), *HP = R(h_prev), *GN = R(gh_n), *Hh = R(h);
    const Vec scale(static_cast<scalar_t>(n_scale));
    over_rows(B, 3 * H, [&](int64_t b) {
      scalar_t* a = G + b * gates.stride(0);
      const scalar_t* q = GH + b * gh.stride(0);
      const scalar_t* hp = HP + b * h_prev.stride(0);
      scalar_t* gn = GN ? GN + b * stride(gh_n) : nullptr;
      scalar_t* h_row = Hh + b * h.stride(0);
      for (int64_t j = 0; j < H; j += Vec::size()) {
        const int64_t n = std::min<int64_t>(Vec::size(), H - j);
        Vec r = sigmoid(load(a + j, n) + load(q + j, n));
        Vec z = sigmoid(load(a + H + j, n) + load(q + H + j, n));
        Vec q_n = load(q + 2 * H + j, n);
        Vec nn = tanh_via_sigmoid(scale * (load(a + 2 * H + j, n) + r * q_n));
        Vec hv = load(hp + j, n);
        store(r, a + j, n); store(z, a + H + j, n); store(nn, a + 2 * H + j, n);
        if (gn) store(q_n, gn + j, n);
        store(nn + z * (hv - nn), h_row + j, n);
      }
    });
  });
}

// GRU backward step. act (B, 3H) r, z, n; gh_n (B, H); dh (B, H) the gradient reaching h_t.
// Writes d_gh (B, 3H) = dL/d gh (may be act), d_pn (B, H) = dL/d(n's pre-activation) (may be
// gh_n), d_direct (B, H) = dh z (+ d_out_prev, the gradient of output t-1, if defined).
void gru_backward(const Tensor& act, const Tensor& gh_n, const Tensor& h_prev, const Tensor& dh,
                  const Maybe& d_out_prev_or_none, const Tensor& d_gh, const Tensor& d_pn,
                  const Tensor& d_direct) {
  const Tensor d_out_prev = or_undefined(d_out_prev_or_none);
  const int64_t B = act.size(0), H = h_prev.size(1);
  const at::ScalarType type = act.scalar_type();
  check(act, "act", B, 3 * H, type);
  check(gh_n, "gh_n", B, H, type);
  check(h_prev, "h_prev", B, H, type);
  check(dh, "dh", B, H, type);
  check(d_gh, "d_gh", B, 3 * H, type);
  check(d_pn, "d_pn", B, H, type);
  check(d_direct, "d_direct", B, H, type);
  if (d_out_prev.defined()) check(d_out_prev, "d_out_prev", B, H, type);
  AT_DISPATCH_FLOATING_TYPES(type, "gru_backward", [&] {
    using Vec = at::vec::Vectorized<scalar_t>;
    const auto R = [](const Tensor& t) { return rows<scalar_t>(t); };
    scalar_t *A = R(act), *GN = R(gh_n), *HP = R(h_prev), *DH = R(dh),
          *DO = R(d_out_prev), *DG = R(d_gh), *DP = R(d_pn), *DD = R(d_direct);
    over_rows(B, 3 * H, [&](int64_t b) {
      const scalar_t* a = A + b * act.stride(0);
      const scalar_t* gn = GN + b * gh_n.stride(0);
      const scalar_t* hp = HP + b * h_prev.stride(0);
      const scalar_t* dh_row = DH + b * dh.stride(0);
      const scalar_t* do_row = DO ? DO + b * stride(d_out_prev) : nullptr;
      scalar_t* dg = DG + b * d_gh.stride(0);
      scalar_t* dp = DP + b * d_pn.stride(0);
      scalar_t* dd = DD + b * d_direct.stride(0);
      const Vec one(1.f);
      for (int64_t j = 0; j < H; j += Vec::size()) {
        const int64_t n = std::min<int64_t>(Vec::size(), H - j);
        Vec r = load(a + j, n), z = load(a + H + j, n), nn = load(a + 2 * H + j, n);
        Vec q_n = load(gn + j, n), dhv = load(dh_row + j, n);
        Vec direct = dhv * z;                                   // backprop into h_{t-1} via z h
        if (do_row) direct = direct + load(do_row + j, n);      // h_{t-1} also feeds output t-1
        Vec dz = dhv * (load(hp + j, n) - nn);                  // backprop into z
        Vec dpn = (dhv - dhv * z) * (one - nn * nn);            // into n's pre-activation
        store(dpn * q_n * (r - r * r), dg + j, n);              // into gh_r (= gi_r's)
        store(dz * (z - z * z), dg + H + j, n);                 // into gh_z (= gi_z's)
        store(dpn * r, dg + 2 * H + j, n);                      // into gh_n
        store(dpn, dp + j, n);                                  // into gi_n
        store(direct, dd + j, n);
      }
    });
  });
}

// Elman RNN forward step: h = tanh(pre / 2) from a doubled pre-activation, or relu(pre).
void rnn_forward(const Tensor& pre, const Tensor& h, bool relu) {
  const int64_t B = pre.size(0), H = pre.size(1);
  const at::ScalarType type = pre.scalar_type();
  check(pre, "pre", B, H, type);
  check(h, "h", B, H, type);
  AT_DISPATCH_FLOATING_TYPES(type, "rnn_forward", [&] {
    using Vec = at::vec::Vectorized<scalar_t>;
    const auto R = [](const Tensor& t) { return rows<scalar_t>(t); };
    scalar_t *P = R(pre), *Hh = R(h);
    over_rows(B, H, [&](int64_t b) {
      const scalar_t* p = P + b * pre.stride(0);
      scalar_t* h_row = Hh + b * h.stride(0);
      for (int64_t j = 0; j < H; j += Vec::size()) {
        const int64_t n = std::min<int64_t>(Vec::size(), H - j);
        Vec x = load(p + j, n);
        store(relu ? at::vec::maximum(x, Vec(0)) : tanh_via_sigmoid(x), h_row + j, n);
      }
    });
  });
}

// Elman RNN backward step: d_pre = dh * (1 - h^2) (tanh) or dh * [h > 0] (relu).
void rnn_backward(const Tensor& h, const Tensor& dh, const Tensor& d_pre, bool relu) {
  const int64_t B = h.size(0), H = h.size(1);
  const at::ScalarType type = h.scalar_type();
  check(h, "h", B, H, type);
  check(dh, "dh", B, H, type);
  check(d_pre, "d_pre", B, H, type);
  AT_DISPATCH_FLOATING_TYPES(type, "rnn_backward", [&] {
    using Vec = at::vec::Vectorized<scalar_t>;
    const auto R = [](const Tensor& t) { return rows<scalar_t>(t); };
    scalar_t *Hh = R(h), *DH = R(dh), *D = R(d_pre);
    over_rows(B, H, [&](int64_t b) {
      const scalar_t* h_row = Hh + b * h.stride(0);
      const scalar_t* dh_row = DH + b * dh.stride(0);
      scalar_t* d = D + b * d_pre.stride(0);
      for (int64_t j = 0; j < H; j += Vec::size()) {
        const int64_t n = std::min<int64_t>(Vec::size(), H - j);
        Vec hv = load(h_row + j, n), dhv = load(dh_row + j, n);
        Vec slope = relu ? Vec::blendv(Vec(0), Vec(1), hv > Vec(0)) : Vec(1) - hv * hv;
        store(dhv * slope, d + j, n);
      }
    });
  });
}

// "(a!)": the operator writes that argument in place; "?": it may be None.
TORCH_LIBRARY(seqlm_kernels, m) {
  m.def("lstm_forward(Tensor pre, Tensor c_prev, Tensor(a!)? act, Tensor(b!) c, "
        "Tensor(c!)? tanh_c, Tensor(d!) h, Tensor? add=None) -> ()", lstm_forward);
  m.def("lstm_backward(Tensor act, Tensor c_prev, Tensor tanh_c, Tensor dh, Tensor(a!) dc, "
        "Tensor(b!) d_pre, Tensor(c!)? d_low=None, Tensor? dh_add=None) -> ()", lstm_backward);
  m.def("gru_forward(Tensor(a!) gates, Tensor gh, Tensor h_prev, Tensor(b!)? gh_n, "
        "Tensor(c!) h, float n_scale) -> ()", gru_forward);
  m.def("gru_backward(Tensor act, Tensor gh_n, Tensor h_prev, Tensor dh, Tensor? d_out_prev, "
        "Tensor(a!) d_gh, Tensor(b!) d_pn, Tensor(c!) d_direct) -> ()", gru_backward);
  m.def("rnn_forward(Tensor pre, Tensor(a!) h, bool relu) -> ()", rnn_forward);
  m.def("rnn_backward(Tensor h, Tensor dh, Tensor(a!) d_pre, bool relu) -> ()", rnn_backward);
}
