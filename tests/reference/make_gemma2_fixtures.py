#!/usr/bin/python3
"""Writes the Gemma-2 golden fixtures: tests/golden/fixtures/{gemma2,gguf-gemma2}/.

    /usr/bin/python3 tests/reference/make_gemma2_fixtures.py [--out DIR]

A small random-weight Gemma-2 in Hugging Face's format (config.json +
model.safetensors, model_type "gemma2") and the same weights as a llama.cpp
GGUF (general.architecture "gemma2", convert_hf_to_gguf.py's names, keys and
norm weights + 1, some matrices Q8_0 / Q4_0, a SentencePiece vocabulary so
llama.cpp itself can load it), with logits, hook values and hook-site
gradients from the forward below: torch in float64, written from the math of
Hugging Face's modeling_gemma2 module by module (F.linear on the on-disk
tensors, repeat_kv, rotate_half, Gemma2RMSNorm's (1 + w)); transformers is
not used (nor installed). Deterministic: re-running rewrites identical files.

What makes the case Gemma-2 and not Llama, each chosen so it shows in the
numbers: head_dim 16 != hidden_size / heads = 8; query_pre_attn_scalar 24
(queries scaled by 24^-1/2, not head_dim^-1/2); attention soft-cap 5 and
final soft-cap 4, small enough that tanh bends most scores and logits;
sliding_window 4 on layers 0 and 2 with 12 tokens, so local and global
layers see different keys; GeGLU (gelu_pytorch_tanh); post-norms; tied
embeddings scaled by sqrt(hidden_size).
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as Fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import formats as F  # noqa: E402
import make_fixtures as M  # noqa: E402
import reference_model as R  # noqa: E402

T = 12
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "is", "a"]
# The GGUF's SentencePiece pieces, each reachable by merging pieces: "\u2581" +
# every prefix of a word, and single letters.
PIECES = ["\u2581"] + list(dict.fromkeys(["\u2581" + w[:k] for w in WORDS for k in range(1, len(w) + 1)])) + \
    [chr(ord("a") + i) for i in range(26)]
VOCAB_SIZE = 4 + len(PIECES) + 256
CONFIG = {
    "architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "torch_dtype": "float32",
    "vocab_size": VOCAB_SIZE, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "hidden_act": "gelu_pytorch_tanh", "hidden_activation": "gelu_pytorch_tanh",
    "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
    "attention_bias": False, "query_pre_attn_scalar": 24, "sliding_window": 4,
    "attn_logit_softcapping": 5.0, "final_logit_softcapping": 4.0, "tie_word_embeddings": True,
    "pad_token_id": 0, "eos_token_id": 1, "bos_token_id": 2,
    "layer_types": ["sliding_attention", "full_attention", "sliding_attention"],
}
# Gradients w.r.t. these hook sites (through the soft-caps, window, post-norms, embedding scale).
GRAD_HOOKS = ("hook_embed", "blocks.0.attn.hook_rot_q", "blocks.0.attn.hook_rot_k", "blocks.1.ln1_post.hook_normalized",
              "blocks.2.ln2_post.hook_scale", "blocks.1.hook_resid_mid", "blocks.2.hook_attn_out")


def weights(ini, c):
    d, m, V, L = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"]
    H, Hkv, dh = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    S = {"model.embed_tokens.weight": ini.normal((V, d), 0.25)}
    for l in range(L):
        h = f"model.layers.{l}."
        for n in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                  "post_feedforward_layernorm"):
            S[h + n + ".weight"] = ini.normal((d,), 0.2)  # Gemma stores w; the gain is 1 + w
        S[h + "self_attn.q_proj.weight"] = ini.linear(H * dh, d, 2.5)
        S[h + "self_attn.k_proj.weight"] = ini.linear(Hkv * dh, d, 2.5)
        S[h + "self_attn.v_proj.weight"] = ini.linear(Hkv * dh, d)
        S[h + "self_attn.o_proj.weight"] = ini.linear(d, H * dh)
        S[h + "mlp.gate_proj.weight"] = ini.linear(m, d, 1.5)
        S[h + "mlp.up_proj.weight"] = ini.linear(m, d)
        S[h + "mlp.down_proj.weight"] = ini.linear(d, m)
    S["model.norm.weight"] = ini.normal((d,), 0.2)
    return S


# ---------------------------------------------------------------- the reference forward (HF modeling_gemma2)

def rms_norm(x, w, eps, hooks, name):
    """Gemma2RMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + w); TL's hook_scale / hook_normalized (before the gain)."""
    scale = torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    normalized = x / scale
    hooks[name + ".hook_scale"] = scale
    hooks[name + ".hook_normalized"] = normalized
    return normalized * (1.0 + w)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope(x, pos, theta):  # x [B, T, H, dh]
    dh = x.shape[-1]
    inv = 1.0 / theta ** (torch.arange(0, dh, 2, dtype=R.DT) / dh)
    ang = pos[..., None].to(R.DT) * inv  # [B, T, dh/2]
    emb = torch.cat((ang, ang), dim=-1)[:, :, None, :]
    return x * emb.cos() + rotate_half(x) * emb.sin()


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def forward(c, S, tokens, am):
    """logits [B, T, V] and every TransformerLens hook of the Gemma-2 block."""
    B, Tn = tokens.shape
    d, L, eps = c["hidden_size"], c["num_hidden_layers"], c["rms_norm_eps"]
    H, Hkv, dh = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    hooks = {}
    E = S["model.embed_tokens.weight"]
    x = E[tokens] * math.sqrt(d)  # Gemma2Model: hidden_states * hidden_size**0.5
    hooks["hook_embed"] = x
    pos = torch.arange(Tn)[None].expand(B, Tn)
    i = torch.arange(Tn)[:, None]
    j = torch.arange(Tn)[None, :]
    for l in range(L):
        p = f"model.layers.{l}."
        b = f"blocks.{l}."
        hooks[b + "hook_resid_pre"] = x
        a_in = rms_norm(x, S[p + "input_layernorm.weight"], eps, hooks, b + "ln1")
        q = Fn.linear(a_in, S[p + "self_attn.q_proj.weight"]).view(B, Tn, H, dh)
        k = Fn.linear(a_in, S[p + "self_attn.k_proj.weight"]).view(B, Tn, Hkv, dh)
        v = Fn.linear(a_in, S[p + "self_attn.v_proj.weight"]).view(B, Tn, Hkv, dh)
        hooks[b + "attn.hook_q"], hooks[b + "attn.hook_k"], hooks[b + "attn.hook_v"] = q, k, v
        rq, rk = rope(q, pos, c["rope_theta"]), rope(k, pos, c["rope_theta"])
        hooks[b + "attn.hook_rot_q"], hooks[b + "attn.hook_rot_k"] = rq, rk
        rep = H // Hkv  # repeat_kv
        kk = rk.repeat_interleave(rep, dim=2).transpose(1, 2)  # [B, H, T, dh]
        vv = v.repeat_interleave(rep, dim=2).transpose(1, 2)
        qq = rq.transpose(1, 2)
        scores = qq @ kk.transpose(-1, -2) * c["query_pre_attn_scalar"] ** -0.5
        cap = c["attn_logit_softcapping"]
        scores = torch.tanh(scores / cap) * cap  # before the mask, as Gemma2Attention
        visible = j <= i
        if c["layer_types"][l] == "sliding_attention":
            visible = visible & (j > i - c["sliding_window"])
        visible = visible[None, None] & (am[:, None, None, :] != 0)
        scores = scores.masked_fill(~visible, float("-inf"))
        hooks[b + "attn.hook_attn_scores"] = scores
        pattern = torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)
        hooks[b + "attn.hook_pattern"] = pattern
        z = (pattern @ vv).transpose(1, 2)  # [B, T, H, dh]
        hooks[b + "attn.hook_z"] = z
        Wo = S[p + "self_attn.o_proj.weight"].view(d, H, dh)
        result = torch.einsum("bthe,dhe->bthd", z, Wo)
        hooks[b + "attn.hook_result"] = result
        attn = Fn.linear(z.reshape(B, Tn, H * dh), S[p + "self_attn.o_proj.weight"])
        attn_out = rms_norm(attn, S[p + "post_attention_layernorm.weight"], eps, hooks, b + "ln1_post")
        hooks[b + "hook_attn_out"] = attn_out
        mid = x + attn_out
        hooks[b + "hook_resid_mid"] = mid
        m_in = rms_norm(mid, S[p + "pre_feedforward_layernorm.weight"], eps, hooks, b + "ln2")
        pre = Fn.linear(m_in, S[p + "mlp.gate_proj.weight"])
        pre_lin = Fn.linear(m_in, S[p + "mlp.up_proj.weight"])
        hooks[b + "mlp.hook_pre"], hooks[b + "mlp.hook_pre_linear"] = pre, pre_lin
        post = gelu_tanh(pre) * pre_lin
        hooks[b + "mlp.hook_post"] = post
        mlp = Fn.linear(post, S[p + "mlp.down_proj.weight"])
        mlp_out = rms_norm(mlp, S[p + "post_feedforward_layernorm.weight"], eps, hooks, b + "ln2_post")
        hooks[b + "hook_mlp_out"] = mlp_out
        x = mid + mlp_out
        hooks[b + "hook_resid_post"] = x
    xf = rms_norm(x, S["model.norm.weight"], eps, hooks, "ln_final")
    logits = Fn.linear(xf, E)  # tied lm_head
    cap = c["final_logit_softcapping"]
    return torch.tanh(logits / cap) * cap, hooks


