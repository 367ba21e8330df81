// examples/reproduce/runner.hpp — the one experiment runner behind ptp_demo, ptp_fewglue,
// ptp_superglue and the compile-time configured paper experiments.
//
// A run = pretrained encoder (frozen, or tuned at its own learning rate) + prompt (P-tuning v2
// deep prefix, P-tuning encoder, or shallow soft prompt) + head (classifier, or cloze over the
// masked-LM output) + one regularizer method (text stages, embedding stage, objective), trained
// with ptp::torch::train_step_text on each batch (text_batch), evaluated on the selection split
// after every epoch; the best epoch's prompt and head are restored and evaluated once on the
// report split.
//
//   ptp::repro::run_config cfg;  cfg.method = "ptp-adv";  cfg.seed = 3;
//   ptp::repro::run_data data{.info = info(task::rte), .train = …, .select = …, .report = …};
//   auto result = ptp::repro::run(cfg, data);           // method chosen by name (method_table.hpp)
//   auto result = ptp::repro::run(cfg, data, reg);      // any ptp::regularizer (config.hpp)
//
// Determinism: at a fixed seed and thread count every run is bit-identical — torch's RNG
// (initialisation, dropout) is seeded with the run's seed, ptp's generator (perturbations,
// data order on its own stream) too, and at::set_num_threads fixes the reduction order.
// Every method starts from the same initial prompt/head and sees the same batches for a
// given seed, so methods are compared paired.
#pragma once

#include <ptp/adapters/torch.hpp>
#include <ptp/adapters/torch/encoders.hpp>
#include <ptp/data/split.hpp>
#include <ptp/progress.hpp>
#include <ptp/ptp.hpp>
#include <ptp/text/a2t.hpp>
#include <ptp/text/candidates.hpp>
#include <ptp/text/masking.hpp>
#include <ptp/text/tokenizers/bpe.hpp>
#include <ptp/text/tokenizers/unigram.hpp>
#include <ptp/text/tokenizers/wordpiece.hpp>
#include <ptp/text/wordnet.hpp>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "cloze_head.hpp"
#include "method_table.hpp"
#include "tasks.hpp"

namespace ptp::repro {

namespace fs = std::filesystem;

// ==== configuration ==========================================================================

/// Everything one run needs besides its data.
struct run_config {
  // model
  fs::path model_dir;               ///< HF checkpoint dir (config.json, model.safetensors, tokenizer)
  std::string prompt = "prefix";    ///< prefix | ptuning | soft | none
  head_kind head = head_kind::classifier;
  std::int64_t prefix_length = 16;  ///< deep-prefix / prompt tokens
  std::int64_t pattern_id = 0;      ///< P-tuning: [P] tokens per slot as PT-Fewshot's pattern_id; 0: prefix_length; -1: its run scripts' (1, WSC 2)
  bool prefix_projection = false;   ///< P-tuning v2's reparameterisation (Embedding → MLP)
  std::int64_t prefix_hidden = 512;
  /// The cloze head: "auto" (the checkpoint's masked-LM head, else our untrained transform),
  /// "fitted" (the checkpoint's, else the WordNet-fitted head of cloze_head.hpp), or
  /// "classifier" (a linear classifier on the [MASK] state; the verbalizer unused).
  std::string cloze_head = "auto";
  double prompt_dropout = 0.1;      ///< P-tuning v2's dropout on the prefixes
  bool tune_backbone = false;       ///< P-tuning (v1) tunes the backbone too
  bool tune_word_embeddings = false;  ///< with tune_backbone: the word embeddings too (PT-Fewshot tunes every parameter)
  double backbone_lr = 1e-5;
  double backbone_weight_decay = -1;  ///< backbone's AdamW decay, biases and norms excluded (PET); < 0: weight_decay
  // optimisation
  int epochs = 10;                  ///< used when max_steps is 0
  std::int64_t max_steps = 0;       ///< optimizer steps in all (PT-Fewshot's --pet_max_steps); 0: epochs × batches
  std::int64_t eval_every = 0;      ///< evaluate the selection split every this many steps (PT-Fewshot: 20); 0: each epoch
  int patience = 0;                 ///< stop after this many evaluations without a strict improvement (PT-Fewshot: 10); 0: never
  bool later_wins_ties = false;     ///< selection keeps a later evaluation that ties the best (PT-Fewshot's >=)
  double max_grad_norm = 0;         ///< clip the global gradient norm (PT-Fewshot: 1.0); 0: no clipping
  std::int64_t batch_size = 16, eval_batch_size = 64, max_length = 128;
  double lr = 1e-2, weight_decay = 0.01, warmup_ratio = 0.0;
  double head_lr = -1;              ///< the head's own rate (classifier, or our cloze transform); < 0: lr
  std::int64_t warmup_steps = -1;   ///< warm-up in steps (PT-Fewshot's --warmup_steps); < 0: warmup_ratio × total
  // method
  std::string method = "vanilla";   ///< a name of method_table()
  method_options m{};
  // data
  std::size_t max_train = 0, max_eval = 0;  ///< caps on the splits (0: none), set by --max-train / --max-eval
  // run
  std::uint64_t seed = 1;
  int threads = 2;
  std::string device = "cpu";
  bool show_progress = true;
  std::string label;                ///< progress label prefix

  /// The run's identity for the results file: everything that changes the numbers except
  /// the seed (recorded on its own), the device and the thread count.
  [[nodiscard]] nlohmann::json identity() const {
    nlohmann::json j{{"model", model_dir.filename().string()},
                     {"prompt", prompt},
                     {"head", head == head_kind::classifier ? "classifier" : "cloze"},
                     {"prefix_length", prefix_length},
                     {"prefix_projection", prefix_projection},
                     {"tune_backbone", tune_backbone},
                     {"epochs", epochs},
                     {"batch_size", batch_size},
                     {"max_length", max_length},
                     {"lr", lr},
                     {"weight_decay", weight_decay},
                     {"warmup_ratio", warmup_ratio}};
    if (tune_backbone) j["backbone_lr"] = backbone_lr;
    // fields added later enter only when set, so results files written before them still resume
    if (tune_word_embeddings) j["tune_word_embeddings"] = true;
    if (tune_backbone && backbone_weight_decay >= 0) j["backbone_weight_decay"] = backbone_weight_decay;
    if (max_steps) j["max_steps"] = max_steps;
    if (eval_every) j["eval_every"] = eval_every;
    if (patience) j["patience"] = patience;
    if (later_wins_ties) j["later_wins_ties"] = true;
    if (max_grad_norm > 0) j["max_grad_norm"] = max_grad_norm;
    if (warmup_steps >= 0) j["warmup_steps"] = warmup_steps;
    if (head_lr >= 0) j["head_lr"] = head_lr;
    if (head == head_kind::cloze && cloze_head != "auto") j["cloze_head"] = cloze_head;
    if (max_train) j["max_train"] = max_train;  // capped data is other data: a re-run with other caps is another run
    if (max_eval) j["max_eval"] = max_eval;
    for (const auto& [key, value] : method_identity(method, m).items()) j[key] = value;  // the method's own (method_table.hpp)
    return j;
  }
};

/// A run's data: the task and its three splits.
struct run_data {
  task_info info;
  std::vector<example> train, select, report;
  std::string select_name = "select", report_name = "report";
};

/// What a run measured.
struct run_result {
  std::map<std::string, double> report;   ///< report-split metrics of the selected epoch
  std::map<std::string, double> select;   ///< selection-split metrics of the selected epoch
  int best_epoch = 0;                     ///< 1-based
  std::int64_t best_step = 0;             ///< optimizer steps taken at the selected evaluation
  std::int64_t steps = 0;                 ///< optimizer steps taken (fewer than planned after early stopping)
  std::vector<double> select_curve;       ///< selection score per evaluation
  double final_train_loss = 0;            ///< mean training loss of the last epoch
  double text_edits_per_example = 0;      ///< text methods: mean changed words/tokens per example
  double wall_seconds = 0;
  double majority = 0;                    ///< the report split's majority-class rate (fraction), the floor to beat
};

// ==== tokenizer ================================================================================

/// The checkpoint's tokenizer (tokenizer.json: WordPiece, BPE or Unigram; else vocab.txt as
/// WordPiece) with the special-token ids the runner needs.
class model_tokenizer {
 public:
  explicit model_tokenizer(const fs::path& dir, std::size_t max_length) {
    text::pipeline_options full{.truncation = {.max_length = max_length}, .offsets = text::offset_unit::bytes};
    text::pipeline_options plain{.offsets = text::offset_unit::bytes, .add_special_tokens = false};
    const auto json = dir / "tokenizer.json";
    if (fs::exists(json)) {
      std::ifstream in(json);
      const auto j = nlohmann::json::parse(in);
      const std::string type = j.at("model").at("type").get<std::string>();
      for (const auto& t : j.value("added_tokens", nlohmann::json::array()))
        if (t.value("special", false)) special_.insert(t.value("content", std::string{}));
      if (type == "WordPiece") {
        full_.emplace(text::load_wordpiece(json.string(), full));
        plain_.emplace(text::load_wordpiece(json.string(), plain));
      } else if (type == "BPE") {
        full_.emplace(text::load_bpe(json.string(), full));
        plain_.emplace(text::load_bpe(json.string(), plain));
        byte_level_ = true;
      } else if (type == "Unigram") {
        full_.emplace(text::load_unigram(json.string(), full));
        plain_.emplace(text::load_unigram(json.string(), plain));
      } else {
        throw std::runtime_error(json.string() + ": unsupported tokenizer model type " + type);
      }
    } else if (fs::exists(dir / "vocab.txt")) {
      auto t = text::load_wordpiece_vocab((dir / "vocab.txt").string());
      t.options() = full;
      full_.emplace(t);
      t.options() = plain;
      plain_.emplace(t);
    } else {
      throw std::runtime_error(dir.string() + ": no tokenizer.json or vocab.txt (ALBERT: export tokenizer.json with transformers)");
    }
    cls_ = first_of({"[CLS]", "<s>"});
    sep_ = first_of({"[SEP]", "</s>"});
    mask_ = first_of({"[MASK]", "<mask>"});
    pad_ = first_of({"[PAD]", "<pad>"});
  }

