// examples/reproduce/evaluation.hpp — scoring a split with the model in evaluation mode (the
// selection split after each period, the report split once), and the majority-class floor.
#pragma once

#include <ptp/adapters/torch.hpp>
#include <ptp/adapters/torch/distributed.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "inputs.hpp"
#include "prompt_model.hpp"
#include "tasks.hpp"

namespace ptp::repro {

/// Scores encoded splits with `model`: no dropout, no graph, batches of `batch_size`.
struct evaluator {
  prompt_model& model;
  std::int64_t batch_size = 64, pad = 0, prompt_tokens = 0;
  at::Device device = at::kCPU;
  std::optional<data::task> task;  ///< its metrics (tasks.hpp score)
  /// Under torchrun: the ranks score the batches round-robin (each batch as one process
  /// would form it, so the predictions are the same) and sum their predictions.
  ptp::torch::distributed::group* group = nullptr;

  [[nodiscard]] std::map<std::string, double> operator()(const std::vector<encoded_example>& set) const {
    // batches of similar length (less padding); predictions go back to their examples
    std::vector<std::size_t> by_len(set.size());
    std::iota(by_len.begin(), by_len.end(), std::size_t{0});
    std::stable_sort(by_len.begin(), by_len.end(),
                     [&](std::size_t a, std::size_t b) { return set[a].rows.front().ids.size() < set[b].rows.front().ids.size(); });
    std::vector<int> pred(set.size()), gold(set.size());
    ::torch::NoGradGuard ng;
    ptp::torch::eval_scope scope(model.modules());
    const auto eb = static_cast<std::size_t>(batch_size);
    for (std::size_t i = 0, k = 0; i < set.size(); i += eb, ++k) {
      if (group && static_cast<int>(k % static_cast<std::size_t>(group->size())) != group->rank()) continue;
      const auto chunk = std::span<const std::size_t>(by_len).subspan(i, std::min(eb, set.size() - i));
      const auto b = collate(pick(set, chunk), pad, prompt_tokens, device);
      const auto z = model.forward(b, model.embed(b), b.attention).argmax(1).to(at::kCPU);
      for (std::size_t k = 0; k < chunk.size(); ++k) {
        pred[chunk[k]] = static_cast<int>(z[static_cast<std::int64_t>(k)].item<std::int64_t>());
        gold[chunk[k]] = set[chunk[k]].label;
      }
    }
    if (group) {  // predictions + 1 where this rank scored, 0 elsewhere: the sum has every one
      std::vector<double> p(set.size(), 0.0);
      for (std::size_t i = 0, k = 0; i < set.size(); i += eb, ++k)
        if (static_cast<int>(k % static_cast<std::size_t>(group->size())) == group->rank())
          for (std::size_t j = i; j < std::min(set.size(), i + eb); ++j) p[by_len[j]] = pred[by_len[j]] + 1.0;
      group->all_reduce_sum(p);
      for (std::size_t j = 0; j < set.size(); ++j) {
        pred[j] = static_cast<int>(p[j]) - 1;
        gold[j] = set[j].label;
      }
    }
    return score(task, pred, gold);
  }
};

/// The share of `set` in its most frequent class: the floor a run has to beat.
inline double majority_rate(const std::vector<encoded_example>& set) {
  std::map<int, std::size_t> counts;
  for (const auto& e : set) ++counts[e.label];
  std::size_t top = 0;
  for (const auto& [label, n] : counts) top = std::max(top, n);
  return static_cast<double>(top) / static_cast<double>(set.size());
}

}  // namespace ptp::repro
