// A byte trie answering "which key is the longest prefix of this string?", the question WordPiece asks at
// every step: one walk down the trie replaces HF's hash lookup of every shorter candidate.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace pyllm::text {

class PrefixTrie {
 public:
  // keys[i] maps to values[i]; a key given twice keeps its last value. Empty keys are ignored.
  PrefixTrie(const std::vector<std::string_view>& keys, const std::vector<int32_t>& values);

  // The value and byte length of the longest key that is a prefix of s; value -1 (length 0) if none.
  std::pair<int32_t, size_t> longest_prefix(std::string_view s) const {
    std::pair<int32_t, size_t> best{-1, 0};
    uint32_t node = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      node = child(node, uint8_t(s[i]));
      if (node == 0) break;
      if (nodes_[node].value >= 0) best = {nodes_[node].value, i + 1};
    }
    return best;
  }

 private:
  // 0 if none (node 0, the root, is nobody's child).
  uint32_t child(uint32_t node, uint8_t byte) const {
    if (node == 0) return root_[byte];
    const Node& n = nodes_[node];
    const uint8_t* begin = labels_.data() + n.first;
    const uint8_t* end = begin + n.count;
    const uint8_t* it = n.count <= 8 ? std::find(begin, end, byte) : std::lower_bound(begin, end, byte);
    return it != end && *it == byte ? targets_[n.first + (it - begin)] : 0;
  }

  struct Node {
    uint32_t first;  // its edges: labels_/targets_[first, first + count), sorted by label
    uint32_t count;
    int32_t value;   // -1: no key ends here
  };
  std::vector<Node> nodes_;
  std::vector<uint8_t> labels_;
  std::vector<uint32_t> targets_;
  std::array<uint32_t, 256> root_{};  // the root's children by byte: the widest fan-out, looked up directly
};

}  // namespace pyllm::text
