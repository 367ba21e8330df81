// ptp/text/masking.hpp — random token masking (PTP-RN in text space, docs/algorithms.md §4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ptp/mode.hpp"
#include "ptp/random.hpp"
#include "ptp/simd.hpp"
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
/// Three forms draw the same positions: the copying operator() (the TextPerturbation
/// entry point), `in_place` (masks a buffer the caller owns, e.g. a row of a batch), and
/// `views` for words (the result shares the unmasked words instead of copying them).
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
    token_sequence out = seq;
    in_place(out, gen, m);
    return out;
  }

  /// Masks a batch (the form ptp::regularizer_t::step passes along): in_place on the batch.
  [[nodiscard]] std::vector<token_sequence> operator()(std::vector<token_sequence> batch, ptp::generator& gen,
                                                       ptp::mode m) const {
    in_place(std::span<token_sequence>(batch), gen, m);
    return batch;
  }

  /// Masks words (replaces them by `mask_word`).
  [[nodiscard]] words operator()(const words& seq, ptp::generator& gen, ptp::mode m) const {
    detail::check_rate(rate, "random_mask");
    detail::check_sequence(seq, "random_mask");
    if (m == ptp::mode::eval || rate == 0.0) return seq;
    words out = seq;
    for_each_masked(out.text.size(), out.is_protected, gen, [&](std::size_t i) { out.text[i] = mask_word; });
    return out;
  }

  /// Masks `seq.ids` where they are (same draws as operator()); the caller's buffer is reused.
  void in_place(token_sequence& seq, ptp::generator& gen, ptp::mode m) const { in_place(std::span{&seq, 1}, gen, m); }

  /// Masks every sequence of a batch where it is: the same result as in_place on each in
  /// turn, but the Philox blocks of the whole batch come from one vectorised call (a short
  /// text alone cannot fill the vector unit).
  void in_place(std::span<token_sequence> batch, ptp::generator& gen, ptp::mode m) const {
    detail::check_rate(rate, "random_mask");
    std::size_t words = 0;
    for (const auto& seq : batch) {
      detail::check_sequence(seq, "random_mask");
      words += 4 * detail::blocks_for(seq.ids.size());
    }
    if (m == ptp::mode::eval || rate == 0.0) return;
    if (mask_id < 0) throw std::invalid_argument("random_mask: mask_id is not set (the model's mask-token id)");
    const std::uint32_t* bits = detail::position_draws(words, gen).data();
    const std::uint64_t threshold = ptp::open01_threshold(rate);
    for (auto& seq : batch) {
      const std::size_t n = seq.ids.size();
      if (seq.special.empty())
        select_ids(seq.ids.data(), bits, n, threshold, mask_id);
      else
        for_each_hit(n, seq.special, bits, threshold, [&](std::size_t i) { seq.ids[i] = mask_id; });
      bits += 4 * detail::blocks_for(n);
    }
  }

  /// The masked words as views: `out[i]` is `seq.text[i]` or `mask_word` (same draws as
  /// operator()). Nothing is copied but the views, so `out` is valid while `seq` and this
  /// random_mask live. `out` is overwritten; its capacity is reused.
  void views(const words& seq, ptp::generator& gen, ptp::mode m, std::vector<std::string_view>& out) const {
    detail::check_rate(rate, "random_mask");
    detail::check_sequence(seq, "random_mask");
    out.assign(seq.text.begin(), seq.text.end());
    if (m == ptp::mode::eval || rate == 0.0) return;
    for_each_masked(out.size(), seq.is_protected, gen, [&](std::size_t i) { out[i] = mask_word; });
  }

  /// views() into a new vector.
  [[nodiscard]] std::vector<std::string_view> views(const words& seq, ptp::generator& gen, ptp::mode m) const {
    std::vector<std::string_view> out;
    views(seq, gen, m, out);
    return out;
  }

 private:
  // ids[i] = mask_id where bits[i] < threshold, as arithmetic: a ~15 % random branch
  // mispredicts more than the rest of the loop costs, and this form vectorises (32-bit
  // compare; threshold 2^32, rate 1, masks everything). Compiled twice: for the build's own
  // instruction set and for AVX-512, taken where simd_level() finds it (2× on this loop).
  static void select_ids(std::int64_t* __restrict ids, const std::uint32_t* __restrict bits, std::size_t n,
                         std::uint64_t threshold, std::int64_t mask_id) noexcept {
    if (threshold > 0xFFFFFFFFu) {
      for (std::size_t i = 0; i < n; ++i) ids[i] = mask_id;
      return;
    }
#ifdef PTP_X86_SIMD
    if (ptp::detail::simd_level() == 2) return select_ids_avx512(ids, bits, n, static_cast<std::uint32_t>(threshold), mask_id);
#endif
    select_ids_loop(ids, bits, n, static_cast<std::uint32_t>(threshold), mask_id);
  }

  [[gnu::always_inline]] static inline void select_ids_loop(std::int64_t* __restrict ids,
                                                             const std::uint32_t* __restrict bits, std::size_t n,
                                                             std::uint32_t t, std::int64_t mask_id) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t hit = -static_cast<std::int64_t>(bits[i] < t);
      ids[i] = (ids[i] & ~hit) | (mask_id & hit);
    }
  }

#ifdef PTP_X86_SIMD
  __attribute__((target("avx512f,avx512vl"))) static void select_ids_avx512(
      std::int64_t* __restrict ids, const std::uint32_t* __restrict bits, std::size_t n, std::uint32_t t,
      std::int64_t mask_id) noexcept {
    select_ids_loop(ids, bits, n, t, mask_id);  // inlined: vectorised for AVX-512 here
  }
#endif

  // Calls replace(i) for each masked, unlocked position, in order. The masked positions are
  // first collected without branching (the draw decides only where the next index goes).
  template <class Replace>
  static void for_each_hit(std::size_t n, const std::vector<bool>& locked, const std::uint32_t* bits,
                           std::uint64_t threshold, Replace replace) {
    thread_local std::vector<std::uint32_t> hits;
    hits.resize(n + 1);
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i) {
      hits[k] = static_cast<std::uint32_t>(i);
      k += bits[i] < threshold;
    }
    for (std::size_t j = 0; j < k; ++j)
      if (const std::size_t i = hits[j]; !(i < locked.size() && locked[i])) replace(i);
  }

  template <class Replace>
  void for_each_masked(std::size_t n, const std::vector<bool>& locked, ptp::generator& gen, Replace replace) const {
    for_each_hit(n, locked, detail::position_draws(n, gen).data(), ptp::open01_threshold(rate), replace);
  }
};

}  // namespace ptp::text
