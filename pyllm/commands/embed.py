"""``pyllm embed``: sentence embeddings of a BERT-style model (all-MiniLM-L6-v2, any Hugging Face BertModel
directory) and the cosine similarity of every pair of sentences."""


def register(subparsers):
    parser = subparsers.add_parser("embed", help="sentence embeddings and their cosine similarities",
                                   description="Embed sentences with a BERT-style model (a Hugging Face BertModel "
                                               "or sentence-transformers directory, e.g. all-MiniLM-L6-v2) and "
                                               "print the embedding dimension and the cosine-similarity matrix.")
    parser.add_argument("sentences", nargs="+", metavar="SENTENCE", help="the sentences to embed")
    parser.add_argument("--model", required=True, metavar="PATH",
                        help="a Hugging Face model directory (config.json, model.safetensors, the tokenizer's "
                             "files; sentence-transformers' modules.json and 1_Pooling/ choose the pooling)")
    parser.add_argument("--output", metavar="FILE.npy",
                        help="also save the embeddings, a float32 (sentences, dimension) array, to this .npy file")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="sentences per forward pass")
    parser.add_argument("--max-length", type=int, metavar="N",
                        help="cut each sentence to N tokens (default: the model's max_position_embeddings)")
    parser.add_argument("--digits", type=int, default=4, metavar="N", help="decimals printed (default: 4)")
    parser.set_defaults(run=run)


def run(args):
    import numpy as np

    import pyllm
    import pyllm.tokenizers
    from pyllm.io.atomic import atomic_write
    from pyllm.models import Encoder

    if args.output and not args.output.endswith(".npy"):
        raise ValueError(f"--output {args.output}: the file name must end in .npy")
    model = pyllm.from_pretrained(args.model)
    if not isinstance(model, Encoder):
        raise ValueError(f"{args.model} holds a {type(model).__name__}, not a BERT-style encoder (BertModel)")
    tokenizer = pyllm.tokenizers.from_pretrained(args.model)
    embeddings = model.embed(tokenizer, args.sentences, batch_size=args.batch_size, max_length=args.max_length)
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    pooling = f"{model.config.pooling} pooling" + (", L2-normalised" if model.config.normalize else "")
    print(f"embedding dimension: {embeddings.shape[1]} ({pooling})")
    print("cosine similarity:")
    width = args.digits + 4
    print(" " * 4 + "".join(f"{j + 1:>{width}}" for j in range(len(args.sentences))))
    for i, row in enumerate(similarity):
        print(f"{i + 1:>4}" + "".join(f"{value:>{width}.{args.digits}f}" for value in row))
    for i, sentence in enumerate(args.sentences):
        print(f"{i + 1:>4}  {sentence}")
    if args.output:
        with atomic_write(args.output, "wb") as f:
            np.save(f, embeddings)
        print(f"saved {embeddings.shape[0]} x {embeddings.shape[1]} embeddings to {args.output}")
    return 0
