// The regex engine: regex_ast -> a program of instructions, run by a backtracking machine with an explicit
// stack of choice points (no recursion, so long texts cannot overflow the C++ stack).
#include "text/regex.h"

#include <algorithm>

#include "pyllm/error.h"
#include "text/regex_ast.h"
#include "text/utf8.h"

namespace pyllm::text {

using namespace regex_ast;

namespace {

enum class Op : uint8_t {
  kSet,            // one code point of sets[set]
  kRepeat,         // sets[set] min..max times (greed): a single-character loop, backtracked one character at a time
  kSplit,          // try x; on failure y
  kJmp,            // go to x
  kAssert,         // anchor
  kAtomicBegin,    // mark the stack
  kAtomicEnd,      // drop the choice points above the mark
  kLookBegin,      // mark the stack, remember the position; negate; x: the instruction after kLookEnd
  kLookEnd,        // the lookahead body matched
  kSaveProgress,   // slots[x] = position (restored on backtracking)
  kCheckProgress,  // fail if the position has not moved since kSaveProgress x: an empty loop iteration
  kMatch,
};

struct Inst {
  Op op;
  Greed greed = Greed::kGreedy;
  Anchor anchor = Anchor::kBegin;
  bool negate = false;
  uint32_t x = 0, y = 0;
  uint32_t set = 0;
  uint32_t min = 0, max = 0;
};

constexpr size_t kMaxProgram = size_t(1) << 20;

bool nullable(const Node& n) {
  switch (n.kind) {
    case Kind::kEmpty: case Kind::kLook: case Kind::kAssert: return true;
    case Kind::kSet: return false;
    case Kind::kConcat:
      return std::all_of(n.children.begin(), n.children.end(), nullable);
    case Kind::kAlt:
      return std::any_of(n.children.begin(), n.children.end(), nullable);
    case Kind::kRepeat: return n.min == 0 || nullable(n.children[0]);
    case Kind::kAtomic: return nullable(n.children[0]);
  }
  return true;
}

// Which bytes a match can start with: an ASCII bitmap plus "some non-ASCII character"; `known` false when
// the pattern can match empty or starts with an assertion (then every position is tried).
struct FirstChars {
  uint64_t ascii[2] = {0, 0};
  bool non_ascii = false;
  bool known = true;
};

// Adds the possible first characters of n to f; returns whether n can match without consuming any.
bool first_chars(const Node& n, const std::vector<CharSet>& sets, FirstChars* f) {
  switch (n.kind) {
    case Kind::kEmpty: return true;
    case Kind::kLook: case Kind::kAssert: f->known = false; return true;
    case Kind::kSet: {
      const CharSet& s = sets[n.set];
      for (uint32_t c = 0; c < 128; ++c)
        if (s.contains(c)) f->ascii[c >> 6] |= uint64_t(1) << (c & 63);
      f->non_ascii = true;
      return false;
    }
    case Kind::kConcat:
      for (const Node& c : n.children)
        if (!first_chars(c, sets, f)) return false;
      return true;
    case Kind::kAlt: {
      bool any = false;
      for (const Node& c : n.children) any = first_chars(c, sets, f) || any;
      return any;
    }
    case Kind::kRepeat: return first_chars(n.children[0], sets, f) || n.min == 0;
    case Kind::kAtomic: return first_chars(n.children[0], sets, f);
  }
  return true;
}

class Compiler {
 public:
  Compiler(const std::string& pattern, std::vector<Inst>* prog) : pattern_(pattern), prog_(*prog) {}
  uint32_t slots = 0;

  void compile(const Node& n) {
    switch (n.kind) {
      case Kind::kEmpty:
        return;
      case Kind::kSet: {
        Inst in{Op::kSet};
        in.set = n.set;
        emit(in);
        return;
      }
      case Kind::kConcat:
        for (const Node& c : n.children) compile(c);
        return;
      case Kind::kAlt: {
        std::vector<size_t> jumps;
        for (size_t k = 0; k + 1 < n.children.size(); ++k) {
          const size_t split = emit({Op::kSplit});
          prog_[split].x = here();
          compile(n.children[k]);
          jumps.push_back(emit({Op::kJmp}));
          prog_[split].y = here();
        }
        compile(n.children.back());
        for (size_t j : jumps) prog_[j].x = here();
        return;
      }
      case Kind::kRepeat:
        repeat(n);
        return;
      case Kind::kAtomic:
        emit({Op::kAtomicBegin});
        compile(n.children[0]);
        emit({Op::kAtomicEnd});
        return;
      case Kind::kLook: {
        Inst begin{Op::kLookBegin};
        begin.negate = n.negate;
        const size_t b = emit(begin);
        compile(n.children[0]);
        emit({Op::kLookEnd});
        prog_[b].x = here();
        return;
      }
      case Kind::kAssert: {
        Inst in{Op::kAssert};
        in.anchor = n.anchor;
        emit(in);
        return;
      }
    }
  }

