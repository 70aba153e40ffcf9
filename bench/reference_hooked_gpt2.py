#!/usr/bin/python3
"""PyTorch baseline for glassbox's benchmarks: a TransformerLens-style hooked GPT-2.

    /usr/bin/python3 bench/reference_hooked_gpt2.py --model DIR --tokens 1024 \\
        --mode plain|cache|cache_result|load [--threads 2] [--repeat 3] [--batch 1]
    /usr/bin/python3 bench/reference_hooked_gpt2.py --model tests/golden/fixtures/gpt2 --verify

Prints one JSON line: {mode, seconds, load_seconds, peak_rss_mb, n_cached_tensors, cached_bytes, ...}.
`seconds` is the median forward wall time over --repeat runs (after one
untimed warm-up run), excluding load; for --mode load it is the load time.
`cpu_seconds` (median process CPU time per forward, all threads) and
`loadavg_1min` help to spot runs disturbed by other work on the machine.

Built the way TransformerLens builds it: every activation passes through a
HookPoint (an identity nn.Module); run_with_cache registers a forward hook on
every HookPoint that stores output.detach() in a dict, as
HookedTransformer.run_with_cache does. Attention is TransformerLens' eager
path: separate Q/K/V projections, scores = q.k / sqrt(d_head), causal mask via
torch.where(mask, scores, -inf), softmax, NaN->0, z = pattern @ v, and, with
--mode cache_result (use_attn_result), per-head results
einsum(z, W_O) -> [batch, pos, head, d_model] summed over heads. gelu_new is
written out as TransformerLens does. LayerNorm hooks: hook_scale =
sqrt(mean((x-mean)^2)+eps), hook_normalized = (x-mean)/scale (before w, b).

Weights come from the Hugging Face GPT-2 safetensors file (F32) through a
copy-on-write numpy memmap and torch.from_numpy, so loading copies nothing;
TransformerLens-layout weights (W_Q [head, d_model, d_head], ...) are strided
views into the Conv1D matrices. Non-F32 files are converted once on load.
"""
import argparse
import json
import math
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

_NP = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I32": np.int32, "I64": np.int64,
       "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors_mmap(path):
    """dict name -> torch tensor viewing a copy-on-write memmap of the file (no copies for F32)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    mm = np.memmap(path, dtype=np.uint8, mode="c")
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = mm[base + b:base + e]
        if info["dtype"] == "BF16":
            arr = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = raw.view(np.dtype(_NP[info["dtype"]]).newbyteorder("<"))
        t = torch.from_numpy(arr.reshape(info["shape"]))
        if t.is_floating_point() and t.dtype != torch.float32:
            t = t.float()
        out[name] = t
    return out


class HookPoint(nn.Module):
    """Identity module; hooks are PyTorch forward hooks, exactly like TransformerLens' HookPoint."""

    def __init__(self):
        super().__init__()
        self.name = None

    def forward(self, x):
        return x


