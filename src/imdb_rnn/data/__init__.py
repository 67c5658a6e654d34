"""From the IMDB archive to encoded splits and word vectors: stages ``download``, ``prepare``, ``embed``.

Read in this order:

- ``download``: fetch the archive (URL or local path) and check its sha256 (stage ``download``);
- ``archive``: read the reviews straight out of the tar.gz, nothing extracted;
- ``vocab``: the tokenizer and the vocabulary (25,000 training tokens + ``<unk>``, ``<pad>``);
- ``dataset``: the on-disk form of an encoded split (``train.npz`` …);
- ``prepare``: split 70/30, tokenize, build the vocabulary, encode (stage ``prepare``);
- ``embeddings``: the embedding's starting point, word2vec learned in-domain (stage ``embed``).
"""