  uint32_t here() const { return static_cast<uint32_t>(prog_.size()); }
  size_t emit(const Inst& in) {
    if (prog_.size() >= kMaxProgram) throw ValueError(error_message(pattern_, 0, "a pattern too large once its repeats are expanded"));
    prog_.push_back(in);
    return prog_.size() - 1;
  }

 private:
  // Splits that prefer the body (greedy) or the exit (lazy); the other target is patched in later.
  size_t split_for(Greed greed, uint32_t body_or_exit) {
    Inst in{Op::kSplit};
    if (greed == Greed::kLazy) in.y = body_or_exit; else in.x = body_or_exit;
    return emit(in);
  }
  void patch_exit(size_t split, Greed greed, uint32_t exit) {
    if (greed == Greed::kLazy) prog_[split].x = exit; else prog_[split].y = exit;
  }

  void repeat(const Node& n) {
    const Node& body = n.children[0];
    if (body.kind == Kind::kSet) {  // the common case, run by one instruction
      Inst in{Op::kRepeat};
      in.set = body.set;
      in.min = n.min;
      in.max = n.max;
      in.greed = n.greed;
      emit(in);
      return;
    }
    if (n.greed == Greed::kPossessive) {
      Node greedy = n;
      greedy.greed = Greed::kGreedy;
      emit({Op::kAtomicBegin});
      repeat(greedy);
      emit({Op::kAtomicEnd});
      return;
    }
    for (uint32_t k = 0; k < n.min; ++k) compile(body);
    if (n.max == kUnbounded) {
      const bool check = nullable(body);
      const uint32_t slot = check ? slots++ : 0;
      const uint32_t loop = here();
      const size_t split = split_for(n.greed, loop + 1);
      if (check) {
        Inst save{Op::kSaveProgress};
        save.x = slot;
        emit(save);
      }
      compile(body);
      if (check) {
        Inst test{Op::kCheckProgress};
        test.x = slot;
        emit(test);
      }
      Inst back{Op::kJmp};
      back.x = loop;
      emit(back);
      patch_exit(split, n.greed, here());
      return;
    }
    std::vector<size_t> splits;
    for (uint32_t k = n.min; k < n.max; ++k) {
      splits.push_back(split_for(n.greed, here() + 1));
      compile(body);
    }
    for (size_t s : splits) patch_exit(s, n.greed, here());
  }

  const std::string& pattern_;
  std::vector<Inst>& prog_;
};

}  // namespace

struct Regex::Program {
  std::vector<Inst> insts;
  std::vector<CharSet> sets;
  uint32_t slots = 0;
  FirstChars first;
};

namespace {

enum class FrameKind : uint8_t { kBranch, kGreedy, kLazy, kAtomicMark, kLookMark, kRestore };

struct Frame {
  FrameKind kind;
  bool negate;
  uint32_t pc;   // kBranch, kGreedy: where to resume; kLazy: the kRepeat; kLookMark: after kLookEnd; kRestore: slot
  size_t pos;    // the position to resume at (kGreedy: the current end of the run)
  size_t aux;    // kGreedy: the least end (after min characters); kLazy: the count; kRestore: the old value
};

class Machine {
 public:
  Machine(const Regex::Program& p, const std::string& pattern, std::string_view text)
      : p_(p), pattern_(pattern), s_(reinterpret_cast<const uint8_t*>(text.data())), n_(text.size()),
        slots_(p.slots, 0), budget_(100'000'000 + 2000 * uint64_t(text.size())) {}

