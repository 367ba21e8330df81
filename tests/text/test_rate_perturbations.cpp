// Rate-based text perturbations: masking, deletion, adjacent swap, vocabulary substitution.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

#include "catch.hpp"
#include "ptp/text/concepts.hpp"
#include "ptp/text/deletion.hpp"
#include "ptp/text/masking.hpp"
#include "ptp/text/substitution.hpp"
#include "ptp/text/swap.hpp"

using namespace ptp::text;

static_assert(check_text_perturbation<random_mask, token_sequence>());
static_assert(check_text_perturbation<random_mask, words>());
static_assert(check_text_perturbation<random_deletion, token_sequence>());
static_assert(check_text_perturbation<random_deletion, words>());
static_assert(check_text_perturbation<adjacent_swap, token_sequence>());
static_assert(check_text_perturbation<adjacent_swap, words>());
static_assert(check_text_perturbation<random_substitution, token_sequence>());
static_assert(!TextPerturbation<random_substitution, words>);  // ids only
static_assert(!TextPerturbation<int, words>);

namespace {

// [CLS] t_1 … t_n [SEP] with ids 1000 + i; specials at both ends and every 10th position.
token_sequence make_tokens(std::size_t n) {
  token_sequence s;
  s.ids.push_back(101);
  s.special.push_back(true);
  for (std::size_t i = 0; i < n; ++i) {
    s.ids.push_back(static_cast<std::int64_t>(1000 + i));
    s.special.push_back(i % 10 == 9);
  }
  s.ids.push_back(102);
  s.special.push_back(true);
  return s;
}

words make_words(std::size_t n) {
  words w;
  for (std::size_t i = 0; i < n; ++i) {
    w.text.push_back(std::to_string(i).insert(0, 1, 'w'));  // not "w" + …: GCC 12 -Wrestrict false positive
    w.is_protected.push_back(i % 7 == 3);
  }
  return w;
}

std::size_t eligible(const token_sequence& s) {
  return static_cast<std::size_t>(std::count(s.special.begin(), s.special.end(), false));
}

// |observed − n·p| must stay within 5 binomial standard deviations: a false alarm has
// probability < 6e-7 and a systematic bias of 5σ/n is caught.
void require_binomial(std::size_t observed, std::size_t n, double p) {
  const double mean = static_cast<double>(n) * p;
  const double sd = std::sqrt(static_cast<double>(n) * p * (1 - p));
  INFO("observed " << observed << " of " << n << ", expected " << mean << " ± 5·" << sd);
  REQUIRE(std::abs(static_cast<double>(observed) - mean) <= 5 * sd);
}

}  // namespace

TEST_CASE("random_mask: same seed, same output; different seed, different output", "[text][masking]") {
  const auto s = make_tokens(300);
  const random_mask mask{.rate = 0.2, .mask_id = 103};
  ptp::generator g1{.seed = 11}, g2{.seed = 11}, g3{.seed = 12};
  const auto a = mask(s, g1, ptp::mode::train);
  const auto b = mask(s, g2, ptp::mode::train);
  const auto c = mask(s, g3, ptp::mode::train);
  REQUIRE(a == b);
  REQUIRE(g1.offset == g2.offset);
  REQUIRE(g1.offset == (s.size() + 3) / 4);
  REQUIRE(a != c);
  // a second call continues the stream: different from the first
  const auto a2 = mask(s, g1, ptp::mode::train);
  REQUIRE(a2 != a);
}

