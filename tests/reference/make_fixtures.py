#!/usr/bin/python3
"""Writes glassbox's golden fixtures: tests/golden/fixtures/<case>/.

Run with Debian's python (it has torch + numpy):

    /usr/bin/python3 tests/reference/make_fixtures.py [--out DIR] [--only CASE,CASE]

Deterministic: every case draws its weights and tokens from its own fixed
seed, so re-running rewrites byte-identical files. See README.md.
"""
import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import formats as F  # noqa: E402
import reference_model as R  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "tests", "golden", "fixtures")
B = 2
PAD = 3  # masked positions in the padded row


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------


class Init:
    """Deterministic float32 weight initialiser (one PCG64 stream per case)."""

    def __init__(self, seed):
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def normal(self, shape, std):
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def linear(self, out_f, in_f, gain=1.0):  # nn.Linear layout [out, in]
        return self.normal((out_f, in_f), gain / math.sqrt(in_f))

    def bias(self, n, std=0.1):
        return self.normal((n,), std)

    def ln_w(self, n):
        return (1.0 + self.normal((n,), 0.1)).astype(np.float32)

    def tokens(self, T, V):
        return self.rng.integers(1, V, size=(B, T)).astype(np.int64)


def right_padded(tok):
    tok = tok.copy()
    T = tok.shape[1]
    mask = np.ones_like(tok)
    mask[1, T - PAD:] = 0
    tok[1, T - PAD:] = 0
    return tok, mask


def left_padded(tok):
    """Row 0 full; row 1 = row 0's first T-PAD tokens, left-padded by PAD."""
    T = tok.shape[1]
    out = np.zeros_like(tok)
    out[0] = tok[0]
    out[1, PAD:] = tok[0, :T - PAD]
    mask = np.ones_like(tok)
    mask[1, :PAD] = 0
    return out, mask


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=R.DT)


def f32(t):
    return t.detach().to(torch.float32).contiguous().numpy()


# Hook subsets for the secondary files (keeps all fixtures together under 3 MB).
LEFTPAD_HOOKS = ("hook_embed", "hook_pos_embed", "attn.hook_rot_q", "attn.hook_rot_k", "attn.hook_attn_scores",
                 "attn.hook_pattern", "attn.hook_z", "hook_resid_post")
GGUF_HOOKS = ("attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_rot_q", "attn.hook_rot_k",
              "attn.hook_pattern", "hook_resid_post")


def hook_names_to_save(cfg, only=None):
    """Hooks of layer 0 and the last layer (+ the non-block hooks); `only`: suffixes to keep."""
    L = cfg["n_layers"]

    def keep(n):
        if n.startswith("blocks.") and not (n.startswith("blocks.0.") or n.startswith(f"blocks.{L - 1}.")):
            return False
        return only is None or n.endswith(only)
    return keep


def run_reference(cfg, canon_fn, S_np, tok, mask, left, grads=False, grad_hooks=(), only=None):
    """Forward (and optionally backward) in float64. Returns dict of arrays for expected.safetensors."""
    S = {k: t64(v).requires_grad_(grads) for k, v in S_np.items()}
    W = canon_fn(cfg, S)
    tokens = torch.tensor(tok, dtype=torch.long)
    am = torch.tensor(mask, dtype=torch.long)
    pos = R.hf_position_ids(am, left)
    logits, cache = R.forward(cfg, W, tokens, am, pos)
    out = {
        "tokens": tok.astype(np.int32),
        "attention_mask": mask.astype(np.int32),
        "position_ids": pos.numpy().astype(np.int32),
        "logits": f32(logits),
    }
    keep = hook_names_to_save(cfg, only)
    for name, t in cache.items():
        if keep(name):
            out[name] = f32(t)
    if grads:
        for h in grad_hooks:
            cache[h].retain_grad()
        loss = R.next_token_loss(logits, tokens, am)
        loss.backward()
        out["loss"] = np.array([loss.item()], dtype=np.float32)
        for h in grad_hooks:
            out["grad." + h] = f32(cache[h].grad)
        for k, v in S.items():
            out["grad." + k] = f32(v.grad)
    return out, logits.detach(), cache


def sanity(case, cfg, canon_fn, S_np, exp, logits, cache, left):
    """Checks every case must pass; prints one summary line."""
    mask = exp["attention_mask"]
    # 1. patterns: rows with a visible key sum to 1, masked keys get exactly 0
    worst = 0.0
    for l in range(cfg["n_layers"]):
        pat = cache[f"blocks.{l}.attn.hook_pattern"]
        T = pat.shape[-1]
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
        allowed = causal[None, None] & torch.tensor(mask, dtype=torch.bool)[:, None, None, :]
        allowed = allowed.expand(pat.shape)
        has_key = allowed.any(-1)
        s = pat.sum(-1)
        worst = max(worst, (s - 1).abs()[has_key].max().item())
        assert (pat[~allowed] == 0).all(), case
        assert torch.isfinite(pat).all(), case
    assert worst < 1e-12, (case, worst)
    assert torch.isfinite(logits).all(), case
    # 2. padding invariance: the padded row equals an unpadded run of its real tokens
    tok = exp["tokens"].astype(np.int64)
    row = tok[1][mask[1] == 1][None]
    W = canon_fn(cfg, {k: t64(v) for k, v in S_np.items()})
    one = torch.ones(row.shape, dtype=torch.long)
    lg1, _ = R.forward(cfg, W, torch.tensor(row), one, R.hf_position_ids(one, False))
    pad_err = (lg1[0] - logits[1][torch.tensor(mask[1] == 1)]).abs().max().item()
    assert pad_err < 1e-10, (case, pad_err)
    print(f"  {case:<22} max|logit| {logits.abs().max().item():8.4f}  "
          f"pattern row-sum err {worst:.1e}  pad-invariance err {pad_err:.1e}"
          f"{'  (left-padded)' if left else ''}")


def write_expected(path, tensors):
    F.write_safetensors(path, tensors, metadata={"generator": "tests/reference/make_fixtures.py",
                                                 "semantics": "TransformerLens hook names, batch dim first"})


def read_back(paths):
    """Reads the checkpoint files just written (round trip through our own reader)."""
    S = {}
    for p in paths:
        t, _ = F.read_safetensors(p)
        S.update(t)
    return S


def stored(arrays, dtype):
    return {k: (v if isinstance(v, F.Stored) else F.Stored(v, dtype)) for k, v in arrays.items()}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def fresh_dir(root, case):
    d = os.path.join(root, case)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d


def weights_only(S, buffers):
    return {k: v for k, v in S.items() if k not in buffers}


# ----------------------------------------------------------------------------
# weights per family (float32 numpy, HF names & layouts)
# ----------------------------------------------------------------------------


