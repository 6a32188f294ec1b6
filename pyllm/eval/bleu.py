"""Corpus BLEU and chrF, equal to sacrebleu's ``corpus_bleu`` and ``corpus_chrf`` with their default settings.

BLEU (Papineni et al., 2002) is the geometric mean of the clipped 1- to 4-gram precisions of a whole corpus
times a brevity penalty, on words cut by the "13a" tokenizer of WMT's mteval-v13a.pl. chrF (Popović, 2015) is
an F-score (recall weighted beta=2 times as much as precision) over character 1- to 6-grams.

>>> hyps = ["The cat sat on the mat.", "It is raining."]
>>> refs = ["The cat sat on the mat.", "It rains."]
>>> print(bleu(hyps, refs))
BLEU = 74.72 81.8/66.7/71.4/80.0 (BP = 1.000 ratio = 1.100 hyp_len = 11 ref_len = 10)
>>> print(chrf(hyps, refs))
chrF2 = 81.58

References come as sacrebleu takes them: a list of reference *streams*, each holding one string per
hypothesis (``[["ref 1 of hyp 1", "ref 1 of hyp 2"], ["ref 2 of hyp 1", "ref 2 of hyp 2"]]``). A single
stream may also be passed flat, as above. A reference that is ``None`` is missing for that segment (segments
may have different numbers of references), but every segment needs at least one.
"""
import math
import re
from collections import Counter
from dataclasses import dataclass

MAX_ORDER = 4  # BLEU's n-gram orders 1..4
CHAR_ORDER = 6  # chrF's character n-gram orders 1..6
BETA = 2  # chrF2: recall counts beta^2 = 4 times as much as precision

# ---- the 13a tokenizer ----
# ASCII symbols that always become tokens of their own: '!' to '&', '(' to '+', ':' to '@', '/', '[' to '`' and
# '{' to '~'. Left out, and handled below, are the apostrophe (kept inside words: "don't"), '-' (split only
# after a digit), and '.' and ',' (kept inside numbers: "3.14", "1,000"). mteval's class also holds the space,
# which only adds spaces around spaces; the final split removes them, so leaving it out changes nothing.
_SYMBOL = re.compile(r"[!-&(-+:-@/\[-`{-~]")
_PERIOD_COMMA_AFTER_NON_DIGIT = re.compile(r"([^0-9])([.,])")
_PERIOD_COMMA_BEFORE_NON_DIGIT = re.compile(r"([.,])([^0-9])")
_DASH_AFTER_DIGIT = re.compile(r"([0-9])-")
# Replacements are functions, not templates such as r" \1 ": Python 3.11 expands a template in Python for
# every match, which took most of the tokenizer's time.


def tokenize_13a(line):
    """Cuts a segment into tokens as mteval-v13a.pl does (sacrebleu's default), returned joined by spaces.

    >>> tokenize_13a("Hello, world! It's 3.14 or 1,000-2,000 &amp; more.")
    "Hello , world ! It's 3.14 or 1,000 - 2,000 & more ."
    """
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:  # undo the four XML escapes, in this order ("&amp;lt;" becomes "<", as in mteval)
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    # The rules below look at a character's neighbours: the padding gives the first and last ones a neighbour.
    # Each rule runs over the output of the one before; a match consumes its neighbour, so in "a.." only the
    # first period is split by the third rule (mteval's quirks are kept: they change the tokens).
    line = _SYMBOL.sub(lambda m: f" {m[0]} ", f" {line} ")
    if "." in line or "," in line:  # both rules are no-ops without them, and most segments are short
        line = _PERIOD_COMMA_AFTER_NON_DIGIT.sub(lambda m: f"{m[1]} {m[2]} ", line)
        line = _PERIOD_COMMA_BEFORE_NON_DIGIT.sub(lambda m: f" {m[1]} {m[2]}", line)
    if "-" in line:
        line = _DASH_AFTER_DIGIT.sub(lambda m: f"{m[1]} - ", line)
    return " ".join(line.split())


