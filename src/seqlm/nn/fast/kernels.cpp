// seqlm's compiled recurrent step kernels: one call per time step, forward and backward, for the
// LSTM, GRU and Elman RNN directions of seqlm/nn/fast and the batch-1 steppers. Built on first
// use by seqlm/nn/fast/kernels.py (torch.utils.cpp_extension.load_inline) and cached.
//
// Each kernel does the whole elementwise part of one step (gate nonlinearities, the cell update
// and, backward, their derivatives) in one pass over memory: rows split across threads with
// at::parallel_for, each row in ATen's SIMD vectors (at::vec::Vectorized<float>). Operands are
// float32 rows (B, G*H) with unit stride inside a row; outputs may alias the inputs they
// replace (each element is read before its own position is written). The conventions are those
// of the eager paths beside this file, so both compute the same numbers up to rounding: tanh as
// 2 sigmoid(2x) - 1, the LSTM's g pre-activation and the tanh RNN's pre-activation arriving
// already doubled, the GRU's n pre-activation scaled here by n_scale.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>
#include <algorithm>
#include <optional>

using at::Tensor;
using Vec = at::vec::Vectorized<float>;
using Maybe = std::optional<Tensor>;  // None from Python

namespace {

constexpr int64_t kWork = 16384;  // elements per thread below which a step stays on one thread

inline Vec sigmoid(Vec x) { return Vec(1.f) / (Vec(1.f) + x.neg().exp_u20()); }

inline Vec tanh_via_sigmoid(Vec x2) { return Vec(2.f) * sigmoid(x2) - Vec(1.f); }  // of x2 = 2x

inline Tensor or_undefined(const Maybe& t) { return t.has_value() ? *t : Tensor(); }

inline float* rows(const Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }

inline int64_t stride(const Tensor& t) { return t.defined() ? t.stride(0) : 0; }

void check(const Tensor& t, const char* name, int64_t batch, int64_t width) {
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.device().is_cpu(), name,
              " must be a float32 CPU tensor");
  TORCH_CHECK(t.dim() == 2 && t.size(0) == batch && t.size(1) == width && t.stride(1) == 1,
              name, " must be (", batch, ", ", width, ") with rows of unit stride");
}

template <typename F>
void over_rows(int64_t batch, int64_t width, const F& row) {
  int64_t grain = std::max<int64_t>(1, kWork / std::max<int64_t>(width, 1));
  at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) row(b);
  });
}

// One vector of the hidden units j .. j+n of a row: n < Vec::size() at a row's tail.
inline Vec load(const float* p, int64_t n) { return n == Vec::size() ? Vec::loadu(p) : Vec::loadu(p, n); }
inline void store(const Vec& v, float* p, int64_t n) { v.store(p, n); }

}  // namespace

// LSTM forward step. pre (B, 4H): i, f, 2*g, o pre-activations -> act (B, 4H) i, f, g, o;
// c = f c_prev + i g; tanh_c = tanh(c); h = o tanh_c. act and tanh_c may be undefined (the
// steppers keep neither).
void lstm_forward(const Tensor& pre, const Tensor& c_prev, const Maybe& act_or_none,
                  const Tensor& c, const Maybe& tanh_c_or_none, const Tensor& h) {
  const Tensor act = or_undefined(act_or_none), tanh_c = or_undefined(tanh_c_or_none);
  const int64_t B = pre.size(0), H = c_prev.size(1);
  check(pre, "pre", B, 4 * H); check(c_prev, "c_prev", B, H); check(c, "c", B, H);
  check(h, "h", B, H);
  if (act.defined()) check(act, "act", B, 4 * H);
  if (tanh_c.defined()) check(tanh_c, "tanh_c", B, H);
  float *P = rows(pre), *CP = rows(c_prev), *A = rows(act), *C = rows(c), *TC = rows(tanh_c),
        *Hh = rows(h);
  over_rows(B, 4 * H, [&](int64_t b) {
    const float* p = P + b * pre.stride(0);
    const float* cp = CP + b * c_prev.stride(0);
    float* a = A ? A + b * stride(act) : nullptr;
    float* c_row = C + b * c.stride(0);
    float* tc_row = TC ? TC + b * stride(tanh_c) : nullptr;
    float* h_row = Hh + b * h.stride(0);
    for (int64_t j = 0; j < H; j += Vec::size()) {
      const int64_t n = std::min<int64_t>(Vec::size(), H - j);
      Vec i = sigmoid(load(p + j, n)), f = sigmoid(load(p + H + j, n));
      Vec g = tanh_via_sigmoid(load(p + 2 * H + j, n)), o = sigmoid(load(p + 3 * H + j, n));
      Vec cc = f * load(cp + j, n) + i * g;
      Vec tc = tanh_via_sigmoid(cc * Vec(2.f));
      if (a) {
        store(i, a + j, n); store(f, a + H + j, n); store(g, a + 2 * H + j, n);
        store(o, a + 3 * H + j, n);
      }
      store(cc, c_row + j, n);
      if (tc_row) store(tc, tc_row + j, n);
      store(o * tc, h_row + j, n);
    }
  });
}