def gpt2_weights(ini, c):
    d, V, L, n_ctx, dm = c["n_embd"], c["vocab_size"], c["n_layer"], c["n_positions"], 4 * c["n_embd"]
    S = {"transformer.wte.weight": ini.normal((V, d), 0.5), "transformer.wpe.weight": ini.normal((n_ctx, d), 0.3)}
    buffers = set()
    for l in range(L):
        h = f"transformer.h.{l}"
        S[h + ".ln_1.weight"], S[h + ".ln_1.bias"] = ini.ln_w(d), ini.bias(d)
        S[h + ".attn.bias"] = np.tril(np.ones((n_ctx, n_ctx), np.float32))[None, None]  # buffer, ignored
        S[h + ".attn.masked_bias"] = np.array(-1e4, dtype=np.float32)  # 0-dim buffer, ignored
        buffers |= {h + ".attn.bias", h + ".attn.masked_bias"}
        S[h + ".attn.c_attn.weight"] = ini.linear(3 * d, d).T.copy()  # Conv1D: [in, out]
        S[h + ".attn.c_attn.bias"] = ini.bias(3 * d)
        S[h + ".attn.c_proj.weight"] = ini.linear(d, d).T.copy()
        S[h + ".attn.c_proj.bias"] = ini.bias(d)
        S[h + ".ln_2.weight"], S[h + ".ln_2.bias"] = ini.ln_w(d), ini.bias(d)
        S[h + ".mlp.c_fc.weight"] = ini.linear(dm, d).T.copy()
        S[h + ".mlp.c_fc.bias"] = ini.bias(dm)
        S[h + ".mlp.c_proj.weight"] = ini.linear(d, dm).T.copy()
        S[h + ".mlp.c_proj.bias"] = ini.bias(d)
    S["transformer.ln_f.weight"], S["transformer.ln_f.bias"] = ini.ln_w(d), ini.bias(d)
    return S, buffers


def neox_weights(ini, c, with_buffers):
    d, V, L, dm = c["hidden_size"], c["vocab_size"], c["num_hidden_layers"], c["intermediate_size"]
    H = c["num_attention_heads"]
    rd = int(d // H * c["rotary_pct"])
    mp = c["max_position_embeddings"]
    S = {"gpt_neox.embed_in.weight": ini.normal((V, d), 1.0)}
    buffers = set()
    for l in range(L):
        h = f"gpt_neox.layers.{l}"
        S[h + ".input_layernorm.weight"], S[h + ".input_layernorm.bias"] = ini.ln_w(d), ini.bias(d)
        S[h + ".post_attention_layernorm.weight"], S[h + ".post_attention_layernorm.bias"] = ini.ln_w(d), ini.bias(d)
        if with_buffers:  # as in real Pythia files; the loader must ignore them
            S[h + ".attention.bias"] = F.Stored(np.tril(np.ones((mp, mp), bool))[None, None], "BOOL")
            S[h + ".attention.masked_bias"] = F.Stored(np.array(-1e9, np.float32), "F32")
            inv = 1.0 / (c["rotary_emb_base"] ** (np.arange(0, rd, 2) / rd))
            S[h + ".attention.rotary_emb.inv_freq"] = F.Stored(inv.astype(np.float32), "F32")
            buffers |= {h + ".attention.bias", h + ".attention.masked_bias", h + ".attention.rotary_emb.inv_freq"}
        S[h + ".attention.query_key_value.weight"] = ini.linear(3 * d, d)  # rows: [head][q,k,v][d_head]
        S[h + ".attention.query_key_value.bias"] = ini.bias(3 * d)
        S[h + ".attention.dense.weight"] = ini.linear(d, d)
        S[h + ".attention.dense.bias"] = ini.bias(d)
        S[h + ".mlp.dense_h_to_4h.weight"] = ini.linear(dm, d)
        S[h + ".mlp.dense_h_to_4h.bias"] = ini.bias(dm)
        S[h + ".mlp.dense_4h_to_h.weight"] = ini.linear(d, dm)
        S[h + ".mlp.dense_4h_to_h.bias"] = ini.bias(d)
    S["gpt_neox.final_layer_norm.weight"], S["gpt_neox.final_layer_norm.bias"] = ini.ln_w(d), ini.bias(d)
    S["embed_out.weight"] = ini.linear(V, d)
    return S, buffers


def llama_weights(ini, c, qkv_bias=False, inv_freq_buffer=False):
    d, V, L, dm = c["hidden_size"], c["vocab_size"], c["num_hidden_layers"], c["intermediate_size"]
    H, Hkv = c["num_attention_heads"], c["num_key_value_heads"]
    dh = d // H
    S = {"model.embed_tokens.weight": ini.normal((V, d), 0.3 if c["tie_word_embeddings"] else 1.0)}
    buffers = set()
    for l in range(L):
        h = f"model.layers.{l}"
        S[h + ".input_layernorm.weight"] = ini.ln_w(d)
        S[h + ".self_attn.q_proj.weight"] = ini.linear(H * dh, d)
        S[h + ".self_attn.k_proj.weight"] = ini.linear(Hkv * dh, d)
        S[h + ".self_attn.v_proj.weight"] = ini.linear(Hkv * dh, d)
        if qkv_bias:
            S[h + ".self_attn.q_proj.bias"] = ini.bias(H * dh, 0.3)
            S[h + ".self_attn.k_proj.bias"] = ini.bias(Hkv * dh, 0.3)
            S[h + ".self_attn.v_proj.bias"] = ini.bias(Hkv * dh, 0.3)
        S[h + ".self_attn.o_proj.weight"] = ini.linear(d, H * dh)
        if inv_freq_buffer:  # Llama-2-era HF files carry this buffer; the loader must ignore it
            inv = 1.0 / (c["rope_theta"] ** (np.arange(0, dh, 2) / dh))
            S[h + ".self_attn.rotary_emb.inv_freq"] = F.Stored(inv.astype(np.float32), "F32")
            buffers.add(h + ".self_attn.rotary_emb.inv_freq")
        S[h + ".post_attention_layernorm.weight"] = ini.ln_w(d)
        S[h + ".mlp.gate_proj.weight"] = ini.linear(dm, d)
        S[h + ".mlp.up_proj.weight"] = ini.linear(dm, d)
        S[h + ".mlp.down_proj.weight"] = ini.linear(d, dm)
    S["model.norm.weight"] = ini.ln_w(d)
    if not c["tie_word_embeddings"]:
        S["lm_head.weight"] = ini.linear(V, d)
    return S, buffers


# ----------------------------------------------------------------------------
# configs
# ----------------------------------------------------------------------------


def gpt2_hf_config():
    return {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "vocab_size": 211, "n_positions": 32, "n_ctx": 32, "n_embd": 32, "n_layer": 2, "n_head": 4,
        "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
        "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1, "initializer_range": 0.02,
        "scale_attn_weights": True, "use_cache": True, "bos_token_id": 1, "eos_token_id": 1,
        "torch_dtype": "float32", "transformers_version": "4.44.2",
    }


def gpt2_cfg(c):
    d, H = c["n_embd"], c["n_head"]
    return dict(d_model=d, n_layers=c["n_layer"], n_heads=H, n_kv_heads=H, d_head=d // H,
                d_mlp=c["n_inner"] or 4 * d, d_vocab=c["vocab_size"], norm="LN", eps=c["layer_norm_epsilon"],
                pos="standard", parallel_residual=False, gated_mlp=False, act=c["activation_function"])


def neox_hf_config(parallel):
    if parallel:
        c = {"vocab_size": 150, "hidden_size": 32, "num_attention_heads": 2, "num_hidden_layers": 2,
             "intermediate_size": 128, "rotary_pct": 0.25, "max_position_embeddings": 64, "torch_dtype": "float16"}
    else:
        c = {"vocab_size": 97, "hidden_size": 24, "num_attention_heads": 3, "num_hidden_layers": 2,
             "intermediate_size": 96, "rotary_pct": 0.5, "max_position_embeddings": 32, "torch_dtype": "float32"}
    return {
        "architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", **c,
        "rotary_emb_base": 10000, "layer_norm_eps": 1e-5, "use_parallel_residual": parallel,
        "hidden_act": "gelu", "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 0,
        "initializer_range": 0.02, "attention_dropout": 0.0, "hidden_dropout": 0.0,
        "classifier_dropout": 0.1, "use_cache": True, "rope_scaling": None, "attention_bias": True,
        "transformers_version": "4.44.2",
    }


def neox_cfg(c):
    d, H = c["hidden_size"], c["num_attention_heads"]
    return dict(d_model=d, n_layers=c["num_hidden_layers"], n_heads=H, n_kv_heads=H, d_head=d // H,
                d_mlp=c["intermediate_size"], d_vocab=c["vocab_size"], norm="LN", eps=c["layer_norm_eps"],
                pos="rotary", rotary_dim=int(d // H * c["rotary_pct"]), rope_base=float(c["rotary_emb_base"]),
                rotary_style="half", parallel_residual=c["use_parallel_residual"], gated_mlp=False,
                act=c["hidden_act"])


def llama_hf_config(kind):
    common = {"hidden_act": "silu", "attention_bias": False, "attention_dropout": 0.0, "initializer_range": 0.02,
              "rope_scaling": None, "use_cache": True, "bos_token_id": 1, "eos_token_id": 2,
              "transformers_version": "4.44.2"}
    if kind == "llama":
        return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **common,
                "vocab_size": 128, "hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
                "num_key_value_heads": 2, "num_hidden_layers": 2, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
                "max_position_embeddings": 64, "tie_word_embeddings": False, "mlp_bias": False,
                "pretraining_tp": 1, "torch_dtype": "float32"}
    if kind == "llama-tied":
        return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **common,
                "vocab_size": 120, "hidden_size": 32, "intermediate_size": 80, "num_attention_heads": 4,
                "num_key_value_heads": 4, "num_hidden_layers": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
                "max_position_embeddings": 32, "tie_word_embeddings": True, "mlp_bias": False,
                "pretraining_tp": 1, "torch_dtype": "bfloat16"}
    if kind == "qwen2":
        c = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", **common,
             "vocab_size": 140, "hidden_size": 32, "intermediate_size": 96, "num_attention_heads": 4,
             "num_key_value_heads": 2, "num_hidden_layers": 2, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
             "max_position_embeddings": 64, "tie_word_embeddings": False, "use_sliding_window": False,
             "sliding_window": 64, "max_window_layers": 2, "torch_dtype": "bfloat16"}
        del c["attention_bias"]  # Qwen2 configs don't carry it; q/k/v biases are implied by the family
        return c
    if kind == "llama3":  # Llama-3.1's rope scaling, shrunk so every regime is hit at T = 8
        return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **common,
                "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 32, "rope_type": "llama3"},
                "vocab_size": 128, "hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
                "num_key_value_heads": 2, "num_hidden_layers": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                "max_position_embeddings": 256, "tie_word_embeddings": False, "mlp_bias": False,
                "pretraining_tp": 1, "torch_dtype": "float32"}
    if kind == "phi3":  # Phi-3-mini's fields, small; its 4k config names a sliding window
        return {"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", **common,
                "vocab_size": 136, "hidden_size": 48, "intermediate_size": 64, "num_attention_heads": 4,
                "num_key_value_heads": 2, "num_hidden_layers": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                "max_position_embeddings": 64, "original_max_position_embeddings": 64, "sliding_window": 47,
                "tie_word_embeddings": False, "embd_pdrop": 0.0, "resid_pdrop": 0.0, "torch_dtype": "float32"}
    raise ValueError(kind)


