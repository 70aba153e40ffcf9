#!/usr/bin/python3
"""Second, structurally different forward for the HF-format fixtures.

reference_model.py maps every checkpoint to TransformerLens' canonical layout
and runs one einsum forward. This script instead follows each family's own
Hugging Face module structure (F.linear on the on-disk tensors, split/merge
heads, repeat_kv, rotate_half on [B,H,T,dh]) and checks that it reproduces
expected.safetensors' logits at the unmasked positions, so a mistake in a
name map (NeoX's per-head qkv interleave, GPT-2's Conv1D layout, GQA head
order, partial rotary) cannot hide in both places at once.

    /usr/bin/python3 tests/reference/crosscheck_hf_style.py [FIXTURES_DIR [TOLERANCE]]

tests/steering/orthogonalize_test.cpp points it at orthogonalised copies of
the fixtures, with glassbox's run-time ablation as their expected logits.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as Fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import formats as F  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
NEG = -1e300


def load(d):
    S = {}
    for f in sorted(os.listdir(d)):
        if f.startswith("model") and f.endswith(".safetensors"):
            t, _ = F.read_safetensors(os.path.join(d, f))
            S.update({k: torch.tensor(v.astype(np.float64)) for k, v in t.items() if v.dtype != np.bool_})
    cfg = json.load(open(os.path.join(d, "config.json")))
    exp, _ = F.read_safetensors(os.path.join(d, "expected.safetensors"))
    return S, cfg, exp


def attend(q, k, v, mask):
    """q,k,v: [B,H,T,dh]; mask: [B,T] -> [B,H,T,dh] (eager attention with an additive mask)."""
    T = q.shape[2]
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))[None, None] & mask.bool()[:, None, None, :]
    s = s + (~allowed).double() * NEG
    return torch.softmax(s, -1) @ v


def rope(x, pos, rd, base):
    """HF apply_rotary_pos_emb on the first rd dims of x: [B,H,T,dh]."""
    inv = 1.0 / (base ** (torch.arange(0, rd, 2, dtype=torch.float64) / rd))
    fr = pos.double()[:, :, None] * inv
    emb = torch.cat([fr, fr], -1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]
    xr, xp = x[..., :rd], x[..., rd:]
    rot = torch.cat([-xr[..., rd // 2:], xr[..., :rd // 2]], -1)
    return torch.cat([xr * cos + rot * sin, xp], -1)


def gpt2(S, c, tok, mask, pos):
    d, H = c["n_embd"], c["n_head"]
    B, T = tok.shape
    x = S["transformer.wte.weight"][tok] + S["transformer.wpe.weight"][pos]
    heads = lambda t: t.view(B, T, H, d // H).permute(0, 2, 1, 3)
    gelu = lambda t: Fn.gelu(t, approximate="tanh")
    for l in range(c["n_layer"]):
        p = f"transformer.h.{l}."
        h = Fn.layer_norm(x, (d,), S[p + "ln_1.weight"], S[p + "ln_1.bias"], c["layer_norm_epsilon"])
        qkv = torch.addmm(S[p + "attn.c_attn.bias"], h.view(-1, d), S[p + "attn.c_attn.weight"]).view(B, T, 3 * d)
        q, k, v = qkv.split(d, dim=2)
        a = attend(heads(q), heads(k), heads(v), mask).permute(0, 2, 1, 3).reshape(B, T, d)
        x = x + (a @ S[p + "attn.c_proj.weight"] + S[p + "attn.c_proj.bias"])
        h = Fn.layer_norm(x, (d,), S[p + "ln_2.weight"], S[p + "ln_2.bias"], c["layer_norm_epsilon"])
        x = x + gelu(h @ S[p + "mlp.c_fc.weight"] + S[p + "mlp.c_fc.bias"]) @ S[p + "mlp.c_proj.weight"] + S[p + "mlp.c_proj.bias"]
    x = Fn.layer_norm(x, (d,), S["transformer.ln_f.weight"], S["transformer.ln_f.bias"], c["layer_norm_epsilon"])
    # tie_word_embeddings false (an orthogonalised copy): its own lm_head, as HF then loads it.
    return x @ S.get("lm_head.weight", S["transformer.wte.weight"]).t()


def neox(S, c, tok, mask, pos):
    d, H = c["hidden_size"], c["num_attention_heads"]
    dh, B, T = d // H, tok.shape[0], tok.shape[1]
    rd = int(dh * c["rotary_pct"])
    eps = c["layer_norm_eps"]
    x = S["gpt_neox.embed_in.weight"][tok]
    for l in range(c["num_hidden_layers"]):
        p = f"gpt_neox.layers.{l}."
        ln = lambda t, n: Fn.layer_norm(t, (d,), S[p + n + ".weight"], S[p + n + ".bias"], eps)
        h = ln(x, "input_layernorm")
        qkv = Fn.linear(h, S[p + "attention.query_key_value.weight"], S[p + "attention.query_key_value.bias"])
        qkv = qkv.view(B, T, H, 3 * dh).permute(0, 2, 1, 3)
        q, k, v = qkv[..., :dh], qkv[..., dh:2 * dh], qkv[..., 2 * dh:]
        q, k = rope(q, pos, rd, c["rotary_emb_base"]), rope(k, pos, rd, c["rotary_emb_base"])
        a = attend(q, k, v, mask).permute(0, 2, 1, 3).reshape(B, T, d)
        a = Fn.linear(a, S[p + "attention.dense.weight"], S[p + "attention.dense.bias"])
        mlp = lambda t: Fn.linear(Fn.gelu(Fn.linear(t, S[p + "mlp.dense_h_to_4h.weight"], S[p + "mlp.dense_h_to_4h.bias"])),
                                  S[p + "mlp.dense_4h_to_h.weight"], S[p + "mlp.dense_4h_to_h.bias"])
        if c["use_parallel_residual"]:
            x = x + a + mlp(ln(x, "post_attention_layernorm"))
        else:
            x = x + a
            x = x + mlp(ln(x, "post_attention_layernorm"))
    x = Fn.layer_norm(x, (d,), S["gpt_neox.final_layer_norm.weight"], S["gpt_neox.final_layer_norm.bias"], eps)
    return Fn.linear(x, S["embed_out.weight"])


def llama(S, c, tok, mask, pos):
    d, H, Hkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    dh, B, T = d // H, tok.shape[0], tok.shape[1]
    rms = lambda t, w: w * (t * torch.rsqrt(t.pow(2).mean(-1, keepdim=True) + c["rms_norm_eps"]))

    def repeat_kv(t):
        n = H // Hkv
        return t[:, :, None].expand(B, Hkv, n, T, dh).reshape(B, H, T, dh)

    x = S["model.embed_tokens.weight"][tok]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms(x, S[p + "input_layernorm.weight"])
        lin = lambda n: Fn.linear(h, S[p + f"self_attn.{n}.weight"], S.get(p + f"self_attn.{n}.bias"))
        q = lin("q_proj").view(B, T, H, dh).transpose(1, 2)
        k = lin("k_proj").view(B, T, Hkv, dh).transpose(1, 2)
        v = lin("v_proj").view(B, T, Hkv, dh).transpose(1, 2)
        q, k = rope(q, pos, dh, c["rope_theta"]), rope(k, pos, dh, c["rope_theta"])
        a = attend(q, repeat_kv(k), repeat_kv(v), mask).transpose(1, 2).reshape(B, T, d)
        x = x + Fn.linear(a, S[p + "self_attn.o_proj.weight"])
        h = rms(x, S[p + "post_attention_layernorm.weight"])
        g = Fn.linear(h, S[p + "mlp.gate_proj.weight"])
        u = Fn.linear(h, S[p + "mlp.up_proj.weight"])
        x = x + Fn.linear(Fn.silu(g) * u, S[p + "mlp.down_proj.weight"])
    x = rms(x, S["model.norm.weight"])
    return Fn.linear(x, S.get("lm_head.weight", S["model.embed_tokens.weight"]))


FAMILY = {"gpt2": gpt2, "gpt_neox": neox, "llama": llama, "qwen2": llama}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "tests", "golden", "fixtures")
    tol = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-5
    ok = True
    for case in ("gpt2", "neox", "neox-seq", "llama", "llama-tied", "qwen2"):
        S, c, exp = load(os.path.join(root, case))
        files = [("expected.safetensors", exp)]
        lp = os.path.join(root, case, "expected_leftpad.safetensors")
        if os.path.exists(lp):
            files.append(("expected_leftpad.safetensors", F.read_safetensors(lp)[0]))
        for fname, e in files:
            tok = torch.tensor(e["tokens"].astype(np.int64))
            mask = torch.tensor(e["attention_mask"].astype(np.int64))
            pos = torch.tensor(e["position_ids"].astype(np.int64))
            logits = FAMILY[c["model_type"]](S, c, tok, mask, pos)
            sel = mask.bool()
            err = (logits[sel] - torch.tensor(e["logits"].astype(np.float64))[sel]).abs().max().item()
            good = err < tol
            ok &= good
            print(f"{case:<12} {fname:<30} max|Δlogit| {err:.2e} {'ok' if good else 'MISMATCH'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
