// README's "Using it" text + embedding composition, compiled and run as written: the block
// between the README markers below must equal README.md's code block that follows
// `<!-- compiled by tests/core/test_readme_snippet.cpp -->` line for line (after this file's
// two-space indent), so the README cannot drift from code that builds.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <ptp/ptp.hpp>
#include <ptp/text/masking.hpp>

#include "catch.hpp"
#include "test_models.hpp"

namespace {

using namespace ptp_test;
using bk = eigen_backend<float>;
using Tensor3 = bk::T3;
using Tensor2 = bk::T2;
using MyModel = tanh_prompt_model<bk>;

constexpr std::size_t vocab = 128, width = 5;  // 103 is [MASK], as in BERT's vocabulary

/// The lines of `path` between the line equal to `begin` and the next line equal to `end`,
/// each without its first `indent` characters.
std::vector<std::string> lines_between(const std::string& path, const std::string& begin, const std::string& end,
                                       std::size_t indent) {
  std::ifstream in(path);
  INFO("reading " << path);
  REQUIRE(in.good());
  std::vector<std::string> out;
  bool inside = false, found = false;
  for (std::string line; std::getline(in, line);) {
    if (!inside && line == begin) {
      inside = found = true;
      continue;
    }
    if (inside && line == end) return out;
    if (inside) out.push_back(line.size() >= indent ? line.substr(indent) : std::string{});
  }
  INFO("no block from '" << begin << "' to '" << end << "' (found the start: " << found << ")");
  FAIL();
  return out;
}

/// README.md's code block after the marker comment.
std::vector<std::string> readme_block(const std::string& path) {
  std::ifstream in(path);
  INFO("reading " << path);
  REQUIRE(in.good());
  std::vector<std::string> out;
  int state = 0;  // 0: before the marker, 1: before ```cpp, 2: inside
  for (std::string line; std::getline(in, line);) {
    if (state == 0 && line == "<!-- compiled by tests/core/test_readme_snippet.cpp -->") state = 1;
    else if (state == 1 && line == "```cpp") state = 2;
    else if (state == 2 && line == "```") return out;
    else if (state == 2) out.push_back(line);
  }
  INFO("README.md has no ```cpp block after the test_readme_snippet marker");
  FAIL();
  return out;
}

}  // namespace

TEST_CASE("README 'Using it': the text + embedding snippet is this code and it trains", "[core][step][readme]") {
  const char* src = std::getenv("PTP_SOURCE_DIR");
  INFO("PTP_SOURCE_DIR is not set: run through ctest");
  REQUIRE(src != nullptr);
  const std::string root = src;
  const auto readme = readme_block(root + "/README.md");
  const auto here = lines_between(root + "/tests/core/test_readme_snippet.cpp", "  // ---- README begin",
                                  "  // ---- README end", 2);
  REQUIRE(!readme.empty());
  for (std::size_t i = 0; i < std::max(readme.size(), here.size()); ++i) {
    INFO("line " << i + 1 << " of the snippet");
    REQUIRE((i < readme.size() ? readme[i] : "<none>") == (i < here.size() ? here[i] : "<none>"));
  }

  // What the README leaves to the reader: a model, its labels, a tokenizer and the
  // embedding lookup of the token batch.
  MyModel model{2, width, 6, 3, 91};
  const std::vector<std::int64_t> labels = {0, 2, 1};
  const std::vector<std::string> texts = {"the cat sat", "a dog ran far", "birds sing"};
  std::map<std::string, std::int64_t> ids;  // word → id, from 4 up; 0 [PAD], 1 [CLS], 2 [SEP]
  const auto tokenize = [&](const std::vector<std::string>& t) {
    std::vector<ptp::text::token_sequence> out;
    std::size_t longest = 0;
    for (const auto& s : t) {
      ptp::text::token_sequence q{.ids = {1}, .special = {true}};
      std::istringstream words(s);
      for (std::string w; words >> w;) {
        q.ids.push_back(ids.emplace(w, 4 + static_cast<std::int64_t>(ids.size())).first->second);
        q.special.push_back(false);
      }
      q.ids.push_back(2);
      q.special.push_back(true);
      longest = std::max(longest, q.ids.size());
      out.push_back(std::move(q));
    }
    for (auto& q : out) {
      q.ids.resize(longest, 0);
      q.special.resize(longest, true);
    }
    return out;
  };
  const Tensor2 table = uniform_tensor<Tensor2>({vocab, width}, 17);
  const auto embed = [&](const std::vector<ptp::text::token_sequence>& x) {
    const std::size_t B = x.size(), L = x.front().ids.size();
    Tensor3 e = zeros<Tensor3>({B, L, width});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t l = 0; l < L; ++l)
        for (std::size_t j = 0; j < width; ++j)
          raw(e)[(b * L + l) * width + j] = raw(table)[static_cast<std::size_t>(x[b].ids[l]) * width + j];
    return e;
  };
  const auto perturb_mask = [](const std::vector<ptp::text::token_sequence>& x) {
    const std::size_t B = x.size(), L = x.front().ids.size();
    Tensor2 m = zeros<Tensor2>({B, L});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t l = 0; l < L; ++l) raw(m)[b * L + l] = x[b].locked(l) ? 0 : 1;
    return m;
  };

  // The #include lines repeat this file's own (README shows them); here they are no-ops.
  // ---- README begin
  #include <ptp/ptp.hpp>
  #include <ptp/text/masking.hpp>

  // model: your ptp::LogitModel over B×L×d embeddings (Tensor3), labels its classes; embed(x)
  // and perturb_mask(x) give a token batch's embeddings and the mask of its real tokens
  auto reg = ptp::regularizer(
      ptp::text::random_mask{.rate = 0.15, .mask_id = 103},     // [MASK]; special tokens never masked
      ptp::embedding::gaussian{.sigma = 1e-2},
      ptp::objective::clean_plus_perturbed{.weight = 1.0});
  auto text_model = ptp::embed_with{[&](const std::vector<ptp::text::token_sequence>& x) {
    return ptp::embedded{ptp::supervised<MyModel, Tensor3>(model, labels), embed(x), perturb_mask(x)};
  }};
  std::vector<ptp::text::token_sequence> batch = tokenize(texts);   // token ids + special flags
  ptp::generator gen{.seed = 42};
  double loss = reg.step(text_model, batch, gen);   // adds ∇θ, as loss() does
  // ---- README end

  // It ran a training step: a finite loss above the clean one alone (two terms, λ = 1), a
  // prompt gradient, and random draws (the mask and the noise).
  auto clean = ptp::supervised<MyModel, Tensor3>(model, labels);
  const double clean_loss = clean.evaluate(embed(batch));
  CHECK(std::isfinite(loss));
  CHECK(loss > clean_loss);
  CHECK(max_abs(model.prompt.gradient()) > 0);
  CHECK(gen.offset > 0);
}
