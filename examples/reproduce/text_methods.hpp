// examples/reproduce/text_methods.hpp — what the text-space methods need from a run: A2T's
// candidates (WordNet synonyms, then the model's embedding neighbours), its host copy of the
// embedding matrix and word lookup, and the mask id; the method table's `run`.
#pragma once

#include <ptp/text/a2t.hpp>
#include <ptp/text/candidates.hpp>
#include <ptp/text/wordnet.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptp::repro {

/// WordNet synonyms first, then the model's own embedding neighbours (docs/algorithms.md §4: A2T's
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

  /// `tok`: token(id) → its vocabulary entry, byte_level() for BPE's 'Ġ' words.
  template <class Tokenizer>
  a2t_context(const at::Tensor& embeddings, const Tokenizer& tok, double min_cosine) {
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
template <class Tokenizer>
struct word_pieces {
  const Tokenizer* tok = nullptr;
  [[nodiscard]] std::vector<std::int64_t> operator()(std::string_view w) const {
    const auto e = tok->piece(w, true);
    return {e.ids.begin(), e.ids.end()};
  }
};

/// What the methods' text stages need from the run (method_table.hpp's `run`): the tokenizer's mask id
/// (PTP-RN-text) and A2T as a ptp text stage over the run's WordNet synonyms and embedding
/// neighbours (PTP-ADV-text). A2T's context is built on first use, from the word embeddings
/// as the run starts; the stages it returns refer to it, so they must not outlive this.
template <class Tokenizer>
class text_resources {
 public:
  text_resources(const Tokenizer& tok, at::Tensor word_embeddings) : tok_(tok), embeddings_(std::move(word_embeddings)) {}

  [[nodiscard]] std::int64_t mask_id() const { return tok_.mask(); }

  [[nodiscard]] auto a2t(const text::a2t& attack) {
    if (!a2t_) a2t_ = std::make_unique<a2t_context>(embeddings_, tok_, attack.min_embedding_cosine);
    return text::a2t_stage<float, merged_candidates, word_pieces<Tokenizer>, text::wordnet_pos_tagger>{
        .attack = attack,
        .embeddings = a2t_->view(),
        .source = {.wordnet = {.db = a2t_->wn}, .neighbours = a2t_->neighbours.get()},
        .lookup = {&tok_},
        .tagger = {a2t_->wn}};
  }

 private:
  const Tokenizer& tok_;
  at::Tensor embeddings_;
  std::unique_ptr<a2t_context> a2t_;
};

}  // namespace ptp::repro
