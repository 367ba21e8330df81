// ptp/data/split.hpp — the fixed selection split carved out of a training set.
//
// The fully supervised (P-tuning v2) runs select hyper-parameters and checkpoints on data
// that is not the report split; SuperGLUE's validation sets are the report split, so a
// selection split is carved out of train.jsonl (../shared/data/superglue/README.md).
//
// The rule (our choice, documented here and fixed so every method sees the same split):
//  1. units = the examples, or the groups of examples when group keys are given (all
//     options of a MultiRC paragraph, all queries of a ReCoRD passage stay together, so
//     nothing of a selection paragraph leaks into training); units are numbered in order of
//     first appearance in the file;
//  2. shuffle the unit numbers with a Fisher–Yates shuffle driven by
//     ptp::generator{.seed = seed, .stream = selection_stream}: for i = m−1 … 1, swap
//     position i with position gen.below(i + 1);
//  3. the first k = round(fraction · m) shuffled units (at least 1 and at most m − 1 when
//     m ≥ 2) form the selection split, the rest the training split;
//  4. both index lists are returned in ascending (file) order.
// Philox (ptp/random.hpp) is counter-based and pure integer arithmetic, so the split is the
// same on every run, compiler and machine for the same (n or keys, fraction, seed).
//
// @code
//   auto examples = ptp::data::read_rte(dir / "train.jsonl");          // 2490
//   auto split = ptp::data::carve_selection(examples.size());          // 10 %, seed 42
//   auto [train, select] = ptp::data::apply(split, examples);          // 2241 / 249
// @endcode
#pragma once

#include "ptp/random.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

namespace ptp::data {

/// The generator stream reserved for selection splits ("SELECT" in ASCII), so a run's other
/// random draws with the same seed never coincide with the split's.
inline constexpr std::uint64_t selection_stream = 0x53454C454354ull;

/// The default split: 10 % for selection, seed 42 (our choice).
struct selection_options {
  double fraction = 0.1;     ///< share of units in the selection split, in (0, 1)
  std::uint64_t seed = 42;   ///< fixed across methods and seeds of a sweep
};

/// Indices into the original example list, each ascending.
struct selection_split {
  std::vector<std::size_t> train;
  std::vector<std::size_t> select;
};

namespace detail {
/// Which of m units go to the selection split (a sorted list of unit numbers).
[[nodiscard]] inline std::vector<std::size_t> selected_units(std::size_t m, const selection_options& o) {
  if (!(o.fraction > 0.0 && o.fraction < 1.0))
    throw std::invalid_argument("selection split: fraction must lie in (0, 1)");
  if (m < 2) throw std::invalid_argument("selection split: need at least 2 examples (or groups)");
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), std::size_t{0});
  ptp::generator gen{.seed = o.seed, .stream = selection_stream};
  for (std::size_t i = m - 1; i > 0; --i) std::swap(order[i], order[gen.below(i + 1)]);
  auto k = static_cast<std::size_t>(std::llround(o.fraction * static_cast<double>(m)));
  k = std::clamp<std::size_t>(k, 1, m - 1);
  std::vector<std::size_t> chosen(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}
}  // namespace detail

/// The selection split of n examples.
[[nodiscard]] inline selection_split carve_selection(std::size_t n, const selection_options& options = {}) {
  const auto chosen = detail::selected_units(n, options);
  selection_split s;
  s.select = chosen;
  s.train.reserve(n - chosen.size());
  std::size_t next = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (next < chosen.size() && chosen[next] == i) ++next;
    else s.train.push_back(i);
  }
  return s;
}

/// The selection split of examples that come in groups: `keys[i]` is example i's group
/// (MultiRC: paragraph_idx; ReCoRD: passage_idx). Whole groups go to one side.
template <class Key>
[[nodiscard]] selection_split carve_selection_grouped(std::span<const Key> keys, const selection_options& options = {}) {
  std::map<Key, std::size_t> unit_of;
  std::vector<std::size_t> unit(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i)
    unit[i] = unit_of.try_emplace(keys[i], unit_of.size()).first->second;
  const auto chosen = detail::selected_units(unit_of.size(), options);
  std::vector<bool> selected(unit_of.size(), false);
  for (const auto u : chosen) selected[u] = true;
  selection_split s;
  for (std::size_t i = 0; i < keys.size(); ++i) (selected[unit[i]] ? s.select : s.train).push_back(i);
  return s;
}

/// The two example lists a split names: {train, select}.
template <class Example>
[[nodiscard]] std::pair<std::vector<Example>, std::vector<Example>> apply(const selection_split& split,
                                                                         const std::vector<Example>& examples) {
  std::pair<std::vector<Example>, std::vector<Example>> out;
  out.first.reserve(split.train.size());
  out.second.reserve(split.select.size());
  for (const auto i : split.train) out.first.push_back(examples.at(i));
  for (const auto i : split.select) out.second.push_back(examples.at(i));
  return out;
}

}  // namespace ptp::data