# ---- inputs ----
def _segments(hypotheses, references, metric):
    """Checks the inputs; returns (hypotheses, [[the references of segment i, missing ones left out]])."""
    if isinstance(hypotheses, str) or not hasattr(hypotheses, "__len__"):
        raise TypeError(f"{metric}: hypotheses must be a list of strings, got {type(hypotheses).__name__}")
    hypotheses = list(hypotheses)
    if not hypotheses:
        raise ValueError(f"{metric}: no hypotheses (an empty corpus has no score)")
    for i, h in enumerate(hypotheses):
        if not isinstance(h, str):
            raise TypeError(f"{metric}: hypothesis {i} is a {type(h).__name__}, not a str")
    if isinstance(references, str) or not hasattr(references, "__len__"):
        raise TypeError(f"{metric}: references must be a list of reference streams (lists of strings, one per "
                        f"hypothesis) or one such stream, got {type(references).__name__}")
    references = list(references)
    if not references:
        raise ValueError(f"{metric}: no references")
    if all(r is None or isinstance(r, str) for r in references):
        references = [references]  # one stream passed flat
    for s, stream in enumerate(references):
        if isinstance(stream, str) or not hasattr(stream, "__len__"):
            raise TypeError(f"{metric}: reference stream {s} is a {type(stream).__name__}, not a list of strings")
        if len(stream) != len(hypotheses):
            raise ValueError(f"{metric}: reference stream {s} has {len(stream)} segments but there are "
                             f"{len(hypotheses)} hypotheses")
        for i, r in enumerate(stream):
            if r is not None and not isinstance(r, str):
                raise TypeError(f"{metric}: reference {i} of stream {s} is a {type(r).__name__}, not a str")
    per_segment = [[r for r in refs if r is not None] for refs in zip(*references)]
    for i, refs in enumerate(per_segment):
        if not refs:
            raise ValueError(f"{metric}: segment {i} has no reference (all of its references are None)")
    return hypotheses, per_segment


# ---- BLEU ----
@dataclass
class BLEUScore:
    """Corpus BLEU and its sufficient statistics: ``counts[n-1]`` clipped matches and ``totals[n-1]``
    hypothesis n-grams of order n, ``precisions`` in percent, brevity penalty ``bp``, hypothesis and
    (closest) reference lengths in tokens."""

    score: float
    counts: list
    totals: list
    precisions: list
    bp: float
    sys_len: int
    ref_len: int

    @property
    def ratio(self):
        return self.sys_len / self.ref_len if self.ref_len else 0

    def __str__(self):
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        return (f"BLEU = {self.score:.2f} {precisions} (BP = {self.bp:.3f} ratio = {self.ratio:.3f} "
                f"hyp_len = {self.sys_len:d} ref_len = {self.ref_len:d})")


def _ngrams(tokens, n):
    """The n-grams of a token list as tuples, e.g. n=2: (t0, t1), (t1, t2), ..."""
    return zip(*(tokens[i:] for i in range(n)))


def _closest_length(hyp_len, ref_lens):
    """The reference length nearest the hypothesis length; the shorter one on a tie."""
    return min(ref_lens, key=lambda r: (abs(r - hyp_len), r))


def bleu(hypotheses, references):
    """Corpus BLEU of ``hypotheses`` (a list of strings) against ``references`` (reference streams, or one
    stream passed flat; see the module docstring), as ``sacrebleu.corpus_bleu(hypotheses, references)``: 13a
    tokenization, case kept, exponential smoothing of zero-match orders (mteval's: the k-th order without a
    match gets precision 1 / (2^k · total)).

    >>> bleu(["the cat sat on the mat"], [["the cat sat on a mat"], ["a cat sat on the mat"]]).score
    95.54427922043672
    """
    hypotheses, per_segment = _segments(hypotheses, references, "bleu")
    counts, totals = [0] * MAX_ORDER, [0] * MAX_ORDER
    sys_len = ref_len = 0
    for hyp, refs in zip(hypotheses, per_segment):
        hyp_tokens = tokenize_13a(hyp.rstrip()).split()
        ref_tokens = [tokenize_13a(r.rstrip()).split() for r in refs]
        sys_len += len(hyp_tokens)
        ref_len += _closest_length(len(hyp_tokens), [len(t) for t in ref_tokens])
        for n in range(1, MAX_ORDER + 1):
            if len(hyp_tokens) < n:
                break
            hyp_counts = Counter(_ngrams(hyp_tokens, n))
            # A hypothesis n-gram matches at most as often as it occurs in any one reference ("clipping").
            max_ref = Counter(_ngrams(ref_tokens[0], n))
            for tokens in ref_tokens[1:]:
                max_ref |= Counter(_ngrams(tokens, n))
            counts[n - 1] += sum([min(c, max_ref[g]) for g, c in hyp_counts.items() if g in max_ref])
            totals[n - 1] += len(hyp_tokens) - n + 1
    return _bleu_from_statistics(counts, totals, sys_len, ref_len)