  /// The model input for a text or pair: special tokens, truncation to max_length.
  [[nodiscard]] text::encoding encode(const data::text_pair& p) const {
    return std::visit([&](const auto& t) { return p.second ? t.encode(p.first, *p.second) : t.encode(p.first); }, *full_);
  }
  /// A piece of text alone (no special tokens, no truncation), byte offsets; BPE pieces
  /// after the first word get their leading space (`continuation`).
  [[nodiscard]] text::encoding piece(std::string_view s, bool continuation) const {
    if (byte_level_ && continuation) {
      std::string spaced = " " + std::string(s);
      auto e = std::visit([&](const auto& t) { return t.encode(spaced); }, *plain_);
      for (auto& [b, en] : e.offsets) b = b ? b - 1 : 0, en = en ? en - 1 : 0;
      return e;
    }
    return std::visit([&](const auto& t) { return t.encode(s); }, *plain_);
  }
  [[nodiscard]] std::optional<std::uint32_t> id(std::string_view token) const {
    return std::visit([&](const auto& t) { return t.token_to_id(token); }, *full_);
  }
  [[nodiscard]] std::string token(std::uint32_t id) const {
    return std::visit([&](const auto& t) { return t.id_to_token(id).value_or(""); }, *full_);
  }
  [[nodiscard]] std::size_t vocab_size() const {
    return std::visit([](const auto& t) { return t.vocab_size(); }, *full_);
  }
  [[nodiscard]] bool byte_level() const noexcept { return byte_level_; }
  [[nodiscard]] std::int64_t cls() const noexcept { return cls_; }
  [[nodiscard]] std::int64_t sep() const noexcept { return sep_; }
  [[nodiscard]] std::int64_t mask() const noexcept { return mask_; }
  [[nodiscard]] std::int64_t pad() const noexcept { return pad_; }

 private:
  std::int64_t first_of(std::initializer_list<const char*> names) const {
    // a vocabulary may hold both spellings (MPNet's keeps BERT's [CLS] … but uses <s> …): the
    // tokenizer's own special tokens come first
    for (const char* n : names)
      if (special_.count(n))
        if (auto i = id(n)) return *i;
    for (const char* n : names)
      if (auto i = id(n)) return *i;
    throw std::runtime_error(std::string("tokenizer has none of the special tokens ") + *names.begin() + " …");
  }
  using any = std::variant<text::wordpiece_tokenizer, text::bpe_tokenizer, text::unigram_tokenizer>;
  std::optional<any> full_, plain_;
  std::set<std::string, std::less<>> special_;  ///< tokenizer.json's special added tokens
  bool byte_level_ = false;
  std::int64_t cls_ = 0, sep_ = 0, mask_ = 0, pad_ = 0;
};

/// The WordNet-fitted masked-LM head for `model_dir` (cloze_head.hpp), with its tokenizer.
inline cloze_head_file fitted_cloze_head(const fs::path& model_dir) {
  const model_tokenizer t(model_dir, 64);
  const cloze_head_tokenizer ct{.encode = [&](const std::string& s) {
                                  const auto e = t.encode({s, std::nullopt});
                                  return std::vector<std::int64_t>(e.ids.begin(), e.ids.end());
                                },
                                .mask = t.mask(),
                                .pad = t.pad(),
                                .special = {t.cls(), t.sep(), t.pad(), t.mask()}};
  return ensure_cloze_head(model_dir, ct);
}

// ==== encoded inputs ===========================================================================

/// A run of text inside an encoded row that text-space attacks may rewrite: where it came
/// from (choice and pair field for the classifier; part index for the cloze), its text, and
/// its tokens' positions in the row with byte offsets into `text`.
struct text_segment {
  std::size_t choice = 0, field = 0;
  std::string text;
  std::vector<std::size_t> positions;
  std::vector<std::pair<std::size_t, std::size_t>> offsets;
};

/// One model input row.
struct encoded_row {
  std::vector<std::int64_t> ids, types;
  std::vector<std::uint8_t> locked;           ///< special tokens, prompt slots, masks: never perturbed
  std::vector<std::int64_t> prompt_slot;      ///< cloze: prompt slot k at this position, else −1
  std::vector<std::int64_t> mask_positions;   ///< cloze: the [MASK] positions
  std::vector<std::vector<std::int64_t>> candidates;  ///< cloze COPA: each candidate's token ids
  std::vector<text_segment> segments;
};

/// One example's rows (several for multiple choice with the classifier head) and label.
struct encoded_example {
  std::vector<encoded_row> rows;
  int label = 0;
};

/// Encodes examples for the configured head.
class input_encoder {
 public:
  input_encoder(const model_tokenizer& tok, const task_info& info, head_kind head, std::int64_t prompt_tokens,
                std::int64_t max_length)
      : tok_(tok), info_(info), head_(head), prompt_tokens_(prompt_tokens), max_length_(max_length) {
    if (head_ == head_kind::cloze)
      for (const auto& w : info_.verbalizer) {
        const auto e = tok_.piece(w, true);
        if (e.ids.empty()) throw std::runtime_error("verbalizer word '" + w + "' has no tokens");
        verbalizer_ids_.push_back(e.ids.front());  // PET's verbalizers are single tokens; take the first
      }
  }

  [[nodiscard]] const std::vector<std::int64_t>& verbalizer_ids() const noexcept { return verbalizer_ids_; }

  [[nodiscard]] encoded_example operator()(const example& ex) const {
    encoded_example out{.rows = {}, .label = ex.label};
    if (head_ == head_kind::classifier) {
      for (std::size_t c = 0; c < ex.choices.size(); ++c) out.rows.push_back(classifier_row(ex.choices[c], c));
    } else {
      if (!ex.cloze) throw std::invalid_argument(info_.name + " has no cloze pattern here (use the classifier head)");
      out.rows.push_back(cloze_row(*ex.cloze));
    }
    return out;
  }

