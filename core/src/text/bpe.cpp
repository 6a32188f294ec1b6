#include "text/bpe.h"

#include <algorithm>
#include <exception>

#include "pyllm/error.h"
#include "pyllm/parallel.h"
#include "text/bpe_merge.h"

namespace pyllm::text {

namespace {

// Ids index dense tables; this bound keeps a corrupt id from allocating gigabytes.
constexpr TokenId kMaxId = 1u << 24;

std::string printable(std::string_view bytes) {  // for error messages: b'...'-like escaping
  std::ostringstream s;
  s << "b'";
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      s << c;
    } else {
      const char* hex = "0123456789abcdef";
      s << "\\x" << hex[c >> 4] << hex[c & 15];
    }
  }
  s << "'";
  return s.str();
}

std::vector<std::string> texts_of(const std::vector<BPE::Special>& specials) {
  std::vector<std::string> texts;
  for (const auto& s : specials) {
    PYLLM_CHECK(!s.text.empty(), ValueError, "BPE: a special token's text is empty");
    texts.push_back(s.text);
  }
  return texts;
}

}  // namespace

BPE::BPE(std::vector<Token> tokens, const std::string& pattern, std::vector<Special> specials)
    : specials_(std::move(specials)), matcher_(texts_of(specials_)), pre_(Pretokenizer::create(pattern)),
      cache_(std::make_unique<ChunkCache>()) {
  TokenId max_id = 0;
  for (const auto& t : tokens) max_id = std::max(max_id, t.id);
  for (const auto& s : specials_) max_id = std::max(max_id, s.id);
  PYLLM_CHECK(max_id < kMaxId, ValueError, "BPE: token id " << max_id << " is too large (ids must be below "
                                                            << kMaxId << ")");
  PYLLM_CHECK(!tokens.empty(), ValueError, "BPE: the vocabulary is empty");
  entries_.resize(size_t(max_id) + 1);
  num_tokens_ = tokens.size();
  tokens_.reserve(tokens.size());
  for (const auto& t : tokens) {
    PYLLM_CHECK(!t.bytes.empty(), ValueError, "BPE: token " << t.id << " has no bytes");
    PYLLM_CHECK(!entries_[t.id].ordinary, ValueError, "BPE: token id " << t.id << " appears twice");
    TokenId other;
    PYLLM_CHECK(!find_token(t.bytes, other), ValueError,
                "BPE: tokens " << other << " and " << t.id << " are both " << printable(t.bytes));
    PYLLM_CHECK(arena_.size() + t.bytes.size() < UINT32_MAX, ValueError, "BPE: the vocabulary is too large");
    entries_[t.id].at = uint32_t(arena_.size());
    entries_[t.id].len = uint32_t(t.bytes.size());
    entries_[t.id].ordinary = true;
    arena_ += t.bytes;
    tokens_.insert(t.bytes, hash_of(t.bytes), t.id);
  }
  for (int b = 0; b < 256; ++b) {
    const char c = char(b);
    PYLLM_CHECK(find_token(std::string_view(&c, 1), byte_ids_[b]), ValueError,
                "BPE: the vocabulary lacks the single byte " << printable(std::string_view(&c, 1))
                                                             << " (byte-level BPE needs all 256 bytes as tokens)");
  }
  for (size_t i = 0; i < specials_.size(); ++i) {
    const Special& s = specials_[i];
    for (size_t j = 0; j < i; ++j) {
      PYLLM_CHECK(specials_[j].text != s.text, ValueError, "BPE: special token '" << s.text << "' appears twice");
      PYLLM_CHECK(specials_[j].id != s.id, ValueError, "BPE: special tokens '" << specials_[j].text << "' and '"
                                                                               << s.text << "' share id " << s.id);
    }
    entries_[s.id].special = true;
    entries_[s.id].special_at = uint32_t(arena_.size());
    entries_[s.id].special_len = uint32_t(s.text.size());
    arena_ += s.text;
  }
}

std::unique_ptr<BPE> BPE::from_ranks(std::vector<Token> tokens, const std::string& pattern,
                                     std::vector<Special> specials) {
  std::unique_ptr<BPE> bpe(new BPE(std::move(tokens), pattern, std::move(specials)));
  bpe->uses_ranks_ = bpe->ignore_merges_ = true;
  // Every split of a token into two tokens is a pair that merges into it with the token's rank.
  struct Pair {
    TokenId left, right, merged;
  };
  std::vector<Pair> found;
  for (TokenId id = 0; id < bpe->entries_.size(); ++id) {
    if (!bpe->entries_[id].ordinary) continue;
    std::string_view bytes = bpe->ordinary_bytes(id);
    for (size_t k = 1; k < bytes.size(); ++k) {
      TokenId l, r;
      if (bpe->find_token(bytes.substr(0, k), l) && bpe->find_token(bytes.substr(k), r)) found.push_back({l, r, id});
    }
  }
  bpe->pairs_.reserve(found.size());
  for (const Pair& p : found) bpe->pairs_.insert(p.left, p.right, {p.merged, p.merged});
  bpe->set_direct(std::vector<uint8_t>(bpe->entries_.size(), 1));
  return bpe;
}

