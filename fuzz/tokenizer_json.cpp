// Fuzz target: Hugging Face tokenizer.json loading (WordPiece, byte-level BPE, Unigram).
// The input is written to a file and handed to all three loaders; each either loads (and the
// tokenizer then encodes fixed texts with checked invariants) or throws
// ptp::text::tokenizer_file_error, the documented error. Nothing else may escape.
#include <ptp/text/tokenizers/bpe.hpp>
#include <ptp/text/tokenizers/unigram.hpp>
#include <ptp/text/tokenizers/wordpiece.hpp>

#include "common.hpp"
#include "tokenizer_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = ptp_fuzz::scratch_dir::get().write("tokenizer.json", ptp_fuzz::text(data, size)).string();
  try {
    auto tok = ptp::text::load_wordpiece(path);
    ptp_fuzz::exercise_tokenizer(tok);
  } catch (const ptp::text::tokenizer_file_error& e) {
    ptp_fuzz::expected(e);
  }
  try {
    auto tok = ptp::text::load_bpe(path);
    ptp_fuzz::exercise_tokenizer(tok);
  } catch (const ptp::text::tokenizer_file_error& e) {
    ptp_fuzz::expected(e);
  }
  try {
    auto tok = ptp::text::load_unigram(path);
    ptp_fuzz::exercise_tokenizer(tok);
  } catch (const ptp::text::tokenizer_file_error& e) {
    ptp_fuzz::expected(e);
  }
  return 0;
}