  [[nodiscard]] std::vector<encoded_example> all(const std::vector<example>& v) const {
    std::vector<encoded_example> out;
    out.reserve(v.size());
    for (const auto& e : v) out.push_back((*this)(e));
    return out;
  }

 private:
  encoded_row classifier_row(const data::text_pair& p, std::size_t choice) const {
    const auto e = tok_.encode(p);
    encoded_row r;
    r.ids.assign(e.ids.begin(), e.ids.end());
    r.types.assign(e.type_ids.begin(), e.type_ids.end());
    r.locked.assign(e.special_tokens_mask.begin(), e.special_tokens_mask.end());
    for (std::size_t field = 0; field < 2; ++field) {
      if (field == 1 && !p.second) break;
      text_segment s{.choice = choice, .field = field, .text = field == 0 ? p.first : *p.second, .positions = {}, .offsets = {}};
      for (std::size_t t = 0; t < e.ids.size(); ++t)
        if (e.sequence_ids[t] == static_cast<std::int32_t>(field) && !e.special_tokens_mask[t]) {
          s.positions.push_back(t);
          s.offsets.push_back(e.offsets[t]);
        }
      r.segments.push_back(std::move(s));
    }
    return r;
  }

  encoded_row cloze_row(const data::pet::cloze& c) const {
    using data::pet::part_kind;
    // candidate token ids (COPA): the masks hold the longer candidate
    std::vector<std::vector<std::int64_t>> cands;
    std::size_t cand_len = 0;
    for (const auto& s : c.candidates) {
      const auto e = tok_.piece(s, true);
      cands.emplace_back(e.ids.begin(), e.ids.end());
      cand_len = std::max(cand_len, e.ids.size());
    }
    struct piece_tokens {
      std::vector<std::int64_t> ids;
      std::vector<std::pair<std::size_t, std::size_t>> offsets;
    };
    std::vector<piece_tokens> pieces(c.parts.size());
    std::size_t total = 2;  // [CLS] … [SEP]
    for (std::size_t i = 0; i < c.parts.size(); ++i) {
      const auto& p = c.parts[i];
      auto& t = pieces[i];
      switch (p.kind) {
        case part_kind::text: {
          const auto e = tok_.piece(p.text, i > 0);
          t.ids.assign(e.ids.begin(), e.ids.end());
          t.offsets = e.offsets;
          break;
        }
        case part_kind::prompt: t.ids.assign(static_cast<std::size_t>(prompt_tokens_), tok_.mask()); break;
        case part_kind::mask: t.ids.assign(cands.empty() ? p.masks : std::max<std::size_t>(cand_len, 1), tok_.mask()); break;
        case part_kind::separator: t.ids.assign(1, tok_.sep()); break;
      }
      total += t.ids.size();
    }
    // PET's truncation: cut the longest shortenable piece from its end until it fits
    while (total > static_cast<std::size_t>(max_length_)) {
      std::size_t best = c.parts.size();
      for (std::size_t i = 0; i < c.parts.size(); ++i)
        if (c.parts[i].shortenable && !pieces[i].ids.empty() && (best == c.parts.size() || pieces[i].ids.size() > pieces[best].ids.size()))
          best = i;
      if (best == c.parts.size()) throw std::runtime_error("cloze pattern longer than max_length with nothing to shorten");
      pieces[best].ids.pop_back();
      pieces[best].offsets.pop_back();
      --total;
    }
    encoded_row r;
    auto push = [&](std::int64_t id, bool locked, std::int64_t slot) {
      r.ids.push_back(id);
      r.types.push_back(0);
      r.locked.push_back(locked ? 1 : 0);
      r.prompt_slot.push_back(slot);
    };
    push(tok_.cls(), true, -1);
    std::int64_t slot = 0;
    for (std::size_t i = 0; i < c.parts.size(); ++i) {
      const auto& p = c.parts[i];
      const auto& t = pieces[i];
      text_segment seg{.choice = 0, .field = i, .text = p.text, .positions = {}, .offsets = {}};
      for (std::size_t k = 0; k < t.ids.size(); ++k) {
        switch (p.kind) {
          case part_kind::text:
            if (p.shortenable) {
              seg.positions.push_back(r.ids.size());
              seg.offsets.push_back(t.offsets[k]);
            }
            push(t.ids[k], false, -1);
            break;
          case part_kind::prompt: push(t.ids[k], true, slot++ % std::max<std::int64_t>(prompt_tokens_, 1)); break;
          case part_kind::mask:
            r.mask_positions.push_back(static_cast<std::int64_t>(r.ids.size()));
            push(t.ids[k], true, -1);
            break;
          case part_kind::separator: push(t.ids[k], true, -1); break;
        }
      }
      if (!seg.positions.empty()) r.segments.push_back(std::move(seg));
    }
    push(tok_.sep(), true, -1);
    r.candidates = std::move(cands);
    if (r.mask_positions.empty()) throw std::runtime_error("cloze pattern without [MASK]");
    return r;
  }