def llama_cfg(c):
    d, H = c["hidden_size"], c["num_attention_heads"]
    return dict(d_model=d, n_layers=c["num_hidden_layers"], n_heads=H, n_kv_heads=c["num_key_value_heads"],
                d_head=d // H, d_mlp=c["intermediate_size"], d_vocab=c["vocab_size"], norm="RMS",
                eps=c["rms_norm_eps"], pos="rotary", rotary_dim=d // H, rope_base=float(c["rope_theta"]),
                rotary_style="half", parallel_residual=False, gated_mlp=True, act=c["hidden_act"],
                rope_scaling=c.get("rope_scaling"))


# ----------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------

SUMMARY = {}


def case_gpt2(root):
    d = fresh_dir(root, "gpt2")
    c = gpt2_hf_config()
    ini = Init(1001)
    S, buffers = gpt2_weights(ini, c)
    T = 8
    tok = ini.tokens(T, c["vocab_size"])
    F.write_safetensors(os.path.join(d, "model.safetensors"), stored(S, "F32"), {"format": "pt"})
    write_json(os.path.join(d, "config.json"), c)
    cfg = gpt2_cfg(c)
    Sr = weights_only(read_back([os.path.join(d, "model.safetensors")]), buffers)
    tr, mr = right_padded(tok)
    exp, lg, cache = run_reference(cfg, R.canon_gpt2, Sr, tr, mr, False, grads=True,
                                   grad_hooks=("blocks.0.hook_resid_post", "blocks.1.attn.hook_pattern"))
    sanity("gpt2", cfg, R.canon_gpt2, Sr, exp, lg, cache, False)
    write_expected(os.path.join(d, "expected.safetensors"), exp)
    tl, ml = left_padded(tok)
    expl, lgl, cachel = run_reference(cfg, R.canon_gpt2, Sr, tl, ml, True, only=LEFTPAD_HOOKS)
    sanity("gpt2 (left pad)", cfg, R.canon_gpt2, Sr, expl, lgl, cachel, True)
    write_expected(os.path.join(d, "expected_leftpad.safetensors"), expl)
    return S, buffers, c, tok


