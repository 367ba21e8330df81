// ptp/adapters/torch/mlm_head.hpp — a masked-LM head for an encoder that ships without one.
//
// The cloze recipes (PET, P-tuning) read the answer off the masked-LM head: a verbalizer word's
// logit at [MASK]. Sentence encoders such as the packaged MiniLM and MPNet are published
// without that head, so a cloze head would start untrained and the verbalizer would carry no
// prior. fit_mlm_head gives it one: the head (dense → activation → LayerNorm, decoder tied to
// the word embeddings, plus its output bias) is trained by masked-word prediction on the
// *frozen* encoder, over whatever text the caller has (the programs use WordNet's glosses).
// save_mlm_head writes it under the checkpoint's own HF names, so load_options::mlm_head_file
// reads it like a checkpoint's head; a real MLM checkpoint needs none of this.
//
//   auto [enc, rep] = ptp::torch::load_pretrained_encoder(dir, {.new_mlm_head = true});
//   auto r = ptp::torch::fit_mlm_head(enc, corpus, {.mask_id = tok_mask, .special = specials});
//   ptp::torch::save_mlm_head(enc, "head.safetensors");
#pragma once

#include <ptp/adapters/torch/encoders.hpp>
#include <ptp/adapters/torch/safetensors.hpp>
#include <ptp/random.hpp>

#include <torch/torch.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace ptp::torch {

/// How fit_mlm_head trains and what it masks.
struct mlm_fit_options {
  std::int64_t mask_id = 0;           ///< the tokenizer's [MASK] / <mask>
  std::int64_t pad_id = 0;
  std::set<std::int64_t> special;     ///< ids never masked ([CLS], [SEP], …)
  double mask_rate = 0.15;            ///< share of each sequence's ordinary tokens replaced by [MASK] (at least one)
  std::int64_t steps = 600;
  std::int64_t batch_size = 32;
  double lr = 1e-3;                   ///< AdamW, no weight decay, constant
  std::uint64_t seed = 1;             ///< which tokens are masked, the batch order, and the head's initialisation
};

/// What fit_mlm_head measured: fill-mask top-1 on the held-out sequences before and after,
/// and the masked-token loss over the last tenth of the steps.
struct mlm_fit_result {
  double top1_before = 0, top1_after = 0;
  std::size_t heldout_masks = 0;
  double final_loss = 0;
};

namespace detail {

// One padded batch of `seqs` with a generator-chosen share of each sequence's ordinary tokens
// replaced by [MASK]; returns ids, attention mask, and (row, position, original id) targets.
struct masked_batch {
  at::Tensor ids, attention, rows, positions, targets;
};

inline masked_batch mask_batch(std::span<const std::vector<std::int64_t>* const> seqs, const mlm_fit_options& o, generator& g) {
  std::size_t L = 0;
  for (const auto* s : seqs) L = std::max(L, s->size());
  const auto B = static_cast<std::int64_t>(seqs.size());
  auto ids = at::full({B, static_cast<std::int64_t>(L)}, o.pad_id, at::kLong);
  auto att = at::zeros({B, static_cast<std::int64_t>(L)}, at::kLong);
  std::vector<std::int64_t> rows, pos, tgt;
  auto pi = ids.accessor<std::int64_t, 2>();
  auto pa = att.accessor<std::int64_t, 2>();
  for (std::int64_t b = 0; b < B; ++b) {
    const auto& s = *seqs[static_cast<std::size_t>(b)];
    std::vector<std::size_t> ordinary;
    for (std::size_t t = 0; t < s.size(); ++t) {
      pi[b][static_cast<std::int64_t>(t)] = s[t];
      pa[b][static_cast<std::int64_t>(t)] = 1;
      if (!o.special.contains(s[t])) ordinary.push_back(t);
    }
    if (ordinary.empty()) continue;
    // a partial Fisher–Yates draw of k distinct ordinary positions
    const auto k = std::max<std::size_t>(1, static_cast<std::size_t>(o.mask_rate * static_cast<double>(ordinary.size()) + 0.5));
    for (std::size_t i = 0; i < k && i < ordinary.size(); ++i) {
      std::swap(ordinary[i], ordinary[i + g.below(ordinary.size() - i)]);
      const auto t = static_cast<std::int64_t>(ordinary[i]);
      rows.push_back(b);
      pos.push_back(t);
      tgt.push_back(s[static_cast<std::size_t>(t)]);
      pi[b][t] = o.mask_id;
    }
  }
  return {ids, att, at::tensor(rows, at::kLong), at::tensor(pos, at::kLong), at::tensor(tgt, at::kLong)};
}

// The frozen encoder's last hidden states at the masked positions (no graph).
inline at::Tensor masked_states(pretrained_encoder& enc, const masked_batch& b) {
  ::torch::NoGradGuard ng;
  const auto dev = enc->word_embeddings->weight.device();
  const auto ids = b.ids.to(dev), att = b.attention.to(dev);
  const auto out = enc->forward_embeds(enc->embed_words(ids), at::zeros_like(ids), att.to(at::kFloat), {});
  return out.last_hidden_state.index({b.rows.to(dev), b.positions.to(dev)});
}

}  // namespace detail