  const model_tokenizer& tok_;
  task_info info_;
  head_kind head_;
  std::int64_t prompt_tokens_, max_length_;
  std::vector<std::int64_t> verbalizer_ids_;
};

/// A padded batch on the run's device.
struct batch {
  at::Tensor ids, types, attention, perturb;  ///< R×L (perturb: 1 where the embedding stage may act)
  at::Tensor labels;                          ///< B
  std::int64_t choices = 1;                   ///< rows per example (classifier multiple choice)
  at::Tensor prompt_slot, is_prompt;          ///< cloze: R×L slot index (P = none), bool
  at::Tensor mask_positions;                  ///< cloze: R×M
  at::Tensor candidates, candidate_valid;     ///< cloze COPA: R×C×M ids (clamped), validity
  std::vector<const encoded_row*> rows;       ///< host rows (text methods)
};

/// Pads and stacks `examples` (all with the same number of rows).
inline batch collate(const std::vector<const encoded_example*>& examples, std::int64_t pad_id, std::int64_t prompt_tokens,
                     const at::Device& device) {
  batch b;
  b.choices = static_cast<std::int64_t>(examples.front()->rows.size());
  for (const auto* e : examples)
    for (const auto& r : e->rows) b.rows.push_back(&r);
  const auto R = static_cast<std::int64_t>(b.rows.size());
  std::int64_t L = 0, M = 0, C = 0, CM = 0;
  for (const auto* r : b.rows) {
    L = std::max<std::int64_t>(L, static_cast<std::int64_t>(r->ids.size()));
    M = std::max<std::int64_t>(M, static_cast<std::int64_t>(r->mask_positions.size()));
    C = std::max<std::int64_t>(C, static_cast<std::int64_t>(r->candidates.size()));
    for (const auto& c : r->candidates) CM = std::max<std::int64_t>(CM, static_cast<std::int64_t>(c.size()));
  }
  auto ids = at::full({R, L}, pad_id, at::kLong), types = at::zeros({R, L}, at::kLong);
  auto att = at::zeros({R, L}, at::kFloat), pert = at::zeros({R, L}, at::kFloat);
  auto slot = at::full({R, L}, prompt_tokens, at::kLong);
  auto mpos = at::zeros({R, std::max<std::int64_t>(M, 1)}, at::kLong);
  auto cand = at::zeros({R, std::max<std::int64_t>(C, 1), std::max<std::int64_t>(M, 1)}, at::kLong);
  auto cval = at::zeros({R, std::max<std::int64_t>(C, 1), std::max<std::int64_t>(M, 1)}, at::kFloat);
  auto pi = ids.accessor<std::int64_t, 2>(), pt = types.accessor<std::int64_t, 2>(), ps = slot.accessor<std::int64_t, 2>();
  auto pa = att.accessor<float, 2>(), pp = pert.accessor<float, 2>();
  auto pm = mpos.accessor<std::int64_t, 2>();
  auto pc = cand.accessor<std::int64_t, 3>();
  auto pv = cval.accessor<float, 3>();
  for (std::int64_t i = 0; i < R; ++i) {
    const auto& r = *b.rows[static_cast<std::size_t>(i)];
    for (std::size_t t = 0; t < r.ids.size(); ++t) {
      pi[i][t] = r.ids[t];
      pt[i][t] = r.types[t];
      pa[i][t] = 1;
      pp[i][t] = r.locked[t] ? 0.f : 1.f;
      if (!r.prompt_slot.empty() && r.prompt_slot[t] >= 0) ps[i][t] = r.prompt_slot[t];
    }
    for (std::size_t k = 0; k < r.mask_positions.size(); ++k) pm[i][k] = r.mask_positions[k];
    for (std::size_t c = 0; c < r.candidates.size(); ++c)
      for (std::size_t k = 0; k < r.candidates[c].size() && static_cast<std::int64_t>(k) < M; ++k) {
        pc[i][c][k] = r.candidates[c][k];
        pv[i][c][k] = 1;
      }
  }
  auto labels = at::zeros({static_cast<std::int64_t>(examples.size())}, at::kLong);
  for (std::size_t i = 0; i < examples.size(); ++i) labels[static_cast<std::int64_t>(i)] = examples[i]->label;
  b.ids = ids.to(device);
  b.types = types.to(device);
  b.attention = att.to(device);
  b.perturb = pert.to(device);
  b.labels = labels.to(device);
  b.prompt_slot = slot.to(device);
  b.is_prompt = slot.lt(prompt_tokens).to(device);
  b.mask_positions = mpos.to(device);
  b.candidates = cand.to(device);
  b.candidate_valid = cval.to(device);
  return b;
}

// ==== the model ================================================================================

/// Prompt slots inside the input: the shallow prompts (soft, P-tuning) fill them; a deep
/// prefix needs none.
inline std::int64_t prompt_slots(const run_config& cfg, std::optional<data::task> t) {
  if (cfg.prompt == "ptuning" && cfg.pattern_id != 0) return cfg.pattern_id > 0 ? cfg.pattern_id : t == data::task::wsc ? 2 : 1;
  return cfg.prompt == "soft" || cfg.prompt == "ptuning" ? cfg.prefix_length : 0;
}

/// Prompt and head around a (usually frozen) pretrained encoder.
class prompt_model {
 public:
  prompt_model(ptp::torch::pretrained_encoder backbone, const run_config& cfg, const task_info& info,
               std::vector<std::int64_t> verbalizer_ids, const at::Device& device)
      : backbone_(std::move(backbone)), cfg_(cfg), info_(info), device_(device) {
    const auto& c = backbone_->config();
    parts_ = std::make_shared<::torch::nn::Module>();
    if (cfg.prompt == "prefix") {
      prefix_ = ptp::torch::prefix_encoder(ptp::torch::prefix_encoder_options{.length = cfg.prefix_length,
                                                                              .layers = c.num_attention_applications(),
                                                                              .hidden = c.hidden_size,
                                                                              .heads = c.num_attention_heads,
                                                                              .projection = cfg.prefix_projection,
                                                                              .projection_hidden = cfg.prefix_hidden,
                                                                              .dropout = cfg.prompt_dropout});
      parts_->register_module("prefix", prefix_.ptr());
    } else if (cfg.prompt == "ptuning") {
      ptuning_ = ptp::torch::ptuning_encoder(ptp::torch::ptuning_encoder_options{.length = prompt_slots(cfg, info.task), .width = c.embedding_size,
                                                                                     .lstm_hidden = c.embedding_size});  // PT-Fewshot wrapper.py: LSTM d per direction, Linear(2d, d)
      parts_->register_module("ptuning", ptuning_.ptr());
    } else if (cfg.prompt == "soft") {
      ptp::generator g{.seed = cfg.seed, .stream = 0x50524F4D5054ull};  // "PROMPT"
      soft_ = ptp::torch::soft_prompt::from_vocabulary(backbone_->word_embeddings->weight, cfg.prefix_length, g);
      parts_->register_module("soft", soft_.ptr());
    } else if (cfg.prompt != "none") {
      throw std::invalid_argument("unknown prompt '" + cfg.prompt + "' (prefix, ptuning, soft, none)");
    }
    if (cfg.head == head_kind::cloze && cfg.cloze_head == "classifier") {
      if (info.verbalizer.empty()) throw std::invalid_argument("--cloze-head classifier needs a verbalizer task (not COPA or WSC)");
      dropout_ = ::torch::nn::Dropout(c.hidden_dropout_prob);
      classifier_ = ::torch::nn::Linear(c.hidden_size, static_cast<std::int64_t>(info.labels));
      parts_->register_module("dropout", dropout_);
      parts_->register_module("classifier", classifier_);
    } else if (cfg.cloze_head != "auto" && cfg.cloze_head != "fitted") {
      throw std::invalid_argument("unknown --cloze-head '" + cfg.cloze_head + "' (auto, fitted, classifier)");
    } else if (cfg.head == head_kind::classifier) {
      dropout_ = ::torch::nn::Dropout(c.hidden_dropout_prob);
      classifier_ = ::torch::nn::Linear(c.hidden_size, info.multiple_choice ? 1 : static_cast<std::int64_t>(info.labels));
      parts_->register_module("dropout", dropout_);
      parts_->register_module("classifier", classifier_);
    } else {
      verbalizer_ = at::tensor(verbalizer_ids, at::kLong).to(device);
      if (!backbone_->has_mlm_head()) {
        // **our choice**: the checkpoint has no masked-LM head (MiniLM ships the bare
        // encoder), so the cloze head is a trainable transform Linear(H, E) → GELU →
        // LayerNorm, decoded by the tied (frozen) word-embedding matrix.
        mlm_dense_ = ::torch::nn::Linear(c.hidden_size, c.embedding_size);
        mlm_norm_ = ::torch::nn::LayerNorm(::torch::nn::LayerNormOptions({c.embedding_size}).eps(c.layer_norm_eps));
        parts_->register_module("mlm_dense", mlm_dense_);
        parts_->register_module("mlm_norm", mlm_norm_);
      }
    }
    parts_->to(device);
    for (auto& p : backbone_->parameters()) p.set_requires_grad(false);
    if (cfg.tune_word_embeddings && !cfg.tune_backbone)
      throw std::invalid_argument("--tune-word-embeddings needs --tune-backbone");
    if (cfg.tune_backbone)
      for (auto& np : backbone_->named_parameters())
        if (cfg.tune_word_embeddings || np.key().rfind("word_embeddings", 0) != 0) np.value().set_requires_grad(true);
  }

  /// Whether the cloze head is our trainable transform (the checkpoint has no MLM head).
  [[nodiscard]] bool own_mlm_transform() const { return !mlm_dense_.is_empty(); }
  [[nodiscard]] ptp::torch::pretrained_encoder& backbone() { return backbone_; }
  /// The prompt and head modules.
  [[nodiscard]] ::torch::nn::Module& parts() { return *parts_; }

  /// Writes what this run trained (prompt and head; the backbone too when it was tuned)
  /// atomically to `path` (ptp::torch::save_checkpoint).
  void save(const fs::path& path) { ptp::torch::save_checkpoint(path, *checkpoint_module()); }

  /// Loads a checkpoint written by save() by a run of the same configuration; a mismatch
  /// (another prompt, head, prefix length or backbone tuning) is ptp::torch::load_checkpoint's
  /// error naming the file and the tensor.
  void load(const fs::path& path) { ptp::torch::load_checkpoint(path, *checkpoint_module()); }