def case_neox(root, name, parallel, seed, T):
    d = fresh_dir(root, name)
    c = neox_hf_config(parallel)
    ini = Init(seed)
    S, buffers = neox_weights(ini, c, with_buffers=parallel)
    tok = ini.tokens(T, c["vocab_size"])
    dtype = "F16" if c["torch_dtype"] == "float16" else "F32"
    F.write_safetensors(os.path.join(d, "model.safetensors"), stored(S, dtype), {"format": "pt"})
    write_json(os.path.join(d, "config.json"), c)
    cfg = neox_cfg(c)
    Sr = weights_only(read_back([os.path.join(d, "model.safetensors")]), buffers)
    tr, mr = right_padded(tok)
    exp, lg, cache = run_reference(cfg, R.canon_neox, Sr, tr, mr, False)
    sanity(name, cfg, R.canon_neox, Sr, exp, lg, cache, False)
    write_expected(os.path.join(d, "expected.safetensors"), exp)


def case_llama(root):
    d = fresh_dir(root, "llama")
    c = llama_hf_config("llama")
    ini = Init(3003)
    S, _ = llama_weights(ini, c)
    T = 8
    tok = ini.tokens(T, c["vocab_size"])
    # sharded: embeddings + layer 0 in shard 1, layer 1 + norm + lm_head in shard 2
    shard1 = {k: v for k, v in S.items() if k.startswith("model.embed_tokens") or k.startswith("model.layers.0.")}
    shard2 = {k: v for k, v in S.items() if k not in shard1}
    files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    for fn, part in zip(files, (shard1, shard2)):
        F.write_safetensors(os.path.join(d, fn), stored(part, "F32"), {"format": "pt"})
    total = sum(v.nbytes for v in S.values())
    weight_map = {k: files[0] if k in shard1 else files[1] for k in sorted(S)}
    write_json(os.path.join(d, "model.safetensors.index.json"), {"metadata": {"total_size": total}, "weight_map": weight_map})
    write_json(os.path.join(d, "config.json"), c)
    cfg = llama_cfg(c)
    Sr = read_back([os.path.join(d, f) for f in files])
    tr, mr = right_padded(tok)
    exp, lg, cache = run_reference(cfg, R.canon_llama, Sr, tr, mr, False, grads=True,
                                   grad_hooks=("blocks.0.hook_resid_post", "blocks.1.attn.hook_pattern"))
    sanity("llama", cfg, R.canon_llama, Sr, exp, lg, cache, False)
    write_expected(os.path.join(d, "expected.safetensors"), exp)
    tl, ml = left_padded(tok)
    expl, lgl, cachel = run_reference(cfg, R.canon_llama, Sr, tl, ml, True, only=LEFTPAD_HOOKS)
    sanity("llama (left pad)", cfg, R.canon_llama, Sr, expl, lgl, cachel, True)
    write_expected(os.path.join(d, "expected_leftpad.safetensors"), expl)
    return S, c, tok


def case_llama_like(root, name, seed, T):
    d = fresh_dir(root, name)
    c = llama_hf_config(name)
    ini = Init(seed)
    S, buffers = llama_weights(ini, c, qkv_bias=(name == "qwen2"), inv_freq_buffer=(name == "llama-tied"))
    tok = ini.tokens(T, c["vocab_size"])
    F.write_safetensors(os.path.join(d, "model.safetensors"), stored(S, "BF16"), {"format": "pt"})
    write_json(os.path.join(d, "config.json"), c)
    cfg = llama_cfg(c)
    Sr = weights_only(read_back([os.path.join(d, "model.safetensors")]), buffers)
    tr, mr = right_padded(tok)
    exp, lg, cache = run_reference(cfg, R.canon_llama, Sr, tr, mr, False)
    sanity(name, cfg, R.canon_llama, Sr, exp, lg, cache, False)
    write_expected(os.path.join(d, "expected.safetensors"), exp)


def fuse_phi3(S, L):
    """Phi-3's on-disk layout from Llama-layout weights: q|k|v rows -> qkv_proj, gate|up rows -> gate_up_proj."""
    out = {}
    for k, v in S.items():
        if ".self_attn.k_proj." in k or ".self_attn.v_proj." in k or ".mlp.up_proj." in k:
            continue
        if ".self_attn.q_proj." in k:
            out[k.replace("q_proj", "qkv_proj")] = np.concatenate(
                [v, S[k.replace("q_proj", "k_proj")], S[k.replace("q_proj", "v_proj")]], axis=0)
        elif ".mlp.gate_proj." in k:
            out[k.replace("gate_proj", "gate_up_proj")] = np.concatenate([v, S[k.replace("gate_proj", "up_proj")]], axis=0)
        else:
            out[k] = v
    return out


def canon_phi3(cfg, S):
    """Splits Phi-3's fused matrices as Phi3Attention / Phi3MLP do, then maps like Llama."""
    H, Hkv, dh, m = cfg["n_heads"], cfg["n_kv_heads"], cfg["d_head"], cfg["d_mlp"]
    split = dict(S)
    for l in range(cfg["n_layers"]):
        h = f"model.layers.{l}"
        qkv = split.pop(h + ".self_attn.qkv_proj.weight")
        split[h + ".self_attn.q_proj.weight"] = qkv[:H * dh]
        split[h + ".self_attn.k_proj.weight"] = qkv[H * dh:(H + Hkv) * dh]
        split[h + ".self_attn.v_proj.weight"] = qkv[(H + Hkv) * dh:]
        gate, up = split.pop(h + ".mlp.gate_up_proj.weight").chunk(2, dim=0)
        split[h + ".mlp.gate_proj.weight"], split[h + ".mlp.up_proj.weight"] = gate, up
    assert up.shape[0] == m
    return R.canon_llama(cfg, split)


def case_phi3(root):
    d = fresh_dir(root, "phi3")
    c = llama_hf_config("phi3")
    ini = Init(6006)
    S, _ = llama_weights(ini, c)
    S = fuse_phi3(S, c["num_hidden_layers"])
    T = 8
    tok = ini.tokens(T, c["vocab_size"])
    F.write_safetensors(os.path.join(d, "model.safetensors"), stored(S, "F32"), {"format": "pt"})
    write_json(os.path.join(d, "config.json"), c)
    cfg = llama_cfg(c)
    Sr = read_back([os.path.join(d, "model.safetensors")])
    tr, mr = right_padded(tok)
    exp, lg, cache = run_reference(cfg, canon_phi3, Sr, tr, mr, False)
    sanity("phi3", cfg, canon_phi3, Sr, exp, lg, cache, False)
    write_expected(os.path.join(d, "expected.safetensors"), exp)


def llama3_rope_freqs(c):
    """The rope_freqs tensor as llama.cpp's convert_hf_to_gguf.py writes it for Llama-3.1."""
    r = c["rope_scaling"]
    dh = c["hidden_size"] // c["num_attention_heads"]
    freqs = 1.0 / (c["rope_theta"] ** (np.arange(0, dh, 2, dtype=np.float64) / dh))
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < r["original_max_position_embeddings"] / r["high_freq_factor"]:
            out.append(1.0)
        elif wavelen > r["original_max_position_embeddings"] / r["low_freq_factor"]:
            out.append(r["factor"])
        else:
            smooth = (r["original_max_position_embeddings"] / wavelen - r["low_freq_factor"]) / (
                r["high_freq_factor"] - r["low_freq_factor"])
            out.append(1.0 / ((1 - smooth) / r["factor"] + smooth))
    return np.asarray(out, dtype=np.float32)


