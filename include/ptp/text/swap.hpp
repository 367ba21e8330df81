// ptp/text/swap.hpp — random adjacent swap (EDA family, docs/algorithms.md §4).
#pragma once

#include <cstdint>
#include <utility>

#include "ptp/mode.hpp"
#include "ptp/random.hpp"
#include "ptp/text/concepts.hpp"

namespace ptp::text {

/// Random adjacent swap at rate p: the adjacent pairs (i, i+1) are visited left to right;
/// a pair whose two positions are both eligible (not special, not protected) and not yet
/// moved is swapped with probability `rate`. Once swapped, both positions are moved and
/// skipped, so every element moves by at most one place (local word-order noise, unlike
/// EDA's swap of two arbitrary words).
///
/// Randomness: pair (i, i+1) uses detail::uniform_at(gen, offset, i); the generator
/// advances by ⌈n/4⌉ blocks. mode::eval or rate 0 → unchanged, generator untouched.
///
/// Default: rate 0.1.
/// @code
///   ptp::text::adjacent_swap swap{.rate = 0.1};
///   auto shuffled = swap(sentence_words, gen, ptp::mode::train);
/// @endcode
struct adjacent_swap {
  double rate = 0.1;  ///< per-pair swap probability, in [0, 1]

  [[nodiscard]] token_sequence operator()(const token_sequence& seq, ptp::generator& gen, ptp::mode m) const {
    detail::check_rate(rate, "adjacent_swap");
    detail::check_sequence(seq, "adjacent_swap");
    if (m == ptp::mode::eval || rate == 0.0) return seq;
    token_sequence out = seq;
    apply(out.ids.size(), [&](std::size_t i) { return out.locked(i); },
          [&](std::size_t i) { std::swap(out.ids[i], out.ids[i + 1]); }, gen);
    return out;
  }

  [[nodiscard]] words operator()(const words& seq, ptp::generator& gen, ptp::mode m) const {
    detail::check_rate(rate, "adjacent_swap");
    detail::check_sequence(seq, "adjacent_swap");
    if (m == ptp::mode::eval || rate == 0.0) return seq;
    words out = seq;
    apply(out.text.size(), [&](std::size_t i) { return out.locked(i); },
          [&](std::size_t i) { std::swap(out.text[i], out.text[i + 1]); }, gen);
    return out;
  }

 private:
  template <class Locked, class Swap>
  void apply(std::size_t n, Locked locked, Swap swap, ptp::generator& gen) const {
    const auto draws = detail::position_draws(n, gen);
    const std::uint64_t threshold = ptp::open01_threshold(rate);
    for (std::size_t i = 0; i + 1 < n; ++i) {
      if (locked(i) || locked(i + 1)) continue;
      if (draws[i] < threshold) {
        swap(i);
        ++i;  // both positions moved: skip the pair (i+1, i+2)
      }
    }
  }
};

}  // namespace ptp::text