  /// Trainable prompt/head parameters.
  [[nodiscard]] std::vector<at::Tensor> head_parameters() const { return parts_->parameters(); }
  /// The prompt's parameters (`prompt` true) or the head's (classifier, or our cloze transform).
  [[nodiscard]] std::vector<at::Tensor> parts_parameters(bool prompt) const {
    std::vector<at::Tensor> out;
    for (auto& np : parts_->named_parameters()) {
      const auto& k = np.key();
      const bool is_prompt = k.starts_with("prefix.") || k.starts_with("ptuning.") || k.starts_with("soft.");
      if (is_prompt == prompt) out.push_back(np.value());
    }
    return out;
  }
  /// Trainable backbone parameters (empty when frozen).
  [[nodiscard]] std::vector<at::Tensor> backbone_parameters() const {
    std::vector<at::Tensor> out;
    for (auto& p : backbone_->parameters())
      if (p.requires_grad()) out.push_back(p);
    return out;
  }
  /// The trainable backbone parameters that take weight decay (`decayed`) or not: biases and
  /// norm weights take none, as in PET's and transformers' recipes (no_decay = bias, LayerNorm.weight).
  [[nodiscard]] std::vector<at::Tensor> backbone_parameters(bool decayed) const {
    std::vector<at::Tensor> out;
    for (auto& np : backbone_->named_parameters()) {
      if (!np.value().requires_grad()) continue;
      const auto& k = np.key();
      const bool no_decay = k.ends_with("bias") || k.ends_with("norm.weight");
      if (no_decay != decayed) out.push_back(np.value());
    }
    return out;
  }
  [[nodiscard]] std::vector<std::shared_ptr<::torch::nn::Module>> modules() const { return {backbone_.ptr(), parts_}; }

  /// Word embeddings of a batch: no graph (δ and the prompt are what is trained) unless the
  /// word embeddings are tuned, when the regularizer's passes flow into them as well.
  [[nodiscard]] at::Tensor embed(const batch& b) {
    if (cfg_.tune_word_embeddings) return backbone_->embed_words(b.ids);
    ::torch::NoGradGuard ng;
    return backbone_->embed_words(b.ids);
  }

  /// Logits B×C of `b` from word embeddings `e` (R×L×E) and attention mask (R×L).
  at::Tensor forward(const batch& b, const at::Tensor& e, const at::Tensor& attention) {
    auto x = e;
    auto types = b.types;
    auto mask = attention;
    const auto R = x.size(0), L = x.size(1), E = x.size(2);
    if (!soft_.is_empty() || !ptuning_.is_empty()) {
      auto P = (!soft_.is_empty() ? soft_->forward() : ptuning_->forward()).to(x.scalar_type());  // n×E
      const auto n = P.size(0);
      if (cfg_.head == head_kind::cloze) {
        auto table = at::cat({P, at::zeros({1, E}, P.options())}, 0);
        auto full = table.index_select(0, b.prompt_slot.reshape({-1})).view({R, L, E});
        x = at::where(b.is_prompt.unsqueeze(-1), full, x);
      } else {  // shallow prompt right after [CLS]
        x = at::cat({x.narrow(1, 0, 1), P.unsqueeze(0).expand({R, n, E}), x.narrow(1, 1, L - 1)}, 1);
        types = at::cat({types.narrow(1, 0, 1), at::zeros({R, n}, types.options()), types.narrow(1, 1, L - 1)}, 1);
        mask = at::cat({mask.narrow(1, 0, 1), at::ones({R, n}, mask.options()), mask.narrow(1, 1, L - 1)}, 1);
      }
    }
    ptp::torch::kv_prefixes prefixes;
    if (!prefix_.is_empty())
      for (auto& lp : prefix_->forward(R, x)) prefixes.emplace_back(lp.key, lp.value);
    const auto out = backbone_->forward_embeds(x, types, mask, prefixes);
    if (cfg_.head == head_kind::classifier) {
      auto pooled = out.pooled_output.defined() ? out.pooled_output : out.last_hidden_state.select(1, 0);
      auto z = classifier_->forward(dropout_->forward(pooled));
      return info_.multiple_choice ? z.view({-1, b.choices}) : z;
    }
    const auto H = out.last_hidden_state.size(2);
    auto h = out.last_hidden_state.gather(1, b.mask_positions.unsqueeze(-1).expand({-1, -1, H}));  // R×M×H
    if (!classifier_.is_empty()) return classifier_->forward(dropout_->forward(h.select(1, 0)));  // --cloze-head classifier
    at::Tensor lm;
    if (own_mlm_transform())
      lm = at::linear(mlm_norm_->forward(at::gelu(mlm_dense_->forward(h))), backbone_->word_embeddings->weight);
    else
      lm = backbone_->mlm_logits(h);  // R×M×V
    if (info_.verbalizer.empty()) {  // candidates: Σ_t log p(c_t) over each candidate's tokens
      auto logp = at::log_softmax(lm, -1);                                       // R×M×V
      auto idx = b.candidates.transpose(1, 2);                                    // R×M×C
      auto lp = logp.gather(2, idx).transpose(1, 2);                              // R×C×M
      return (lp * b.candidate_valid).sum(-1);                                    // R×C
    }
    return lm.select(1, 0).index_select(1, verbalizer_);
  }

  /// The module a checkpoint holds: "parts", plus "backbone" when the backbone is tuned.
  [[nodiscard]] std::shared_ptr<::torch::nn::Module> checkpoint_module() const {
    auto m = std::make_shared<::torch::nn::Module>();
    m->register_module("parts", parts_);
    if (cfg_.tune_backbone) m->register_module("backbone", backbone_.ptr());
    return m;
  }

  /// A copy of every trainable tensor (prompt, head, tuned backbone) — the best epoch.
  [[nodiscard]] std::vector<at::Tensor> snapshot() const {
    std::vector<at::Tensor> out;
    ::torch::NoGradGuard ng;
    for (auto& p : trainable()) out.push_back(p.detach().clone());
    return out;
  }
  void restore(const std::vector<at::Tensor>& s) {
    ::torch::NoGradGuard ng;
    auto t = trainable();
    for (std::size_t i = 0; i < t.size(); ++i) t[i].copy_(s[i]);
  }

 private:
  [[nodiscard]] std::vector<at::Tensor> trainable() const {
    auto v = head_parameters();
    for (auto& p : backbone_parameters()) v.push_back(p);
    return v;
  }

  ptp::torch::pretrained_encoder backbone_;
  run_config cfg_;
  task_info info_;
  at::Device device_;
  std::shared_ptr<::torch::nn::Module> parts_;
  ptp::torch::prefix_encoder prefix_{nullptr};
  ptp::torch::ptuning_encoder ptuning_{nullptr};
  ptp::torch::soft_prompt soft_{nullptr};
  ::torch::nn::Dropout dropout_{nullptr};
  ::torch::nn::Linear classifier_{nullptr}, mlm_dense_{nullptr};
  ::torch::nn::LayerNorm mlm_norm_{nullptr};
  at::Tensor verbalizer_;
};

// ==== text-space methods ======================================================================

/// WordNet synonyms first, then the model's own embedding neighbours (PAPER.md §4: A2T's
/// counter-fitted GloVe candidates are not available offline), duplicates removed.
struct merged_candidates {
  text::wordnet_candidates wordnet;
  const text::embedding_neighbours<float>* neighbours = nullptr;
  [[nodiscard]] std::vector<text::candidate> candidates(std::string_view word, std::size_t position, std::size_t k) const {
    auto out = wordnet.candidates(word, position, k);
    if (neighbours)
      for (auto& c : neighbours->candidates(word, position, k))
        if (std::none_of(out.begin(), out.end(), [&](const text::candidate& o) { return o.word == c.word; })) out.push_back(c);
    return out;
  }
};

/// What A2T needs that lives as long as the run: WordNet, the embedding matrix on the host,
/// its neighbour index over whole-word vocabulary entries.
struct a2t_context {
  text::wordnet wn;
  std::vector<float> matrix;
  std::size_t rows = 0, dim = 0;
  std::unique_ptr<text::embedding_neighbours<float>> neighbours;