def case_llama3(root):
    """HF "llama3" rope scaling, and the same weights as GGUF 'llama' with a rope_freqs tensor."""
    d = fresh_dir(root, "llama3")
    c = llama_hf_config("llama3")
    ini = Init(9009)
    S, _ = llama_weights(ini, c)
    T = 8
    tok = ini.tokens(T, c["vocab_size"])
    F.write_safetensors(os.path.join(d, "model.safetensors"), stored(S, "F32"), {"format": "pt"})
    write_json(os.path.join(d, "config.json"), c)
    cfg = llama_cfg(c)
    Sr = read_back([os.path.join(d, "model.safetensors")])
    tr, mr = right_padded(tok)
    exp, lg, cache = run_reference(cfg, R.canon_llama, Sr, tr, mr, False, only=GGUF_HOOKS)
    sanity("llama3", cfg, R.canon_llama, Sr, exp, lg, cache, False)
    plain, _ = R.forward(dict(cfg, rope_scaling=None), R.canon_llama(cfg, {k: t64(v) for k, v in Sr.items()}),
                         torch.tensor(tr), torch.tensor(mr), R.hf_position_ids(torch.tensor(mr), False))
    print(f"  {'':<22} logit change from the rope scaling {(lg - plain).abs().max().item():.3f}")
    write_expected(os.path.join(d, "expected.safetensors"), exp)

    g = fresh_dir(root, "gguf-llama3")
    H, Hkv, L = c["num_attention_heads"], c["num_key_value_heads"], c["num_hidden_layers"]
    F32 = F.GGML_F32
    tensors = [("token_embd.weight", F32, S["model.embed_tokens.weight"]),
               ("rope_freqs.weight", F32, llama3_rope_freqs(c))]
    for l in range(L):
        h = f"model.layers.{l}"
        tensors.append((f"blk.{l}.attn_norm.weight", F32, S[h + ".input_layernorm.weight"]))
        for gname, hf in GGUF_TO_HF.items():
            w = S[f"{h}.{hf}.weight"]
            if gname in ("attn_q", "attn_k"):
                w = hf_to_gguf_permute(w, H if gname == "attn_q" else Hkv)
            tensors.append((f"blk.{l}.{gname}.weight", F32, w))
        tensors.append((f"blk.{l}.ffn_norm.weight", F32, S[h + ".post_attention_layernorm.weight"]))
    tensors += [("output_norm.weight", F32, S["model.norm.weight"]), ("output.weight", F32, S["lm_head.weight"])]
    kvs = [("general.architecture", F.GGUF_STRING, "llama"), ("general.alignment", F.GGUF_UINT32, 32),
           *llama_hparams("llama", c)]
    F.write_gguf(os.path.join(g, "model.gguf"), kvs, tensors, alignment=32)
    cfg32 = llama_cfg(dict(c, rms_norm_eps=float(np.float32(c["rms_norm_eps"]))))
    exp32, lg32, cache32 = run_reference(cfg32, R.canon_llama, Sr, tr, mr, False, only=GGUF_HOOKS)
    sanity("gguf-llama3", cfg32, R.canon_llama, Sr, exp32, lg32, cache32, False)
    write_expected(os.path.join(g, "expected.safetensors"), exp32)


def case_gguf_neox_rope(root, arch, seed, T):
    """GGUF "qwen2" (separate q/k/v with biases) or "phi3" (fused attn_qkv and ffn_up):
    NeoX-style rotation, so unlike "llama" nothing is permuted."""
    d = fresh_dir(root, "gguf-" + arch)
    c = llama_hf_config(arch)
    ini = Init(seed)
    S, _ = llama_weights(ini, c, qkv_bias=(arch == "qwen2"))
    H, Hkv, L = c["num_attention_heads"], c["num_key_value_heads"], c["num_hidden_layers"]
    dh = c["hidden_size"] // H
    F16, F32 = F.GGML_F16, F.GGML_F32
    tensors = [("token_embd.weight", F32, S["model.embed_tokens.weight"])]
    for l in range(L):
        h = f"model.layers.{l}"
        tensors.append((f"blk.{l}.attn_norm.weight", F32, S[h + ".input_layernorm.weight"]))
        q, k, v = (S[f"{h}.self_attn.{n}_proj.weight"] for n in "qkv")
        if arch == "phi3":
            tensors.append((f"blk.{l}.attn_qkv.weight", F16, np.concatenate([q, k, v], axis=0)))
        else:
            for n, w in (("q", q), ("k", k), ("v", v)):
                tensors.append((f"blk.{l}.attn_{n}.weight", F16, w))
                tensors.append((f"blk.{l}.attn_{n}.bias", F32, S[f"{h}.self_attn.{n}_proj.bias"]))
        tensors.append((f"blk.{l}.attn_output.weight", F16, S[h + ".self_attn.o_proj.weight"]))
        tensors.append((f"blk.{l}.ffn_norm.weight", F32, S[h + ".post_attention_layernorm.weight"]))
        gate, up = S[h + ".mlp.gate_proj.weight"], S[h + ".mlp.up_proj.weight"]
        if arch == "phi3":
            tensors.append((f"blk.{l}.ffn_up.weight", F16, np.concatenate([gate, up], axis=0)))
        else:
            tensors.append((f"blk.{l}.ffn_gate.weight", F16, gate))
            tensors.append((f"blk.{l}.ffn_up.weight", F16, up))
        tensors.append((f"blk.{l}.ffn_down.weight", F16, S[h + ".mlp.down_proj.weight"]))
    tensors.append(("output_norm.weight", F32, S["model.norm.weight"]))
    tensors.append(("output.weight", F16, S["lm_head.weight"]))
    kvs = [
        ("general.architecture", F.GGUF_STRING, arch),
        ("general.name", F.GGUF_STRING, "glassbox-fixture-" + arch),
        ("general.alignment", F.GGUF_UINT32, 32),
        *llama_hparams(arch, c),
    ]
    if arch == "phi3":
        kvs.append(("phi3.attention.sliding_window", F.GGUF_UINT32, c["sliding_window"]))
    path = os.path.join(d, "model.gguf")
    F.write_gguf(path, kvs, tensors, alignment=32)
    kv, G = F.read_gguf(path)
    assert kv["general.architecture"] == arch and len(G) == len(tensors)
    # Back to the Hugging Face layout from the (F16-rounded) tensors as read
    Sg = {"model.embed_tokens.weight": G["token_embd.weight"][2], "model.norm.weight": G["output_norm.weight"][2],
          "lm_head.weight": G["output.weight"][2]}
    for l in range(L):
        h = f"model.layers.{l}"
        Sg[h + ".input_layernorm.weight"] = G[f"blk.{l}.attn_norm.weight"][2]
        Sg[h + ".post_attention_layernorm.weight"] = G[f"blk.{l}.ffn_norm.weight"][2]
        Sg[h + ".self_attn.o_proj.weight"] = G[f"blk.{l}.attn_output.weight"][2]
        Sg[h + ".mlp.down_proj.weight"] = G[f"blk.{l}.ffn_down.weight"][2]
        if arch == "phi3":
            qkv = G[f"blk.{l}.attn_qkv.weight"][2]
            Sg[h + ".self_attn.q_proj.weight"] = qkv[:H * dh]
            Sg[h + ".self_attn.k_proj.weight"] = qkv[H * dh:(H + Hkv) * dh]
            Sg[h + ".self_attn.v_proj.weight"] = qkv[(H + Hkv) * dh:]
            gu = G[f"blk.{l}.ffn_up.weight"][2]
            m = gu.shape[0] // 2
            Sg[h + ".mlp.gate_proj.weight"], Sg[h + ".mlp.up_proj.weight"] = gu[:m], gu[m:]
        else:
            for n in "qkv":
                Sg[f"{h}.self_attn.{n}_proj.weight"] = G[f"blk.{l}.attn_{n}.weight"][2]
                Sg[f"{h}.self_attn.{n}_proj.bias"] = G[f"blk.{l}.attn_{n}.bias"][2]
            Sg[h + ".mlp.gate_proj.weight"] = G[f"blk.{l}.ffn_gate.weight"][2]
            Sg[h + ".mlp.up_proj.weight"] = G[f"blk.{l}.ffn_up.weight"][2]
    cfg = llama_cfg(dict(c, rms_norm_eps=float(np.float32(c["rms_norm_eps"]))))
    tok = ini.tokens(T, c["vocab_size"])
    tr, mr = right_padded(tok)
    exp, lg, cache = run_reference(cfg, R.canon_llama, Sg, tr, mr, False, only=GGUF_HOOKS)
    sanity("gguf-" + arch, cfg, R.canon_llama, Sg, exp, lg, cache, False)
    write_expected(os.path.join(d, "expected.safetensors"), exp)


