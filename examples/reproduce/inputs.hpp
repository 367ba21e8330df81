// examples/reproduce/inputs.hpp — what the model reads: examples encoded into rows for the
// classifier or the cloze head (with the text segments text-space methods may rewrite), and
// rows padded into batches on the run's device.
#pragma once

#include <ptp/data/superglue.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tasks.hpp"

namespace ptp::repro {

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

/// Encodes examples for the configured head. `Tokenizer` (runner.hpp's model_tokenizer) gives
/// encode(text pair) with special tokens and truncation, piece(text, continuation) without
/// them, and the ids cls(), sep(), mask().
template <class Tokenizer>
class input_encoder {
 public:
  input_encoder(const Tokenizer& tok, const task_info& info, head_kind head, std::int64_t prompt_tokens,
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

  const Tokenizer& tok_;
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

/// The elements of `all` at `idx`, by address.
template <class T>
std::vector<const T*> pick(const std::vector<T>& all, std::span<const std::size_t> idx) {
  std::vector<const T*> v;
  v.reserve(idx.size());
  for (auto i : idx) v.push_back(&all[i]);
  return v;
}

/// `ex` with the text of one segment replaced: the classifier's pair field, or a cloze part.
inline void replace_text(example& ex, head_kind head, const text_segment& seg, std::string text) {
  if (head == head_kind::classifier) {
    auto& p = ex.choices.at(seg.choice);
    if (seg.field == 0) p.first = std::move(text);
    else p.second = std::move(text);
  } else {
    ex.cloze->parts.at(seg.field).text = std::move(text);
  }
}

}  // namespace ptp::repro