  a2t_context(const at::Tensor& embeddings, const model_tokenizer& tok, double min_cosine) {
    auto m = embeddings.detach().to(at::kCPU, at::kFloat).contiguous();
    rows = static_cast<std::size_t>(m.size(0));
    dim = static_cast<std::size_t>(m.size(1));
    matrix.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
    std::vector<std::string> vocab(rows);
    std::vector<std::int64_t> excluded;
    for (std::size_t i = 0; i < rows; ++i) {
      std::string t = tok.token(static_cast<std::uint32_t>(i));
      // a whole word: WordPiece entries without "##"; BPE entries starting with 'Ġ' and
      // SentencePiece entries starting with '▁' (that mark stripped); never specials
      bool word = !t.empty() && t.front() != '[' && t.front() != '<' && t.rfind("##", 0) != 0;
      bool marked = false;
      for (std::string_view lead : {std::string_view("\xC4\xA0"), std::string_view("\xE2\x96\x81")})
        if (t.rfind(lead, 0) == 0) {
          t = t.substr(lead.size());
          marked = true;
        }
      if (tok.byte_level() && !marked) word = false;
      word = word && t.size() > 1 && std::all_of(t.begin(), t.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
      vocab[i] = t;
      if (!word) excluded.push_back(static_cast<std::int64_t>(i));
    }
    neighbours = std::make_unique<text::embedding_neighbours<float>>(view(), min_cosine, std::move(vocab), std::move(excluded));
  }
  [[nodiscard]] text::matrix_view<float> view() const { return {std::span<const float>(matrix), rows, dim}; }
};

/// A2T's TokenLookup: a word's sub-token ids as it reads inside a text (after a space).
struct word_pieces {
  const model_tokenizer* tok = nullptr;
  [[nodiscard]] std::vector<std::int64_t> operator()(std::string_view w) const {
    const auto e = tok->piece(w, true);
    return {e.ids.begin(), e.ids.end()};
  }
};

/// What the methods' text stages need from the run (method_table.hpp's `run`): the tokenizer's mask id
/// (PTP-RN-text) and A2T as a ptp text stage over the run's WordNet synonyms and embedding
/// neighbours (PTP-ADV-text). A2T's context is built on first use, from the word embeddings
/// as the run starts; the stages it returns refer to it, so they must not outlive this.
class text_resources {
 public:
  text_resources(const model_tokenizer& tok, at::Tensor word_embeddings) : tok_(tok), embeddings_(std::move(word_embeddings)) {}

  [[nodiscard]] std::int64_t mask_id() const { return tok_.mask(); }

  [[nodiscard]] auto a2t(const text::a2t& attack) {
    if (!a2t_) a2t_ = std::make_unique<a2t_context>(embeddings_, tok_, attack.min_embedding_cosine);
    return text::a2t_stage<float, merged_candidates, word_pieces, text::wordnet_pos_tagger>{
        .attack = attack,
        .embeddings = a2t_->view(),
        .source = {.wordnet = {.db = a2t_->wn}, .neighbours = a2t_->neighbours.get()},
        .lookup = {&tok_},
        .tagger = {a2t_->wn}};
  }

 private:
  const model_tokenizer& tok_;
  at::Tensor embeddings_;
  std::unique_ptr<a2t_context> a2t_;
};

// ==== training =================================================================================

namespace detail {

inline at::Device parse_device(const std::string& d) {
  if (d == "cuda" && !::torch::cuda::is_available()) throw std::runtime_error("--device cuda: LibTorch sees no CUDA device");
  return at::Device(d);
}

/// `ex` with one text replaced: the classifier's pair field, or a cloze part.
inline void replace_text(example& ex, head_kind head, const text_segment& seg, std::string text) {
  if (head == head_kind::classifier) {
    auto& p = ex.choices.at(seg.choice);
    if (seg.field == 0) p.first = std::move(text);
    else p.second = std::move(text);
  } else {
    ex.cloze->parts.at(seg.field).text = std::move(text);
  }
}

}  // namespace detail

/// What every training batch of a run shares: the model and what the step trains, padding
/// and device, and how an edited example is encoded again.
struct batch_setup {
  prompt_model& model;
  std::vector<at::Tensor> params;  ///< the trainable tensors (autograd_model's parameters)
  std::int64_t pad = 0, prompt_tokens = 0;
  at::Device device = at::kCPU;
  head_kind head = head_kind::classifier;
  std::function<encoded_example(const example&)> encode;
};

/// One training batch as a ptp TextModel (regularizer_t::step's model, train_step_text's
/// `prepare`). It hands the batch to the text stages in the form they take — token sequences
/// (masking), words aligned to their tokens (A2T), or the encoded rows when there is no text
/// stage — and embeds what it gets back: rows rebuilt, collated, embedded, with an
/// autograd_model for them. It counts the tokens or words the stages changed.
class text_batch {
 public:
  /// The batch as encoded (a step without text stages).
  struct rows {};
  using embedded = ptp::embedded<ptp::torch::autograd_model&, at::Tensor, at::Tensor>;

  /// `chosen` the encoded examples, `sources` the examples they were encoded from.
  text_batch(const batch_setup& setup, std::vector<const encoded_example*> chosen, std::vector<const example*> sources)
      : setup_(setup), chosen_(std::move(chosen)), sources_(std::move(sources)) {}

  /// The batch in form X: rows, std::vector<text::token_sequence> or std::vector<text::aligned_words>.
  template <class X>
  [[nodiscard]] X input() {
    if constexpr (std::is_same_v<X, rows>) return {};
    else if constexpr (std::is_same_v<X, std::vector<text::token_sequence>>) return tokens();
    else return words();
  }

  embedded operator()(const rows&) { return prepare({}); }

  /// Rows with their ids replaced by `x` (one sequence per row, in order).
  embedded operator()(const std::vector<text::token_sequence>& x) {
    std::vector<encoded_example> own;
    double changed = 0;
    std::size_t i = 0;
    for (const auto* ex : chosen_)
      for (const auto& r : ex->rows) {
        const auto& ids = x.at(i++).ids;
        if (ids.size() != r.ids.size()) throw std::logic_error("text_batch: a token stage changed a row's length");
        for (std::size_t t = 0; t < ids.size(); ++t) changed += ids[t] != r.ids[t];
      }
    if (changed > 0) {
      i = 0;
      for (const auto* ex : chosen_) {
        own.push_back(*ex);
        for (auto& r : own.back().rows) r.ids = x[i++].ids;
      }
    }
    edits_ += changed;
    return prepare(std::move(own));
  }

  /// Examples with their edited texts put back and encoded again (`x` in words()' order).
  embedded operator()(const std::vector<text::aligned_words>& x) {
    if (x.size() != origin_.size()) throw std::logic_error("text_batch: words() and the stages' output differ in length");
    std::vector<encoded_example> own;
    bool any = false;
    for (const auto& w : x) any = any || w.edits > 0;
    for (std::size_t k = 0; any && k < chosen_.size(); ++k) {
      example ex = *sources_[k];
      bool edited = false;
      for (std::size_t j = 0; j < x.size(); ++j)
        if (origin_[j].first == k && x[j].edits > 0) {
          edits_ += static_cast<double>(x[j].edits);
          detail::replace_text(ex, setup_.head, *origin_[j].second, x[j].text.join());
          edited = true;
        }
      own.push_back(edited ? setup_.encode(ex) : *chosen_[k]);
    }
    return prepare(std::move(own));
  }

  /// Tokens or words the text stages changed in this batch.
  [[nodiscard]] double edits() const { return edits_; }
  [[nodiscard]] std::size_t size() const { return chosen_.size(); }

 private:
  // every row's ids, special tokens and prompt slots locked
  [[nodiscard]] std::vector<text::token_sequence> tokens() const {
    std::vector<text::token_sequence> out;
    for (const auto* ex : chosen_)
      for (const auto& r : ex->rows) out.push_back({.ids = r.ids, .special = std::vector<bool>(r.locked.begin(), r.locked.end())});
    return out;
  }

  // every text segment's words with their token positions, in row b of the batch
  [[nodiscard]] std::vector<text::aligned_words> words() {
    std::vector<text::aligned_words> out;
    origin_.clear();
    std::size_t row = 0;
    for (std::size_t k = 0; k < chosen_.size(); ++k)
      for (const auto& r : chosen_[k]->rows) {
        for (const auto& seg : r.segments) {
          out.push_back(text::align_words(seg.text, seg.offsets, seg.positions, row));
          origin_.emplace_back(k, &seg);
        }
        ++row;
      }
    return out;
  }

  struct prepared {
    std::vector<encoded_example> own;
    batch b;
    std::optional<ptp::torch::autograd_model> f;
  };