def _bleu_from_statistics(counts, totals, sys_len, ref_len):
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    precisions = [0.0] * MAX_ORDER
    if not any(counts):
        return BLEUScore(0.0, counts, totals, precisions, bp, sys_len, ref_len)
    smooth = 1.0
    for n in range(MAX_ORDER):
        if totals[n] == 0:  # the hypotheses are too short for this order: its precision stays 0
            break
        if counts[n] == 0:
            smooth *= 2
            precisions[n] = 100.0 / (smooth * totals[n])
        else:
            precisions[n] = 100.0 * counts[n] / totals[n]
    # log(0) is taken as -9999999999 (as mteval and sacrebleu do), which makes the score exactly 0.
    log_sum = sum(math.log(p) if p > 0 else -9999999999 for p in precisions)
    return BLEUScore(bp * math.exp(log_sum / MAX_ORDER), counts, totals, precisions, bp, sys_len, ref_len)


# ---- chrF ----
@dataclass
class CHRFScore:
    """Corpus chrF: ``score`` in [0, 100] over character n-grams of orders 1..char_order, recall weighted
    ``beta`` times as much as precision."""

    score: float
    char_order: int = CHAR_ORDER
    beta: int = BETA

    @property
    def name(self):
        return f"chrF{self.beta}"

    def __str__(self):
        return f"{self.name} = {self.score:.2f}"


def _char_ngram_counts(text):
    """Counters of the character n-grams (n = 1..CHAR_ORDER) of ``text`` with its whitespace removed."""
    chars = "".join(text.split())
    return [Counter([chars[i:i + n] for i in range(len(chars) - n + 1)]) for n in range(1, CHAR_ORDER + 1)]


def _f_score(stats):
    """chrF from flat [hyp n-grams, ref n-grams, matches] triples, one per order: precision and recall are
    averaged over the orders where both sides have n-grams, then combined as an F-beta score."""
    factor = BETA ** 2
    precision = recall = 0.0
    orders = 0
    for i in range(0, len(stats), 3):
        n_hyp, n_ref, n_match = stats[i:i + 3]
        if n_hyp > 0 and n_ref > 0:
            precision += n_match / n_hyp
            recall += n_match / n_ref
            orders += 1
    if orders == 0:
        return 0.0
    precision /= orders
    recall /= orders
    if precision + recall == 0:
        return 0.0
    return 100 * ((1 + factor) * precision * recall / (factor * precision + recall))


def chrf(hypotheses, references):
    """Corpus chrF2 (character orders 1-6, no word n-grams, whitespace ignored, case kept), as
    ``sacrebleu.corpus_chrf(hypotheses, references)``. With several references, each segment's statistics
    come from the reference giving it the best chrF (the first one on a tie).

    >>> chrf(["the cat sat on the mat"], ["a cat sat on the mat"]).score
    88.95696795445868
    """
    hypotheses, per_segment = _segments(hypotheses, references, "chrf")
    total = [0] * (3 * CHAR_ORDER)
    for hyp, refs in zip(hypotheses, per_segment):
        hyp_ngrams = _char_ngram_counts(hyp)
        hyp_chars = len("".join(hyp.split()))
        best, best_f = None, -1.0
        for ref in refs:
            stats = []
            ref_chars = len("".join(ref.split()))
            for n, (h, r) in enumerate(zip(hyp_ngrams, _char_ngram_counts(ref)), start=1):
                matches = sum([min(c, r[g]) for g, c in h.items() if g in r])
                # An order the reference is too short for counts no hypothesis n-grams either.
                n_ref = max(ref_chars - n + 1, 0)
                stats += [max(hyp_chars - n + 1, 0) if n_ref else 0, n_ref, matches]
            f = _f_score(stats)
            if f > best_f:
                best, best_f = stats, f
        total = [a + b for a, b in zip(total, best)]
    return CHRFScore(_f_score(total))