std::unique_ptr<BPE> BPE::from_merges(std::vector<Token> tokens,
                                      const std::vector<std::pair<TokenId, TokenId>>& merges,
                                      const std::string& pattern, std::vector<Special> specials,
                                      bool ignore_merges) {
  std::unique_ptr<BPE> bpe(new BPE(std::move(tokens), pattern, std::move(specials)));
  bpe->ignore_merges_ = ignore_merges;
  PYLLM_CHECK(merges.size() < kNoRank, ValueError, "BPE: too many merges");
  bpe->pairs_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    auto [l, r] = merges[i];
    PYLLM_CHECK(l < bpe->entries_.size() && bpe->entries_[l].ordinary && r < bpe->entries_.size() &&
                    bpe->entries_[r].ordinary,
                ValueError, "BPE: merge " << i << " (" << l << ", " << r << ") names an id that is not a token");
    std::string joined = std::string(bpe->ordinary_bytes(l)) + std::string(bpe->ordinary_bytes(r));
    TokenId merged;
    PYLLM_CHECK(bpe->find_token(joined, merged), ValueError,
                "BPE: merge " << i << " (" << l << ", " << r << ") makes " << printable(joined)
                              << ", which is not in the vocabulary");
    bpe->pairs_.insert(l, r, {uint32_t(i), merged});
  }
  if (ignore_merges) {
    bpe->set_direct(std::vector<uint8_t>(bpe->entries_.size(), 1));
    return bpe;
  }
  // A chunk that is a token may still merge into something else (the merges need not build every token);
  // the direct lookup is exact only for the tokens whose own bytes merge back into them.
  const BPE& model = *bpe;
  std::vector<uint8_t> rebuilds(model.entries_.size(), 0);
  parallel_for(0, int64_t(model.entries_.size()), 4096, [&](int64_t begin, int64_t end) {
    std::vector<TokenId> ids;
    for (int64_t id = begin; id < end; ++id) {
      if (!model.entries_[id].ordinary) continue;
      std::string_view bytes = model.ordinary_bytes(TokenId(id));
      ids.clear();
      bpe_merge(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), model.byte_ids_, model.pairs_, ids);
      rebuilds[id] = ids.size() == 1 && ids[0] == TokenId(id);
    }
  });
  bpe->set_direct(rebuilds);
  return bpe;
}

void BPE::set_direct(const std::vector<uint8_t>& direct) {
  size_t n = 0;
  for (TokenId id = 0; id < entries_.size(); ++id) n += entries_[id].ordinary && direct[id];
  whole_.reserve(n);
  for (TokenId id = 0; id < entries_.size(); ++id) {
    if (entries_[id].ordinary && direct[id]) whole_.insert(ordinary_bytes(id), hash_of(ordinary_bytes(id)), id);
  }
}

bool BPE::find_token(std::string_view bytes, TokenId& id) const {
  return tokens_.find(bytes, hash_of(bytes), [this](TokenId t) { return ordinary_bytes(t); }, id);
}

void BPE::encode_chunk(std::string_view chunk, std::vector<TokenId>& out) const {
  const uint64_t hash = hash_of(chunk);
  TokenId id;
  if (whole_.find(chunk, hash, [this](TokenId t) { return ordinary_bytes(t); }, id)) {
    out.push_back(id);
    return;
  }
  const bool cacheable = chunk.size() <= ChunkCache::kMaxChunkBytes;
  if (cacheable && cache_->find(chunk, hash, out)) return;
  const size_t start = out.size();
  bpe_merge(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size(), byte_ids_, pairs_, out);
  if (cacheable) cache_->insert(chunk, hash, out.data() + start, out.size() - start);
}

