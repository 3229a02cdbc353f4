// seqlm's batch-1 stack step: one call per generated token for a whole RNN / LSTM / GRU stack
// (seqlm/nn/fast/stepper.py, `--kernels compiled`, batch 1, float32 on the CPU). Built with
// kernels.cpp by seqlm/nn/fast/kernels.py into the same library.
//
// At batch 1 every product is a vector times a matrix, limited by reading the weights, and a
// step of torch ops spends as long again launching ~10 small ops from Python (measured: the
// GRU stepper at H = 256 took 90 us per character against 51 us for its products alone).
// Here the whole step is one operator: layer 0's input projection is a row of a precomputed
// table (embedding x W_ih + bias, per vocabulary entry), then per layer the products and the
// cell's elementwise update, then the output projection; no tensor is made but the outputs.
// The products read weights packed once as (ceil(N / 64), K, 64): each block of 64 output
// columns is one contiguous stream over the K inputs (zero-padded at the last block), split
// over the threads by blocks when the product is large enough to pay for it.
//
// Conventions are those of the compiled steppers in stepper.py: the LSTM's g columns and the
// tanh RNN's weights arrive doubled (tanh x = 2 sigmoid(2x) - 1), the GRU's plain.
#include <ATen/ops/empty.h>
#include <torch/library.h>
#include <vector>

#include "step_math.h"

using namespace seqlm;  // NOLINT: this file is the namespace's user

namespace {

using Vec = at::vec::Vectorized<float>;
constexpr int64_t kBlock = 64;             // output columns per packed block
constexpr int64_t kParallel = 1 << 16;     // multiply-adds below which a product stays serial
// (2^16: a 256 KB fp32 weight, ~5 us to stream; splitting it over 2 threads measured faster
// than 2^18 for the 2 x 512 RNN (19.8k -> 27.4k chars/s) and the 2 x 256 GRU (24.9k -> 33.7k))
enum Kind : int64_t { kLSTM = 0, kGRU = 1, kTanh = 2, kRelu = 3 };

inline const float* maybe(const Tensor& t) { return t.numel() ? t.data_ptr<float>() : nullptr; }

// y[0:N] = init[0:N] (or 0) + x[0:K] W, W packed (ceil(N / 64), K, 64); y may be init.
void gemv(const float* x, int64_t K, const Tensor& packed, int64_t N, const float* init,
          float* y) {
  constexpr int64_t V = kBlock / Vec::size();
  TORCH_CHECK(packed.dim() == 3 && packed.size(1) == K && packed.size(2) == kBlock &&
              packed.size(0) * kBlock >= N && packed.is_contiguous() &&
              packed.scalar_type() == at::kFloat, "a packed weight must be a contiguous "
              "float32 (ceil(N / 64), K, 64) tensor, K = ", K, ", N = ", N);
  const float* W = packed.data_ptr<float>();
  const int64_t blocks = (N + kBlock - 1) / kBlock;
  const int64_t grain = std::max<int64_t>(1, kParallel / (K * kBlock));
  at::parallel_for(0, blocks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t nb = begin; nb < end; ++nb) {
      Vec even[V], odd[V];  // two chains per vector: the adds of one wait on fewer others
      for (int64_t v = 0; v < V; ++v) even[v] = odd[v] = Vec(0.f);
      const float* p = W + nb * K * kBlock;
      int64_t k = 0;
      for (; k + 1 < K; k += 2, p += 2 * kBlock) {
        const Vec a(x[k]), b(x[k + 1]);
        for (int64_t v = 0; v < V; ++v) {
          even[v] = at::vec::fmadd(a, Vec::loadu(p + v * Vec::size()), even[v]);
          odd[v] = at::vec::fmadd(b, Vec::loadu(p + kBlock + v * Vec::size()), odd[v]);
        }
      }
      if (k < K) {
        const Vec a(x[k]);
        for (int64_t v = 0; v < V; ++v)
          even[v] = at::vec::fmadd(a, Vec::loadu(p + v * Vec::size()), even[v]);
      }
      for (int64_t v = 0; v < V; ++v) {
        const int64_t j = nb * kBlock + v * Vec::size();
        if (j >= N) break;
        const int64_t n = std::min<int64_t>(Vec::size(), N - j);
        Vec out = even[v] + odd[v];
        if (init) out = out + load(init + j, n);
        out.store(y + j, n);
      }
    }
  });
}

// LSTM, pre (4H): i, f, 2 g, o pre-activations -> c, h.
void lstm_row(const float* pre, const float* c_prev, float* c, float* h, int64_t H) {
  for (int64_t j = 0; j < H; j += Vec::size()) {
    const int64_t n = std::min<int64_t>(Vec::size(), H - j);
    const auto column = [&](int64_t k, int64_t m) { return load(pre + k, m); };
    const LstmUnits<Vec> u = lstm_units(column, load(c_prev + j, n), H, j, n);
    u.c.store(c + j, n);
    (u.o * u.tanh_c).store(h + j, n);
  }
}