def run(c, S_np, tok, mask, grads=True):
    S = {k: M.t64(v).requires_grad_(grads) for k, v in S_np.items()}
    tokens = torch.tensor(tok, dtype=torch.long)
    am = torch.tensor(mask, dtype=torch.long)
    logits, hooks = forward(c, S, tokens, am)
    out = {"tokens": tok.astype(np.int32), "attention_mask": mask.astype(np.int32),
           "position_ids": np.broadcast_to(np.arange(tok.shape[1]), tok.shape).astype(np.int32).copy(),
           "logits": M.f32(logits)}
    for name, t in hooks.items():
        out[name] = M.f32(t)
    if grads:
        for h in GRAD_HOOKS:
            hooks[h].retain_grad()
        loss = R.next_token_loss(logits, tokens, am)
        loss.backward()
        out["loss"] = np.array([loss.item()], dtype=np.float32)
        for h in GRAD_HOOKS:
            out["grad." + h] = M.f32(hooks[h].grad)
    return out, logits.detach(), hooks


def sanity(case, c, S_np, tok, mask, logits, hooks):
    """Pattern rows sum to 1, the window hides exactly the keys it should, and capping is active."""
    worst = 0.0
    for l in range(c["num_hidden_layers"]):
        pat = hooks[f"blocks.{l}.attn.hook_pattern"][0]  # the unpadded row
        worst = max(worst, (pat.sum(-1) - 1).abs().max().item())
        w = c["sliding_window"]
        far = pat[:, w:, 0]  # key 0 seen from queries >= window
        if c["layer_types"][l] == "sliding_attention":
            assert far.abs().max().item() == 0.0, (case, l)
        else:
            assert far.abs().min().item() > 0.0, (case, l)
    assert worst < 1e-12, (case, worst)
    # Cap active: some |score| and |logit| well into tanh's bend.
    s = hooks["blocks.1.attn.hook_attn_scores"]
    s = s[torch.isfinite(s)]
    assert s.abs().max().item() > 0.5 * c["attn_logit_softcapping"], (case, s.abs().max().item())
    assert logits.abs().max().item() > 0.5 * c["final_logit_softcapping"], case
    # Padding: the padded row's valid positions equal an unpadded run of its tokens.
    n = int(mask[1].sum())
    lone, _ = forward(c, {k: M.t64(v) for k, v in S_np.items()}, torch.tensor(tok[1:2, :n]),
                      torch.ones(1, n, dtype=torch.long))
    pad_err = (lone[0] - logits[1, :n]).abs().max().item()
    assert pad_err < 1e-10, (case, pad_err)
    print(f"  {case:<12} max|logit| {logits.abs().max().item():7.4f}  max|score| {s.abs().max().item():7.4f}  "
          f"pattern row-sum err {worst:.1e}  pad-invariance err {pad_err:.1e}")


