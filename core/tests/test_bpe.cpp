// The BPE encoder against plain reference implementations of the two merge rules, on small synthetic
// vocabularies where every corner (ties, long chunks, tokens the merges cannot rebuild) is reachable.
#include <algorithm>
#include <map>
#include <random>
#include <string>

#include "pyllm/error.h"
#include "test_util.h"
#include "text/bpe.h"
#include "text/bpe_merge.h"
#include "text/special_tokens.h"

using namespace pyllm;
using namespace pyllm::text;

namespace {

std::vector<BPE::Token> byte_tokens() {
  std::vector<BPE::Token> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back({std::string(1, char(b)), TokenId(b)});
  return tokens;
}

// Random tokens over the alphabet "abc" (so merges collide often), each rank its id.
std::vector<BPE::Token> random_rank_vocab(std::mt19937& gen, int extra) {
  std::vector<BPE::Token> tokens = byte_tokens();
  std::map<std::string, bool> seen;
  std::uniform_int_distribution<int> len(2, 6), ch(0, 2);
  while (int(tokens.size()) < 256 + extra) {
    std::string s;
    for (int n = len(gen); n > 0; --n) s += char('a' + ch(gen));
    if (!seen[s]) {
      seen[s] = true;
      tokens.push_back({s, TokenId(tokens.size())});
    }
  }
  return tokens;
}

// tiktoken's byte_pair_merge, written plainly: parts are byte strings; the pair whose concatenation has
// the lowest rank merges, the leftmost among equals. A chunk that is a token encodes to it directly.
std::vector<TokenId> reference_ranks(const std::vector<BPE::Token>& tokens, const std::string& chunk) {
  std::map<std::string, TokenId> rank;
  for (const auto& t : tokens) rank[t.bytes] = t.id;
  if (rank.count(chunk)) return {rank[chunk]};
  std::vector<std::string> parts;
  for (char c : chunk) parts.push_back(std::string(1, c));
  while (parts.size() > 1) {
    size_t best = 0;
    TokenId best_rank = UINT32_MAX;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = rank.find(parts[i] + parts[i + 1]);
      if (it != rank.end() && it->second < best_rank) best_rank = it->second, best = i;
    }
    if (best_rank == UINT32_MAX) break;
    parts[best] += parts[best + 1];
    parts.erase(parts.begin() + best + 1);
  }
  std::vector<TokenId> ids;
  for (const auto& p : parts) ids.push_back(rank[p]);
  return ids;
}

// HF tokenizers' rule: the listed pair of lowest priority merges, the leftmost among equals.
std::vector<TokenId> reference_merges(const std::vector<BPE::Token>& tokens,
                                      const std::vector<std::pair<TokenId, TokenId>>& merges, const std::string& chunk) {
  std::map<std::pair<TokenId, TokenId>, size_t> priority;
  for (size_t i = 0; i < merges.size(); ++i) priority[merges[i]] = i;  // a later duplicate wins
  std::map<std::string, TokenId> id_of;
  for (const auto& t : tokens) id_of[t.bytes] = t.id;
  std::vector<std::string> parts;
  for (char c : chunk) parts.push_back(std::string(1, c));
  while (parts.size() > 1) {
    size_t best = 0, best_priority = SIZE_MAX;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = priority.find({id_of[parts[i]], id_of[parts[i + 1]]});
      if (it != priority.end() && it->second < best_priority) best_priority = it->second, best = i;
    }
    if (best_priority == SIZE_MAX) break;
    parts[best] += parts[best + 1];
    parts.erase(parts.begin() + best + 1);
  }
  std::vector<TokenId> ids;
  for (const auto& p : parts) ids.push_back(id_of[p]);
  return ids;
}

std::string random_text(std::mt19937& gen, size_t n) {
  std::uniform_int_distribution<int> ch(0, 9);
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    int c = ch(gen);
    s += c < 8 ? char('a' + c % 3) : char("xy"[c - 8]);  // mostly "abc", sometimes letters no token holds
  }
  return s;
}

std::vector<TokenId> encode_chunk(const BPE& bpe, const std::string& s) {
  std::vector<TokenId> ids;
  bpe.encode_chunk(s, ids);
  return ids;
}

const std::vector<size_t> kLengths = {0, 1, 2, 3, 7, 17, 63, 64, 65, 129, 1000};

}  // namespace

PYLLM_TEST(bpe_ranks_match_tiktoken_rule) {
  std::mt19937 gen(1);
  auto tokens = random_rank_vocab(gen, 300);
  auto bpe = BPE::from_ranks(tokens, "none", {});
  for (size_t len : kLengths) {
    for (int rep = 0; rep < 20; ++rep) {
      std::string s = random_text(gen, len);
      EXPECT(encode_chunk(*bpe, s) == reference_ranks(tokens, s));
      EXPECT(encode_chunk(*bpe, s) == reference_ranks(tokens, s));  // second time from the cache
    }
  }
}