TEST_CASE("random_mask: every form masks exactly the positions of the documented draw rule", "[text][masking]") {
  // Position i is masked iff uniform_at(gen, offset, i) < rate and it is not locked — the
  // contract in masking.hpp. Checks the SIMD-filled draws (tails included) against it for
  // operator() on ids and words, in_place, and views, with and without special flags.
  for (std::size_t n : {0, 1, 7, 63, 64, 65, 130, 517}) {
    for (std::uint64_t seed : {1ull, 77ull, 123456789ull}) {
      const random_mask mask{.rate = 0.3, .mask_id = 103};
      auto s = make_tokens(n);
      auto plain = s;
      plain.special.clear();
      const auto w = make_words(n);
      const ptp::generator start{.seed = seed, .offset = 5};
      auto expect = [&](std::size_t i, bool locked) {
        return !locked && detail::uniform_at(start, start.offset, i) < mask.rate;
      };
      ptp::generator g1 = start, g2 = start, g3 = start, g4 = start, g5 = start;
      const auto a = mask(s, g1, ptp::mode::train);
      const auto b = mask(plain, g2, ptp::mode::train);
      auto c = s;
      mask.in_place(c, g3, ptp::mode::train);
      const auto d = mask(w, g4, ptp::mode::train);
      const auto v = mask.views(w, g5, ptp::mode::train);
      INFO("n " << n << ", seed " << seed);
      REQUIRE(c == a);
      REQUIRE(v.size() == w.size());
      std::size_t wrong = 0;
      for (std::size_t i = 0; i < s.size(); ++i) {
        wrong += (a.ids[i] == 103) != expect(i, s.special[i]);
        wrong += (b.ids[i] == 103) != expect(i, false);
        wrong += b.ids[i] != (expect(i, false) ? 103 : s.ids[i]);
      }
      for (std::size_t i = 0; i < w.size(); ++i) {
        wrong += d.text[i] != (expect(i, w.locked(i)) ? "[MASK]" : w.text[i]);
        wrong += v[i] != d.text[i];
        // an unmasked view shares the input's characters
        if (v[i] != "[MASK]") wrong += v[i].data() != w.text[i].data();
      }
      CHECK(wrong == 0);
      for (const auto* g : {&g1, &g3}) CHECK(g->offset == start.offset + (s.size() + 3) / 4);
      CHECK(g2.offset == g1.offset);
      CHECK(g4.offset == start.offset + (w.size() + 3) / 4);
      CHECK(g5.offset == g4.offset);
    }
  }
}

TEST_CASE("random_mask: a batch masked at once equals its sequences masked in turn", "[text][masking]") {
  std::vector<token_sequence> batch;
  for (std::size_t n : {0, 3, 30, 64, 1, 129, 17}) batch.push_back(make_tokens(n));
  batch[2].special.clear();  // a sequence without special flags takes the select path
  batch.push_back(token_sequence{});  // empty
  const random_mask mask{.rate = 0.25, .mask_id = 103};
  ptp::generator one{.seed = 9, .offset = 2}, all = one;
  auto turn = batch;
  for (auto& s : turn) mask.in_place(s, one, ptp::mode::train);
  // the batch form of operator() (what ptp::regularizer_t::step calls) draws the same
  ptp::generator copying = all;
  const auto copied = mask(batch, copying, ptp::mode::train);
  mask.in_place(std::span{batch}, all, ptp::mode::train);
  CHECK(batch == turn);
  CHECK(copied == turn);
  CHECK(all.offset == one.offset);
  CHECK(copying.offset == one.offset);
  std::size_t masked = 0;
  for (const auto& s : batch) masked += static_cast<std::size_t>(std::count(s.ids.begin(), s.ids.end(), 103));
  CHECK(masked > 0);
  // a bad sequence anywhere in the batch is refused before anything is masked
  auto bad = turn;
  bad[4].special.pop_back();
  const auto before = bad;
  CHECK_THROWS_AS(mask.in_place(std::span{bad}, all, ptp::mode::train), std::invalid_argument);
  CHECK(bad == before);
}

TEST_CASE("random_deletion and adjacent_swap follow the documented draw rule", "[text][deletion][swap]") {
  // deletion: position i goes iff unlocked and uniform_at(…, i) < rate; swap: scanning left
  // to right, pair (i, i+1) swaps iff both unlocked and uniform_at(…, i) < rate, then skips i+1.
  for (std::size_t n : {2, 9, 64, 65, 203}) {
    const auto s = make_tokens(n);
    const ptp::generator start{.seed = 31 + n, .offset = 3};
    auto u = [&](std::size_t i) { return detail::uniform_at(start, start.offset, i); };
    ptp::generator g1 = start, g2 = start;
    const auto del = random_deletion{.rate = 0.3}(s, g1, ptp::mode::train);
    std::vector<std::int64_t> kept;
    for (std::size_t i = 0; i < s.size(); ++i)
      if (s.special[i] || !(u(i) < 0.3)) kept.push_back(s.ids[i]);
    INFO("n " << n);
    CHECK(del.ids == kept);
    CHECK(g1.offset == start.offset + (s.size() + 3) / 4);
    const auto sw = adjacent_swap{.rate = 0.3}(s, g2, ptp::mode::train);
    auto expect = s.ids;
    for (std::size_t i = 0; i + 1 < s.size(); ++i)
      if (!s.special[i] && !s.special[i + 1] && u(i) < 0.3) std::swap(expect[i], expect[i + 1]), ++i;
    CHECK(sw.ids == expect);
    if (n >= 9) CHECK(sw.ids != s.ids);  // (with n = 2 one pair may well stay)
  }
}

