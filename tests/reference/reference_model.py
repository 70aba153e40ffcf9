"""Independent plain-torch reference forward for glassbox's golden tests.

Written from the math (not copied from transformers / TransformerLens), in
float64. One forward function driven by a config dict covers every family
glassbox supports:

  cfg = {
    "d_model", "n_layers", "n_heads", "n_kv_heads", "d_head", "d_mlp", "d_vocab",
    "norm": "LN" | "RMS",          "eps": float,
    "pos": "standard" | "rotary",  # learned absolute positions or RoPE
    "rotary_dim": int,             # dims of each head that rotate (partial rotary)
    "rope_base": float,
    "rotary_style": "half" | "interleaved",  # HF rotate_half or GPT-J/ggml adjacent pairs
    "rope_scaling": None | {"rope_type": "llama3", "factor", "low_freq_factor",
                            "high_freq_factor", "original_max_position_embeddings"},
    "parallel_residual": bool,     # NeoX: resid + attn(ln1(x)) + mlp(ln2(x))
    "gated_mlp": bool,             # act(x W_gate) * (x W_in)
    "act": "gelu_new" | "gelu" | "silu" | "relu",
    "attn_only": bool,
  }

Weights use canonical TransformerLens names and layouts (the "canonical
dict"):  embed.W_E [V,d], pos_embed.W_pos [n_ctx,d],
blocks.{l}.ln1.w/.b, blocks.{l}.attn.W_Q [H,d,dh], b_Q [H,dh],
W_K/W_V [Hkv,d,dh], b_K/b_V [Hkv,dh], W_O [H,dh,d], b_O [d],
blocks.{l}.ln2.w/.b, blocks.{l}.mlp.W_in [d,d_mlp], b_in, W_gate [d,d_mlp],
W_out [d_mlp,d], b_out, ln_final.w/.b, unembed.W_U [d,V], unembed.b_U [V].
Optional entries (biases, LN bias, W_pos, W_gate) are simply absent.

Hook semantics follow TransformerLens (see DESIGN.md section 3); every
activation in the returned cache has a leading batch dim. The cached tensors
are the very tensors the rest of the forward consumes, so `.retain_grad()` on
them before `backward()` yields d(loss)/d(activation).
"""
import math

import torch

DT = torch.float64


def _act(name, x):
    if name == "gelu_new":
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))
    if name == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name == "silu":
        return x * torch.sigmoid(x)
    if name == "relu":
        return torch.clamp(x, min=0.0)
    raise ValueError(f"unknown activation {name}")


def _norm(cfg, x, w, b, prefix, cache):
    """TransformerLens LayerNorm / RMSNorm with hook_scale and hook_normalized."""
    if cfg["norm"] == "LN":
        x = x - x.mean(dim=-1, keepdim=True)
    scale = (x.pow(2).mean(dim=-1, keepdim=True) + cfg["eps"]).sqrt()
    cache[prefix + ".hook_scale"] = scale
    normalized = x / scale
    cache[prefix + ".hook_normalized"] = normalized
    out = normalized * w
    if b is not None:
        out = out + b
    return out


def _rotary(cfg, x, position_ids):
    """x: [B,T,H,dh]; rotates the first rotary_dim dims of each head."""
    rd = cfg["rotary_dim"]
    if rd == 0:
        return x
    half = rd // 2
    inv_freq = 1.0 / (cfg["rope_base"] ** (torch.arange(0, rd, 2, dtype=DT) / rd))  # [rd/2]
    if cfg.get("rope_scaling"):
        inv_freq = _llama3_inv_freq(cfg["rope_scaling"], inv_freq)
    ang = position_ids.to(DT)[:, :, None] * inv_freq[None, None, :]  # [B,T,rd/2]
    cos = ang.cos()[:, :, None, :]  # [B,T,1,rd/2]
    sin = ang.sin()[:, :, None, :]
    xr, xp = x[..., :rd], x[..., rd:]
    if cfg.get("rotary_style", "half") == "half":
        x1, x2 = xr[..., :half], xr[..., half:]
        out = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
    else:  # adjacent pairs (2i, 2i+1), as GPT-J / ggml's LLAMA_ROPE_TYPE_NORM
        x1, x2 = xr[..., 0::2], xr[..., 1::2]
        o1 = x1 * cos - x2 * sin
        o2 = x2 * cos + x1 * sin
        out = torch.stack([o1, o2], dim=-1).reshape(xr.shape)
    return torch.cat([out, xp], dim=-1)