// LSTM backward step. act (B, 4H) i, f, g, o; dh (B, H) the gradient reaching h_t; dc (B, H)
// the gradient reaching c_t from step t+1, replaced by the one reaching c_{t-1}; d_pre (B, 4H)
// receives dL/d(pre-activations) and may be act itself.
void lstm_backward(const Tensor& act, const Tensor& c_prev, const Tensor& tanh_c,
                   const Tensor& dh, const Tensor& dc, const Tensor& d_pre) {
  const int64_t B = act.size(0), H = c_prev.size(1);
  check(act, "act", B, 4 * H); check(c_prev, "c_prev", B, H); check(tanh_c, "tanh_c", B, H);
  check(dh, "dh", B, H); check(dc, "dc", B, H); check(d_pre, "d_pre", B, 4 * H);
  float *A = rows(act), *CP = rows(c_prev), *TC = rows(tanh_c), *DH = rows(dh), *DC = rows(dc),
        *D = rows(d_pre);
  over_rows(B, 4 * H, [&](int64_t b) {
    const float* a = A + b * act.stride(0);
    const float* cp = CP + b * c_prev.stride(0);
    const float* tc_row = TC + b * tanh_c.stride(0);
    const float* dh_row = DH + b * dh.stride(0);
    float* dc_row = DC + b * dc.stride(0);
    float* d = D + b * d_pre.stride(0);
    const Vec one(1.f);
    for (int64_t j = 0; j < H; j += Vec::size()) {
      const int64_t n = std::min<int64_t>(Vec::size(), H - j);
      Vec i = load(a + j, n), f = load(a + H + j, n), g = load(a + 2 * H + j, n),
          o = load(a + 3 * H + j, n);
      Vec tc = load(tc_row + j, n), dhv = load(dh_row + j, n);
      Vec dcv = load(dc_row + j, n) + dhv * o * (one - tc * tc);  // backprop into c_t via tanh
      store(dcv * f, dc_row + j, n);                                // backprop into c_{t-1}
      store(dcv * g * (i - i * i), d + j, n);                       // into i's pre-activation
      store(dcv * load(cp + j, n) * (f - f * f), d + H + j, n);     // into f's
      store(dcv * i * (one - g * g), d + 2 * H + j, n);             // into g's (tanh')
      store(dhv * tc * (o - o * o), d + 3 * H + j, n);              // into o's
    }
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
  check(gates, "gates", B, 3 * H); check(gh, "gh", B, 3 * H); check(h_prev, "h_prev", B, H);
  check(h, "h", B, H);
  if (gh_n.defined()) check(gh_n, "gh_n", B, H);
  float *G = rows(gates), *GH = rows(gh), *HP = rows(h_prev), *GN = rows(gh_n), *Hh = rows(h);
  const Vec scale(static_cast<float>(n_scale));
  over_rows(B, 3 * H, [&](int64_t b) {
    float* a = G + b * gates.stride(0);
    const float* q = GH + b * gh.stride(0);
    const float* hp = HP + b * h_prev.stride(0);
    float* gn = GN ? GN + b * stride(gh_n) : nullptr;
    float* h_row = Hh + b * h.stride(0);
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
}

// GRU backward step. act (B, 3H) r, z, n; gh_n (B, H); dh (B, H) the gradient reaching h_t.
// Writes d_gh (B, 3H) = dL/d gh (may be act), d_pn (B, H) = dL/d(n's pre-activation) (may be
// gh_n), d_direct (B, H) = dh z (+ d_out_prev, the gradient of output t-1, if defined).
void gru_backward(const Tensor& act, const Tensor& gh_n, const Tensor& h_prev, const Tensor& dh,
                  const Maybe& d_out_prev_or_none, const Tensor& d_gh, const Tensor& d_pn,
                  const Tensor& d_direct) {
  const Tensor d_out_prev = or_undefined(d_out_prev_or_none);
  const int64_t B = act.size(0), H = h_prev.size(1);
  check(act, "act", B, 3 * H); check(gh_n, "gh_n", B, H); check(h_prev, "h_prev", B, H);
  check(dh, "dh", B, H); check(d_gh, "d_gh", B, 3 * H); check(d_pn, "d_pn", B, H);
  check(d_direct, "d_direct", B, H);
  if (d_out_prev.defined()) check(d_out_prev, "d_out_prev", B, H);
  float *A = rows(act), *GN = rows(gh_n), *HP = rows(h_prev), *DH = rows(dh),
        *DO = rows(d_out_prev), *DG = rows(d_gh), *DP = rows(d_pn), *DD = rows(d_direct);
  over_rows(B, 3 * H, [&](int64_t b) {
    const float* a = A + b * act.stride(0);
    const float* gn = GN + b * gh_n.stride(0);
    const float* hp = HP + b * h_prev.stride(0);
    const float* dh_row = DH + b * dh.stride(0);
    const float* do_row = DO ? DO + b * stride(d_out_prev) : nullptr;
    float* dg = DG + b * d_gh.stride(0);
    float* dp = DP + b * d_pn.stride(0);
    float* dd = DD + b * d_direct.stride(0);
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
}

// Elman RNN forward step: h = tanh(pre / 2) from a doubled pre-activation, or relu(pre).
void rnn_forward(const Tensor& pre, const Tensor& h, bool relu) {
  const int64_t B = pre.size(0), H = pre.size(1);
  check(pre, "pre", B, H); check(h, "h", B, H);
  float *P = rows(pre), *Hh = rows(h);
  over_rows(B, H, [&](int64_t b) {
    const float* p = P + b * pre.stride(0);
    float* h_row = Hh + b * h.stride(0);
    for (int64_t j = 0; j < H; j += Vec::size()) {
      const int64_t n = std::min<int64_t>(Vec::size(), H - j);
      Vec x = load(p + j, n);
      store(relu ? at::vec::maximum(x, Vec(0.f)) : tanh_via_sigmoid(x), h_row + j, n);
    }
  });
}

// Elman RNN backward step: d_pre = dh * (1 - h^2) (tanh) or dh * [h > 0] (relu).
void rnn_backward(const Tensor& h, const Tensor& dh, const Tensor& d_pre, bool relu) {
  const int64_t B = h.size(0), H = h.size(1);
  check(h, "h", B, H); check(dh, "dh", B, H); check(d_pre, "d_pre", B, H);
  float *Hh = rows(h), *DH = rows(dh), *D = rows(d_pre);
  over_rows(B, H, [&](int64_t b) {
    const float* h_row = Hh + b * h.stride(0);
    const float* dh_row = DH + b * dh.stride(0);
    float* d = D + b * d_pre.stride(0);
    for (int64_t j = 0; j < H; j += Vec::size()) {
      const int64_t n = std::min<int64_t>(Vec::size(), H - j);
      Vec hv = load(h_row + j, n), dhv = load(dh_row + j, n);
      Vec slope = relu ? Vec::blendv(Vec(0.f), Vec(1.f), hv > Vec(0.f)) : Vec(1.f) - hv * hv;
      store(dhv * slope, d + j, n);
    }
  });
}
