// Metrics (include/ptp/data/metrics.hpp) against hand-computed values, and the selection
// split (include/ptp/data/split.hpp): sizes, disjointness, groups, determinism.
#include <ptp/data/metrics.hpp>
#include <ptp/data/split.hpp>

#include "catch.hpp"

#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <vector>

namespace pd = ptp::data;

TEST_CASE("accuracy and CB macro-F1", "[reproduce][metrics]") {
  const std::vector<int> pred = {1, 0, 1, 1}, gold = {1, 1, 1, 0};
  CHECK(pd::accuracy(pred, gold) == Approx(0.5));

  // labels {0,0,1}, predictions {0,2,1}: classes {0,1,2} (union)
  //   class 0: TP 1, FP 0, FN 1 → 2/3;  class 1: TP 1 → 1;  class 2: TP 0, FP 1 → 0
  //   macro = (2/3 + 1 + 0) / 3 = 5/9;  accuracy = 2/3
  const std::vector<int> cb_pred = {0, 2, 1}, cb_gold = {0, 0, 1};
  const auto s = pd::cb_metrics(cb_pred, cb_gold);
  CHECK(s.accuracy == Approx(2.0 / 3.0));
  CHECK(s.macro_f1 == Approx(5.0 / 9.0));
  // a class only in the labels and never predicted counts with F1 = 0
  const std::vector<int> p2 = {0, 0, 0, 0}, g2 = {0, 0, 1, 2};
  // class 0: TP 2, FP 2, FN 0 → 4/6; classes 1, 2 → 0; macro = (2/3)/3 = 2/9
  CHECK(pd::macro_f1(p2, g2) == Approx(2.0 / 9.0));

  CHECK_THROWS_AS(pd::accuracy(std::vector<int>{1}, std::vector<int>{1, 0}), std::invalid_argument);
  CHECK_THROWS_AS(pd::accuracy(std::vector<int>{}, std::vector<int>{}), std::invalid_argument);
}

TEST_CASE("MultiRC F1a, EM and F1m group answer options by question", "[reproduce][metrics]") {
  // question (1,1): pred {1,0,1} gold {1,0,0};  (1,2): pred {0,1} gold {0,1};  (2,1): pred {1} gold {1}
  // interleaved, so grouping cannot rely on adjacency
  const std::vector<pd::multirc_prediction> options = {
      {1, 1, 1, 1}, {1, 2, 0, 0}, {2, 1, 1, 1}, {1, 1, 0, 0}, {1, 2, 1, 1}, {1, 1, 1, 0},
  };
  const auto s = pd::multirc_metrics(options);
  // all options: TP 3, FP 1, FN 0 → F1a = 6/7
  CHECK(s.f1a == Approx(6.0 / 7.0));
  // (1,1) has a wrong option, the other two are all right → EM = 2/3
  CHECK(s.em == Approx(2.0 / 3.0));
  // (1,1): class 0 TP1 FN1 → 2/3, class 1 TP1 FP1 → 2/3 → 2/3; (1,2): 1; (2,1): 1 → 8/9
  CHECK(s.f1m == Approx(8.0 / 9.0));
  // no positive anywhere: F1a = 0 (sklearn's zero_division), EM still counts
  const std::vector<pd::multirc_prediction> none = {{1, 1, 0, 0}, {1, 1, 0, 0}};
  CHECK(pd::multirc_metrics(none).f1a == 0.0);
  CHECK(pd::multirc_metrics(none).em == 1.0);
  CHECK_THROWS_AS(pd::multirc_metrics(std::vector<pd::multirc_prediction>{}), std::invalid_argument);
}

TEST_CASE("ReCoRD normalisation, EM and token F1", "[reproduce][metrics]") {
  CHECK(pd::normalize_answer("The  Quick, brown-fox!") == "quick brownfox");
  CHECK(pd::normalize_answer("An apple a day") == "apple day");
  CHECK(pd::normalize_answer("Theatre and anthems") == "theatre and anthems");  // articles only as words
  CHECK(pd::normalize_answer("a-team") == "ateam");                             // punctuation goes first
  CHECK(pd::normalize_answer("  the  ") == "");
  CHECK(pd::normalize_answer("Zo\xC3\xAB THE Caf\xC3\xA9") == "zo\xC3\xAB caf\xC3\xA9");

  CHECK(pd::record_exact_match("the Eiffel Tower", "Eiffel tower.") == 1.0);
  CHECK(pd::record_exact_match("Eiffel", "Eiffel Tower") == 0.0);
  CHECK(pd::record_token_f1("Barack Obama", "President Obama") == Approx(0.5));
  CHECK(pd::record_token_f1("a", "the") == 0.0);  // both normalise to nothing: 0, as SQuAD v1.1
  CHECK(pd::record_token_f1("new new york", "new york") == Approx(0.8));  // bag counts: P 2/3, R 1

  // query 1: "Barack Obama" vs {"Obama" → P 1/2 R 1 → 2/3, "President Barack Obama" → P 1 R 2/3 → 0.8}
  //          EM 0, F1 0.8;  query 2: "the Eiffel Tower" vs {"Eiffel Tower"}: EM 1, F1 1
  const std::vector<std::string> preds = {"Barack Obama", "the Eiffel Tower"};
  const std::vector<std::vector<std::string>> golds = {{"Obama", "President Barack Obama"}, {"Eiffel Tower"}};
  const auto s = pd::record_metrics(preds, golds);
  CHECK(s.em == Approx(0.5));
  CHECK(s.f1 == Approx(0.9));
  const std::vector<std::vector<std::string>> no_gold = {{"x"}, {}};
  CHECK_THROWS_AS(pd::record_metrics(preds, no_gold), std::invalid_argument);
}

