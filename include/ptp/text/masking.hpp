// ptp/text/masking.hpp — random token masking (PTP-RN in text space, PAPER.md §4).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "ptp/mode.hpp"
#include "ptp/random.hpp"
#include "ptp/text/concepts.hpp"

namespace ptp::text {

/// Random masking at rate p: every eligible position is replaced, independently with
/// probability `rate`, by the model's mask token (`mask_id` on token ids, `mask_word` on
/// words). Special tokens and protected words are never eligible.
///
/// Randomness: position i uses the uniform at block `gen.offset + i/4`, lane `i%4`
/// (detail::uniform_at), and the generator advances by ⌈n/4⌉ blocks — so whether token i is
/// masked depends on (seed, stream, offset, i) only. The number of masked tokens among m
/// eligible ones is Binomial(m, rate). In mode::eval, or with rate 0, the input is returned
/// unchanged and the generator is not advanced.
///
/// Defaults: rate 0.05; mask_id −1 (must be set before masking token ids: BERT/RoBERTa
/// use 103 / 50264); mask_word "[MASK]".
/// @code
///   ptp::generator gen{.seed = 7};
///   ptp::text::random_mask mask{.rate = 0.15, .mask_id = 103};
///   auto noisy = mask(tokens, gen, ptp::mode::train);
/// @endcode
struct random_mask {
  double rate = 0.05;                ///< per-token masking probability, in [0, 1]
  std::int64_t mask_id = -1;         ///< the model's mask-token id (token level)
  std::string mask_word = "[MASK]";  ///< the mask string (word level)

  /// Masks a token sequence. Throws std::invalid_argument for a bad rate, mismatched
  /// special flags, or mask_id < 0 when masking is to happen.
  [[nodiscard]] token_sequence operator()(const token_sequence& seq, ptp::generator& gen, ptp::mode m) const {
    detail::check_rate(rate, "random_mask");
    detail::check_sequence(seq, "random_mask");
    if (m == ptp::mode::eval || rate == 0.0) return seq;
    if (mask_id < 0) throw std::invalid_argument("random_mask: mask_id is not set (the model's mask-token id)");
    token_sequence out = seq;
    apply(out.ids.size(), [&](std::size_t i) { return out.locked(i); }, [&](std::size_t i) { out.ids[i] = mask_id; },
          gen);
    return out;
  }

  /// Masks words (replaces them by `mask_word`).
  [[nodiscard]] words operator()(const words& seq, ptp::generator& gen, ptp::mode m) const {
    detail::check_rate(rate, "random_mask");
    detail::check_sequence(seq, "random_mask");
    if (m == ptp::mode::eval || rate == 0.0) return seq;
    words out = seq;
    apply(out.text.size(), [&](std::size_t i) { return out.locked(i); }, [&](std::size_t i) { out.text[i] = mask_word; },
          gen);
    return out;
  }

 private:
  template <class Locked, class Replace>
  void apply(std::size_t n, Locked locked, Replace replace, ptp::generator& gen) const {
    // Same draws as detail::uniform_at(gen, offset, i), one Philox block per 4 positions.
    const std::uint64_t base = gen.offset;
    for (std::size_t i0 = 0; i0 < n; i0 += 4) {
      const auto b = gen.block(base + i0 / 4);
      const std::size_t lanes = std::min<std::size_t>(4, n - i0);
      for (std::size_t lane = 0; lane < lanes; ++lane)
        if (ptp::uniform_open01(b[lane]) < rate && !locked(i0 + lane)) replace(i0 + lane);
    }
    gen.offset += detail::blocks_for(n);
  }
};

}  // namespace ptp::text