  // collated (own, else the chosen examples), embedded, and its model; kept for the step
  embedded prepare(std::vector<encoded_example> own) {
    auto& p = prepared_.emplace_back();
    p.own = std::move(own);
    std::vector<const encoded_example*> v = chosen_;
    if (!p.own.empty())
      for (std::size_t k = 0; k < v.size(); ++k) v[k] = &p.own[k];
    auto& model = setup_.model;
    p.b = collate(v, setup_.pad, setup_.prompt_tokens, setup_.device);
    const auto e = model.embed(p.b);
    p.f.emplace([&model, &b = p.b](const at::Tensor& x, const at::Tensor& m) { return model.forward(b, x, m); }, setup_.params,
                p.b.attention, p.b.labels, ptp::torch::autograd_model_options{.modules = model.modules()});
    return {*p.f, e, p.b.perturb};
  }

  const batch_setup& setup_;
  std::vector<const encoded_example*> chosen_;
  std::vector<const example*> sources_;
  std::vector<std::pair<std::size_t, const text_segment*>> origin_;  ///< words(): example and segment of each text
  std::deque<prepared> prepared_;
  double edits_ = 0;
};

namespace detail {

template <class S>
concept word_stage = requires(const S& s, std::vector<text::aligned_words> x, const at::Tensor& g, generator& gen) {
  s(std::move(x), g, gen, mode::train);
} || requires(const S& s, std::vector<text::aligned_words> x, generator& gen) { s(std::move(x), gen, mode::train); };
template <class S>
concept token_stage = requires(const S& s, std::vector<text::token_sequence> x, generator& gen) { s(std::move(x), gen, mode::train); };

// The form of the batch a regularizer's text stages take (their tuple: Reg::text_stages()).
template <class Stages>
struct text_input {
  using type = text_batch::rows;
};
template <class S, class... R>
struct text_input<std::tuple<S, R...>> {
  using type = std::conditional_t<word_stage<S>, std::vector<text::aligned_words>,
                                  std::conditional_t<token_stage<S>, std::vector<text::token_sequence>, void>>;
};

}  // namespace detail

/// One optimisation step, the same for every method: (batch, generator, optimizer, schedule,
/// guard) → loss. Built from a regularizer by make_step; the training loop is not a template.
using step_function = std::function<double(text_batch&, generator&, ::torch::optim::Optimizer&, ptp::torch::linear_warmup_decay&,
                                           const ptp::torch::step_guard&)>;

/// The step of regularizer `reg`: ptp::torch::train_step_text on the batch in the form its
/// text stages take (without text stages that is ptp::torch::train_step's step exactly).
template <class Reg>
step_function make_step(Reg reg) {
  using X = typename detail::text_input<std::remove_cvref_t<decltype(reg.text_stages())>>::type;
  static_assert(!std::is_void_v<X>, "make_step: the first text stage takes neither a batch of token sequences nor of aligned words");
  return [reg = std::move(reg)](text_batch& b, generator& gen, ::torch::optim::Optimizer& opt, ptp::torch::linear_warmup_decay& sched,
                                const ptp::torch::step_guard& guard) {
    return ptp::torch::train_step_text(reg, b.input<X>(), b, gen, opt, &sched, guard);
  };
}

/// Builds a run's step once its model exists (text stages take the run's tokenizer and
/// embeddings: text_resources).
using step_factory = std::function<step_function(text_resources&)>;


/// The trained run, handed to run_with_step's `on_trained` hook after the best epoch is
/// restored (ptp_landscape inspects the solution with it).
struct trained_run {
  prompt_model& model;
  const model_tokenizer& tok;
  const input_encoder& enc;
  std::int64_t prompt_tokens;
  at::Device device;
};
using trained_hook = std::function<void(trained_run&)>;

/// One run's model, assembled the same way for training (run_with_step) and for reloading a
/// saved prompt (ptp_landscape): threads and torch seed set, the pretrained backbone loaded
/// frozen, the tokenizer, the input encoder and the prompt model on `device`.
struct run_model {
  run_model(const run_config& cfg, const run_data& data)
      : device(setup(cfg)),
        tok(cfg.model_dir, static_cast<std::size_t>(cfg.max_length)),
        prompt_tokens(prompt_slots(cfg, data.info.task)),
        enc(tok, data.info, cfg.head, prompt_tokens, cfg.max_length),
        model(load_backbone(cfg, device), cfg, data.info, enc.verbalizer_ids(), device) {}
  run_model(const run_model&) = delete;
  run_model& operator=(const run_model&) = delete;

  /// The view ptp_landscape and the on_trained hook work with.
  [[nodiscard]] trained_run trained() { return {model, tok, enc, prompt_tokens, device}; }

  at::Device device;
  model_tokenizer tok;
  std::int64_t prompt_tokens;
  input_encoder enc;
  prompt_model model;

 private:
  static at::Device setup(const run_config& cfg) {
    at::set_num_threads(cfg.threads);
    ::torch::manual_seed(cfg.seed);
    return detail::parse_device(cfg.device);
  }
  // The pretrained encoder, frozen; with --cloze-head fitted and no head in the checkpoint,
  // with the WordNet-fitted head (fitted and cached on first use, from its own seed; torch's
  // generator is re-seeded after, so the run draws the same either way).
  static ptp::torch::pretrained_encoder load_backbone(const run_config& cfg, const at::Device& device) {
    auto [enc, rep] = ptp::torch::load_pretrained_encoder(cfg.model_dir, {.freeze = true, .strict = false, .device = device});
    if (cfg.head != head_kind::cloze || cfg.cloze_head != "fitted" || enc->has_mlm_head()) return enc;
    const auto head = fitted_cloze_head(cfg.model_dir);
    ::torch::manual_seed(cfg.seed);
    return ptp::torch::load_pretrained_encoder(cfg.model_dir, {.freeze = true, .strict = false, .mlm_head_file = head.path, .device = device})
        .first;
  }
};

/// Trains and evaluates one run with the step `make` builds. See the file comment.
inline run_result run_with_step(const run_config& cfg, const run_data& data, const step_factory& make,
                                const trained_hook& on_trained = {}) {
  const auto t0 = std::chrono::steady_clock::now();
  if (data.train.empty() || data.select.empty() || data.report.empty())
    throw std::invalid_argument("run: empty train, selection or report split");

  run_model rm(cfg, data);
  const auto device = rm.device;
  const model_tokenizer& tok = rm.tok;
  const std::int64_t prompt_tokens = rm.prompt_tokens;
  const input_encoder& enc = rm.enc;
  prompt_model& model = rm.model;
  const auto train = enc.all(data.train), select = enc.all(data.select), rep = enc.all(data.report);

  auto params = model.head_parameters();
  std::vector<::torch::optim::OptimizerParamGroup> groups;
  auto adamw = [](double lr, double wd) { return std::make_unique<::torch::optim::AdamWOptions>(::torch::optim::AdamWOptions(lr).weight_decay(wd)); };
  if (cfg.head_lr < 0) {
    groups.emplace_back(model.head_parameters(), adamw(cfg.lr, cfg.weight_decay));
  } else {
    for (bool prompt : {true, false})
      if (auto ps = model.parts_parameters(prompt); !ps.empty()) groups.emplace_back(std::move(ps), adamw(prompt ? cfg.lr : cfg.head_lr, cfg.weight_decay));
  }
  if (cfg.tune_backbone) {
    auto bp = model.backbone_parameters();
    params.insert(params.end(), bp.begin(), bp.end());
    if (cfg.backbone_weight_decay < 0) {
      groups.emplace_back(bp, adamw(cfg.backbone_lr, cfg.weight_decay));
    } else {  // PET's grouping: biases and norm weights without decay
      for (bool decayed : {true, false})
        if (auto ps = model.backbone_parameters(decayed); !ps.empty())
          groups.emplace_back(std::move(ps), adamw(cfg.backbone_lr, decayed ? cfg.backbone_weight_decay : 0.0));
    }
  }
  ::torch::optim::AdamW opt(std::move(groups), ::torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay));
  const auto per_epoch = static_cast<std::int64_t>((train.size() + cfg.batch_size - 1) / cfg.batch_size);
  const auto total = cfg.max_steps > 0 ? cfg.max_steps : per_epoch * cfg.epochs;
  const auto epochs = static_cast<int>((total + per_epoch - 1) / per_epoch);
  const auto warmup = cfg.warmup_steps >= 0 ? cfg.warmup_steps : static_cast<std::int64_t>(cfg.warmup_ratio * static_cast<double>(total));
  ptp::torch::linear_warmup_decay sched(opt, warmup, total);
  const ptp::torch::step_guard guard{.max_grad_norm = cfg.max_grad_norm};

