// The WordPiece pieces without Python (the parity with Hugging Face is in tests/test_wordpiece.py): BERT's
// word splitting, the prefix trie, greedy longest-match, added tokens, templates, truncation, decoding.
#include <string>
#include <vector>

#include "pyllm/error.h"
#include "test_util.h"
#include "text/bert_words.h"
#include "text/prefix_trie.h"
#include "text/wordpiece.h"

using namespace pyllm;
using namespace pyllm::text;

namespace {

std::vector<std::string> words_of(std::string_view text, BertNormalization options = {}) {
  BertWordSplitter splitter(options);
  std::vector<std::string> words;
  splitter.split(text, [&](std::string_view w, size_t) { words.emplace_back(w); });
  return words;
}

const std::vector<std::string> kVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "a",
                                         "ab", "abc", "##c", "##bc", "hello", ",", "!", "cafe", "."};

WordPieceTokenizer small_tokenizer() {
  WordPieceOptions o;
  o.added_tokens = {{"[CLS]", 2, true, false, false}, {"[SEP]", 3, true, false, false}, {"[PAD]", 0, true, false, false}};
  o.single_template = {{-1, {2}, 0}, {0, {}, 0}, {-1, {3}, 0}};
  o.pair_template = {{-1, {2}, 0}, {0, {}, 0}, {-1, {3}, 0}, {1, {}, 1}, {-1, {3}, 1}};
  o.max_input_chars_per_word = 9;
  return WordPieceTokenizer(kVocab, o);
}

std::vector<int32_t> ids_of(const WordPieceTokenizer& tok, std::string_view text) {
  std::vector<int32_t> ids;
  tok.tokenize(text, ids);
  return ids;
}

}  // namespace

PYLLM_TEST(bert_words_normalize_and_split) {
  EXPECT((words_of("Héllo, WORLD!") == std::vector<std::string>{"hello", ",", "world", "!"}));
  EXPECT((words_of("a\x01\xef\xbf\xbd" "b\tc") == std::vector<std::string>{"ab", "c"}));  // control, U+FFFD dropped
  EXPECT((words_of("a\xff\xc3" "b") == std::vector<std::string>{"ab"}));  // malformed UTF-8 reads as U+FFFD
  EXPECT((words_of("你好abc") == std::vector<std::string>{"你", "好", "abc"}));           // CJK alone
  EXPECT((words_of("e\xcc\x81") == std::vector<std::string>{"e"}));                        // e + U+0301
  EXPECT(words_of(" \n\xe3\x80\x80 ").empty());                                              // only whitespace
  BertNormalization cased{true, true, false, false};
  EXPECT((words_of("Héllo", cased) == std::vector<std::string>{"Héllo"}));
}

PYLLM_TEST(prefix_trie_longest_prefix) {
  std::vector<std::string_view> keys = {"a", "abc", "ab", "b", "abc"};
  PrefixTrie trie(keys, {0, 1, 2, 3, 4});
  EXPECT((trie.longest_prefix("abcd") == std::pair<int32_t, size_t>{4, 3}));  // a repeated key: its last value
  EXPECT((trie.longest_prefix("abd") == std::pair<int32_t, size_t>{2, 2}));
  EXPECT((trie.longest_prefix("bz") == std::pair<int32_t, size_t>{3, 1}));
  EXPECT((trie.longest_prefix("zz") == std::pair<int32_t, size_t>{-1, 0}));
  EXPECT((trie.longest_prefix("") == std::pair<int32_t, size_t>{-1, 0}));
}

PYLLM_TEST(wordpiece_greedy_longest_match) {
  WordPieceTokenizer tok = small_tokenizer();
  EXPECT((ids_of(tok, "unaffable") == std::vector<int32_t>{4, 5, 6}));
  EXPECT((ids_of(tok, "abcabc") == std::vector<int32_t>{1}));  // "##abc" is no piece: the word is unknown
  EXPECT((ids_of(tok, "abc") == std::vector<int32_t>{9}));
  EXPECT((ids_of(tok, "abbc") == std::vector<int32_t>{8, 11}));
  EXPECT((ids_of(tok, "Café, hello!") == std::vector<int32_t>{15, 13, 12, 14}));
  EXPECT((ids_of(tok, "aaaaaaaaaa") == std::vector<int32_t>{1}));  // 10 characters > max_input_chars_per_word
  EXPECT((ids_of(tok, "hello[SEP]hello") == std::vector<int32_t>{12, 3, 12}));  // added tokens in raw text
  EXPECT(ids_of(tok, "").empty());
}

PYLLM_TEST(wordpiece_templates_and_truncation) {
  WordPieceTokenizer tok = small_tokenizer();
  std::string_view second = "a a a";
  Encoding e = tok.encode("hello hello", &second, true, 0);
  EXPECT((e.ids == std::vector<int32_t>{2, 12, 12, 3, 7, 7, 7, 3}));
  EXPECT((e.type_ids == std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1}));
  // 6 ids leave 3 for the texts: the longer keeps the odd one (HF's longest-first rule).
  e = tok.encode("hello hello", &second, true, 6);
  EXPECT((e.ids == std::vector<int32_t>{2, 12, 3, 7, 7, 3}));
  e = tok.encode("hello hello", nullptr, false, 1);
  EXPECT((e.ids == std::vector<int32_t>{12}));
  EXPECT_THROWS(tok.encode("hello", &second, true, 2), ValueError);  // no room for 3 special tokens
  auto batch = tok.encode_batch({"hello", "a", "", "unaffable abc"}, nullptr, true, 0, 2);
  EXPECT(batch.size() == 4 && (batch[3].ids == std::vector<int32_t>{2, 4, 5, 6, 9, 3}) && batch[2].ids.size() == 2);
}

PYLLM_TEST(wordpiece_decode_and_errors) {
  WordPieceTokenizer tok = small_tokenizer();
  EXPECT(tok.decode({2, 4, 5, 6, 13, 12, 14, 3}, false) == "[CLS] unaffable, hello! [SEP]");
  EXPECT(tok.decode({2, 4, 5, 6, 3}, true) == "unaffable");
  EXPECT(tok.decode({10, 7}, false) == "##c a");  // the first token keeps its "##"
  EXPECT_THROWS(tok.decode({99}, false), ValueError);
  EXPECT_THROWS(tok.id_to_token(-1), ValueError);
  EXPECT(tok.token_to_id("hello") == 12 && tok.token_to_id("nope") == -1);
  WordPieceOptions no_unk;
  no_unk.unk_token = "<unk>";
  EXPECT_THROWS(WordPieceTokenizer(kVocab, no_unk), ValueError);
  WordPieceOptions gap;
  gap.added_tokens = {{"<extra>", int32_t(kVocab.size()) + 1, true, false, false}};
  EXPECT_THROWS(WordPieceTokenizer(kVocab, gap), ValueError);  // id kVocab.size() would have no token
}