def _llama3_inv_freq(r, inv_freq):
    """Llama-3.1 rope scaling, from the Llama 3 paper's description: long
    wavelengths slowed by `factor`, short ones kept, a linear blend between."""
    assert r["rope_type"] == "llama3"
    factor, low, high = r["factor"], r["low_freq_factor"], r["high_freq_factor"]
    old = r["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv_freq
    smooth = ((old / wavelen - low) / (high - low)).clamp(0.0, 1.0)
    blended = (1 - smooth) * inv_freq / factor + smooth * inv_freq
    return torch.where(wavelen < old / high, inv_freq, torch.where(wavelen > old / low, inv_freq / factor, blended))


def _get(W, name):
    return W.get(name)


def _attention(cfg, W, l, x, attention_mask, position_ids, cache):
    p = f"blocks.{l}.attn"
    B, T, _ = x.shape
    H, Hkv, dh = cfg["n_heads"], cfg["n_kv_heads"], cfg["d_head"]
    q = torch.einsum("btm,hmd->bthd", x, W[p + ".W_Q"])
    k = torch.einsum("btm,hmd->bthd", x, W[p + ".W_K"])
    v = torch.einsum("btm,hmd->bthd", x, W[p + ".W_V"])
    for name, t in (("Q", "q"), ("K", "k"), ("V", "v")):
        b = _get(W, f"{p}.b_{name}")
        if b is not None:
            if t == "q":
                q = q + b
            elif t == "k":
                k = k + b
            else:
                v = v + b
    cache[p + ".hook_q"] = q
    cache[p + ".hook_k"] = k
    cache[p + ".hook_v"] = v
    if cfg["pos"] == "rotary":
        q = _rotary(cfg, q, position_ids)
        k = _rotary(cfg, k, position_ids)
        cache[p + ".hook_rot_q"] = q
        cache[p + ".hook_rot_k"] = k
    rep = H // Hkv
    # query head h reads kv head h // rep (grouped-query attention)
    k_full = k.repeat_interleave(rep, dim=2) if rep > 1 else k
    v_full = v.repeat_interleave(rep, dim=2) if rep > 1 else v
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k_full) / math.sqrt(dh)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    allowed = causal[None, None] & attention_mask.bool()[:, None, None, :]
    scores = torch.where(allowed, scores, torch.tensor(float("-inf"), dtype=DT))
    cache[p + ".hook_attn_scores"] = scores
    pattern = torch.softmax(scores, dim=-1)
    # a query with no visible key (left padding) gets an all-zero row, as in TransformerLens
    pattern = torch.where(torch.isnan(pattern), torch.zeros_like(pattern), pattern)
    cache[p + ".hook_pattern"] = pattern
    z = torch.einsum("bhqk,bkhd->bqhd", pattern, v_full)
    cache[p + ".hook_z"] = z
    result = torch.einsum("bqhd,hdm->bqhm", z, W[p + ".W_O"])
    cache[p + ".hook_result"] = result
    out = result.sum(dim=2)
    b_O = _get(W, p + ".b_O")
    if b_O is not None:
        out = out + b_O
    return out


def _mlp(cfg, W, l, x, cache):
    p = f"blocks.{l}.mlp"
    if cfg["gated_mlp"]:
        pre = x @ W[p + ".W_gate"]
        cache[p + ".hook_pre"] = pre
        pre_lin = x @ W[p + ".W_in"]
        b_in = _get(W, p + ".b_in")
        if b_in is not None:
            pre_lin = pre_lin + b_in
        cache[p + ".hook_pre_linear"] = pre_lin
        post = _act(cfg["act"], pre) * pre_lin
    else:
        pre = x @ W[p + ".W_in"]
        b_in = _get(W, p + ".b_in")
        if b_in is not None:
            pre = pre + b_in
        cache[p + ".hook_pre"] = pre
        post = _act(cfg["act"], pre)
    cache[p + ".hook_post"] = post
    out = post @ W[p + ".W_out"]
    b_out = _get(W, p + ".b_out")
    if b_out is not None:
        out = out + b_out
    return out


def hf_position_ids(attention_mask, left_padded):
    """Right padding: 0..T-1. Left padding: cumsum(mask)-1 with masked slots = 1 (as HF generate does)."""
    B, T = attention_mask.shape
    if not left_padded:
        return torch.arange(T, dtype=torch.long)[None].expand(B, T).clone()
    pos = attention_mask.long().cumsum(-1) - 1
    pos = pos.masked_fill(attention_mask == 0, 1)
    return pos


