// ptp/text/deletion.hpp — random deletion (EDA family, docs/algorithms.md §4).
#pragma once

#include <cstdint>

#include "ptp/mode.hpp"
#include "ptp/random.hpp"
#include "ptp/text/concepts.hpp"

namespace ptp::text {

/// Random deletion at rate p: every eligible position is removed, independently with
/// probability `rate`. Special tokens and protected words are never removed.
///
/// Like EDA (Wei & Zou 2019), deletion never empties a sequence: when every position would
/// be removed, one eligible position, chosen uniformly, is kept.
/// Randomness: position i uses detail::uniform_at(gen, offset, i); the generator advances
/// by ⌈n/4⌉ blocks (+1 block when the keep-one rule fires). The number of deleted
/// positions among m eligible is Binomial(m, rate) (up to the keep-one rule). mode::eval
/// or rate 0 → unchanged, generator untouched.
///
/// Default: rate 0.1 (EDA's α for deletion).
/// @code
///   ptp::text::random_deletion del{.rate = 0.1};
///   auto shorter = del(ptp::text::words::split("a quick brown fox"), gen, ptp::mode::train);
/// @endcode
struct random_deletion {
  double rate = 0.1;  ///< per-position deletion probability, in [0, 1]

  /// Deletes from a token sequence (special flags travel with the kept ids).
  [[nodiscard]] token_sequence operator()(const token_sequence& seq, ptp::generator& gen, ptp::mode m) const {
    detail::check_rate(rate, "random_deletion");
    detail::check_sequence(seq, "random_deletion");
    if (m == ptp::mode::eval || rate == 0.0) return seq;
    token_sequence out;
    out.ids.reserve(seq.ids.size());
    const bool flags = !seq.special.empty();
    const auto keep = decide(seq.ids.size(), [&](std::size_t i) { return seq.locked(i); }, gen);
    for (std::size_t i = 0; i < seq.ids.size(); ++i)
      if (keep[i]) {
        out.ids.push_back(seq.ids[i]);
        if (flags) out.special.push_back(seq.special[i]);
      }
    return out;
  }

  /// Deletes words (protected flags travel with the kept words).
  [[nodiscard]] words operator()(const words& seq, ptp::generator& gen, ptp::mode m) const {
    detail::check_rate(rate, "random_deletion");
    detail::check_sequence(seq, "random_deletion");
    if (m == ptp::mode::eval || rate == 0.0) return seq;
    words out;
    out.text.reserve(seq.text.size());
    const bool flags = !seq.is_protected.empty();
    const auto keep = decide(seq.text.size(), [&](std::size_t i) { return seq.locked(i); }, gen);
    for (std::size_t i = 0; i < seq.text.size(); ++i)
      if (keep[i]) {
        out.text.push_back(seq.text[i]);
        if (flags) out.is_protected.push_back(seq.is_protected[i]);
      }
    return out;
  }

 private:
  template <class Locked>
  std::vector<bool> decide(std::size_t n, Locked locked, ptp::generator& gen) const {
    std::vector<bool> keep(n, true);
    const auto draws = detail::position_draws(n, gen);
    const std::uint64_t threshold = ptp::open01_threshold(rate);
    std::size_t kept = 0, eligible = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (locked(i)) {
        ++kept;
        continue;
      }
      ++eligible;
      if (draws[i] < threshold)
        keep[i] = false;
      else
        ++kept;
    }
    if (kept == 0 && eligible > 0) {  // EDA: never return an empty sequence
      const std::uint64_t pick = gen.below(eligible);
      for (std::size_t i = 0, e = 0; i < n; ++i)
        if (!locked(i) && e++ == pick) keep[i] = true;
    }
    return keep;
  }
};

}  // namespace ptp::text
