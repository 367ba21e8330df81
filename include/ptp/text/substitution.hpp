// ptp/text/substitution.hpp — random vocabulary substitution (docs/algorithms.md §4).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "ptp/mode.hpp"
#include "ptp/random.hpp"
#include "ptp/text/concepts.hpp"

namespace ptp::text {

/// Random vocabulary substitution at rate p: every eligible token (not special) is,
/// independently with probability `rate`, replaced by an id drawn uniformly from
/// [first_id, last_id) minus `excluded` (the tokenizer's special ids: [CLS], [SEP], [PAD],
/// [MASK], unused slots, …) minus the token's own id — so a substitution always changes
/// the token. If no id is left to draw, the token stays.
///
/// Randomness: position i reads the whole block `gen.offset + i` (lane 0 decides, lanes 1–2
/// pick the id); the generator advances by n blocks. mode::eval or rate 0 → unchanged.
///
/// Defaults: rate 0.05; the range must be set (last_id > first_id).
/// @code
///   // BERT-base uncased: ids 999..30521 are ordinary word pieces
///   ptp::text::random_substitution sub{.rate = 0.05, .first_id = 999, .last_id = 30522};
///   auto noisy = sub(tokens, gen, ptp::mode::train);
/// @endcode
struct random_substitution {
  double rate = 0.05;                  ///< per-token substitution probability, in [0, 1]
  std::int64_t first_id = 0;           ///< first id of the range to draw from
  std::int64_t last_id = 0;            ///< one past the last id of the range
  std::vector<std::int64_t> excluded{};  ///< ids never drawn (special tokens), any order

  [[nodiscard]] token_sequence operator()(const token_sequence& seq, ptp::generator& gen, ptp::mode m) const {
    detail::check_rate(rate, "random_substitution");
    detail::check_sequence(seq, "random_substitution");
    if (m == ptp::mode::eval || rate == 0.0) return seq;
    if (last_id <= first_id)
      throw std::invalid_argument("random_substitution: empty id range [first_id, last_id)");
    std::vector<std::int64_t> ex;  // sorted, unique, inside the range
    for (auto id : excluded)
      if (id >= first_id && id < last_id) ex.push_back(id);
    std::sort(ex.begin(), ex.end());
    ex.erase(std::unique(ex.begin(), ex.end()), ex.end());
    const auto allowed = static_cast<std::uint64_t>(last_id - first_id) - ex.size();

    token_sequence out = seq;
    const std::uint64_t base = gen.offset;
    for (std::size_t i = 0; i < out.ids.size(); ++i) {
      if (out.locked(i)) continue;
      const auto b = gen.block(base + i);
      if (!(ptp::uniform_open01(b[0]) < rate)) continue;
      const std::int64_t cur = out.ids[i];
      const bool cur_allowed =
          cur >= first_id && cur < last_id && !std::binary_search(ex.begin(), ex.end(), cur);
      const std::uint64_t n = allowed - (cur_allowed ? 1 : 0);
      if (n == 0) continue;
      std::uint64_t k = detail::below_from(b[1], b[2], n);  // k-th allowed id, skipping cur
      out.ids[i] = kth_allowed(k, ex, cur_allowed ? cur : -1);
    }
    gen.offset += out.ids.size();
    return out;
  }

 private:
  // The k-th (0-based) id of [first_id, last_id) that is neither in `ex` nor `skip`.
  [[nodiscard]] std::int64_t kth_allowed(std::uint64_t k, const std::vector<std::int64_t>& ex,
                                         std::int64_t skip) const {
    // Visit the holes (ex ∪ {skip}) in ascending order; each at or below the candidate
    // shifts it up by one.
    std::int64_t id = first_id + static_cast<std::int64_t>(k);
    std::size_t j = 0;
    bool pending_skip = skip >= 0;
    for (;;) {
      std::int64_t hole;
      if (j < ex.size() && (!pending_skip || ex[j] < skip)) {
        hole = ex[j++];
      } else if (pending_skip) {
        hole = skip;
        pending_skip = false;
      } else {
        break;
      }
      if (hole > id) break;
      ++id;
    }
    return id;
  }
};

}  // namespace ptp::text