  generator gen{.seed = cfg.seed};
  generator order{.seed = cfg.seed, .stream = 0x4F52444552ull};  // "ORDER": data order
  text_resources resources(tok, model.backbone()->word_embeddings->weight);
  const step_function step = make(resources);
  const batch_setup setup{.model = model, .params = params, .pad = tok.pad(), .prompt_tokens = prompt_tokens, .device = device,
                          .head = cfg.head, .encode = [&enc](const example& ex) { return enc(ex); }};
  auto pick = [](const std::vector<encoded_example>& all, std::span<const std::size_t> idx) {
    std::vector<const encoded_example*> v;
    for (auto i : idx) v.push_back(&all[i]);
    return v;
  };
  auto evaluate = [&](const std::vector<encoded_example>& set) {
    // batches of similar length (less padding); predictions go back to their examples
    std::vector<std::size_t> by_len(set.size());
    std::iota(by_len.begin(), by_len.end(), std::size_t{0});
    std::stable_sort(by_len.begin(), by_len.end(),
                     [&](std::size_t a, std::size_t b) { return set[a].rows.front().ids.size() < set[b].rows.front().ids.size(); });
    std::vector<int> pred(set.size()), gold(set.size());
    ::torch::NoGradGuard ng;
    ptp::torch::eval_scope scope(model.modules());
    const auto eb = static_cast<std::size_t>(cfg.eval_batch_size);
    for (std::size_t i = 0; i < set.size(); i += eb) {
      const auto chunk = std::span<const std::size_t>(by_len).subspan(i, std::min(eb, set.size() - i));
      const auto v = pick(set, chunk);
      const auto b = collate(v, tok.pad(), prompt_tokens, device);
      const auto z = model.forward(b, model.embed(b), b.attention).argmax(1).to(at::kCPU);
      for (std::size_t k = 0; k < chunk.size(); ++k) {
        pred[chunk[k]] = static_cast<int>(z[static_cast<std::int64_t>(k)].item<std::int64_t>());
        gold[chunk[k]] = set[chunk[k]].label;
      }
    }
    return score(data.info.task, pred, gold);
  };

  run_result res;
  double best = -1;
  int since_best = 0;  // evaluations without a strict improvement (patience)
  std::vector<at::Tensor> best_state;
  std::vector<std::size_t> idx(train.size());
  double edits = 0, edited_examples = 0;
  std::int64_t step_no = 0;
  double loss_sum = 0;
  std::int64_t loss_n = 0;
  // one progress bar per evaluation period: an epoch, or eval_every steps
  const std::int64_t period = cfg.eval_every > 0 ? cfg.eval_every : per_epoch;
  std::unique_ptr<progress> bar;
  auto open_bar = [&](int epoch) {
    if (!cfg.show_progress) return;
    const std::string what = cfg.eval_every > 0 ? " steps " + std::to_string(step_no + 1) + "-" + std::to_string(std::min(total, step_no + period)) + "/" + std::to_string(total)
                                                : " epoch " + std::to_string(epoch) + "/" + std::to_string(epochs);
    bar = std::make_unique<progress>(cfg.label + what, static_cast<std::size_t>(std::min(period, total - step_no)), progress_options{.unit = "batch"});
  };
  // evaluates the selection split; returns false when patience runs out
  auto evaluate_and_select = [&](int epoch) {
    if (bar) bar->finish();
    bar.reset();
    res.final_train_loss = loss_sum / static_cast<double>(std::max<std::int64_t>(1, loss_n));
    loss_sum = 0;
    loss_n = 0;
    const auto sel = evaluate(select);
    const double sc = selection_score(data.info.task, sel);
    res.select_curve.push_back(sc);
    const bool improved = sc > best;
    if (cfg.show_progress) {
      const std::string at = cfg.eval_every > 0 ? "step " + std::to_string(step_no) : "epoch " + std::to_string(epoch);
      std::fprintf(stderr, "%s %s: train loss %.4f, %s score %.4f%s\n", cfg.label.c_str(), at.c_str(), res.final_train_loss,
                   data.select_name.c_str(), sc, improved || (cfg.later_wins_ties && sc >= best) ? " (best)" : "");
    }
    if (improved || (cfg.later_wins_ties && sc >= best)) {  // default: strictly better, ties keep the earlier
      best = sc;
      res.best_epoch = epoch;
      res.best_step = step_no;
      res.select = sel;
      best_state = model.snapshot();
    }
    since_best = improved ? 0 : since_best + 1;  // PT-Fewshot counts ties as no improvement
    return cfg.patience <= 0 || since_best < cfg.patience;
  };
  bool go_on = true;
  for (int epoch = 1; epoch <= epochs && go_on; ++epoch) {
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    for (std::size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[order.below(i)]);
    for (std::int64_t s = 0; s < per_epoch && step_no < total; ++s) {
      if (!bar) open_bar(epoch);
      const auto first = static_cast<std::size_t>(s * cfg.batch_size);
      const auto last = std::min(idx.size(), first + static_cast<std::size_t>(cfg.batch_size));
      const auto chosen = std::span<const std::size_t>(idx).subspan(first, last - first);
      std::vector<const example*> sources;
      for (auto i : chosen) sources.push_back(&data.train[i]);
      text_batch b(setup, pick(train, chosen), std::move(sources));
      const double loss = step(b, gen, opt, sched, guard);
      edits += b.edits();
      edited_examples += static_cast<double>(b.size());
      loss_sum += loss;
      ++loss_n;
      ++step_no;
      if (bar) bar->advance();
      const bool last_step = step_no == total;
      if (cfg.eval_every > 0 && (step_no % cfg.eval_every == 0 || last_step)) go_on = evaluate_and_select(epoch) && go_on;
      if (!go_on) break;
    }
    if (cfg.eval_every == 0) go_on = evaluate_and_select(epoch);
  }
  res.steps = step_no;
  model.restore(best_state);
  res.report = evaluate(rep);
  {
    std::map<int, std::size_t> counts;
    for (const auto& e : rep) ++counts[e.label];
    std::size_t top = 0;
    for (const auto& [label, n] : counts) top = std::max(top, n);
    res.majority = static_cast<double>(top) / static_cast<double>(rep.size());
  }
  res.text_edits_per_example = edited_examples > 0 ? edits / edited_examples : 0.0;
  res.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (on_trained) {
    trained_run tr = rm.trained();
    on_trained(tr);
  }
  return res;
}

/// Trains and evaluates one run with any regularizer built by the caller (e.g. through
/// ptp::config::experiment) — the compile-time configured experiments' entry point.
template <class Reg>
run_result run(const run_config& cfg, const run_data& data, Reg reg) {
  return run_with_step(cfg, data, [reg = std::move(reg)](text_resources&) { return make_step(reg); });
}

/// The step of method `name` (method_table.hpp) for this run.
inline step_function method_step(std::string_view name, const method_options& m, text_resources& run) {
  return with_method(name, [&](const auto& method) { return make_step(method.make(m, run)); });
}

/// One run of the method cfg.method.
inline run_result run_method(const run_config& cfg, const run_data& data, const trained_hook& on_trained = {}) {
  return run_with_step(cfg, data, [&](text_resources& r) { return method_step(cfg.method, cfg.m, r); }, on_trained);
}

inline run_result run(const run_config& cfg, const run_data& data) { return run_method(cfg, data); }

}  // namespace ptp::repro
