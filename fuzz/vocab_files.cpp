// Fuzz target: the plain-text vocabulary files.
//   first byte even: the rest is a BERT vocab.txt      → load_wordpiece_vocab
//   first byte odd:  the rest is vocab.json NUL merges.txt → load_bpe_files
// (a raw NUL cannot occur inside valid JSON, so it separates the two files). A file either
// loads (then fixed texts are encoded with checked invariants) or throws
// ptp::text::tokenizer_file_error naming the file and line/field. Nothing else may escape.
#include <ptp/text/tokenizers/bpe.hpp>
#include <ptp/text/tokenizers/wordpiece.hpp>

#include "common.hpp"
#include "tokenizer_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto& dir = ptp_fuzz::scratch_dir::get();
  const std::string_view rest = ptp_fuzz::text(data + 1, size - 1);
  try {
    if (data[0] % 2 == 0) {
      auto tok = ptp::text::load_wordpiece_vocab(dir.write("vocab.txt", rest).string());
      ptp_fuzz::exercise_tokenizer(tok);
    } else {
      const auto parts = ptp_fuzz::split(rest, '\0', 2);
      const auto vocab = dir.write("vocab.json", parts[0]).string();
      const auto merges = dir.write("merges.txt", parts.size() > 1 ? parts[1] : std::string_view{}).string();
      auto tok = ptp::text::load_bpe_files(vocab, merges);
      ptp_fuzz::exercise_tokenizer(tok);
    }
  } catch (const ptp::text::tokenizer_file_error& e) {
    ptp_fuzz::expected(e);
  }
  return 0;
}