TEST_CASE("random_mask: views and in_place in eval mode are the identity", "[text][masking]") {
  const auto w = make_words(20);
  auto s = make_tokens(20);
  const auto before = s;
  ptp::generator gen{.seed = 3};
  const random_mask mask{.rate = 0.9, .mask_id = 103};
  const auto v = mask.views(w, gen, ptp::mode::eval);
  REQUIRE(v.size() == w.size());
  for (std::size_t i = 0; i < w.size(); ++i) CHECK(v[i] == w.text[i]);
  mask.in_place(s, gen, ptp::mode::eval);
  CHECK(s == before);
  CHECK(gen.offset == 0);
  token_sequence bad{.ids = {1, 2}, .special = {true}};
  CHECK_THROWS_AS(mask.in_place(bad, gen, ptp::mode::train), std::invalid_argument);
}

TEST_CASE("random_mask: rate within 5σ of Binomial, specials untouched", "[text][masking]") {
  const auto s = make_tokens(200);
  const std::size_t m = eligible(s);
  REQUIRE(m == 180);
  for (double p : {0.05, 0.15, 0.5}) {
    const random_mask mask{.rate = p, .mask_id = 103};
    ptp::generator gen{.seed = 2024};
    std::size_t masked = 0, draws = 500;
    for (std::size_t d = 0; d < draws; ++d) {
      const auto out = mask(s, gen, ptp::mode::train);
      REQUIRE(out.size() == s.size());
      REQUIRE(out.special == s.special);
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (s.special[i]) {
          REQUIRE(out.ids[i] == s.ids[i]);
        } else if (out.ids[i] == 103) {
          ++masked;
        } else {
          REQUIRE(out.ids[i] == s.ids[i]);
        }
      }
    }
    require_binomial(masked, m * draws, p);
  }
}

TEST_CASE("random_mask: each position masked with probability p independently of the rest", "[text][masking]") {
  // Position 5 alone is checked: its empirical rate over many draws matches p.
  const auto s = make_tokens(40);
  const random_mask mask{.rate = 0.3, .mask_id = 103};
  ptp::generator gen{.seed = 5};
  std::size_t hits = 0;
  const std::size_t draws = 20000;
  for (std::size_t d = 0; d < draws; ++d) hits += mask(s, gen, ptp::mode::train).ids[5] == 103;
  require_binomial(hits, draws, 0.3);
}

TEST_CASE("random_mask: eval mode and rate 0 are the identity; generator untouched", "[text][masking]") {
  const auto s = make_tokens(100);
  const auto w = make_words(50);
  ptp::generator gen{.seed = 3};
  REQUIRE(random_mask{.rate = 0.9, .mask_id = 103}(s, gen, ptp::mode::eval) == s);
  REQUIRE(random_mask{.rate = 0.9}(w, gen, ptp::mode::eval) == w);
  REQUIRE(random_mask{.rate = 0.0, .mask_id = 103}(s, gen, ptp::mode::train) == s);
  REQUIRE(random_mask{.rate = 0.0}(w, gen, ptp::mode::train) == w);
  REQUIRE(gen.offset == 0);
}

TEST_CASE("random_mask: words — protected words never masked; rate 1 masks all others", "[text][masking]") {
  const auto w = make_words(40);
  ptp::generator gen{.seed = 1};
  const auto out = random_mask{.rate = 1.0, .mask_word = "<mask>"}(w, gen, ptp::mode::train);
  for (std::size_t i = 0; i < w.size(); ++i) REQUIRE(out.text[i] == (w.locked(i) ? w.text[i] : "<mask>"));
}

TEST_CASE("random_mask: bad options are rejected", "[text][masking]") {
  const auto s = make_tokens(10);
  ptp::generator gen{};
  REQUIRE_THROWS_AS((random_mask{.rate = 0.1}(s, gen, ptp::mode::train)), std::invalid_argument);  // mask_id unset
  REQUIRE_THROWS_AS((random_mask{.rate = 1.5, .mask_id = 1}(s, gen, ptp::mode::train)), std::invalid_argument);
  token_sequence bad{.ids = {1, 2, 3}, .special = {true}};
  REQUIRE_THROWS_AS((random_mask{.rate = 0.1, .mask_id = 1}(bad, gen, ptp::mode::train)), std::invalid_argument);
}

