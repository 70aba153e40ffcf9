#!/usr/bin/python3
"""PyTorch baseline for glassbox's training benchmark (bench/bench_train.cpp).

    /usr/bin/python3 bench/reference_train.py --mode train [--layers 4] [--d-model 128] [--heads 4] \\
        [--n-ctx 128] [--vocab 2048] [--batch 16] [--tokens 128] [--repeat 20] [--warmup 3] [--threads 2]
    /usr/bin/python3 bench/reference_train.py --mode fwd|fwdbwd --model DIR [--batch 1] [--tokens 1024] \\
        [--repeat 3] [--warmup 1] [--threads 2]

Prints one JSON line with the same keys as bench_train.

train:  a fresh GPT-2 (N(0, 0.02), residual-writing c_proj matrices scaled by
        1/sqrt(2 n_layer), LayerNorm 1/0, biases 0, tied unembedding: the
        shapes and init of glassbox's Trainable::init) trained with
        torch.optim.AdamW (lr 1e-3, betas 0.9/0.95, eps 1e-8, weight decay
        0.01 on matrices and embeddings only, as glassbox) and
        clip_grad_norm_(1.0). `seconds` is the median step; tokens_per_s counts
        the --repeat timed steps after --warmup untimed ones.
fwd:    model(tokens) + F.cross_entropy under torch.no_grad(): one forward,
        no autograd graph.
fwdbwd: the same with autograd, zero_grad(set_to_none) and loss.backward():
        a training step without the optimiser. forward_seconds /
        backward_seconds split it.
Tokens come from the same pseudo-random stream as bench_train's, so on one
model the fwd / fwdbwd losses of the two must agree (to ~1e-4).

The model is a plain GPT-2 (nanoGPT style, the fast way to write it in torch
1.13): fused c_attn addmm on the Hugging Face Conv1D [in, out] layout, eager
causal attention (no scaled_dot_product_attention before torch 2.0),
F.layer_norm, F.gelu(approximate="tanh") (= gelu_new). For fwd/fwdbwd the
weights are copied from the Hugging Face safetensors file into parameters.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_hooked_gpt2 import read_safetensors_mmap  # noqa: E402


class Block(nn.Module):
    def __init__(self, d, H):
        super().__init__()
        self.H = H
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn_w = nn.Parameter(torch.empty(d, 3 * d))  # Conv1D [in, out]
        self.c_attn_b = nn.Parameter(torch.zeros(3 * d))
        self.c_proj_w = nn.Parameter(torch.empty(d, d))
        self.c_proj_b = nn.Parameter(torch.zeros(d))
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc_w = nn.Parameter(torch.empty(d, 4 * d))
        self.c_fc_b = nn.Parameter(torch.zeros(4 * d))
        self.mlp_proj_w = nn.Parameter(torch.empty(4 * d, d))
        self.mlp_proj_b = nn.Parameter(torch.zeros(d))

    def forward(self, x, mask):
        B, T, d = x.shape
        H, dh = self.H, d // self.H
        h = self.ln_1(x).view(B * T, d)
        q, k, v = torch.addmm(self.c_attn_b, h, self.c_attn_w).view(B, T, 3, H, dh).permute(2, 0, 3, 1, 4)
        att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(dh))
        att = torch.softmax(att.masked_fill(mask[:T, :T], float("-inf")), dim=-1)
        z = torch.matmul(att, v).transpose(1, 2).reshape(B * T, d)
        x = x + torch.addmm(self.c_proj_b, z, self.c_proj_w).view(B, T, d)
        h = self.ln_2(x).view(B * T, d)
        h = F.gelu(torch.addmm(self.c_fc_b, h, self.c_fc_w), approximate="tanh")
        return x + torch.addmm(self.mlp_proj_b, h, self.mlp_proj_w).view(B, T, d)


class GPT2(nn.Module):
    def __init__(self, L, d, H, n_ctx, V):
        super().__init__()
        self.n_ctx, self.V = n_ctx, V
        self.wte = nn.Parameter(torch.empty(V, d))
        self.wpe = nn.Parameter(torch.empty(n_ctx, d))
        self.h = nn.ModuleList([Block(d, H) for _ in range(L)])
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        self.register_buffer("mask", torch.ones(n_ctx, n_ctx, dtype=torch.bool).triu_(1), persistent=False)

    def init_weights(self, seed, std=0.02):
        g = torch.Generator().manual_seed(seed)
        L = len(self.h)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() < 2:
                    continue  # biases 0, LayerNorm weights 1 (their constructors' defaults)
                s = std / math.sqrt(2 * L) if name.endswith("c_proj_w") or name.endswith("mlp_proj_w") else std
                p.normal_(0.0, s, generator=g)

    def load_hf(self, S):
        """Copies a Hugging Face GPT2LMHeadModel state (safetensors names) into the parameters."""
        names = {"wte": "transformer.wte.weight", "wpe": "transformer.wpe.weight",
                 "ln_f.weight": "transformer.ln_f.weight", "ln_f.bias": "transformer.ln_f.bias"}
        for l in range(len(self.h)):
            p, q = f"h.{l}.", f"transformer.h.{l}."
            names.update({p + "ln_1.weight": q + "ln_1.weight", p + "ln_1.bias": q + "ln_1.bias",
                          p + "c_attn_w": q + "attn.c_attn.weight", p + "c_attn_b": q + "attn.c_attn.bias",
                          p + "c_proj_w": q + "attn.c_proj.weight", p + "c_proj_b": q + "attn.c_proj.bias",
                          p + "ln_2.weight": q + "ln_2.weight", p + "ln_2.bias": q + "ln_2.bias",
                          p + "c_fc_w": q + "mlp.c_fc.weight", p + "c_fc_b": q + "mlp.c_fc.bias",
                          p + "mlp_proj_w": q + "mlp.c_proj.weight", p + "mlp_proj_b": q + "mlp.c_proj.bias"})
        with torch.no_grad():
            for name, p in self.named_parameters():
                p.copy_(S[names[name]])

    def forward(self, tokens):
        B, T = tokens.shape
        x = self.wte[tokens] + self.wpe[:T]
        for b in self.h:
            x = b(x, self.mask)
        return torch.matmul(self.ln_f(x), self.wte.t())  # tied unembedding


class TokenStream:
    """Pseudo-random tokens from a 64-bit LCG (Knuth's MMIX constants), the same stream as bench_train."""
    M = (1 << 64) - 1

    def __init__(self, seed):
        self.state = (seed * 2654435761 + 1) & self.M

    def batch(self, B, T, V):
        """[B, T] inputs and [B, T] next-token targets from B rows of T+1 tokens."""
        out, s = [], self.state
        for _ in range(B * (T + 1)):
            s = (s * 6364136223846793005 + 1442695040888963407) & self.M
            out.append((s >> 33) % V)
        self.state = s
        x = torch.tensor(out, dtype=torch.int64).view(B, T + 1)
        return x[:, :T].contiguous(), x[:, 1:].contiguous()


def loss_of(model, x, y):
    logits = model(x)
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))


