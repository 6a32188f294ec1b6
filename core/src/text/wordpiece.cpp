#include "text/wordpiece.h"

#include <algorithm>

#include "pyllm/error.h"
#include "pyllm/parallel.h"
#include "text/utf8.h"

namespace pyllm::text {

namespace {

bool is_whitespace(char32_t c) { return bert::flags(c) & bert::kWhitespace; }

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

// The WordPiece decoder's cleanup of one decoded token, in HF's order.
void cleanup_token(std::string& token) {
  static const std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (auto [from, to] : kRules) replace_all(token, from, to);
}

// HF's longest-first truncation of a pair to `budget` ids: the longer sequence loses ids first; when both
// must lose some, they keep budget/2 each (the longer one the odd id).
void truncate_pair(std::vector<int32_t>& a, std::vector<int32_t>& b, size_t budget) {
  size_t n1 = a.size(), n2 = b.size();
  if (n1 + n2 <= budget) return;
  bool swapped = n1 > n2;
  if (swapped) std::swap(n1, n2);
  n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swapped) std::swap(n1, n2);
  a.resize(std::min(a.size(), n1));
  b.resize(std::min(b.size(), n2));
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options)
    : options_(std::move(options)), tokens_(std::move(vocab)) {
  const std::string& prefix = options_.continuing_prefix;
  std::vector<std::string_view> keys, continuation_keys;
  std::vector<int32_t> values, continuation_values;
  for (size_t id = 0; id < tokens_.size(); ++id) {
    std::string_view token = tokens_[id];
    keys.push_back(token);
    values.push_back(int32_t(id));
    if (token.size() >= prefix.size() && token.compare(0, prefix.size(), prefix) == 0) {
      continuation_keys.push_back(token.substr(prefix.size()));
      continuation_values.push_back(int32_t(id));
    }
    ids_[tokens_[id]] = int32_t(id);  // a repeated token keeps its last id, as HF's vocabulary map does
  }
  initial_ = std::make_unique<PrefixTrie>(keys, values);
  continuation_ = std::make_unique<PrefixTrie>(continuation_keys, continuation_values);
  auto unk = ids_.find(options_.unk_token);
  PYLLM_CHECK(unk != ids_.end(), ValueError,
              "WordPiece: the unknown token '" << options_.unk_token << "' is not in the vocabulary");
  unk_id_ = unk->second;

  // Added tokens either name a vocabulary token ([CLS] ...) or take the ids after the vocabulary.
  size_t n_vocab = tokens_.size();
  std::vector<uint8_t> assigned(n_vocab, 1);
  special_.assign(n_vocab, 0);
  added_by_byte_.resize(256);
  for (size_t k = 0; k < options_.added_tokens.size(); ++k) {
    const AddedToken& t = options_.added_tokens[k];
    PYLLM_CHECK(!t.content.empty(), ValueError, "WordPiece: an added token is empty");
    PYLLM_CHECK(t.id >= 0 && size_t(t.id) < n_vocab + options_.added_tokens.size(), ValueError,
                "WordPiece: added token '" << t.content << "' has id " << t.id << ", beyond the vocabulary of "
                                           << n_vocab << " and " << options_.added_tokens.size() << " added tokens");
    if (size_t(t.id) >= tokens_.size()) {
      tokens_.resize(t.id + 1);
      special_.resize(t.id + 1, 0);
      assigned.resize(t.id + 1, 0);
    }
    PYLLM_CHECK(!assigned[t.id] || tokens_[t.id] == t.content, ValueError,
                "WordPiece: added token '" << t.content << "' has id " << t.id << ", which is '" << tokens_[t.id]
                                           << "'");
    tokens_[t.id] = t.content;
    assigned[t.id] = 1;
    special_[t.id] = t.special;
    ids_[t.content] = t.id;
    added_by_byte_[uint8_t(t.content[0])].push_back(k);
  }
  auto gap = std::find(assigned.begin(), assigned.end(), 0);
  PYLLM_CHECK(gap == assigned.end(), ValueError,
              "WordPiece: no token has id " << (gap - assigned.begin()) << " (added token ids must follow the vocabulary)");
  for (auto& list : added_by_byte_) {
    std::stable_sort(list.begin(), list.end(), [&](size_t a, size_t b) {
      return options_.added_tokens[a].content.size() > options_.added_tokens[b].content.size();
    });
  }

  for (int pair = 0; pair < 2; ++pair) {
    const auto& pieces = pair ? options_.pair_template : options_.single_template;
    size_t specials = 0;
    for (const TemplatePiece& p : pieces) {
      PYLLM_CHECK(p.sequence >= -1 && p.sequence <= pair, ValueError,
                  "WordPiece: the " << (pair ? "pair" : "single") << " template names sequence " << p.sequence);
      for (int32_t id : p.ids) {
        PYLLM_CHECK(id >= 0 && size_t(id) < tokens_.size(), ValueError,
                    "WordPiece: the template's special token id " << id << " is not in the vocabulary");
      }
      if (p.sequence < 0) specials += p.ids.size();
      if (p.sequence >= 0 && pair) pair_types_[p.sequence] = p.type_id;
      if (p.sequence == 0 && !pair) single_type_ = p.type_id;
    }
    (pair ? pair_specials_ : single_specials_) = specials;
  }
}

bool WordPieceTokenizer::find_added(std::string_view text, size_t from, size_t& begin, size_t& end,
                                    int32_t& id) const {
  if (options_.added_tokens.empty()) return false;
  for (size_t pos = from; pos < text.size(); ++pos) {
    for (size_t k : added_by_byte_[uint8_t(text[pos])]) {  // longest first: leftmost-longest matching
      const AddedToken& t = options_.added_tokens[k];
      if (text.compare(pos, t.content.size(), t.content) != 0) continue;
      begin = pos;
      end = pos + t.content.size();
      const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
      while (t.lstrip && begin > from) {
        size_t start = utf8::previous(bytes, begin);
        if (!is_whitespace(utf8::decode(text, start).cp)) break;
        begin = start;
      }
      while (t.rstrip && end < text.size()) {
        utf8::Decoded d = utf8::decode(text, end);
        if (!is_whitespace(d.cp)) break;
        end += d.len;
      }
      id = t.id;
      return true;
    }
  }
  return false;
}

void WordPieceTokenizer::wordpiece(std::string_view word, size_t n_chars, std::vector<int32_t>& out) const {
  if (n_chars > options_.max_input_chars_per_word) {
    out.push_back(unk_id_);
    return;
  }
  size_t mark = out.size();
  for (size_t start = 0; start < word.size();) {
    const PrefixTrie& trie = start == 0 ? *initial_ : *continuation_;
    auto [id, length] = trie.longest_prefix(word.substr(start));
    if (id < 0) {  // some part of the word is no piece: the whole word is unknown
      out.resize(mark);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(id);
    start += length;
  }
}

void WordPieceTokenizer::tokenize_with(BertWordSplitter& splitter, std::string_view text,
                                       std::vector<int32_t>& out) const {
  auto emit = [&](std::string_view word, size_t n_chars) { wordpiece(word, n_chars, out); };
  size_t pos = 0, begin, end;
  int32_t id;
  while (find_added(text, pos, begin, end, id)) {
    splitter.split(text.substr(pos, begin - pos), emit);
    out.push_back(id);
    pos = end;
  }
  splitter.split(text.substr(pos), emit);
}

void WordPieceTokenizer::tokenize(std::string_view text, std::vector<int32_t>& out) const {
  BertWordSplitter splitter(options_.normalization);
  tokenize_with(splitter, text, out);
}

void WordPieceTokenizer::check_max_length(bool pair, bool add_special_tokens, size_t max_length) const {
  size_t specials = add_special_tokens ? num_special_tokens(pair) : 0;
  PYLLM_CHECK(max_length == 0 || max_length >= specials, ValueError,
              "WordPiece: max_length " << max_length << " leaves no room for the " << specials
                                       << " special tokens of a " << (pair ? "pair" : "single sequence"));
}

Encoding WordPieceTokenizer::encode_with(Scratch& scratch, std::string_view first, const std::string_view* second,
                                         bool add_special_tokens, size_t max_length) const {
  std::vector<int32_t>* seq = scratch.sequences;
  seq[0].clear();
  seq[1].clear();
  tokenize_with(scratch.splitter, first, seq[0]);
  if (second) tokenize_with(scratch.splitter, *second, seq[1]);
  bool pair = second != nullptr;
  if (max_length > 0) {
    size_t budget = max_length - (add_special_tokens ? num_special_tokens(pair) : 0);
    if (pair) {
      truncate_pair(seq[0], seq[1], budget);
    } else if (seq[0].size() > budget) {
      seq[0].resize(budget);
    }
  }
  const auto& pieces = pair ? options_.pair_template : options_.single_template;
  bool templated = add_special_tokens && !pieces.empty();
  Encoding e;
  size_t n = seq[0].size() + seq[1].size() + (templated ? num_special_tokens(pair) : 0);
  e.ids.reserve(n);
  e.type_ids.reserve(n);
  auto append = [&](const std::vector<int32_t>& ids, int32_t type_id) {
    e.ids.insert(e.ids.end(), ids.begin(), ids.end());
    e.type_ids.insert(e.type_ids.end(), ids.size(), type_id);
  };
  if (templated) {
    for (const TemplatePiece& p : pieces) append(p.sequence < 0 ? p.ids : seq[p.sequence], p.type_id);
  } else {
    append(seq[0], pair ? pair_types_[0] : single_type_);
    if (pair) append(seq[1], pair_types_[1]);
  }
  return e;
}

Encoding WordPieceTokenizer::encode(std::string_view first, const std::string_view* second,
                                    bool add_special_tokens, size_t max_length) const {
  check_max_length(second != nullptr, add_special_tokens, max_length);
  Scratch scratch(options_.normalization);
  return encode_with(scratch, first, second, add_special_tokens, max_length);
}

std::vector<Encoding> WordPieceTokenizer::encode_batch(const std::vector<std::string_view>& first,
                                                       const std::vector<std::string_view>* second,
                                                       bool add_special_tokens, size_t max_length,
                                                       int num_threads) const {
  PYLLM_CHECK(!second || second->size() == first.size(), ValueError,
              "WordPiece: encode_batch got " << first.size() << " texts but " << second->size() << " pairs");
  check_max_length(second != nullptr, add_special_tokens, max_length);
  // Contiguous parts of about equal byte counts, one per thread, so long and short texts share the work.
  size_t n = first.size();
  std::vector<size_t> bytes(n + 1, 0);
  for (size_t i = 0; i < n; ++i) bytes[i + 1] = bytes[i] + first[i].size() + (second ? (*second)[i].size() : 0) + 1;
  int64_t parts = std::max<int64_t>(1, std::min<int64_t>(num_threads > 0 ? num_threads : get_num_threads(), n));
  std::vector<size_t> bounds(parts + 1, n);
  for (int64_t p = 0; p < parts; ++p) {
    bounds[p] = std::lower_bound(bytes.begin(), bytes.end() - 1, bytes[n] * p / parts) - bytes.begin();
  }
  std::vector<Encoding> out(n);
  parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
    Scratch scratch(options_.normalization);
    for (size_t i = bounds[begin]; i < bounds[end]; ++i) {
      out[i] = encode_with(scratch, first[i], second ? &(*second)[i] : nullptr, add_special_tokens, max_length);
    }
  });
  return out;
}

std::string WordPieceTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::string out, piece;
  size_t kept = 0;
  const std::string& prefix = options_.continuing_prefix;
  for (int64_t id : ids) {
    const std::string& token = id_to_token(id);
    if (skip_special_tokens && special_[id]) continue;
    if (kept == 0) {
      piece = token;
    } else if (options_.wordpiece_decoder && token.compare(0, prefix.size(), prefix) == 0) {
      piece = token.substr(prefix.size());
    } else {
      piece = " " + token;
    }
    if (options_.wordpiece_decoder && options_.decoder_cleanup) cleanup_token(piece);
    out += piece;
    ++kept;
  }
  return out;
}

int32_t WordPieceTokenizer::token_to_id(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  return it == ids_.end() ? -1 : it->second;
}

const std::string& WordPieceTokenizer::id_to_token(int64_t id) const {
  PYLLM_CHECK(id >= 0 && uint64_t(id) < tokens_.size(), ValueError,
              "WordPiece: unknown token id " << id << " (the vocabulary has ids 0.." << tokens_.size() - 1 << ")");
  return tokens_[id];
}

}  // namespace pyllm::text