PYLLM_TEST(bpe_merges_match_hf_rule) {
  std::mt19937 gen(2);
  auto tokens = byte_tokens();
  std::vector<std::pair<TokenId, TokenId>> merges;
  std::map<std::string, TokenId> id_of;
  for (const auto& t : tokens) id_of[t.bytes] = t.id;
  std::uniform_int_distribution<int> pick_letter(0, 2);
  // Random merges of existing tokens over "abc"; some pairs repeat (the later priority counts) and
  // some merged tokens are made by two different pairs.
  std::vector<TokenId> pool = {TokenId('a'), TokenId('b'), TokenId('c')};
  while (merges.size() < 400) {
    std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
    TokenId l = pool[pick(gen)], r = pool[pick(gen)];
    std::string joined = tokens[l].bytes + tokens[r].bytes;
    if (joined.size() > 8) continue;
    if (!id_of.count(joined)) {
      id_of[joined] = TokenId(tokens.size());
      tokens.push_back({joined, TokenId(tokens.size())});
      pool.push_back(tokens.back().id);
    }
    merges.push_back({l, r});
  }
  for (bool ignore_merges : {false, true}) {
    auto bpe = BPE::from_merges(tokens, merges, "none", {}, ignore_merges);
    for (size_t len : kLengths) {
      for (int rep = 0; rep < 20; ++rep) {
        std::string s = random_text(gen, len);
        std::vector<TokenId> expected = reference_merges(tokens, merges, s);
        if (ignore_merges && id_of.count(s)) expected = {id_of[s]};
        EXPECT(encode_chunk(*bpe, s) == expected);
      }
    }
    // A token whose own bytes merge into something else encodes as the merges say, unless ignore_merges.
    for (const auto& t : tokens) {
      std::vector<TokenId> expected = ignore_merges ? std::vector<TokenId>{t.id} : reference_merges(tokens, merges, t.bytes);
      EXPECT(encode_chunk(*bpe, t.bytes) == expected);
    }
  }
}

PYLLM_TEST(bpe_short_and_long_merges_agree) {
  std::mt19937 gen(3);
  auto tokens = random_rank_vocab(gen, 500);
  auto bpe = BPE::from_ranks(tokens, "none", {});
  PairTable pairs;
  std::map<std::string, TokenId> id_of;
  for (const auto& t : tokens) id_of[t.bytes] = t.id;
  std::vector<std::pair<TokenId, TokenId>> found;
  for (const auto& t : tokens) {
    for (size_t k = 1; k < t.bytes.size(); ++k) {
      auto l = id_of.find(t.bytes.substr(0, k)), r = id_of.find(t.bytes.substr(k));
      if (l != id_of.end() && r != id_of.end()) found.push_back({l->second, r->second});
    }
  }
  pairs.reserve(found.size());
  for (auto [l, r] : found) {
    TokenId m = id_of[tokens[l].bytes + tokens[r].bytes];
    pairs.insert(l, r, {m, m});
  }
  TokenId byte_ids[256];
  for (int b = 0; b < 256; ++b) byte_ids[b] = TokenId(b);
  for (size_t len = 0; len <= kShortChunk; ++len) {
    for (int rep = 0; rep < 10; ++rep) {
      std::string s = random_text(gen, len);
      std::vector<TokenId> a, b;
      bpe_merge_short(reinterpret_cast<const uint8_t*>(s.data()), s.size(), byte_ids, pairs, a);
      bpe_merge_long(reinterpret_cast<const uint8_t*>(s.data()), s.size(), byte_ids, pairs, b);
      EXPECT(a == b);
    }
  }
}

PYLLM_TEST(bpe_long_run_is_not_quadratic) {
  // 2 MB of one letter whose doublings are tokens: the heap path takes O(n log n); a quadratic loop
  // would take minutes.
  auto tokens = byte_tokens();
  std::string run = "a";
  for (int k = 0; k < 8; ++k) {
    run += run;
    tokens.push_back({run, TokenId(tokens.size())});
  }
  auto bpe = BPE::from_ranks(tokens, "none", {});
  std::string text(size_t(1) << 21, 'a');
  std::vector<TokenId> ids;
  bpe->encode_ordinary(text, ids);
  EXPECT(ids.size() == text.size() / 256);
  EXPECT(bpe->decode(std::vector<int64_t>(ids.begin(), ids.end()).data(), ids.size()) == text);
}