def forward(cfg, W, tokens, attention_mask, position_ids):
    """tokens/attention_mask/position_ids: [B,T] integer tensors. Returns (logits [B,T,V], cache)."""
    cache = {}
    x = W["embed.W_E"][tokens]
    cache["hook_embed"] = x
    if cfg["pos"] == "standard":
        pe = W["pos_embed.W_pos"][position_ids]
        cache["hook_pos_embed"] = pe
        x = x + pe
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}"
        cache[p + ".hook_resid_pre"] = x
        resid_pre = x
        h = _norm(cfg, resid_pre, W[p + ".ln1.w"], _get(W, p + ".ln1.b"), p + ".ln1", cache)
        attn_out = _attention(cfg, W, l, h, attention_mask, position_ids, cache)
        cache[p + ".hook_attn_out"] = attn_out
        if cfg.get("attn_only", False):
            x = resid_pre + attn_out
        elif cfg["parallel_residual"]:
            h2 = _norm(cfg, resid_pre, W[p + ".ln2.w"], _get(W, p + ".ln2.b"), p + ".ln2", cache)
            mlp_out = _mlp(cfg, W, l, h2, cache)
            cache[p + ".hook_mlp_out"] = mlp_out
            x = resid_pre + attn_out + mlp_out
        else:
            mid = resid_pre + attn_out
            cache[p + ".hook_resid_mid"] = mid
            h2 = _norm(cfg, mid, W[p + ".ln2.w"], _get(W, p + ".ln2.b"), p + ".ln2", cache)
            mlp_out = _mlp(cfg, W, l, h2, cache)
            cache[p + ".hook_mlp_out"] = mlp_out
            x = mid + mlp_out
        cache[p + ".hook_resid_post"] = x
    h = _norm(cfg, x, W["ln_final.w"], _get(W, "ln_final.b"), "ln_final", cache)
    logits = h @ W["unembed.W_U"]
    b_U = _get(W, "unembed.b_U")
    if b_U is not None:
        logits = logits + b_U
    return logits, cache


def next_token_loss(logits, tokens, attention_mask):
    """Mean next-token cross-entropy over positions t whose own token and target token t+1 are both unmasked."""
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    tgt = tokens[:, 1:]
    valid = (attention_mask[:, :-1] != 0) & (attention_mask[:, 1:] != 0)
    nll = -logp.gather(-1, tgt[..., None].long())[..., 0]
    return (nll * valid.to(logits.dtype)).sum() / valid.sum()


# ----------------------------------------------------------------------------
# Family name maps: on-disk tensors (torch, any float dtype) -> canonical dict.
# All maps are differentiable (slicing / reshape / transpose) so gradients
# w.r.t. the on-disk tensors follow from autograd.
# ----------------------------------------------------------------------------


def canon_gpt2(cfg, S):
    d, H, dh = cfg["d_model"], cfg["n_heads"], cfg["d_head"]
    W = {"embed.W_E": S["transformer.wte.weight"], "pos_embed.W_pos": S["transformer.wpe.weight"]}
    for l in range(cfg["n_layers"]):
        h, p = f"transformer.h.{l}", f"blocks.{l}"
        W[p + ".ln1.w"], W[p + ".ln1.b"] = S[h + ".ln_1.weight"], S[h + ".ln_1.bias"]
        W[p + ".ln2.w"], W[p + ".ln2.b"] = S[h + ".ln_2.weight"], S[h + ".ln_2.bias"]
        cw, cb = S[h + ".attn.c_attn.weight"], S[h + ".attn.c_attn.bias"]  # Conv1D [d, 3d]: x @ w
        for i, n in enumerate("QKV"):
            W[f"{p}.attn.W_{n}"] = cw[:, i * d:(i + 1) * d].reshape(d, H, dh).permute(1, 0, 2)
            W[f"{p}.attn.b_{n}"] = cb[i * d:(i + 1) * d].reshape(H, dh)
        W[p + ".attn.W_O"] = S[h + ".attn.c_proj.weight"].reshape(H, dh, d)
        W[p + ".attn.b_O"] = S[h + ".attn.c_proj.bias"]
        W[p + ".mlp.W_in"], W[p + ".mlp.b_in"] = S[h + ".mlp.c_fc.weight"], S[h + ".mlp.c_fc.bias"]
        W[p + ".mlp.W_out"], W[p + ".mlp.b_out"] = S[h + ".mlp.c_proj.weight"], S[h + ".mlp.c_proj.bias"]
    W["ln_final.w"], W["ln_final.b"] = S["transformer.ln_f.weight"], S["transformer.ln_f.bias"]
    W["unembed.W_U"] = S["transformer.wte.weight"].t()  # tied
    return W


