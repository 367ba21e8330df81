"""Reference outputs from Hugging Face `transformers` for ptp's encoder parity tests.

Usage: encoders_reference.py <out_dir> <shared_dir> <minilm_model_dir> [<mpnet_model_dir>]

Writes, under <out_dir>:
  minilm_ref.safetensors   FewGLUE texts tokenized by the model's own tokenizer (padded
                           batches, sentence pairs with token type 1), BertModel's
                           last_hidden_state and pooler_output; plus a deep-prefix case.
  roberta/, albert/        small random RobertaForMaskedLM / AlbertForMaskedLM checkpoints
                           (save_pretrained, safetensors), created here, nothing downloaded.
  roberta_ref.safetensors, albert_ref.safetensors
                           ids, masks, hidden states, pooled output (RoBERTa: from a
                           RobertaModel with pooler built on the same weights), MLM logits and a
                           deep-prefix case.
  mpnet_ref.safetensors    (when <mpnet_model_dir> is given) all-mpnet-base-v2 on every fourth
                           FewGLUE text, tokenized by its own tokenizer: MPNetModel's
                           last_hidden_state (fp32 and float64) and pooler_output; the
                           relative-position buckets of a 300-token grid; a deep-prefix case.
  mpnet/, mpnet_mlm_ref.safetensors
                           a small random MPNetForMaskedLM: hidden states and MLM logits.

Deep prefixes (P-tuning v2): per layer a (key, value) pair [B, heads, psl, head_dim].
BERT and RoBERTa take them the way P-tuning v2 feeds them, as past_key_values (a
DynamicCache filled with the prefixes) plus an attention mask extended with psl ones; the
token positions then start at psl. ALBERT's attention takes no cache in transformers 5, so
its reference is written out by hand below from the HF modules' own weights (same
position shift, passed as position_ids). MPNet takes no past keys either; its reference is
written out the same way, with the choice ptp makes for its relative-position bias: 0 for
every prefix key, the unprefixed bias between tokens.
"""
import json
import math
import os
import sys

import torch
from safetensors.torch import save_file
import transformers
from transformers import (AlbertConfig, AlbertForMaskedLM, AlbertModel, AutoTokenizer, BertModel,
                          DynamicCache, MPNetConfig, MPNetForMaskedLM, MPNetModel, RobertaConfig,
                          RobertaForMaskedLM, RobertaModel)

torch.manual_seed(1234)
torch.set_grad_enabled(False)


def fewglue_texts(shared):
    """(text, optional pair text) from every FewGLUE task's train and dev32 splits."""
    out = []
    root = os.path.join(shared, "data", "fewglue")
    for task in sorted(os.listdir(root)):
        for split in ("train.jsonl", "dev32.jsonl"):
            path = os.path.join(root, task, split)
            if not os.path.exists(path):
                continue
            with open(path) as f:
                for line in f:
                    ex = json.loads(line)
                    passage = ex.get("passage")
                    if isinstance(passage, dict):
                        passage = passage.get("text")
                    if "premise" in ex and "hypothesis" in ex:
                        out.append((ex["premise"], ex["hypothesis"]))
                    elif "premise" in ex and "choice1" in ex:
                        out.append((ex["premise"], ex["choice1"]))
                    elif "question" in ex and passage:
                        out.append((ex["question"], passage))
                    elif "sentence1" in ex:
                        out.append((ex["sentence1"], ex["sentence2"]))
                    elif passage:
                        out.append((passage, None))
                    elif "text" in ex:
                        out.append((ex["text"], None))
    if len(out) < 200:
        raise SystemExit(f"only {len(out)} FewGLUE texts found under {root}")
    return out