PYLLM_TEST(bpe_special_tokens) {
  std::vector<BPE::Special> specials = {{"<|a|>", 300}, {"<|a|>x", 301}, {"#", 302}};
  auto bpe = BPE::from_ranks(byte_tokens(), "none", specials);
  auto encode = [&](const std::string& s, BPE::SpecialMask allowed, BPE::SpecialMask disallowed) {
    std::vector<TokenId> ids;
    bpe->encode(s, allowed, disallowed, ids);
    return ids;
  };
  // The longest allowed token wins where several begin; disabled ones are ordinary text.
  EXPECT((encode("1<|a|>x2#", {1, 1, 1}, {0, 0, 0}) == std::vector<TokenId>{'1', 301, '2', 302}));
  EXPECT((encode("1<|a|>x2#", {1, 0, 0}, {0, 0, 0}) == std::vector<TokenId>{'1', 300, 'x', '2', '#'}));
  EXPECT((encode("#<|a|>", {0, 0, 1}, {0, 0, 0}) == std::vector<TokenId>{302, '<', '|', 'a', '|', '>'}));
  EXPECT(encode("", {1, 1, 1}, {0, 0, 0}).empty());
  EXPECT_THROWS(encode("ok <|a|>", {0, 0, 0}, {1, 0, 0}), ValueError);
  EXPECT_THROWS(encode("ok", {0, 0}, {0, 0}), ValueError);  // a mask of the wrong length
  EXPECT_THROWS(bpe->encode_batch({"fine", "#"}, {0, 0, 0}, {0, 0, 1}, 2), ValueError);
  std::string decoded = bpe->decode(std::vector<int64_t>{'1', 301, 302}.data(), 3);
  EXPECT(decoded == "1<|a|>x#");
}

PYLLM_TEST(bpe_decode_rejects_unknown_ids) {
  auto tokens = byte_tokens();
  tokens.push_back({"ab", 300});  // ids 256..299 are a gap
  auto bpe = BPE::from_ranks(tokens, "none", {{"<s>", 310}});
  EXPECT(bpe->vocab_size() == 311);
  for (int64_t id : {int64_t(-1), int64_t(256), int64_t(299), int64_t(305), int64_t(311), int64_t(1) << 40}) {
    EXPECT(!bpe->has_id(id));
    EXPECT_THROWS(bpe->decode(&id, 1), ValueError);
    EXPECT_THROWS(bpe->token_bytes(id), ValueError);
  }
  int64_t ok[] = {300, 310, 'c'};
  EXPECT(bpe->decode(ok, 3) == "ab<s>c");
}

PYLLM_TEST(bpe_rejects_malformed_vocabularies) {
  auto tokens = byte_tokens();
  EXPECT_THROWS(BPE::from_ranks(std::vector<BPE::Token>(tokens.begin() + 1, tokens.end()), "none", {}), ValueError);
  auto dup = tokens;
  dup.push_back({"a", 300});  // the bytes of token 97 again
  EXPECT_THROWS(BPE::from_ranks(dup, "none", {}), ValueError);
  auto same_id = tokens;
  same_id.push_back({"ab", 97});
  EXPECT_THROWS(BPE::from_ranks(same_id, "none", {}), ValueError);
  auto with_ab = tokens;
  with_ab.push_back({"ab", 256});
  EXPECT_THROWS(BPE::from_merges(with_ab, {{'a', 'c'}}, "none", {}, false), ValueError);  // "ac": no token
  EXPECT_THROWS(BPE::from_merges(with_ab, {{'a', 999}}, "none", {}, false), ValueError);
  EXPECT_THROWS(BPE::from_ranks(tokens, "none", {{"", 300}}), ValueError);
  EXPECT_THROWS(BPE::from_ranks(tokens, "none", {{"<a>", 300}, {"<b>", 300}}), ValueError);
  EXPECT_THROWS(BPE::from_ranks(tokens, "none", {{"<a>", 1u << 30}}), ValueError);
}

PYLLM_TEST(bpe_batch_matches_serial) {
  std::mt19937 gen(4);
  auto tokens = random_rank_vocab(gen, 300);
  auto bpe = BPE::from_ranks(tokens, "none", {{"<|x|>", 600}});
  std::vector<std::string> texts;
  std::uniform_int_distribution<size_t> len(0, 300);
  for (int i = 0; i < 200; ++i) texts.push_back(random_text(gen, len(gen)) + (i % 7 == 0 ? "<|x|>ab" : ""));
  std::vector<std::string_view> views(texts.begin(), texts.end());
  for (int threads : {1, 2, 3}) {
    auto batch = bpe->encode_batch(views, {1}, {0}, threads);
    for (size_t i = 0; i < texts.size(); ++i) {
      std::vector<TokenId> serial;
      bpe->encode(texts[i], {1}, {0}, serial);
      EXPECT(batch[i] == serial);
    }
  }
}

PYLLM_TEST(special_matcher_finds_leftmost_longest) {
  SpecialMatcher m({"ab", "abc", "b", "zz"});
  SpecialMatcher::Match match;
  EXPECT(m.find("xabcz", 0, {1, 1, 1, 1}, match) && match.pos == 1 && match.index == 1);
  EXPECT(m.find("xabcz", 2, {1, 1, 1, 1}, match) && match.pos == 2 && match.index == 2);
  EXPECT(m.find("xabcz", 0, {1, 0, 0, 0}, match) && match.pos == 1 && match.index == 0);
  EXPECT(!m.find("xabcz", 0, {0, 0, 0, 1}, match));
  EXPECT(m.find("zzz", 1, {0, 0, 0, 1}, match) && match.pos == 1);
  EXPECT(!m.find("z", 0, {0, 0, 0, 1}, match));
}
