/// @file concepts.hpp
/// The Tokenizer concept: what the text stage (masking, substitution, encoders) needs from
/// a tokenizer. Satisfied by wordpiece_tokenizer, bpe_tokenizer, unigram_tokenizer and
/// ptp::adapters::sentencepiece_tokenizer.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ptp/text/tokenizers/encoding.hpp"

namespace ptp::text {

/// A text → ids tokenizer with Hugging Face semantics.
/// @code
/// template <ptp::text::Tokenizer T> std::size_t count(const T& t, std::string_view s) {
///   return t.encode(s).size();
/// }
/// @endcode
template <class T>
concept Tokenizer = requires(const T& t, T& m, std::string_view a, std::string_view b, std::uint32_t id) {
  // One text with the model's special tokens ([CLS] a [SEP]); the basic use.
  { t.encode(a) } -> std::same_as<encoding>;
  // A text pair ([CLS] a [SEP] b [SEP]) for entailment/QA tasks, with type ids.
  { t.encode(a, b) } -> std::same_as<encoding>;
  // Looking special tokens up ([MASK] for masking perturbations, [PAD] for batching).
  { t.token_to_id(a) } -> std::same_as<std::optional<std::uint32_t>>;
  // Showing tokens (debugging, candidate substitution by string).
  { t.id_to_token(id) } -> std::same_as<std::optional<std::string>>;
  // Sizing embedding tables and sampling random replacement ids.
  { t.vocab_size() } -> std::convertible_to<std::size_t>;
  // Truncation / offset unit are set through the shared options.
  { m.options() } -> std::same_as<pipeline_options&>;
};

}  // namespace ptp::text
