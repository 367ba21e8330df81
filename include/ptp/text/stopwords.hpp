// ptp/text/stopwords.hpp — an English stop-word list (used by A2T and synonym substitution).
//
// Source: the English list of the NLTK stop-words corpus (nltk_data `corpora/stopwords/english`,
// 179 words; Bird, Klein & Loper, "Natural Language Processing with Python", 2009), the
// list TextAttack-style attacks and EDA-style augmenters commonly use. Stored sorted so that a
// lookup is a binary search; compared case-insensitively (ASCII).
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace ptp::text {

/// The English stop words, sorted (NLTK's English list).
inline constexpr std::array<std::string_view, 179> english_stopwords{
    "a", "about", "above", "after", "again", "against", "ain", "all", "am", "an", "and", "any",
    "are", "aren", "aren't", "as", "at", "be", "because", "been", "before", "being", "below",
    "between", "both", "but", "by", "can", "couldn", "couldn't", "d", "did", "didn", "didn't",
    "do", "does", "doesn", "doesn't", "doing", "don", "don't", "down", "during", "each", "few",
    "for", "from", "further", "had", "hadn", "hadn't", "has", "hasn", "hasn't", "have", "haven",
    "haven't", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how",
    "i", "if", "in", "into", "is", "isn", "isn't", "it", "it's", "its", "itself", "just", "ll",
    "m", "ma", "me", "mightn", "mightn't", "more", "most", "mustn", "mustn't", "my", "myself",
    "needn", "needn't", "no", "nor", "not", "now", "o", "of", "off", "on", "once", "only", "or",
    "other", "our", "ours", "ourselves", "out", "over", "own", "re", "s", "same", "shan", "shan't",
    "she", "she's", "should", "should've", "shouldn", "shouldn't", "so", "some", "such", "t",
    "than", "that", "that'll", "the", "their", "theirs", "them", "themselves", "then", "there",
    "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "ve", "very",
    "was", "wasn", "wasn't", "we", "were", "weren", "weren't", "what", "when", "where", "which",
    "while", "who", "whom", "why", "will", "with", "won", "won't", "wouldn", "wouldn't", "y",
    "you", "you'd", "you'll", "you're", "you've", "your", "yours", "yourself", "yourselves"};

static_assert(std::is_sorted(english_stopwords.begin(), english_stopwords.end()),
              "english_stopwords must stay sorted (binary search)");

/// Whether `word` is an English stop word (ASCII case-insensitive; ’ is not folded).
/// @code
///   ptp::text::is_stopword("The");   // true
///   ptp::text::is_stopword("cat");   // false
/// @endcode
[[nodiscard]] inline bool is_stopword(std::string_view word) {
  if (word.size() > 16) return false;
  char buf[16];
  for (std::size_t i = 0; i < word.size(); ++i) {
    const char c = word[i];
    buf[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return std::binary_search(english_stopwords.begin(), english_stopwords.end(), std::string_view(buf, word.size()));
}

}  // namespace ptp::text