def set_blas_threads(n):
    """torch.set_num_threads does not reach OpenBLAS's own thread pool (Debian's torch calls
    OpenBLAS for matmuls, which otherwise uses every core); bench_train sets both."""
    import ctypes
    with open("/proc/self/maps") as f:
        libs = sorted({l.split()[-1] for l in f if "libopenblas" in l})
    for lib in libs:
        ctypes.CDLL(lib).openblas_set_num_threads(ctypes.c_int(n))
    return bool(libs)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_train(a):
    model = GPT2(a.layers, a.d_model, a.heads, a.n_ctx, a.vocab)
    model.init_weights(a.seed)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    ts = TokenStream(a.seed)  # batches made up front: the LCG in Python would cost ~1 ms a step
    batches = [ts.batch(a.batch, a.tokens, a.vocab) for _ in range(a.warmup + a.repeat)]
    times, cpu_times, losses = [], [], []
    for i, (x, y) in enumerate(batches):
        t, c = time.perf_counter(), time.process_time()
        loss = loss_of(model, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
            cpu_times.append(time.process_time() - c)
    out = {"impl": "torch", "mode": "train", "layers": a.layers, "d_model": a.d_model, "heads": a.heads,
           "n_ctx": a.n_ctx, "vocab": a.vocab, "n_params": sum(p.numel() for p in model.parameters()),
           "batch": a.batch, "tokens": a.tokens, "threads": a.threads, "warmup": a.warmup, "repeat": a.repeat,
           "seconds": round(statistics.median(times), 4),
           "tokens_per_s": round(a.batch * a.tokens * len(times) / sum(times), 1),
           "cpu_seconds": round(statistics.median(cpu_times), 4),
           "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4),
           "peak_rss_mb": round(peak_rss_mb(), 1), "all_seconds": [round(t, 4) for t in times],
           "loadavg_1min": os.getloadavg()[0], "torch": torch.__version__}
    print(json.dumps(out))
    return 0


def run_fwd(a):
    if not a.model:
        sys.exit(f"--mode {a.mode} needs --model DIR")
    t0 = time.perf_counter()
    with open(os.path.join(a.model, "config.json")) as f:
        c = json.load(f)
    model = GPT2(c["n_layer"], c["n_embd"], c["n_head"], c["n_positions"], c["vocab_size"])
    model.load_hf(read_safetensors_mmap(os.path.join(a.model, "model.safetensors")))
    load_s = time.perf_counter() - t0
    if a.tokens > model.n_ctx:
        sys.exit(f"--tokens {a.tokens} exceeds n_ctx {model.n_ctx}")
    x, y = TokenStream(a.seed).batch(a.batch, a.tokens, model.V)
    bwd = a.mode == "fwdbwd"
    times, fwd_times, bwd_times, cpu_times, loss = [], [], [], [], 0.0
    for i in range(a.warmup + a.repeat):
        t, cp = time.perf_counter(), time.process_time()
        with torch.set_grad_enabled(bwd):
            loss_t = loss_of(model, x, y)
        f_s = time.perf_counter() - t
        if bwd:
            model.zero_grad(set_to_none=True)
            loss_t.backward()
        s = time.perf_counter() - t
        loss = loss_t.item()
        del loss_t
        if i >= a.warmup:
            times.append(s)
            fwd_times.append(f_s)
            bwd_times.append(s - f_s)
            cpu_times.append(time.process_time() - cp)
    out = {"impl": "torch", "mode": a.mode, "layers": c["n_layer"], "d_model": c["n_embd"], "vocab": c["vocab_size"],
           "batch": a.batch, "tokens": a.tokens, "threads": a.threads, "warmup": a.warmup, "repeat": a.repeat,
           "seconds": round(statistics.median(times), 4), "forward_seconds": round(statistics.median(fwd_times), 4),
           "backward_seconds": round(statistics.median(bwd_times), 4),
           "cpu_seconds": round(statistics.median(cpu_times), 4), "loss": round(loss, 4),
           "load_seconds": round(load_s, 4), "peak_rss_mb": round(peak_rss_mb(), 1),
           "all_seconds": [round(t, 4) for t in times], "loadavg_1min": os.getloadavg()[0], "torch": torch.__version__}
    print(json.dumps(out))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["train", "fwd", "fwdbwd"], default="train")
    ap.add_argument("--model", help="fwd/fwdbwd: directory with config.json + model.safetensors (HF GPT-2)")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--n-ctx", type=int, default=128)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--tokens", type=int)
    ap.add_argument("--repeat", type=int)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    train = a.mode == "train"
    for k, dt, df in (("batch", 16, 1), ("tokens", 128, 1024), ("repeat", 20, 3), ("warmup", 3, 1)):
        if getattr(a, k) is None:
            setattr(a, k, dt if train else df)
    if a.batch < 1 or a.tokens < 1 or a.repeat < 1 or a.warmup < 0:
        sys.exit("--batch, --tokens and --repeat must be positive, --warmup >= 0")
    torch.set_num_threads(a.threads)
    set_blas_threads(a.threads)
    torch.manual_seed(a.seed)
    return run_train(a) if train else run_fwd(a)


if __name__ == "__main__":
    sys.exit(main())