class LayerNorm(nn.Module):
    def __init__(self, w, b, eps):
        super().__init__()
        self.w, self.b, self.eps = w, b, eps
        self.hook_scale = HookPoint()
        self.hook_normalized = HookPoint()

    def forward(self, x):
        x = x - x.mean(-1, keepdim=True)
        scale = self.hook_scale((x.pow(2).mean(-1, keepdim=True) + self.eps).sqrt())
        x = self.hook_normalized(x / scale)
        return x * self.w + self.b


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, S, h, cfg):
        super().__init__()
        d, H = cfg["d_model"], cfg["n_heads"]
        dh = d // H
        self.H, self.dh, self.d = H, dh, d
        cw, cb = S[h + ".attn.c_attn.weight"], S[h + ".attn.c_attn.bias"]  # Conv1D [d, 3d]
        # flat [d_model, n_heads*d_head] strided views == TransformerLens W_Q etc. rearranged
        self.W_Q, self.W_K, self.W_V = cw[:, :d], cw[:, d:2 * d], cw[:, 2 * d:]
        self.b_Q, self.b_K, self.b_V = cb[:d], cb[d:2 * d], cb[2 * d:]
        self.W_O_flat = S[h + ".attn.c_proj.weight"]  # [(head d_head), d_model]
        self.W_O = self.W_O_flat.view(H, dh, d)
        self.b_O = S[h + ".attn.c_proj.bias"]
        self.use_attn_result = False
        self.register_buffer("IGNORE", torch.tensor(-float("inf")), persistent=False)
        for n in ("q", "k", "v", "attn_scores", "pattern", "z", "result"):
            setattr(self, "hook_" + n, HookPoint())

    def forward(self, x):
        B, T, _ = x.shape
        H, dh = self.H, self.dh
        q = self.hook_q(torch.addmm(self.b_Q, x.view(B * T, -1), self.W_Q).view(B, T, H, dh))
        k = self.hook_k(torch.addmm(self.b_K, x.view(B * T, -1), self.W_K).view(B, T, H, dh))
        v = self.hook_v(torch.addmm(self.b_V, x.view(B * T, -1), self.W_V).view(B, T, H, dh))
        scores = torch.matmul(q.permute(0, 2, 1, 3), k.permute(0, 2, 3, 1)) / math.sqrt(dh)
        mask = torch.ones(T, T, dtype=torch.bool).tril_()
        scores = self.hook_attn_scores(torch.where(mask, scores, self.IGNORE))
        pattern = torch.softmax(scores, dim=-1)
        pattern = self.hook_pattern(torch.where(torch.isnan(pattern), torch.zeros_like(pattern), pattern))
        z = self.hook_z(torch.matmul(pattern, v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3))  # [B,T,H,dh]
        if self.use_attn_result:
            # einsum("batch pos head d_head, head d_head d_model -> batch pos head d_model")
            result = self.hook_result(torch.matmul(z.permute(0, 2, 1, 3), self.W_O).permute(0, 2, 1, 3))
            return result.sum(-2) + self.b_O
        return torch.addmm(self.b_O, z.reshape(B * T, H * dh), self.W_O_flat).view(B, T, -1)


class MLP(nn.Module):
    def __init__(self, S, h):
        super().__init__()
        self.W_in, self.b_in = S[h + ".mlp.c_fc.weight"], S[h + ".mlp.c_fc.bias"]
        self.W_out, self.b_out = S[h + ".mlp.c_proj.weight"], S[h + ".mlp.c_proj.bias"]
        self.hook_pre, self.hook_post = HookPoint(), HookPoint()

    def forward(self, x):
        B, T, d = x.shape
        pre = self.hook_pre(torch.addmm(self.b_in, x.view(B * T, d), self.W_in).view(B, T, -1))
        post = self.hook_post(gelu_new(pre))
        return torch.addmm(self.b_out, post.view(B * T, -1), self.W_out).view(B, T, d)


class Block(nn.Module):
    def __init__(self, S, l, cfg):
        super().__init__()
        h = f"transformer.h.{l}"
        eps = cfg["eps"]
        self.ln1 = LayerNorm(S[h + ".ln_1.weight"], S[h + ".ln_1.bias"], eps)
        self.attn = Attention(S, h, cfg)
        self.ln2 = LayerNorm(S[h + ".ln_2.weight"], S[h + ".ln_2.bias"], eps)
        self.mlp = MLP(S, h)
        for n in ("resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post"):
            setattr(self, "hook_" + n, HookPoint())

    def forward(self, x):
        x = self.hook_resid_pre(x)
        attn_out = self.hook_attn_out(self.attn(self.ln1(x)))
        x = self.hook_resid_mid(x + attn_out)
        mlp_out = self.hook_mlp_out(self.mlp(self.ln2(x)))
        return self.hook_resid_post(x + mlp_out)


