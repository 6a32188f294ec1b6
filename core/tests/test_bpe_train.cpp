// BPE training in the core: the chunk table, the counter (documents, pieces, special tokens, UTF-8 checks)
// and the merge loop on minbpe's worked example. Parity with Hugging Face is tested from Python.
#include <string>
#include <vector>

#include "pyllm/error.h"
#include "test_util.h"
#include "text/bpe_train.h"

using namespace pyllm;
using namespace pyllm::text;

namespace {

uint64_t count_of(const ChunkTable& t, std::string_view chunk) {
  uint64_t n = 0;
  t.for_each([&](std::string_view c, uint64_t k) {
    if (c == chunk) n = k;
  });
  return n;
}

}  // namespace

PYLLM_TEST(bpe_chunk_table_counts_and_merges) {
  ChunkTable a, b;
  for (int i = 0; i < 5000; ++i) a.add(std::to_string(i % 1000), 1);  // grows past the first capacity
  b.add("7", 3);
  b.add("new", 2);
  a.merge_from(b);
  EXPECT(a.size() == 1001);
  EXPECT(a.total() == 5005);
  EXPECT(count_of(a, "7") == 8 && count_of(a, "999") == 5 && count_of(a, "new") == 2);
}

PYLLM_TEST(bpe_counter_pieces_specials_and_utf8) {
  ChunkCounter counter("none", {"<s>", "<s>>"});
  counter.add("ab<s", false);  // the special token straddles two pieces
  counter.add(">cd<s>>ab", true);
  counter.add_documents({"ab", "\xC3\xA9"});  // "é"
  ChunkTable t = counter.finish();
  EXPECT(t.size() == 3 && count_of(t, "ab") == 3 && count_of(t, "cd") == 1 && count_of(t, "\xC3\xA9") == 1);

  ChunkCounter bad("none", {});
  bad.add("ok \xC3", false);  // a character cut in two by the pieces is fine ...
  bad.add("\xA9 \xED\xA0\x80", false);
  EXPECT_THROWS(bad.add("", true), ValueError);  // ... a UTF-16 surrogate is not
  EXPECT_THROWS(ChunkCounter("none", {""}), ValueError);
}

PYLLM_TEST(bpe_train_worked_example) {
  ChunkTable t;
  t.add("aaabdaaabac", 1);
  BpeTrainResult r = train_bpe(t, 10, 2);
  EXPECT((r.merges == std::vector<std::pair<uint32_t, uint32_t>>{{97, 97}, {97, 98}, {256, 257}}));
  EXPECT(r.vocab.size() == 259 && r.vocab[258] == "aaab");
  // The cap on merges comes first.
  EXPECT(train_bpe(t, 1, 2).merges.size() == 1);
  std::vector<size_t> seen;
  train_bpe(t, 10, 1, [&](size_t done) { seen.push_back(done); }, 3);
  EXPECT((seen == std::vector<size_t>{3, 6, 7}));
}