TEST_CASE("random_deletion: rate within 5σ, specials and protected words kept, order kept", "[text][deletion]") {
  const auto s = make_tokens(200);
  const std::size_t m = eligible(s);
  const random_deletion del{.rate = 0.2};
  ptp::generator gen{.seed = 99};
  std::size_t deleted = 0;
  const std::size_t draws = 500;
  for (std::size_t d = 0; d < draws; ++d) {
    const auto out = del(s, gen, ptp::mode::train);
    REQUIRE(out.special.size() == out.ids.size());
    deleted += s.size() - out.size();
    // the output is a subsequence containing every special token
    std::size_t j = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (j < out.size() && out.ids[j] == s.ids[i]) {
        REQUIRE(out.special[j] == s.special[i]);
        ++j;
      } else {
        REQUIRE_FALSE(s.special[i]);
      }
    }
    REQUIRE(j == out.size());
  }
  require_binomial(deleted, m * draws, 0.2);

  const auto w = make_words(60);
  const auto wout = random_deletion{.rate = 0.5}(w, gen, ptp::mode::train);
  std::size_t prot = 0;
  for (std::size_t i = 0; i < w.size(); ++i)
    if (w.locked(i)) {
      ++prot;
      REQUIRE(std::find(wout.text.begin(), wout.text.end(), w.text[i]) != wout.text.end());
    }
  REQUIRE(static_cast<std::size_t>(std::count(wout.is_protected.begin(), wout.is_protected.end(), true)) == prot);
}

TEST_CASE("random_deletion: same seed same output; eval and rate 0 identity; never empty", "[text][deletion]") {
  const auto w = make_words(30);
  ptp::generator g1{.seed = 4}, g2{.seed = 4};
  REQUIRE(random_deletion{.rate = 0.3}(w, g1, ptp::mode::train) == random_deletion{.rate = 0.3}(w, g2, ptp::mode::train));
  ptp::generator g{.seed = 4};
  REQUIRE(random_deletion{.rate = 0.9}(w, g, ptp::mode::eval) == w);
  REQUIRE(random_deletion{.rate = 0.0}(w, g, ptp::mode::train) == w);
  REQUIRE(g.offset == 0);
  // rate 1 on unprotected words: exactly one survives (EDA's keep-one rule)
  const words plain = words::split("alpha beta gamma delta");
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    ptp::generator gs{.seed = seed};
    const auto out = random_deletion{.rate = 1.0}(plain, gs, ptp::mode::train);
    REQUIRE(out.size() == 1);
    REQUIRE(std::find(plain.text.begin(), plain.text.end(), out.text[0]) != plain.text.end());
  }
}

TEST_CASE("adjacent_swap: a permutation moving eligible tokens by at most one place", "[text][swap]") {
  const auto s = make_tokens(120);
  const adjacent_swap swap{.rate = 0.3};
  ptp::generator gen{.seed = 8};
  std::size_t swaps = 0;
  for (int d = 0; d < 200; ++d) {
    const auto out = swap(s, gen, ptp::mode::train);
    REQUIRE(out.size() == s.size());
    REQUIRE(out.special == s.special);
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s.special[i]) REQUIRE(out.ids[i] == s.ids[i]);
      if (out.ids[i] != s.ids[i]) {
        // position i holds its left or right neighbour and the two were exchanged
        const bool from_right = i + 1 < s.size() && out.ids[i] == s.ids[i + 1] && out.ids[i + 1] == s.ids[i];
        const bool from_left = i > 0 && out.ids[i] == s.ids[i - 1] && out.ids[i - 1] == s.ids[i];
        REQUIRE((from_right || from_left));
        swaps += from_right;
      }
    }
  }
  REQUIRE(swaps > 0);
  auto a = s;
  ptp::generator g{.seed = 8};
  REQUIRE(swap(a, g, ptp::mode::eval) == s);
  REQUIRE(adjacent_swap{.rate = 0.0}(a, g, ptp::mode::train) == s);
  REQUIRE(g.offset == 0);
  ptp::generator g1{.seed = 1}, g2{.seed = 1};
  const auto w = make_words(50);
  const auto w1 = swap(w, g1, ptp::mode::train);
  REQUIRE(w1 == swap(w, g2, ptp::mode::train));
  for (std::size_t i = 0; i < w.size(); ++i)
    if (w.locked(i)) REQUIRE(w1.text[i] == w.text[i]);
}