def case_attn_only(root):
    d = fresh_dir(root, "attn-only")
    c = {"model_type": "hooked_transformer", "n_layers": 2, "d_model": 32, "n_ctx": 32, "d_head": 8, "n_heads": 4,
         "d_mlp": None, "d_vocab": 100, "d_vocab_out": 100, "act_fn": "gelu", "attn_only": True, "eps": 1e-5,
         "normalization_type": "LN", "positional_embedding_type": "standard", "use_attn_result": False,
         "use_attn_scale": True, "original_architecture": None, "model_name": "attn-only-2l-fixture"}
    ini = Init(6006)
    dm, H, dh, V, n_ctx = c["d_model"], c["n_heads"], c["d_head"], c["d_vocab"], c["n_ctx"]
    S = {"embed.W_E": ini.normal((V, dm), 0.5), "pos_embed.W_pos": ini.normal((n_ctx, dm), 0.3)}
    buffers = set()
    for l in range(c["n_layers"]):
        p = f"blocks.{l}"
        S[p + ".ln1.w"], S[p + ".ln1.b"] = ini.ln_w(dm), ini.bias(dm)
        for n in "QKV":
            S[f"{p}.attn.W_{n}"] = ini.normal((H, dm, dh), 1.0 / math.sqrt(dm))
        S[p + ".attn.W_O"] = ini.normal((H, dh, dm), 1.0 / math.sqrt(H * dh))
        for n in "QKV":
            S[f"{p}.attn.b_{n}"] = ini.normal((H, dh), 0.1)
        S[p + ".attn.b_O"] = ini.bias(dm)
        # TransformerLens state dicts carry these buffers; the loader must ignore them
        S[p + ".attn.mask"] = F.Stored(np.tril(np.ones((n_ctx, n_ctx), bool)), "BOOL")
        S[p + ".attn.IGNORE"] = F.Stored(np.array(-np.inf, np.float32), "F32")
        buffers |= {p + ".attn.mask", p + ".attn.IGNORE"}
    S["ln_final.w"], S["ln_final.b"] = ini.ln_w(dm), ini.bias(dm)
    S["unembed.W_U"] = ini.normal((dm, V), 1.0 / math.sqrt(dm))
    S["unembed.b_U"] = ini.bias(V)
    T = 8
    tok = ini.tokens(T, V)
    F.write_safetensors(os.path.join(d, "model.safetensors"), stored(S, "F32"), {"format": "pt"})
    write_json(os.path.join(d, "config.json"), c)
    cfg = dict(d_model=dm, n_layers=c["n_layers"], n_heads=H, n_kv_heads=H, d_head=dh, d_mlp=0, d_vocab=V,
               norm="LN", eps=c["eps"], pos="standard", parallel_residual=False, gated_mlp=False, act=c["act_fn"],
               attn_only=True)
    Sr = weights_only(read_back([os.path.join(d, "model.safetensors")]), buffers)
    tr, mr = right_padded(tok)
    exp, lg, cache = run_reference(cfg, R.canon_tl, Sr, tr, mr, False)
    sanity("attn-only", cfg, R.canon_tl, Sr, exp, lg, cache, False)
    write_expected(os.path.join(d, "expected.safetensors"), exp)


# llama.cpp's tensor names for the Llama-layout Hugging Face ones (per layer).
GGUF_TO_HF = dict(attn_q="self_attn.q_proj", attn_k="self_attn.k_proj", attn_v="self_attn.v_proj",
                  attn_output="self_attn.o_proj", ffn_gate="mlp.gate_proj", ffn_up="mlp.up_proj",
                  ffn_down="mlp.down_proj")


