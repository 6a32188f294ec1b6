#include "text/bpe_merge.h"

#include <algorithm>
#include <cstring>
#include <queue>

namespace pyllm::text {

void bpe_merge(const uint8_t* p, size_t n, const TokenId* byte_ids, const PairTable& pairs,
               std::vector<TokenId>& out) {
  if (n <= kShortChunk) {
    bpe_merge_short(p, n, byte_ids, pairs, out);
  } else {
    bpe_merge_long(p, n, byte_ids, pairs, out);
  }
}

void bpe_merge_short(const uint8_t* p, size_t n, const TokenId* byte_ids, const PairTable& pairs,
                     std::vector<TokenId>& out) {
  struct Part {
    TokenId id;
    PairTable::Merge next;  // the merge of this part with the one after it
  };
  Part parts[kShortChunk];
  for (size_t i = 0; i < n; ++i) parts[i].id = byte_ids[p[i]];
  for (size_t i = 0; i + 1 < n; ++i) parts[i].next = pairs.find(parts[i].id, parts[i + 1].id);
  if (n > 0) parts[n - 1].next = PairTable::Merge{};
  size_t m = n;
  while (m > 1) {
    uint32_t best = kNoRank;
    size_t at = 0;
    for (size_t i = 0; i + 1 < m; ++i) {
      if (parts[i].next.rank < best) {  // strict: the leftmost of equal ranks wins
        best = parts[i].next.rank;
        at = i;
      }
    }
    if (best == kNoRank) break;
    parts[at].id = parts[at].next.merged;
    std::memmove(parts + at + 1, parts + at + 2, (m - at - 2) * sizeof(Part));
    --m;
    parts[at].next = at + 1 < m ? pairs.find(parts[at].id, parts[at + 1].id) : PairTable::Merge{};
    if (at > 0) parts[at - 1].next = pairs.find(parts[at - 1].id, parts[at].id);
  }
  for (size_t i = 0; i < m; ++i) out.push_back(parts[i].id);
}

void bpe_merge_long(const uint8_t* p, size_t n, const TokenId* byte_ids, const PairTable& pairs,
                    std::vector<TokenId>& out) {
  // Parts are a doubly linked list over byte positions (a merged part keeps its left part's position,
  // so positions order parts left to right). The heap holds candidate merges; a candidate is stale once
  // either of its parts changed, which is checked when it surfaces.
  constexpr uint32_t kEnd = UINT32_MAX;
  struct Part {
    TokenId id;
    uint32_t prev, next;
    bool alive;
  };
  struct Candidate {
    uint32_t rank, pos;
    TokenId left, right, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<Part> parts(n);
  std::vector<Candidate> storage;
  storage.reserve(2 * n);
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap(std::greater<Candidate>(),
                                                                                        std::move(storage));
  auto push = [&](uint32_t pos) {
    uint32_t next = parts[pos].next;
    if (next == kEnd) return;
    PairTable::Merge m = pairs.find(parts[pos].id, parts[next].id);
    if (m.rank != kNoRank) heap.push({m.rank, pos, parts[pos].id, parts[next].id, m.merged});
  };
  for (size_t i = 0; i < n; ++i) {
    parts[i] = {byte_ids[p[i]], i == 0 ? kEnd : uint32_t(i - 1), i + 1 == n ? kEnd : uint32_t(i + 1), true};
  }
  for (size_t i = 0; i + 1 < n; ++i) push(uint32_t(i));
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    Part& left = parts[c.pos];
    if (!left.alive || left.id != c.left || left.next == kEnd || parts[left.next].id != c.right) continue;
    Part& right = parts[left.next];
    left.id = c.merged;
    right.alive = false;
    left.next = right.next;
    if (left.next != kEnd) parts[left.next].prev = c.pos;
    if (left.prev != kEnd) push(left.prev);
    push(c.pos);
  }
  for (uint32_t i = n > 0 ? 0 : kEnd; i != kEnd; i = parts[i].next) out.push_back(parts[i].id);
}

}  // namespace pyllm::text