TEST_CASE("adjacent_swap: rate 1 swaps every disjoint eligible pair left to right", "[text][swap]") {
  const words w = words::split("a b c d e");
  ptp::generator gen{.seed = 0};
  REQUIRE(adjacent_swap{.rate = 1.0}(w, gen, ptp::mode::train).join() == "b a d c e");
  words p = w;
  p.is_protected = {false, true, false, false, false};
  REQUIRE(adjacent_swap{.rate = 1.0}(p, gen, ptp::mode::train).join() == "a b d c e");
}

TEST_CASE("random_substitution: rate within 5σ, ids in range, never excluded, never itself", "[text][substitution]") {
  const auto s = make_tokens(200);
  const std::size_t m = eligible(s);
  random_substitution sub{.rate = 0.1, .first_id = 1000, .last_id = 1040, .excluded = {1003, 1001, 1039, 5}};
  ptp::generator gen{.seed = 17};
  std::size_t changed = 0;
  std::vector<std::size_t> histogram(40, 0);
  const std::size_t draws = 500;
  for (std::size_t d = 0; d < draws; ++d) {
    const auto out = sub(s, gen, ptp::mode::train);
    REQUIRE(out.special == s.special);
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s.special[i]) REQUIRE(out.ids[i] == s.ids[i]);
      if (out.ids[i] != s.ids[i]) {
        ++changed;
        REQUIRE(out.ids[i] >= 1000);
        REQUIRE(out.ids[i] < 1040);
        REQUIRE(out.ids[i] != 1001);
        REQUIRE(out.ids[i] != 1003);
        REQUIRE(out.ids[i] != 1039);
        ++histogram[static_cast<std::size_t>(out.ids[i] - 1000)];
      }
    }
  }
  // a substitution always changes the token, so "changed" counts every decision
  require_binomial(changed, m * draws, 0.1);
  // Uniform choice: a position whose own id is allowed draws among the 36 others, any other
  // position among all 37. Each histogram bin is a sum of independent Bernoulli trials;
  // check it within 5 of its standard deviations.
  const std::vector<std::int64_t> holes{1001, 1003, 1039};
  const auto allowed = [&](std::int64_t id) {
    return id >= 1000 && id < 1040 && std::find(holes.begin(), holes.end(), id) == holes.end();
  };
  for (std::int64_t k = 1000; k < 1040; ++k) {
    const std::size_t bin = histogram[static_cast<std::size_t>(k - 1000)];
    if (!allowed(k)) {
      REQUIRE(bin == 0);
      continue;
    }
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s.special[i] || s.ids[i] == k) continue;
      const double q = 0.1 / (allowed(s.ids[i]) ? 36.0 : 37.0);
      mean += static_cast<double>(draws) * q;
      var += static_cast<double>(draws) * q * (1 - q);
    }
    INFO("id " << k << ": " << bin << " vs " << mean);
    REQUIRE(std::abs(static_cast<double>(bin) - mean) <= 5 * std::sqrt(var));
  }
  ptp::generator g{.seed = 1};
  REQUIRE(sub(s, g, ptp::mode::eval) == s);
  sub.rate = 0;
  REQUIRE(sub(s, g, ptp::mode::train) == s);
  REQUIRE(g.offset == 0);
  sub.rate = 0.5;
  ptp::generator g1{.seed = 3}, g2{.seed = 3};
  REQUIRE(sub(s, g1, ptp::mode::train) == sub(s, g2, ptp::mode::train));
}

TEST_CASE("random_substitution: tiny range — the only allowed other id is chosen", "[text][substitution]") {
  const random_substitution sub{.rate = 1.0, .first_id = 10, .last_id = 13, .excluded = {11}};
  const token_sequence s{.ids = {10, 12, 11, 7}, .special = {}};
  ptp::generator gen{.seed = 0};
  const auto out = sub(s, gen, ptp::mode::train);
  REQUIRE(out.ids[0] == 12);  // 10 may only become 12
  REQUIRE(out.ids[1] == 10);  // 12 may only become 10
  for (std::size_t i : {2u, 3u}) REQUIRE((out.ids[i] == 10 || out.ids[i] == 12));
  // an empty range is rejected
  REQUIRE_THROWS_AS((random_substitution{.rate = 0.5, .first_id = 5, .last_id = 5}(s, gen, ptp::mode::train)),
                    std::invalid_argument);
}