// GRU, gi and gh (3H) the input and recurrent projections with their biases -> h.
void gru_row(const float* gi, const float* gh, const float* h_prev, float* h, int64_t H) {
  for (int64_t j = 0; j < H; j += Vec::size()) {
    const int64_t n = std::min<int64_t>(Vec::size(), H - j);
    Vec r = sigmoid(load(gi + j, n) + load(gh + j, n));
    Vec z = sigmoid(load(gi + H + j, n) + load(gh + H + j, n));
    Vec nn = tanh_via_sigmoid(Vec(2.f) * (load(gi + 2 * H + j, n) +
                                          r * load(gh + 2 * H + j, n)));
    (nn + z * (load(h_prev + j, n) - nn)).store(h + j, n);
  }
}

// Elman RNN, pre (H) -> h: tanh of a doubled pre-activation, or relu.
void rnn_row(const float* pre, float* h, int64_t H, bool relu) {
  for (int64_t j = 0; j < H; j += Vec::size()) {
    const int64_t n = std::min<int64_t>(Vec::size(), H - j);
    Vec x = load(pre + j, n);
    (relu ? at::vec::maximum(x, Vec(0.f)) : tanh_via_sigmoid(x)).store(h + j, n);
  }
}

void check_float(const Tensor& t, const char* name) {
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.device().is_cpu() && t.is_contiguous(),
              name, " must be a contiguous float32 CPU tensor");
}

}  // namespace

// One token through the stack. table (V, G H): layer 0's input projection per token, bias
// included; idx (1,) int64; per layer l: w_ih[l] packed (empty for layer 0), b_in[l] (G H or
// empty), w_hh[l] packed, b_step[l] (the GRU's b_hh, else empty); h and c (L, 1, H) (c empty
// but for the LSTM); proj_w packed (H -> V), proj_b (V). Returns logits (1, V), h' and, for the
// LSTM, c' (L, 1, H), all new tensors.
std::vector<Tensor> stack_step(const Tensor& table, const Tensor& idx,
                               at::TensorList w_ih, at::TensorList b_in, at::TensorList w_hh,
                               at::TensorList b_step, const Tensor& h,
                               const Tensor& c, const Tensor& proj_w, const Tensor& proj_b,
                               int64_t kind) {
  check_float(table, "table");
  check_float(h, "h");
  check_float(proj_b, "proj_b");
  const int64_t L = h.size(0), H = h.size(2), V = table.size(0);
  const int64_t G = kind == kLSTM ? 4 : kind == kGRU ? 3 : 1;
  TORCH_CHECK(h.dim() == 3 && h.size(1) == 1, "h must be (L, 1, H): the stack step is batch-1");
  TORCH_CHECK(table.dim() == 2 && table.size(1) == G * H, "table must be (V, G H)");
  TORCH_CHECK(idx.scalar_type() == at::kLong && idx.numel() == 1, "idx must be one int64");
  TORCH_CHECK(proj_b.numel() == V, "proj_b must have one entry per token");
  TORCH_CHECK(static_cast<int64_t>(w_hh.size()) == L && w_ih.size() == w_hh.size() &&
              b_in.size() == w_hh.size() && b_step.size() == w_hh.size(),
              "one w_ih, b_in, w_hh, b_step per layer");
  if (kind == kLSTM) check_float(c, "c");
  TORCH_CHECK(kind != kLSTM || c.sizes() == h.sizes(), "c must be shaped as h");
  const int64_t token = idx.data_ptr<int64_t>()[0];
  TORCH_CHECK(token >= 0 && token < V, "token ", token, " outside the vocabulary of ", V);
  Tensor h_new = at::empty(h.sizes(), h.options());
  Tensor c_new = kind == kLSTM ? at::empty(c.sizes(), c.options()) : Tensor();
  std::vector<float> gi(G * H), gh(G * H);
  const float* x = nullptr;  // the layer's input, (H) after layer 0
  for (int64_t l = 0; l < L; ++l) {
    const float* in = table.data_ptr<float>() + token * G * H;  // layer 0: a table row
    if (l > 0) {
      for (const Tensor* t : {&b_in[l], &b_step[l]}) if (t->numel()) check_float(*t, "bias");
      gemv(x, H, w_ih[l], G * H, maybe(b_in[l]), gi.data());
      in = gi.data();
    }
    const float* hp = h.data_ptr<float>() + l * H;
    float* ho = h_new.data_ptr<float>() + l * H;
    if (kind == kGRU) {  // gh apart: its n block sits inside the reset gate's product
      gemv(hp, H, w_hh[l], G * H, maybe(b_step[l]), gh.data());
      gru_row(in, gh.data(), hp, ho, H);
    } else {
      gemv(hp, H, w_hh[l], G * H, in, gh.data());  // the pre-activations
      if (kind == kLSTM)
        lstm_row(gh.data(), c.data_ptr<float>() + l * H, c_new.data_ptr<float>() + l * H, ho, H);
      else
        rnn_row(gh.data(), ho, H, kind == kRelu);
    }
    x = ho;
  }
  Tensor logits = at::empty({1, V}, h.options());
  gemv(x, H, proj_w, V, proj_b.data_ptr<float>(), logits.data_ptr<float>());
  if (kind == kLSTM) return {logits, h_new, c_new};
  return {logits, h_new};
}

TORCH_LIBRARY_FRAGMENT(seqlm_kernels, m) {
  m.def("stack_step(Tensor table, Tensor idx, Tensor[] w_ih, Tensor[] b_in, Tensor[] w_hh, "
        "Tensor[] b_step, Tensor h, Tensor c, Tensor proj_w, Tensor proj_b, int kind) "
        "-> Tensor[]", stack_step);
}
