"""A ``BPETokenizer`` from a GGUF file's ``tokenizer.ggml.*`` metadata (llama.cpp's "gpt2" tokenizer model:
byte-level BPE, as GPT-2, Llama 3, SmolLM, StarCoder use).

    tokenizer.ggml.model        "gpt2"                                  byte-level BPE (SentencePiece "llama" is not)
    tokenizer.ggml.tokens       ["<|endoftext|>", ..., "Ġthe", ...]     in GPT-2's byte-to-unicode alphabet
    tokenizer.ggml.token_type   [3, ..., 1, ...]                        1 normal, 3 control, 4 user-defined, ...
    tokenizer.ggml.merges       ["Ġ t", "i n", ...]                     by priority
    tokenizer.ggml.pre          "smollm"                                the pre-tokenizer (below)
    tokenizer.ggml.unknown_token_id, bos_token_id, eos_token_id, ...

Control (3) and user-defined (4) tokens become special tokens: ``encode(text, allowed_special="all")`` turns
their text into their ids, as llama.cpp and ``transformers`` do.

The pre-tokenizer is named, not stored: llama.cpp keeps a regex list per name (``llama-vocab.cpp``). The
"smollm" family (also StarCoder's, Refact's, Command-R's ...) first isolates every digit, then splits the rest
with GPT-2's regex; one regex does both, as long as the end of a digit-free piece before a digit still counts
as "not followed by a non-space" for GPT-2's ``\\s+(?!\\S)``:

    "a  12" -> "a", "  ", "1", "2"          (GPT-2's regex alone: "a", " ", " 12")

``transformers``' GGUF reader ignores the name and splits with GPT-2's regex, which differs only where a digit
follows whitespace or digits follow each other; SmolLM2's vocabulary has no multi-digit or space-digit
tokens, so the two disagree only on runs of spaces before a digit (pyllm follows llama.cpp and the model's own
``tokenizer.json``, whose pre-tokenizer is Digits(individual) then ByteLevel).
"""
from .bpe import BPETokenizer
from .formats import _to_bytes

_GPT2_PIECES = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?[^\s\p{L}\p{N}]+"""
SMOLLM_PATTERN = r"\p{N}|" + _GPT2_PIECES + r"|\s+(?![^\s\p{N}])|\s+"

# tokenizer.ggml.pre -> pyllm pattern (llama.cpp's names; llama-bpe is Llama 3's, cl100k's regex)
PRE_TOKENIZERS = {
    "gpt2": "gpt2", "gpt-2": "gpt2",
    "llama-bpe": "cl100k", "llama3": "cl100k",
    **dict.fromkeys(("smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"),
                    SMOLLM_PATTERN),
}
_SPECIAL_TYPES = (3, 4)  # llama.cpp's LLAMA_TOKEN_TYPE_CONTROL, LLAMA_TOKEN_TYPE_USER_DEFINED


def tokenizer_from_gguf(metadata, path="GGUF file"):
    """The ``BPETokenizer`` described by a GGUF file's metadata ({key: value}, as ``GGUFFile.metadata``)."""
    model = metadata.get("tokenizer.ggml.model")
    if model != "gpt2":
        raise ValueError(f"{path}: tokenizer.ggml.model is {model!r}; pyllm reads byte-level BPE ('gpt2') "
                         "tokenizers only")
    tokens = metadata.get("tokenizer.ggml.tokens")
    merges = metadata.get("tokenizer.ggml.merges")
    if not isinstance(tokens, list) or not isinstance(merges, list):
        raise ValueError(f"{path}: the metadata lacks tokenizer.ggml.tokens or tokenizer.ggml.merges")
    types = metadata.get("tokenizer.ggml.token_type", [1] * len(tokens))
    if len(types) != len(tokens):
        raise ValueError(f"{path}: tokenizer.ggml.token_type has {len(types)} entries for {len(tokens)} tokens")
    pre = metadata.get("tokenizer.ggml.pre", "gpt2")  # llama.cpp's files before the key existed: GPT-2's split
    if pre not in PRE_TOKENIZERS:
        raise ValueError(f"{path}: pre-tokenizer {pre!r} (tokenizer.ggml.pre) is not supported; supported: "
                         f"{', '.join(PRE_TOKENIZERS)}")
    vocab, specials = [None] * len(tokens), {}
    for id, (token, kind) in enumerate(zip(tokens, types)):
        if kind in _SPECIAL_TYPES:
            specials[token] = id
        else:
            vocab[id] = _to_bytes(token, path)
    ids = {token: id for id, token in enumerate(tokens)}
    pairs = []
    for i, merge in enumerate(merges):
        parts = merge.split(" ")
        if len(parts) != 2 or parts[0] not in ids or parts[1] not in ids:
            raise ValueError(f"{path}: merge {i} ({merge!r}) is not a pair of vocabulary tokens")
        pairs.append((ids[parts[0]], ids[parts[1]]))
    try:
        return BPETokenizer(vocab, pairs, pattern=PRE_TOKENIZERS[pre], special_tokens=specials,
                            unk_id=metadata.get("tokenizer.ggml.unknown_token_id"))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None