def llama_hparams(arch, c):
    """The "<arch>.*" hyper-parameters of a Llama-style GGUF, from an HF config."""
    H, Hkv = c["num_attention_heads"], c["num_key_value_heads"]
    return [
        (arch + ".context_length", F.GGUF_UINT32, c["max_position_embeddings"]),
        (arch + ".embedding_length", F.GGUF_UINT32, c["hidden_size"]),
        (arch + ".block_count", F.GGUF_UINT32, c["num_hidden_layers"]),
        (arch + ".feed_forward_length", F.GGUF_UINT32, c["intermediate_size"]),
        (arch + ".rope.dimension_count", F.GGUF_UINT32, c["hidden_size"] // H),
        (arch + ".attention.head_count", F.GGUF_UINT32, H),
        (arch + ".attention.head_count_kv", F.GGUF_UINT32, Hkv),
        (arch + ".attention.layer_norm_rms_epsilon", F.GGUF_FLOAT32, c["rms_norm_eps"]),
        (arch + ".rope.freq_base", F.GGUF_FLOAT32, c["rope_theta"]),
    ]


def hf_to_gguf_permute(w, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute (q: n_head, k: n_kv_head)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_to_hf_unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def case_gguf_llama(root, S, c, tok):
    d = fresh_dir(root, "gguf-llama")
    H, Hkv, L = c["num_attention_heads"], c["num_key_value_heads"], c["num_hidden_layers"]
    Q8, Q4, F16, BF16, F32 = F.GGML_Q8_0, F.GGML_Q4_0, F.GGML_F16, F.GGML_BF16, F.GGML_F32
    types = [  # per layer: q, k, v, o, gate, up, down
        dict(attn_q=Q8, attn_k=Q4, attn_v=F16, attn_output=BF16, ffn_gate=Q4, ffn_up=Q8, ffn_down=F16),
        dict(attn_q=Q4, attn_k=Q8, attn_v=BF16, attn_output=F16, ffn_gate=BF16, ffn_up=Q4, ffn_down=Q8),
    ]
    tensors = [("token_embd.weight", F32, S["model.embed_tokens.weight"])]
    for l in range(L):
        h = f"model.layers.{l}"
        tensors.append((f"blk.{l}.attn_norm.weight", F32, S[h + ".input_layernorm.weight"]))
        for g, hf in GGUF_TO_HF.items():
            w = S[f"{h}.{hf}.weight"]
            if g == "attn_q":
                w = hf_to_gguf_permute(w, H)
            elif g == "attn_k":
                w = hf_to_gguf_permute(w, Hkv)
            tensors.append((f"blk.{l}.{g}.weight", types[l][g], w))
        tensors.append((f"blk.{l}.ffn_norm.weight", F32, S[h + ".post_attention_layernorm.weight"]))
    tensors.append(("output_norm.weight", F32, S["model.norm.weight"]))
    tensors.append(("output.weight", Q8, S["lm_head.weight"]))
    eps32 = float(np.float32(c["rms_norm_eps"]))
    kvs = [
        ("general.architecture", F.GGUF_STRING, "llama"),
        ("general.name", F.GGUF_STRING, "glassbox-fixture-llama"),
        ("general.alignment", F.GGUF_UINT32, 32),
        ("general.file_type", F.GGUF_UINT32, 7),  # LLAMA_FTYPE_MOSTLY_Q8_0 (nominal; tensors are mixed)
        ("llama.vocab_size", F.GGUF_UINT32, c["vocab_size"]),
        *llama_hparams("llama", c),
    ]
    path = os.path.join(d, "model.gguf")
    F.write_gguf(path, kvs, tensors, alignment=32)
    kv, G = F.read_gguf(path)
    assert kv["general.architecture"] == "llama" and len(G) == len(tensors)
    # HF-layout weights from the dequantised GGUF tensors (q/k un-permuted)
    Sg = {"model.embed_tokens.weight": G["token_embd.weight"][2], "model.norm.weight": G["output_norm.weight"][2],
          "lm_head.weight": G["output.weight"][2]}
    for l in range(L):
        h = f"model.layers.{l}"
        Sg[h + ".input_layernorm.weight"] = G[f"blk.{l}.attn_norm.weight"][2]
        Sg[h + ".post_attention_layernorm.weight"] = G[f"blk.{l}.ffn_norm.weight"][2]
        for g, hf in GGUF_TO_HF.items():
            w = G[f"blk.{l}.{g}.weight"][2]
            if g == "attn_q":
                w = gguf_to_hf_unpermute(w, H)
            elif g == "attn_k":
                w = gguf_to_hf_unpermute(w, Hkv)
            Sg[f"{h}.{hf}.weight"] = w
    c2 = dict(c, rms_norm_eps=eps32)
    cfg = llama_cfg(c2)
    tr, mr = right_padded(tok)
    exp, lg, cache = run_reference(cfg, R.canon_llama, Sg, tr, mr, False, only=GGUF_HOOKS)
    sanity("gguf-llama", cfg, R.canon_llama, Sg, exp, lg, cache, False)
    # cross-check the permutation: permuted weights + adjacent-pair RoPE (ggml's rope for llama) == HF
    Sp = dict(Sg)
    for l in range(L):
        Sp[f"model.layers.{l}.self_attn.q_proj.weight"] = G[f"blk.{l}.attn_q.weight"][2]
        Sp[f"model.layers.{l}.self_attn.k_proj.weight"] = G[f"blk.{l}.attn_k.weight"][2]
    cfgp = dict(cfg, rotary_style="interleaved")
    am = torch.tensor(mr)
    lgp, _ = R.forward(cfgp, R.canon_llama(cfgp, {k: t64(v) for k, v in Sp.items()}), torch.tensor(tr), am,
                       R.hf_position_ids(am, False))
    perm_err = (lgp - lg).abs().max().item()
    assert perm_err < 1e-10, perm_err
    # quantisation error vs the original F32 weights (informative; must be small but non-zero)
    qerr = {}
    for name, gt, w in tensors:
        if gt in (Q8, Q4):
            exp["dequant." + name] = G[name][2].astype(np.float32)
        if gt != F32:
            qerr[F.GGML_TYPE_NAME[gt]] = max(qerr.get(F.GGML_TYPE_NAME[gt], 0.0),
                                             float(np.abs(G[name][2] - w).max() / np.abs(w).max()))
    ref_err = (lg - torch.tensor(F.read_safetensors(os.path.join(root, "llama", "expected.safetensors"))[0]["logits"],
                                 dtype=R.DT)).abs()[torch.tensor(mr, dtype=torch.bool)].max().item()
    print(f"  {'':<22} permuted+interleaved-rope err {perm_err:.1e}; max rel. weight error {qerr}; "
          f"logit diff vs F32 llama {ref_err:.3f}")
    write_expected(os.path.join(d, "expected.safetensors"), exp)


def case_gguf_gpt2(root, S, c, tok):
    d = fresh_dir(root, "gguf-gpt2")
    L = c["n_layer"]
    F32, F16 = F.GGML_F32, F.GGML_F16
    tensors = [("token_embd.weight", F32, S["transformer.wte.weight"]),
               ("position_embd.weight", F32, S["transformer.wpe.weight"])]
    for l in range(L):
        h = f"transformer.h.{l}"
        qkv_t = F16 if l == 0 else F32
        tensors += [
            (f"blk.{l}.attn_norm.weight", F32, S[h + ".ln_1.weight"]),
            (f"blk.{l}.attn_norm.bias", F32, S[h + ".ln_1.bias"]),
            (f"blk.{l}.attn_qkv.weight", qkv_t, S[h + ".attn.c_attn.weight"].T),  # Linear layout [3d, d]
            (f"blk.{l}.attn_qkv.bias", F32, S[h + ".attn.c_attn.bias"]),
            (f"blk.{l}.attn_output.weight", F16, S[h + ".attn.c_proj.weight"].T),
            (f"blk.{l}.attn_output.bias", F32, S[h + ".attn.c_proj.bias"]),
            (f"blk.{l}.ffn_norm.weight", F32, S[h + ".ln_2.weight"]),
            (f"blk.{l}.ffn_norm.bias", F32, S[h + ".ln_2.bias"]),
            (f"blk.{l}.ffn_up.weight", F16, S[h + ".mlp.c_fc.weight"].T),
            (f"blk.{l}.ffn_up.bias", F32, S[h + ".mlp.c_fc.bias"]),
            (f"blk.{l}.ffn_down.weight", F16, S[h + ".mlp.c_proj.weight"].T),
            (f"blk.{l}.ffn_down.bias", F32, S[h + ".mlp.c_proj.bias"]),
        ]
    tensors += [("output_norm.weight", F32, S["transformer.ln_f.weight"]),
                ("output_norm.bias", F32, S["transformer.ln_f.bias"]),
                ("output.weight", F16, S["transformer.wte.weight"])]  # convert_hf_to_gguf duplicates wte
    kvs = [
        ("general.architecture", F.GGUF_STRING, "gpt2"),
        ("general.name", F.GGUF_STRING, "glassbox-fixture-gpt2"),
        ("general.file_type", F.GGUF_UINT32, 1),  # LLAMA_FTYPE_MOSTLY_F16
        ("gpt2.context_length", F.GGUF_UINT32, c["n_ctx"]),
        ("gpt2.embedding_length", F.GGUF_UINT32, c["n_embd"]),
        ("gpt2.block_count", F.GGUF_UINT32, L),
        ("gpt2.feed_forward_length", F.GGUF_UINT32, 4 * c["n_embd"]),
        ("gpt2.attention.head_count", F.GGUF_UINT32, c["n_head"]),
        ("gpt2.attention.layer_norm_epsilon", F.GGUF_FLOAT32, c["layer_norm_epsilon"]),
    ]  # no general.alignment: readers must default to 32
    path = os.path.join(d, "model.gguf")
    F.write_gguf(path, kvs, tensors)
    kv, G = F.read_gguf(path)
    g = lambda n: G[n][2]
    Sg = {"transformer.wte.weight": g("token_embd.weight"), "transformer.wpe.weight": g("position_embd.weight"),
          "transformer.ln_f.weight": g("output_norm.weight"), "transformer.ln_f.bias": g("output_norm.bias"),
          "output.weight": g("output.weight")}
    for l in range(L):
        h, b = f"transformer.h.{l}", f"blk.{l}"
        Sg.update({
            h + ".ln_1.weight": g(b + ".attn_norm.weight"), h + ".ln_1.bias": g(b + ".attn_norm.bias"),
            h + ".attn.c_attn.weight": g(b + ".attn_qkv.weight").T, h + ".attn.c_attn.bias": g(b + ".attn_qkv.bias"),
            h + ".attn.c_proj.weight": g(b + ".attn_output.weight").T, h + ".attn.c_proj.bias": g(b + ".attn_output.bias"),
            h + ".ln_2.weight": g(b + ".ffn_norm.weight"), h + ".ln_2.bias": g(b + ".ffn_norm.bias"),
            h + ".mlp.c_fc.weight": g(b + ".ffn_up.weight").T, h + ".mlp.c_fc.bias": g(b + ".ffn_up.bias"),
            h + ".mlp.c_proj.weight": g(b + ".ffn_down.weight").T, h + ".mlp.c_proj.bias": g(b + ".ffn_down.bias"),
        })

    def canon_gguf_gpt2(cfg, St):  # untied: output.weight is its own (F16-rounded) tensor
        W = R.canon_gpt2(cfg, St)
        W["unembed.W_U"] = St["output.weight"].t()
        return W

    cfg = gpt2_cfg(dict(c, layer_norm_epsilon=float(np.float32(c["layer_norm_epsilon"]))))
    tr, mr = right_padded(tok)
    exp, lg, cache = run_reference(cfg, canon_gguf_gpt2, Sg, tr, mr, False, only=("hook_resid_post",))
    sanity("gguf-gpt2", cfg, canon_gguf_gpt2, Sg, exp, lg, cache, False)
    write_expected(os.path.join(d, "expected.safetensors"), exp)


def self_test():
    """Cross-check the reference's building blocks against torch's own ops (cheap, every run)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 16, generator=g, dtype=R.DT)
    w, b = torch.randn(16, generator=g, dtype=R.DT), torch.randn(16, generator=g, dtype=R.DT)
    cache = {}
    y = R._norm({"norm": "LN", "eps": 1e-5}, x, w, b, "n", cache)
    assert (y - torch.nn.functional.layer_norm(x, (16,), w, b, 1e-5)).abs().max() < 1e-12
    assert (R._act("gelu_new", x) - torch.nn.functional.gelu(x, approximate="tanh")).abs().max() < 1e-12
    assert (R._act("gelu", x) - torch.nn.functional.gelu(x)).abs().max() < 1e-12
    assert (R._act("silu", x) - torch.nn.functional.silu(x)).abs().max() < 1e-12
    # quantisers: round trip error bounds
    a = np.random.Generator(np.random.PCG64(5)).standard_normal((4, 64)).astype(np.float32)
    for t, tol in ((F.GGML_Q8_0, 1 / 127 * 1.01), (F.GGML_Q4_0, 1 / 8 * 1.01)):
        r = F.ggml_decode(F.ggml_encode(a, t), t, a.shape)
        blk = np.abs(a.reshape(-1, 32)).max(1, keepdims=True)
        assert (np.abs(r - a).reshape(-1, 32) <= blk * tol).all(), t
    assert np.array_equal(F.bf16_bits_to_f32(F.f32_to_bf16_bits(np.float32([1.0, 1 + 2 ** -8, 1 + 3 * 2 ** -8]))),
                          np.float32([1.0, 1.0, 1 + 2 ** -6]))  # ties to even


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    self_test()
    os.makedirs(args.out, exist_ok=True)
    print(f"writing fixtures to {args.out}")
    S_gpt2, _, c_gpt2, tok_gpt2 = case_gpt2(args.out)
    case_neox(args.out, "neox", parallel=True, seed=2002, T=9)
    case_neox(args.out, "neox-seq", parallel=False, seed=2102, T=7)
    S_llama, c_llama, tok_llama = case_llama(args.out)
    case_llama_like(args.out, "llama-tied", seed=4004, T=7)
    case_llama_like(args.out, "qwen2", seed=5005, T=9)
    case_attn_only(args.out)
    case_gguf_llama(args.out, S_llama, c_llama, tok_llama)
    case_gguf_gpt2(args.out, S_gpt2, c_gpt2, tok_gpt2)
    case_phi3(args.out)
    case_llama3(args.out)
    case_gguf_neox_rope(args.out, "qwen2", seed=7007, T=9)
    case_gguf_neox_rope(args.out, "phi3", seed=8008, T=8)
    total = 0
    for case in sorted(os.listdir(args.out)):
        p = os.path.join(args.out, case)
        if not os.path.isdir(p):
            continue
        sz = sum(os.path.getsize(os.path.join(p, f)) for f in os.listdir(p))
        total += sz
        print(f"  {case:<12} {sz / 1024:8.1f} KiB  {', '.join(sorted(os.listdir(p)))}")
    print(f"  total {total / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