  bool may_start_at(size_t pos) const {
    const FirstChars& f = p_.first;
    if (!f.known) return true;
    if (pos >= n_) return false;
    const uint8_t b = s_[pos];
    return b < 0x80 ? (f.ascii[b >> 6] >> (b & 63)) & 1 : f.non_ascii;
  }

  size_t next(size_t pos) const { return pos + utf8::decode(s_, n_, pos).len; }

  bool match(size_t start, bool forbid_empty, size_t* end);

 private:
  // Matches one code point of `set` at pos; advances pos.
  bool one(const CharSet& set, size_t& pos) const {
    if (pos >= n_) return false;
    if (s_[pos] < 0x80) {
      if (!set.contains(s_[pos])) return false;
      ++pos;
      return true;
    }
    const utf8::Decoded d = utf8::decode(s_, n_, pos);
    if (!set.contains(d.cp)) return false;
    pos += d.len;
    return true;
  }
  bool word_before(size_t pos) const {
    return pos > 0 && unicode::is_word(utf8::decode(s_, n_, utf8::previous(s_, pos)).cp);
  }
  bool word_at(size_t pos) const { return pos < n_ && unicode::is_word(utf8::decode(s_, n_, pos).cp); }
  bool anchor_holds(Anchor a, size_t pos) const {
    switch (a) {
      case Anchor::kBegin: return pos == 0;
      case Anchor::kEnd: return pos == n_;
      case Anchor::kWordBoundary: return word_before(pos) != word_at(pos);
      case Anchor::kNotWordBoundary: return word_before(pos) == word_at(pos);
    }
    return false;
  }
  // Drops the frames above the innermost mark, and the mark (which it returns); restore frames are kept
  // so that backtracking past the group still restores the progress slots.
  Frame cut() {
    size_t k = stack_.size();
    while (stack_[k - 1].kind != FrameKind::kAtomicMark && stack_[k - 1].kind != FrameKind::kLookMark) --k;
    const Frame mark = stack_[k - 1];
    size_t w = k - 1;
    for (size_t r = k; r < stack_.size(); ++r)
      if (stack_[r].kind == FrameKind::kRestore) stack_[w++] = stack_[r];
    stack_.resize(w);
    return mark;
  }
  void spend(uint64_t steps, size_t start) {
    steps_ += steps;
    if (steps_ > budget_)
      throw ValueError("regex '" + pattern_ + "': gave up after " + std::to_string(budget_) +
                       " backtracking steps (at byte " + std::to_string(start) +
                       "); the pattern backtracks catastrophically on this text");
  }

