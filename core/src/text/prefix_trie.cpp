#include "text/prefix_trie.h"

#include <algorithm>
#include <numeric>

namespace pyllm::text {

PrefixTrie::PrefixTrie(const std::vector<std::string_view>& keys, const std::vector<int32_t>& values) {
  // Inserting the keys in sorted order creates every node's children in increasing label order, and a
  // key's nodes right after those of the key before it that share its prefix.
  std::vector<size_t> order(keys.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  std::vector<std::vector<std::pair<uint8_t, uint32_t>>> children(1);
  std::vector<int32_t> node_values(1, -1);
  std::vector<uint32_t> path{0};  // the nodes of the previous key's bytes, root first
  std::string_view previous;
  for (size_t k : order) {
    std::string_view key = keys[k];
    if (key.empty()) continue;
    size_t common = 0;
    while (common < key.size() && common < previous.size() && key[common] == previous[common]) ++common;
    path.resize(common + 1);
    for (size_t d = common; d < key.size(); ++d) {
      uint32_t node = uint32_t(children.size());
      children.emplace_back();
      node_values.push_back(-1);
      children[path.back()].emplace_back(uint8_t(key[d]), node);
      path.push_back(node);
    }
    node_values[path.back()] = values[k];  // a repeated key: the later one wins (the sort is stable)
    previous = key;
  }
  nodes_.resize(children.size());
  for (size_t n = 0; n < children.size(); ++n) {
    nodes_[n] = {uint32_t(labels_.size()), uint32_t(children[n].size()), node_values[n]};
    for (auto [label, target] : children[n]) {
      labels_.push_back(label);
      targets_.push_back(target);
    }
  }
  for (auto [label, target] : children[0]) root_[label] = target;
}

}  // namespace pyllm::text
