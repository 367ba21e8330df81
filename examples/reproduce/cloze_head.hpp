// examples/reproduce/cloze_head.hpp — the WordNet-fitted masked-LM head the cloze recipes use
// on an encoder published without one (`--cloze-head fitted`).
//
// The head (ptp::torch::fit_mlm_head) is trained once on the frozen encoder by masked-word
// prediction over WordNet 3.0's glosses (definitions and examples of every synset: text a
// fresh machine has), and cached beside the model, keyed by a digest of model.safetensors and
// the fitting options; where the model folder is read-only, under ~/.cache/ptp/mlm_heads.
// Synsets whose index is a multiple of 50 are held out for the fill-mask top-1 it reports.
// The fit runs on one thread from its own seed, so the cached head is the same whichever run
// fits it first.
#pragma once

#include <ptp/adapters/torch/mlm_head.hpp>
#include <ptp/text/wordnet.hpp>

#include <torch/torch.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ptp::repro {

namespace fs = std::filesystem;

/// The model's tokenizer as the fit needs it: text → ids with the model's specials (at most
/// 64 tokens), and the ids of [MASK], padding and the specials never masked.
struct cloze_head_tokenizer {
  std::function<std::vector<std::int64_t>(const std::string&)> encode;
  std::int64_t mask = 0, pad = 0;
  std::set<std::int64_t> special;
};

/// A fitted head on disk and what its fit measured (read back from the file's metadata).
struct cloze_head_file {
  fs::path path;
  bool fitted_now = false;
  double top1_before = 0, top1_after = 0, final_loss = 0;
  std::size_t heldout_masks = 0;
};

/// WordNet's glosses, tokenized: every synset of every part of speech; those at an index
/// that is a multiple of 50 go to `heldout`.
inline void gloss_corpus(const cloze_head_tokenizer& tok, std::vector<std::vector<std::int64_t>>& train,
                         std::vector<std::vector<std::int64_t>>& heldout) {
  const text::wordnet wn;
  std::size_t i = 0;
  for (auto p : {text::pos::noun, text::pos::verb, text::pos::adj, text::pos::adv})
    for (const auto& s : wn.all_synsets(p)) (i++ % 50 == 0 ? heldout : train).push_back(tok.encode(std::string(s.gloss)));
}

/// The fitted head for `model_dir`: read from the cache, else fitted and cached.
inline cloze_head_file ensure_cloze_head(const fs::path& model_dir, const cloze_head_tokenizer& tok, ptp::torch::mlm_fit_options o = {}) {
  const auto digest = ptp::torch::file_digest(model_dir / "model.safetensors");
  char name[96];
  std::snprintf(name, sizeof name, "ptp-mlm-head-%016llx-wordnet-s%lld-b%lld-seed%llu.safetensors", static_cast<unsigned long long>(digest),
                static_cast<long long>(o.steps), static_cast<long long>(o.batch_size), static_cast<unsigned long long>(o.seed));
  fs::path dir = model_dir;
  std::error_code ec;
  if (fs::exists(dir / name) || access(dir.c_str(), W_OK) != 0) {
    const char* home = std::getenv("HOME");
    const fs::path cache = fs::path(home ? home : "/tmp") / ".cache" / "ptp" / "mlm_heads";
    if (!fs::exists(dir / name)) dir = cache;
  }
  cloze_head_file out{.path = dir / name};
  if (fs::exists(out.path)) {
    ptp::torch::safetensors_file f(out.path);
    const auto& m = f.metadata();
    auto num = [&](const char* k) { return m.contains(k) ? std::stod(m.at(k)) : 0.0; };
    out.top1_before = num("top1_before");
    out.top1_after = num("top1_after");
    out.final_loss = num("final_loss");
    out.heldout_masks = static_cast<std::size_t>(num("heldout_masks"));
    return out;
  }
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  ::torch::manual_seed(o.seed);
  o.mask_id = tok.mask;
  o.pad_id = tok.pad;
  o.special = tok.special;
  std::vector<std::vector<std::int64_t>> train, heldout;
  gloss_corpus(tok, train, heldout);
  auto [enc, rep] = ptp::torch::load_pretrained_encoder(model_dir, {.freeze = true, .strict = false, .new_mlm_head = true});
  std::fprintf(stderr, "fitting a masked-LM head for %s on %zu WordNet glosses (%lld steps of %lld, one thread) …\n",
               model_dir.string().c_str(), train.size(), static_cast<long long>(o.steps), static_cast<long long>(o.batch_size));
  const auto r = ptp::torch::fit_mlm_head(enc, train, heldout, o);
  at::set_num_threads(threads);
  ptp::torch::save_mlm_head(enc, out.path,
                            {{"top1_before", std::to_string(r.top1_before)},
                             {"top1_after", std::to_string(r.top1_after)},
                             {"final_loss", std::to_string(r.final_loss)},
                             {"heldout_masks", std::to_string(r.heldout_masks)},
                             {"corpus", "WordNet 3.0 glosses, synsets at index % 50 != 0"},
                             {"model_digest", std::string(name).substr(13, 16)}});
  out.fitted_now = true;
  out.top1_before = r.top1_before;
  out.top1_after = r.top1_after;
  out.final_loss = r.final_loss;
  out.heldout_masks = r.heldout_masks;
  std::fprintf(stderr, "masked-LM head: held-out fill-mask top-1 %.2f %% (untrained %.2f %%) over %zu masks, loss %.3f; cached in %s\n",
               100 * r.top1_after, 100 * r.top1_before, r.heldout_masks, r.final_loss, out.path.string().c_str());
  return out;
}

}  // namespace ptp::repro