  const Regex::Program& p_;
  const std::string& pattern_;
  const uint8_t* s_;
  size_t n_;
  std::vector<Frame> stack_;
  std::vector<size_t> slots_;
  uint64_t steps_ = 0, budget_;
};

bool Machine::match(size_t start, bool forbid_empty, size_t* end) {
  stack_.clear();
  size_t pos = start;
  uint32_t pc = 0;
  const std::vector<Inst>& prog = p_.insts;
  for (;;) {
    spend(1, start);
    const Inst& in = prog[pc];
    bool ok = true;
    switch (in.op) {
      case Op::kSet:
        ok = one(p_.sets[in.set], pos);
        ++pc;
        break;
      case Op::kRepeat: {
        const CharSet& set = p_.sets[in.set];
        size_t p = pos;
        uint32_t count = 0;
        if (in.greed == Greed::kLazy) {
          while (count < in.min && one(set, p)) ++count;
          spend(count, start);
          if (count < in.min) {
            ok = false;
            break;
          }
          if (count < in.max) stack_.push_back({FrameKind::kLazy, false, pc, p, count});
        } else {
          size_t least = p;
          while (count < in.max && one(set, p)) {
            if (++count == in.min) least = p;
          }
          spend(count, start);
          if (count < in.min) {
            ok = false;
            break;
          }
          if (in.greed == Greed::kGreedy && p > least) stack_.push_back({FrameKind::kGreedy, false, pc + 1, p, least});
        }
        pos = p;
        ++pc;
        break;
      }
      case Op::kSplit:
        stack_.push_back({FrameKind::kBranch, false, in.y, pos, 0});
        pc = in.x;
        break;
      case Op::kJmp:
        pc = in.x;
        break;
      case Op::kAssert:
        ok = anchor_holds(in.anchor, pos);
        ++pc;
        break;
      case Op::kAtomicBegin:
        stack_.push_back({FrameKind::kAtomicMark, false, 0, pos, 0});
        ++pc;
        break;
      case Op::kAtomicEnd:
        cut();
        ++pc;
        break;
      case Op::kLookBegin:
        stack_.push_back({FrameKind::kLookMark, in.negate, in.x, pos, 0});
        ++pc;
        break;
      case Op::kLookEnd: {
        const Frame mark = cut();
        pos = mark.pos;
        ok = !mark.negate;
        pc = mark.pc;
        break;
      }
      case Op::kSaveProgress:
        stack_.push_back({FrameKind::kRestore, false, in.x, 0, slots_[in.x]});
        slots_[in.x] = pos;
        ++pc;
        break;
      case Op::kCheckProgress:
        ok = pos != slots_[in.x];
        ++pc;
        break;
      case Op::kMatch:
        if (!(forbid_empty && pos == start)) {
          *end = pos;
          return true;
        }
        ok = false;
        break;
    }
    if (ok) continue;
    // Backtrack to the latest choice point that can still go another way.
    for (bool resumed = false; !resumed;) {
      if (stack_.empty()) return false;
      spend(1, start);
      Frame f = stack_.back();
      stack_.pop_back();
      switch (f.kind) {
        case FrameKind::kBranch:
          pc = f.pc;
          pos = f.pos;
          resumed = true;
          break;
        case FrameKind::kGreedy:  // give back one character
          pos = utf8::previous(s_, f.pos);
          if (pos > f.aux) stack_.push_back({FrameKind::kGreedy, false, f.pc, pos, f.aux});
          pc = f.pc;
          resumed = true;
          break;
        case FrameKind::kLazy: {  // take one more character
          const Inst& rep = prog[f.pc];
          size_t p = f.pos;
          if (f.aux < rep.max && one(p_.sets[rep.set], p)) {
            if (f.aux + 1 < rep.max) stack_.push_back({FrameKind::kLazy, false, f.pc, p, f.aux + 1});
            pos = p;
            pc = f.pc + 1;
            resumed = true;
          }
          break;
        }
        case FrameKind::kAtomicMark:
          break;
        case FrameKind::kLookMark:  // the body failed: a negative lookahead holds
          if (f.negate) {
            pos = f.pos;
            pc = f.pc;
            resumed = true;
          }
          break;
        case FrameKind::kRestore:
          slots_[f.pc] = f.aux;
          break;
      }
    }
  }
}

}  // namespace

Regex::Regex(const std::string& pattern) : pattern_(pattern) {
  Parsed parsed = parse(pattern);
  auto program = std::make_shared<Program>();
  Compiler compiler(pattern, &program->insts);
  compiler.compile(parsed.root);
  compiler.emit({Op::kMatch});
  program->slots = compiler.slots;
  program->sets = std::move(parsed.sets);
  if (first_chars(parsed.root, program->sets, &program->first)) program->first.known = false;
  program_ = std::move(program);
}

void Regex::find_all(std::string_view text, std::vector<Span>& out) const {
  PYLLM_CHECK(utf8::is_valid(text), ValueError, "regex '" << pattern_ << "': the text is not valid UTF-8");
  Machine m(*program_, pattern_, text);
  const size_t n = text.size();
  size_t pos = 0;
  bool after_empty = false;
  while (pos <= n) {
    size_t start = pos, end = 0;
    bool found = false;
    for (;;) {
      if (m.may_start_at(start) && m.match(start, after_empty && start == pos, &end)) {
        found = true;
        break;
      }
      if (start >= n) break;
      start = m.next(start);
    }
    if (!found) break;
    out.push_back({static_cast<uint32_t>(start), static_cast<uint32_t>(end)});
    after_empty = end == start;
    pos = end;
  }
}

bool Regex::match_at(std::string_view text, size_t start, size_t* end) const {
  PYLLM_CHECK(utf8::is_valid(text), ValueError, "regex '" << pattern_ << "': the text is not valid UTF-8");
  PYLLM_CHECK(start <= text.size(), IndexError, "regex '" << pattern_ << "': start " << start << " is past the text");
  Machine m(*program_, pattern_, text);
  return m.match(start, false, end);
}

}  // namespace pyllm::text