/// Fill-mask top-1 of `enc`'s head on `heldout`: the share of masked tokens (o.mask_rate of
/// each sequence, drawn from `o.seed`'s "EVAL" stream) whose original id is the argmax.
inline std::pair<double, std::size_t> fill_mask_top1(pretrained_encoder& enc, const std::vector<std::vector<std::int64_t>>& heldout,
                                                     const mlm_fit_options& o) {
  if (!enc->has_mlm_head()) throw encoder_error("fill_mask_top1: the encoder has no masked-LM head");
  generator g{.seed = o.seed, .stream = 0x4556414Cull};  // "EVAL": the same masks for every head
  ::torch::NoGradGuard ng;
  const bool was_training = enc->is_training();
  enc->eval();
  std::size_t hits = 0, n = 0;
  std::vector<const std::vector<std::int64_t>*> chunk;
  for (std::size_t i = 0; i < heldout.size(); i += 64) {
    chunk.clear();
    for (std::size_t j = i; j < std::min(heldout.size(), i + 64); ++j) chunk.push_back(&heldout[j]);
    const auto b = detail::mask_batch(chunk, o, g);
    if (b.targets.numel() == 0) continue;
    const auto pred = enc->mlm_logits(detail::masked_states(enc, b)).argmax(-1).to(at::kCPU);
    hits += static_cast<std::size_t>(pred.eq(b.targets).sum().item<std::int64_t>());
    n += static_cast<std::size_t>(b.targets.numel());
  }
  enc->train(was_training);
  return {n ? static_cast<double>(hits) / static_cast<double>(n) : 0.0, n};
}

/// Trains `enc`'s masked-LM head (enc must have one: load with new_mlm_head) on `corpus`,
/// the encoder body frozen and in eval mode; reports fill-mask top-1 on `heldout` before and
/// after. Sequences are token ids with the specials the model expects.
inline mlm_fit_result fit_mlm_head(pretrained_encoder& enc, const std::vector<std::vector<std::int64_t>>& corpus,
                                   const std::vector<std::vector<std::int64_t>>& heldout, const mlm_fit_options& o) {
  if (!enc->has_mlm_head()) throw encoder_error("fit_mlm_head: the encoder has no masked-LM head (load it with new_mlm_head)");
  if (corpus.empty()) throw std::invalid_argument("fit_mlm_head: empty corpus");
  if (o.steps <= 0 || o.batch_size <= 0) throw std::invalid_argument("fit_mlm_head: steps and batch size must be positive");
  mlm_fit_result r;
  std::tie(r.top1_before, r.heldout_masks) = fill_mask_top1(enc, heldout, o);
  std::vector<at::Tensor> head{enc->mlm_dense->weight, enc->mlm_dense->bias, enc->mlm_norm->weight, enc->mlm_norm->bias, enc->mlm_bias};
  std::vector<bool> grad_before;
  for (auto& p : enc->parameters()) grad_before.push_back(p.requires_grad());
  for (auto& p : enc->parameters()) p.set_requires_grad(false);
  for (auto& p : head) p.set_requires_grad(true);
  ::torch::optim::AdamW opt(head, ::torch::optim::AdamWOptions(o.lr).weight_decay(0.0));
  generator order{.seed = o.seed, .stream = 0x4F52444552ull}, masks{.seed = o.seed, .stream = 0x4D41534Bull};  // "ORDER", "MASK"
  std::vector<std::size_t> idx(corpus.size());
  std::size_t next = idx.size();
  const bool was_training = enc->is_training();
  enc->eval();  // no dropout in the frozen body; the head has none
  double tail_loss = 0;
  std::int64_t tail_n = 0;
  std::vector<const std::vector<std::int64_t>*> chunk;
  for (std::int64_t step = 0; step < o.steps; ++step) {
    chunk.clear();
    while (static_cast<std::int64_t>(chunk.size()) < o.batch_size) {
      if (next == idx.size()) {  // a new pass over the corpus in a new order
        for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
        for (std::size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[order.below(i)]);
        next = 0;
      }
      chunk.push_back(&corpus[idx[next++]]);
    }
    const auto b = detail::mask_batch(chunk, o, masks);
    if (b.targets.numel() == 0) continue;
    const auto h = detail::masked_states(enc, b);
    const auto loss = at::cross_entropy_loss(enc->mlm_logits(h), b.targets.to(h.device()));
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step >= o.steps - std::max<std::int64_t>(1, o.steps / 10)) {
      tail_loss += loss.item<double>();
      ++tail_n;
    }
  }
  auto it = grad_before.begin();
  for (auto& p : enc->parameters()) p.set_requires_grad(*it++);
  enc->train(was_training);
  r.final_loss = tail_n ? tail_loss / static_cast<double>(tail_n) : 0.0;
  r.top1_after = fill_mask_top1(enc, heldout, o).first;
  return r;
}

/// Writes `enc`'s masked-LM head under the family's HF names (what load_options::mlm_head_file
/// reads), atomically: a temporary file beside `path`, then a rename.
inline void save_mlm_head(pretrained_encoder& enc, const std::filesystem::path& path, const std::map<std::string, std::string>& metadata = {}) {
  if (!enc->has_mlm_head()) throw encoder_error("save_mlm_head: the encoder has no masked-LM head");
  std::map<std::string, ::torch::Tensor> tensors;
  for (auto& p : enc->hf_parameter_names())
    if (!p.in_base) tensors.emplace(p.name, p.tensor.detach());
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  auto tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());  // per process: data-parallel ranks may fit the same head at once
  save_safetensors(tmp, tensors, metadata);
  std::filesystem::rename(tmp, path);
}

/// A 64-bit FNV-1a digest of a file's bytes: the key of a head fitted to that checkpoint.
inline std::uint64_t file_digest(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw encoder_error(path.string() + ": cannot read");
  std::uint64_t h = 1469598103934665603ull;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    for (std::streamsize i = 0; i < in.gcount(); ++i) h = (h ^ static_cast<unsigned char>(buf[static_cast<std::size_t>(i)])) * 1099511628211ull;
  }
  return h;
}

}  // namespace ptp::torch