def canon_neox(cfg, S):
    d, H, dh = cfg["d_model"], cfg["n_heads"], cfg["d_head"]
    W = {"embed.W_E": S["gpt_neox.embed_in.weight"]}
    for l in range(cfg["n_layers"]):
        h, p = f"gpt_neox.layers.{l}", f"blocks.{l}"
        W[p + ".ln1.w"], W[p + ".ln1.b"] = S[h + ".input_layernorm.weight"], S[h + ".input_layernorm.bias"]
        W[p + ".ln2.w"], W[p + ".ln2.b"] = S[h + ".post_attention_layernorm.weight"], S[h + ".post_attention_layernorm.bias"]
        qw = S[h + ".attention.query_key_value.weight"].reshape(H, 3, dh, d)  # per-head [q;k;v]
        qb = S[h + ".attention.query_key_value.bias"].reshape(H, 3, dh)
        for i, n in enumerate("QKV"):
            W[f"{p}.attn.W_{n}"] = qw[:, i].permute(0, 2, 1)
            W[f"{p}.attn.b_{n}"] = qb[:, i]
        W[p + ".attn.W_O"] = S[h + ".attention.dense.weight"].t().reshape(H, dh, d)
        W[p + ".attn.b_O"] = S[h + ".attention.dense.bias"]
        W[p + ".mlp.W_in"], W[p + ".mlp.b_in"] = S[h + ".mlp.dense_h_to_4h.weight"].t(), S[h + ".mlp.dense_h_to_4h.bias"]
        W[p + ".mlp.W_out"], W[p + ".mlp.b_out"] = S[h + ".mlp.dense_4h_to_h.weight"].t(), S[h + ".mlp.dense_4h_to_h.bias"]
    W["ln_final.w"], W["ln_final.b"] = S["gpt_neox.final_layer_norm.weight"], S["gpt_neox.final_layer_norm.bias"]
    W["unembed.W_U"] = S["embed_out.weight"].t()
    return W


def canon_llama(cfg, S):
    """Llama / Mistral / Qwen2 (q/k/v biases picked up when present)."""
    d, H, Hkv, dh = cfg["d_model"], cfg["n_heads"], cfg["n_kv_heads"], cfg["d_head"]
    W = {"embed.W_E": S["model.embed_tokens.weight"]}
    for l in range(cfg["n_layers"]):
        h, p = f"model.layers.{l}", f"blocks.{l}"
        W[p + ".ln1.w"] = S[h + ".input_layernorm.weight"]
        W[p + ".ln2.w"] = S[h + ".post_attention_layernorm.weight"]
        for n, proj, nh in (("Q", "q_proj", H), ("K", "k_proj", Hkv), ("V", "v_proj", Hkv)):
            W[f"{p}.attn.W_{n}"] = S[f"{h}.self_attn.{proj}.weight"].reshape(nh, dh, d).permute(0, 2, 1)
            if f"{h}.self_attn.{proj}.bias" in S:
                W[f"{p}.attn.b_{n}"] = S[f"{h}.self_attn.{proj}.bias"].reshape(nh, dh)
        W[p + ".attn.W_O"] = S[h + ".self_attn.o_proj.weight"].t().reshape(H, dh, d)
        W[p + ".mlp.W_gate"] = S[h + ".mlp.gate_proj.weight"].t()
        W[p + ".mlp.W_in"] = S[h + ".mlp.up_proj.weight"].t()
        W[p + ".mlp.W_out"] = S[h + ".mlp.down_proj.weight"].t()
    W["ln_final.w"] = S["model.norm.weight"]
    W["unembed.W_U"] = (S["lm_head.weight"] if "lm_head.weight" in S else S["model.embed_tokens.weight"]).t()
    return W


def canon_tl(cfg, S):
    """A TransformerLens state dict is already canonical (minus buffers and the ln .w/.b spelling)."""
    W = {}
    for k, v in S.items():
        if k.endswith(".attn.IGNORE") or k.endswith(".attn.mask"):
            continue
        W[k] = v
    return W