def encoded_batches(tok, texts, bs=16):
    """Padded batches of `bs` texts as the model's tokenizer encodes them (pairs when any text
    of the batch has a second part, longest_first to 128 tokens)."""
    for start in range(0, len(texts), bs):
        chunk = texts[start:start + bs]
        firsts = [a for a, _ in chunk]
        seconds = [b if b is not None else "" for _, b in chunk]
        if all(b is None for _, b in chunk):
            yield tok(firsts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        else:
            yield tok(firsts, seconds, padding=True, truncation="longest_first", max_length=128,
                      return_tensors="pt")


def record_batch(tensors, p, enc, model, model64):
    """Batch `enc` under prefix `p`: its inputs, the fp32 hidden states and pooled output, and
    the float64 model's hidden states (the truth both fp32 implementations are measured against)."""
    out = model(**enc)
    for k, v in enc.items():
        tensors[p + k] = v.long()
    tensors[p + "last_hidden_state"] = out.last_hidden_state.contiguous()
    tensors[p + "pooled"] = out.pooler_output.contiguous()
    tensors[p + "last_hidden_state_f64"] = model64(**enc).last_hidden_state.float().contiguous()


def random_prefixes(n_layers, batch, heads, psl, head_dim, gen):
    return [(torch.randn(batch, heads, psl, head_dim, generator=gen) * 0.5,
             torch.randn(batch, heads, psl, head_dim, generator=gen) * 0.5) for _ in range(n_layers)]


def cache_of(prefixes):
    cache = DynamicCache()
    for i, (k, v) in enumerate(prefixes):
        cache.update(k.clone(), v.clone(), i)
    return cache


def add_prefixes(tensors, prefixes):
    for i, (k, v) in enumerate(prefixes):
        tensors[f"prefix.key.{i}"] = k.contiguous()
        tensors[f"prefix.value.{i}"] = v.contiguous()


def minilm(out_dir, shared, model_dir):
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir).eval()
    # the same weights in float64: the "truth" both fp32 implementations are measured against
    model64 = BertModel.from_pretrained(model_dir, dtype=torch.float64).eval()
    texts = fewglue_texts(shared)
    tensors = {}
    nb = 0
    for enc in encoded_batches(tok, texts):
        record_batch(tensors, f"b{nb}.", dict(enc), model, model64)
        nb += 1
    # deep prefixes on the first batch
    cfg = model.config
    gen = torch.Generator().manual_seed(7)
    ids, mask, types = tensors["b0.input_ids"], tensors["b0.attention_mask"], tensors["b0.token_type_ids"]
    psl = 4
    prefixes = random_prefixes(cfg.num_hidden_layers, ids.shape[0], cfg.num_attention_heads, psl,
                               cfg.hidden_size // cfg.num_attention_heads, gen)
    full = torch.cat([torch.ones(ids.shape[0], psl, dtype=torch.long), mask], 1)
    out = model(input_ids=ids, attention_mask=full, token_type_ids=types, past_key_values=cache_of(prefixes))
    add_prefixes(tensors, prefixes)
    tensors["prefix.last_hidden_state"] = out.last_hidden_state.contiguous()
    tensors["prefix.pooled"] = out.pooler_output.contiguous()
    tensors["num_batches"] = torch.tensor([nb], dtype=torch.long)
    save_file(tensors, os.path.join(out_dir, "minilm_ref.safetensors"))
    print(f"minilm: {nb} batches, {len(texts)} texts")


def random_batch(vocab, pad, batch, length, gen, special_low=5):
    ids = torch.randint(special_low, vocab, (batch, length), generator=gen)
    mask = torch.ones(batch, length, dtype=torch.long)
    lengths = [length] + [int(x) for x in torch.randint(2, length + 1, (batch - 1,), generator=gen)]
    lengths[-1] = 1  # an example with a single real token
    for i, n in enumerate(lengths):
        mask[i, n:] = 0
        ids[i, n:] = pad
    return ids, mask


def roberta(out_dir):
    cfg = RobertaConfig(vocab_size=320, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                        intermediate_size=96, max_position_embeddings=72, type_vocab_size=1,
                        pad_token_id=1, bos_token_id=0, eos_token_id=2, hidden_act="gelu",
                        layer_norm_eps=1e-5)
    mlm = RobertaForMaskedLM(cfg).eval()
    with torch.no_grad():  # non-trivial LayerNorms and biases everywhere
        for name, p in mlm.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name or name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.1)
    d = os.path.join(out_dir, "roberta")
    mlm.save_pretrained(d, safe_serialization=True)
    # a base model with pooler on the same weights (the MLM checkpoint has no pooler: the
    # pooler is random here, saved in the reference file and injected by the C++ test)
    base = RobertaModel(cfg, add_pooling_layer=True).eval()
    base.load_state_dict(mlm.roberta.state_dict(), strict=False)
    gen = torch.Generator().manual_seed(11)
    ids, mask = random_batch(cfg.vocab_size, cfg.pad_token_id, 5, 17, gen)
    out = base(input_ids=ids, attention_mask=mask)
    logits = mlm(input_ids=ids, attention_mask=mask).logits
    t = {"input_ids": ids, "attention_mask": mask, "last_hidden_state": out.last_hidden_state.contiguous(),
         "pooled": out.pooler_output.contiguous(), "mlm_logits": logits.contiguous(),
         "pooler.weight": base.pooler.dense.weight.detach().clone(),
         "pooler.bias": base.pooler.dense.bias.detach().clone()}
    psl = 3
    prefixes = random_prefixes(cfg.num_hidden_layers, ids.shape[0], cfg.num_attention_heads, psl,
                               cfg.hidden_size // cfg.num_attention_heads, gen)
    full = torch.cat([torch.ones(ids.shape[0], psl, dtype=torch.long), mask], 1)
    pout = base(input_ids=ids, attention_mask=full, past_key_values=cache_of(prefixes))
    add_prefixes(t, prefixes)
    t["prefix.last_hidden_state"] = pout.last_hidden_state.contiguous()
    t["prefix.pooled"] = pout.pooler_output.contiguous()
    save_file(t, os.path.join(out_dir, "roberta_ref.safetensors"))
    print("roberta: reference written")


def albert_prefix_reference(model, ids, mask, prefixes):
    """ALBERT with per-layer key/value prefixes, written out from the HF modules' weights."""
    cfg = model.config
    b, l = ids.shape
    psl = prefixes[0][0].shape[2]
    pos = torch.arange(psl, psl + l).unsqueeze(0).expand(b, l)
    x = model.embeddings(input_ids=ids, position_ids=pos)
    x = model.encoder.embedding_hidden_mapping_in(x)
    keep = torch.cat([torch.ones(b, psl, dtype=torch.bool), mask.bool()], 1)
    bias = torch.zeros(b, 1, 1, psl + l).masked_fill(~keep[:, None, None, :], torch.finfo(torch.float32).min)
    heads, hd = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    per_group = cfg.num_hidden_layers // cfg.num_hidden_groups
    applied = 0
    for i in range(cfg.num_hidden_layers):
        group = model.encoder.albert_layer_groups[i // per_group]
        for layer in group.albert_layers:
            att = layer.attention
            split = lambda t: t.view(b, -1, heads, hd).transpose(1, 2)
            q, k, v = split(att.query(x)), split(att.key(x)), split(att.value(x))
            pk, pv = prefixes[applied]
            k, v = torch.cat([pk, k], 2), torch.cat([pv, v], 2)
            scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + bias
            ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, l, -1)
            a = att.LayerNorm(x + att.dense(ctx))
            f = layer.ffn_output(layer.activation(layer.ffn(a)))
            x = layer.full_layer_layer_norm(f + a)
            applied += 1
    pooled = torch.tanh(model.pooler(x[:, 0]))
    return x, pooled


def albert(out_dir):
    cfg = AlbertConfig(vocab_size=300, embedding_size=32, hidden_size=64, num_hidden_layers=4,
                       num_hidden_groups=2, inner_group_num=1, num_attention_heads=4,
                       intermediate_size=80, max_position_embeddings=64, type_vocab_size=2,
                       hidden_act="gelu_new", pad_token_id=0, hidden_dropout_prob=0.1,
                       attention_probs_dropout_prob=0.1)
    mlm = AlbertForMaskedLM(cfg).eval()
    with torch.no_grad():
        for name, p in mlm.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name or name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.1)
    d = os.path.join(out_dir, "albert")
    mlm.save_pretrained(d, safe_serialization=True)
    base = AlbertModel(cfg, add_pooling_layer=True).eval()
    base.load_state_dict(mlm.albert.state_dict(), strict=False)
    gen = torch.Generator().manual_seed(13)
    ids, mask = random_batch(cfg.vocab_size, cfg.pad_token_id, 4, 15, gen)
    types = (torch.arange(15) >= 8).long().unsqueeze(0).expand(4, 15).contiguous() * mask
    out = base(input_ids=ids, attention_mask=mask, token_type_ids=types)
    logits = mlm(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    t = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
         "last_hidden_state": out.last_hidden_state.contiguous(), "pooled": out.pooler_output.contiguous(),
         "mlm_logits": logits.contiguous(),
         "pooler.weight": base.pooler.weight.detach().clone(), "pooler.bias": base.pooler.bias.detach().clone()}
    psl = 5
    prefixes = random_prefixes(cfg.num_hidden_layers * cfg.inner_group_num, ids.shape[0],
                               cfg.num_attention_heads, psl, cfg.hidden_size // cfg.num_attention_heads, gen)
    # no token types in the prefix case (all zeros), as the C++ side passes none
    px, pp = albert_prefix_reference(base, ids, mask, prefixes)
    add_prefixes(t, prefixes)
    t["prefix.last_hidden_state"] = px.contiguous()
    t["prefix.pooled"] = pp.contiguous()
    save_file(t, os.path.join(out_dir, "albert_ref.safetensors"))
    print("albert: reference written")


def mpnet_prefix_reference(model, ids, mask, prefixes):
    """MPNet with per-layer key/value prefixes, written out from the HF modules' weights:
    positions shifted by psl as for RoBERTa, prefix keys without position bias (ptp's choice)."""
    cfg = model.config
    b, l = ids.shape
    psl = prefixes[0][0].shape[2]
    pos = (torch.cumsum(mask, 1) + psl) * mask + cfg.pad_token_id
    x = model.embeddings(input_ids=ids, position_ids=pos)
    keep = torch.cat([torch.ones(b, psl, dtype=torch.bool), mask.bool()], 1)
    bias = torch.zeros(b, 1, 1, psl + l).masked_fill(~keep[:, None, None, :], torch.finfo(torch.float32).min)
    position = model.encoder.compute_position_bias(x)  # [b, heads, l, l]
    bias = bias + torch.cat([torch.zeros(b, cfg.num_attention_heads, l, psl), position], 3)
    heads, hd = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    for layer, (pk, pv) in zip(model.encoder.layer, prefixes):
        att = layer.attention.attn
        split = lambda t: t.view(b, -1, heads, hd).transpose(1, 2)
        q, k, v = split(att.q(x)), split(att.k(x)), split(att.v(x))
        k, v = torch.cat([pk, k], 2), torch.cat([pv, v], 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + bias
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, l, -1)
        a = layer.attention.LayerNorm(att.o(ctx) + x)
        x = layer.output(layer.intermediate(a), a)
    return x, model.pooler(x)


def mpnet(out_dir, shared, model_dir):
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = MPNetModel.from_pretrained(model_dir).eval()
    model64 = MPNetModel.from_pretrained(model_dir, dtype=torch.float64).eval()
    texts = fewglue_texts(shared)[::4]  # every task, a quarter of the texts: 12 layers cost
    tensors = {}
    nb = 0
    for enc in encoded_batches(tok, texts):
        enc = {k: enc[k] for k in ("input_ids", "attention_mask")}  # MPNet has no token types
        record_batch(tensors, f"b{nb}.", enc, model, model64)
        nb += 1
    grid = torch.arange(300)
    tensors["buckets"] = model.encoder.relative_position_bucket(grid[None, :] - grid[:, None]).contiguous()
    cfg = model.config
    gen = torch.Generator().manual_seed(17)
    ids, mask = tensors["b0.input_ids"], tensors["b0.attention_mask"]
    prefixes = random_prefixes(cfg.num_hidden_layers, ids.shape[0], cfg.num_attention_heads, 4,
                               cfg.hidden_size // cfg.num_attention_heads, gen)
    px, pp = mpnet_prefix_reference(model, ids, mask, prefixes)
    add_prefixes(tensors, prefixes)
    tensors["prefix.last_hidden_state"] = px.contiguous()
    tensors["prefix.pooled"] = pp.contiguous()
    tensors["num_batches"] = torch.tensor([nb], dtype=torch.long)
    save_file(tensors, os.path.join(out_dir, "mpnet_ref.safetensors"))
    print(f"mpnet: {nb} batches, {len(texts)} texts")


def mpnet_mlm(out_dir):
    cfg = MPNetConfig(vocab_size=300, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                      intermediate_size=96, max_position_embeddings=80, layer_norm_eps=1e-5)
    mlm = MPNetForMaskedLM(cfg).eval()
    with torch.no_grad():  # non-trivial LayerNorms, biases and position bias
        for name, p in mlm.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name or name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.1)
    mlm.save_pretrained(os.path.join(out_dir, "mpnet"), safe_serialization=True)
    gen = torch.Generator().manual_seed(19)
    ids, mask = random_batch(cfg.vocab_size, cfg.pad_token_id, 5, 70, gen)  # distances past 16, 32, 64
    out = mlm(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    t = {"input_ids": ids, "attention_mask": mask, "last_hidden_state": out.hidden_states[-1].contiguous(),
         "mlm_logits": out.logits.contiguous()}
    save_file(t, os.path.join(out_dir, "mpnet_mlm_ref.safetensors"))
    print("mpnet (random MLM): reference written")


def main():
    out_dir, shared, model_dir = sys.argv[1:4]
    os.makedirs(out_dir, exist_ok=True)
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    minilm(out_dir, shared, model_dir)
    roberta(out_dir)
    albert(out_dir)
    mpnet_mlm(out_dir)
    if len(sys.argv) > 4 and sys.argv[4]:
        mpnet(out_dir, shared, sys.argv[4])


if __name__ == "__main__":
    main()