# ---------------------------------------------------------------- GGUF

# A SentencePiece vocabulary as llama.cpp's "llama" tokenizer reads it (Gemma's
# layout: <pad> <eos> <bos> <unk>, then pieces, then the 256 byte tokens).
def vocab(V):
    toks = ["<pad>", "<eos>", "<bos>", "<unk>"] + PIECES
    types = [3, 3, 3, 2] + [1] * len(PIECES)
    scores = [0.0] * 4 + [-float(i) for i in range(len(PIECES))]
    toks += [f"<0x{b:02X}>" for b in range(256)]
    types += [6] * 256
    scores += [0.0] * 256
    assert len(toks) == V, (len(toks), V)
    return toks, scores, types


def gguf_case(root, c, S, tok, mask):
    d = M.fresh_dir(root, "gguf-gemma2")
    L = c["num_hidden_layers"]
    F32, F16, Q8, Q4 = F.GGML_F32, F.GGML_F16, F.GGML_Q8_0, F.GGML_Q4_0

    def norm(name):  # convert_hf_to_gguf.py (Gemma2Model.modify_tensors): norm weights + 1
        return (S[name] + np.float32(1)).astype(np.float32)
    tensors = [("token_embd.weight", Q8, S["model.embed_tokens.weight"])]
    for l in range(L):
        h = f"model.layers.{l}."
        mat = Q8 if l != 1 else Q4  # layer 1 in Q4_0, the others Q8_0
        tensors += [
            (f"blk.{l}.attn_norm.weight", F32, norm(h + "input_layernorm.weight")),
            (f"blk.{l}.attn_q.weight", mat, S[h + "self_attn.q_proj.weight"]),
            (f"blk.{l}.attn_k.weight", mat, S[h + "self_attn.k_proj.weight"]),
            (f"blk.{l}.attn_v.weight", F16, S[h + "self_attn.v_proj.weight"]),
            (f"blk.{l}.attn_output.weight", mat, S[h + "self_attn.o_proj.weight"]),
            (f"blk.{l}.post_attention_norm.weight", F32, norm(h + "post_attention_layernorm.weight")),
            (f"blk.{l}.ffn_norm.weight", F32, norm(h + "pre_feedforward_layernorm.weight")),
            (f"blk.{l}.ffn_gate.weight", mat, S[h + "mlp.gate_proj.weight"]),
            (f"blk.{l}.ffn_up.weight", F16, S[h + "mlp.up_proj.weight"]),
            (f"blk.{l}.ffn_down.weight", mat, S[h + "mlp.down_proj.weight"]),
            (f"blk.{l}.post_ffw_norm.weight", F32, norm(h + "post_feedforward_layernorm.weight")),
        ]
    tensors.append(("output_norm.weight", F32, norm("model.norm.weight")))
    toks, scores, types = vocab(c["vocab_size"])
    a = "gemma2."
    kvs = [
        ("general.architecture", F.GGUF_STRING, "gemma2"),
        ("general.name", F.GGUF_STRING, "glassbox-fixture-gemma2"),
        ("general.alignment", F.GGUF_UINT32, 32),
        (a + "context_length", F.GGUF_UINT32, c["max_position_embeddings"]),
        (a + "embedding_length", F.GGUF_UINT32, c["hidden_size"]),
        (a + "block_count", F.GGUF_UINT32, L),
        (a + "feed_forward_length", F.GGUF_UINT32, c["intermediate_size"]),
        (a + "attention.head_count", F.GGUF_UINT32, c["num_attention_heads"]),
        (a + "attention.head_count_kv", F.GGUF_UINT32, c["num_key_value_heads"]),
        (a + "attention.layer_norm_rms_epsilon", F.GGUF_FLOAT32, c["rms_norm_eps"]),
        (a + "attention.key_length", F.GGUF_UINT32, c["head_dim"]),
        (a + "attention.value_length", F.GGUF_UINT32, c["head_dim"]),
        (a + "attn_logit_softcapping", F.GGUF_FLOAT32, c["attn_logit_softcapping"]),
        (a + "final_logit_softcapping", F.GGUF_FLOAT32, c["final_logit_softcapping"]),
        (a + "attention.sliding_window", F.GGUF_UINT32, c["sliding_window"]),
        ("tokenizer.ggml.model", F.GGUF_STRING, "llama"),
        ("tokenizer.ggml.pre", F.GGUF_STRING, "default"),
        ("tokenizer.ggml.tokens", F.GGUF_ARRAY, (F.GGUF_STRING, toks)),
        ("tokenizer.ggml.scores", F.GGUF_ARRAY, (F.GGUF_FLOAT32, scores)),
        ("tokenizer.ggml.token_type", F.GGUF_ARRAY, (F.GGUF_INT32, types)),
        ("tokenizer.ggml.bos_token_id", F.GGUF_UINT32, 2),
        ("tokenizer.ggml.eos_token_id", F.GGUF_UINT32, 1),
        ("tokenizer.ggml.unknown_token_id", F.GGUF_UINT32, 3),
        ("tokenizer.ggml.padding_token_id", F.GGUF_UINT32, 0),
        ("tokenizer.ggml.add_bos_token", F.GGUF_BOOL, True),
        ("tokenizer.ggml.add_eos_token", F.GGUF_BOOL, False),
        ("tokenizer.ggml.add_space_prefix", F.GGUF_BOOL, False),
    ]
    path = os.path.join(d, "model.gguf")
    F.write_gguf(path, kvs, tensors, alignment=32)
    kv, G = F.read_gguf(path)
    assert kv["general.architecture"] == "gemma2" and len(G) == len(tensors)
    # The Hugging Face weights as the file holds them (quantised, F16-rounded; norms - 1).
    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "post_attention_norm",
             "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}
    Sg = {"model.embed_tokens.weight": G["token_embd.weight"][2],
          "model.norm.weight": G["output_norm.weight"][2] - np.float32(1)}
    for l in range(L):
        for hf, gg in names.items():
            w = G[f"blk.{l}.{gg}.weight"][2]
            Sg[f"model.layers.{l}.{hf}.weight"] = w - np.float32(1) if "norm" in hf else w
    # GGUF has no query_pre_attn_scalar: llama.cpp scales queries by head_dim^-1/2 (but for the 27B model).
    c = dict(c, query_pre_attn_scalar=c["head_dim"])
    exp, lg, hooks = run(c, Sg, tok, mask, grads=False)
    keep = ("logits", "tokens", "attention_mask", "position_ids")
    exp = {k: v for k, v in exp.items()
           if k in keep or k.endswith(("hook_embed", "attn.hook_rot_q", "attn.hook_attn_scores", "hook_attn_out",
                                       "ln2_post.hook_normalized", "hook_resid_post"))}
    sanity("gguf-gemma2", c, Sg, tok, mask, lg, hooks)
    M.write_expected(os.path.join(d, "expected.safetensors"), exp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=M.DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    c = CONFIG
    ini = M.Init(20240627)  # Gemma-2's release date
    S = weights(ini, c)
    tok, mask = M.right_padded(ini.tokens(T, c["vocab_size"]))
    d = M.fresh_dir(args.out, "gemma2")
    M.write_json(os.path.join(d, "config.json"), c)
    F.write_safetensors(os.path.join(d, "model.safetensors"), M.stored(S, "F32"), metadata={"format": "pt"})
    Sr = M.read_back([os.path.join(d, "model.safetensors")])
    exp, lg, hooks = run(c, Sr, tok, mask)
    sanity("gemma2", c, Sr, tok, mask, lg, hooks)
    M.write_expected(os.path.join(d, "expected.safetensors"), exp)
    gguf_case(args.out, c, S, tok, mask)


if __name__ == "__main__":
    main()