TEST_CASE("mean ± sample std, min, max over seeds", "[reproduce][metrics]") {
  // mean 0.85; squared deviations 0.0025 + 0.0001 + 0.0001 + 0.0025 = 0.0052; / (4 − 1); sqrt
  const std::vector<double> v = {0.80, 0.86, 0.84, 0.90};
  const auto s = pd::summarize(v);
  CHECK(s.n == 4);
  CHECK(s.mean == Approx(0.85));
  CHECK(s.stddev == Approx(std::sqrt(0.0052 / 3.0)));
  CHECK(s.min == 0.80);
  CHECK(s.max == 0.90);
  const auto one = pd::summarize(std::vector<double>{0.7});
  CHECK(one.mean == 0.7);
  CHECK(std::isnan(one.stddev));  // undefined for one seed
  CHECK_THROWS_AS(pd::summarize(std::vector<double>{}), std::invalid_argument);
  CHECK_THROWS_AS(pd::summarize(std::vector<double>{1.0, NAN}), std::invalid_argument);
}

TEST_CASE("selection split: sizes, disjoint cover, deterministic, pinned", "[reproduce][split]") {
  const auto s = pd::carve_selection(2490);  // RTE train: 10 % → 249
  CHECK(s.select.size() == 249);
  CHECK(s.train.size() == 2241);
  CHECK(std::is_sorted(s.select.begin(), s.select.end()));
  CHECK(std::is_sorted(s.train.begin(), s.train.end()));
  std::vector<std::size_t> all = s.train;
  all.insert(all.end(), s.select.begin(), s.select.end());
  std::sort(all.begin(), all.end());
  std::vector<std::size_t> expected(2490);
  std::iota(expected.begin(), expected.end(), std::size_t{0});
  CHECK(all == expected);

  const auto again = pd::carve_selection(2490);
  CHECK(again.select == s.select);
  const auto other = pd::carve_selection(2490, {.fraction = 0.1, .seed = 7});
  CHECK(other.select != s.select);

  // pinned: the split must never change between runs, compilers or releases
  const auto small = pd::carve_selection(20);
  CHECK(small.select.size() == 2);
  const auto small_again = pd::carve_selection(20);
  CHECK(small_again.select == small.select);
  CHECK(small.select == std::vector<std::size_t>{11, 13});
  CHECK(std::vector<std::size_t>(s.select.begin(), s.select.begin() + 5) == std::vector<std::size_t>{2, 15, 17, 33, 36});

  CHECK(pd::carve_selection(250).select.size() == 25);  // CB
  CHECK(pd::carve_selection(554).select.size() == 55);  // WSC: round(55.4)
  CHECK(pd::carve_selection(2).select.size() == 1);     // at least one on each side
  CHECK_THROWS_AS(pd::carve_selection(1), std::invalid_argument);
  CHECK_THROWS_AS(pd::carve_selection(10, {.fraction = 1.0}), std::invalid_argument);
  CHECK_THROWS_AS(pd::carve_selection(10, {.fraction = 0.0}), std::invalid_argument);

  const std::vector<std::string> examples = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  const auto [train, select] = pd::apply(pd::carve_selection(examples.size()), examples);
  CHECK(train.size() == 9);
  CHECK(select.size() == 1);
}

TEST_CASE("grouped selection split keeps groups whole", "[reproduce][split]") {
  // 12 groups (paragraphs) of 1..4 options each
  std::vector<long> keys;
  for (long g = 0; g < 12; ++g)
    for (long k = 0; k <= g % 4; ++k) keys.push_back(100 + g);
  const auto s = pd::carve_selection_grouped(std::span<const long>(keys));
  std::set<long> sel_groups, train_groups;
  for (const auto i : s.select) sel_groups.insert(keys[i]);
  for (const auto i : s.train) train_groups.insert(keys[i]);
  CHECK(sel_groups.size() == 1);  // round(1.2)
  CHECK(train_groups.size() == 11);
  for (const auto g : sel_groups) CHECK_FALSE(train_groups.contains(g));
  CHECK(s.select.size() + s.train.size() == keys.size());
}