void BPE::encode_segments(std::string_view text, const SpecialMask& allowed, std::vector<Span>& spans,
                          std::vector<TokenId>& out) const {
  // Real text averages 4+ bytes per chunk and per token: one allocation each, not a doubling series.
  spans.reserve(text.size() / 4);
  out.reserve(out.size() + text.size() / 4);
  auto ordinary = [&](std::string_view piece) {
    spans.clear();
    pre_.split(piece, spans);
    for (const Span& s : spans) encode_chunk(piece.substr(s.begin, s.end - s.begin), out);
  };
  size_t start = 0;
  SpecialMatcher::Match m;
  while (matcher_.find(text, start, allowed, m)) {
    ordinary(text.substr(start, m.pos - start));
    out.push_back(specials_[m.index].id);
    start = m.pos + specials_[m.index].text.size();
  }
  ordinary(text.substr(start));
}

void BPE::check_mask(const SpecialMask& mask, const char* what) const {
  PYLLM_CHECK(mask.size() == specials_.size(), ValueError,
              "BPE: " << what << " has " << mask.size() << " flags for " << specials_.size() << " special tokens");
}

void BPE::check_disallowed(std::string_view text, const SpecialMask& disallowed) const {
  PYLLM_CHECK(text.size() < UINT32_MAX, ValueError, "encode: the text has " << text.size()
                                                                            << " bytes; at most 4 GiB fit");
  SpecialMatcher::Match m;
  PYLLM_CHECK(!matcher_.find(text, 0, disallowed, m), ValueError,
              "encode: the text contains the special token '"
                  << specials_[m.index].text << "' (at byte " << m.pos
                  << "), which is disallowed. To encode it as the special token, pass it in allowed_special; to "
                     "encode it as ordinary text, leave it out of disallowed_special (disallowed_special=() "
                     "turns the check off)");
}

void BPE::encode_ordinary(std::string_view text, std::vector<TokenId>& out) const {
  encode(text, SpecialMask(specials_.size(), 0), SpecialMask(specials_.size(), 0), out);
}

void BPE::encode(std::string_view text, const SpecialMask& allowed, const SpecialMask& disallowed,
                 std::vector<TokenId>& out) const {
  check_mask(allowed, "allowed");
  check_mask(disallowed, "disallowed");
  check_disallowed(text, disallowed);
  std::vector<Span> spans;
  encode_segments(text, allowed, spans, out);
}

std::vector<std::vector<TokenId>> BPE::encode_batch(const std::vector<std::string_view>& texts,
                                                    const SpecialMask& allowed, const SpecialMask& disallowed,
                                                    int num_threads) const {
  check_mask(allowed, "allowed");
  check_mask(disallowed, "disallowed");
  for (std::string_view text : texts) check_disallowed(text, disallowed);
  std::vector<std::vector<TokenId>> results(texts.size());
  const int64_t n = int64_t(texts.size());
  int threads = num_threads > 0 ? num_threads : get_num_threads();
  threads = int(std::min<int64_t>(threads, n));
  if (threads <= 1) {
    std::vector<Span> spans;
    for (int64_t i = 0; i < n; ++i) encode_segments(texts[i], allowed, spans, results[i]);
    return results;
  }
  // Texts differ in length, so threads take them one at a time rather than in fixed blocks.
  std::exception_ptr error;
#pragma omp parallel num_threads(threads)
  {
    std::vector<Span> spans;
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < n; ++i) {
      try {
        encode_segments(texts[i], allowed, spans, results[i]);
      } catch (...) {
#pragma omp critical(pyllm_bpe_batch_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
  return results;
}

bool BPE::has_id(int64_t id) const {
  return id >= 0 && uint64_t(id) < entries_.size() && (entries_[id].ordinary || entries_[id].special);
}

std::string_view BPE::token_bytes(int64_t id) const {
  PYLLM_CHECK(has_id(id), ValueError, "unknown token id " << id << " (the vocabulary has ids below "
                                                          << entries_.size() << ")");
  const Entry& e = entries_[id];
  return e.special ? std::string_view(arena_.data() + e.special_at, e.special_len) : ordinary_bytes(id);
}

std::string BPE::decode(const int64_t* ids, size_t n) const {
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    PYLLM_CHECK(has_id(ids[i]), ValueError, "decode: unknown token id " << ids[i] << " at position " << i
                                                                        << " (the vocabulary has ids below "
                                                                        << entries_.size() << ")");
    const Entry& e = entries_[ids[i]];
    total += e.special ? e.special_len : e.len;
  }
  std::string out(total, '\0');
  char* dst = out.data();
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = entries_[ids[i]];
    const char* src = arena_.data() + (e.special ? e.special_at : e.at);
    const size_t len = e.special ? e.special_len : e.len;
    std::copy(src, src + len, dst);
    dst += len;
  }
  return out;
}

}  // namespace pyllm::text