class HookedGPT2(nn.Module):
    def __init__(self, S, cfg):
        super().__init__()
        self.cfg = cfg
        self.W_E, self.W_pos = S["transformer.wte.weight"], S["transformer.wpe.weight"]
        self.W_U = self.W_E.t()  # tied unembedding, a view
        self.hook_embed, self.hook_pos_embed = HookPoint(), HookPoint()
        self.blocks = nn.ModuleList([Block(S, l, cfg) for l in range(cfg["n_layers"])])
        self.ln_final = LayerNorm(S["transformer.ln_f.weight"], S["transformer.ln_f.bias"], cfg["eps"])
        self.hook_dict = {}
        for name, m in self.named_modules():
            if isinstance(m, HookPoint):
                m.name = name
                self.hook_dict[name] = m

    def set_use_attn_result(self, flag):
        for b in self.blocks:
            b.attn.use_attn_result = flag

    def forward(self, tokens):
        B, T = tokens.shape
        x = self.hook_embed(self.W_E[tokens])
        x = x + self.hook_pos_embed(self.W_pos[:T].unsqueeze(0).expand(B, T, -1))
        for b in self.blocks:
            x = b(x)
        x = self.ln_final(x)
        return torch.matmul(x, self.W_U)

    def run_with_cache(self, tokens):
        """As HookedTransformer.run_with_cache: a caching forward hook on every HookPoint."""
        cache, handles = {}, []
        use_result = any(b.attn.use_attn_result for b in self.blocks)
        for name, hp in self.hook_dict.items():
            if name.endswith("hook_result") and not use_result:
                continue

            def save_hook(module, inp, out, name=name):
                cache[name] = out.detach()
            handles.append(hp.register_forward_hook(save_hook))
        try:
            logits = self(tokens)
        finally:
            for h in handles:
                h.remove()
        return logits, cache


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    cfg = {"d_model": c["n_embd"], "n_heads": c["n_head"], "n_layers": c["n_layer"],
           "eps": c.get("layer_norm_epsilon", 1e-5), "d_vocab": c["vocab_size"], "n_ctx": c["n_positions"]}
    S = read_safetensors_mmap(os.path.join(model_dir, "model.safetensors"))
    return HookedGPT2(S, cfg)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def verify(model_dir):
    """Row 0 of the golden fixture's expected.safetensors (unpadded) against this model, hooks included."""
    model = load_model(model_dir)
    model.set_use_attn_result(True)
    exp = {k: v.numpy() for k, v in read_safetensors_mmap(os.path.join(model_dir, "expected.safetensors")).items()}
    tokens = torch.from_numpy(exp["tokens"][:1].astype(np.int64))
    with torch.inference_mode():
        logits, cache = model.run_with_cache(tokens)
    worst, n = float(np.abs(logits.numpy() - exp["logits"][:1]).max()), 0
    for name, t in cache.items():
        if name in exp:
            e = exp[name][:1]
            a = t.numpy()
            fin = np.isfinite(e)
            assert (np.isfinite(a) == fin).all(), name
            worst = max(worst, float(np.abs(a[fin] - e[fin]).max()))
            n += 1
    print(json.dumps({"verify": model_dir, "hooks_compared": n, "max_abs_err": worst, "ok": worst < 1e-4}))
    return 0 if worst < 1e-4 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="directory with config.json + model.safetensors (HF GPT-2)")
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--mode", choices=["plain", "cache", "cache_result", "load"], default="plain")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verify", action="store_true", help="check against the model dir's expected.safetensors")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.verify:
        return verify(a.model)

    t0 = time.perf_counter()
    model = load_model(a.model)
    load_s = time.perf_counter() - t0
    out = {"mode": a.mode, "threads": a.threads, "batch": a.batch, "tokens": a.tokens, "torch": torch.__version__}
    if a.mode == "load":
        out.update(seconds=load_s, load_seconds=load_s, peak_rss_mb=round(peak_rss_mb(), 1),
                   n_cached_tensors=0, cached_bytes=0)
        print(json.dumps(out))
        return 0
    if a.tokens > model.cfg["n_ctx"]:
        sys.exit(f"--tokens {a.tokens} exceeds n_ctx {model.cfg['n_ctx']}")
    g = torch.Generator().manual_seed(a.seed)
    tokens = torch.randint(0, model.cfg["d_vocab"], (a.batch, a.tokens), generator=g)
    model.set_use_attn_result(a.mode == "cache_result")
    times, cpu_times, n_cached, cached_bytes = [], [], 0, 0
    with torch.inference_mode():
        for i in range(a.repeat + 1):  # run 0: untimed warm-up (pages in the mmap'd weights)
            cache = logits = None
            t, c = time.perf_counter(), time.process_time()
            if a.mode == "plain":
                logits = model(tokens)
            else:
                logits, cache = model.run_with_cache(tokens)
            dt, dc = time.perf_counter() - t, time.process_time() - c
            if i == 0:
                out["warmup_seconds"] = round(dt, 4)
            else:
                times.append(dt)
                cpu_times.append(dc)
            if cache is not None:
                n_cached = len(cache)
                cached_bytes = sum(v.numel() * v.element_size() for v in cache.values())
            del cache, logits
    out.update(seconds=round(statistics.median(times), 4), load_seconds=round(load_s, 4),
               peak_rss_mb=round(peak_rss_mb(), 1), n_cached_tensors=n_cached, cached_bytes=cached_bytes,
               all_seconds=[round(t, 4) for t in times], cpu_seconds=round(statistics.median(cpu_times), 4),
               loadavg_1min=os.getloadavg()[0])
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
