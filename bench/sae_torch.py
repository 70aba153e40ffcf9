#!/usr/bin/python3
"""PyTorch reference for glassbox's SAE training benchmark (bench/bench_sae.cpp).

    /usr/bin/python3 bench/sae_torch.py make --out DIR [--rows 32768] [--d-in 768] [--expansion 16] [--k 32]
        [--density 0.01]
    /usr/bin/python3 bench/sae_torch.py train --dir DIR --arch topk|relu [--init NAME] [--steps 50]
        [--batch 1024] [--lr 4e-4] [--l1 5] [--warmup 3] [--threads 2]

make:  DIR/acts.safetensors — synthetic residual-stream-like activations,
       [rows, d_in] under the tensor name blocks.0.hook_resid_post: sparse
       sums of 4*d_in random unit directions (about 24 active per row, log-normal
       magnitudes) plus a shared offset and Gaussian noise;
       DIR/init-topk/ and DIR/init-relu/ — the initial SAE in SAELens' layout
       (unit-norm random decoder rows, W_enc = W_dec^T, b_enc 0, b_dec = the
       mean of the data), so both programs start from the same weights;
       DIR/init-relu-sparse/ — the ReLU SAE as it is after the first phase of
       training: each latent's b_enc set so that it fires on --density of the
       rows (L0 ~ density * d_sae, ~120 at the defaults), the regime a ReLU SAE
       spends nearly all of its training in. From the dense init about half
       the latents fire on every row and both programs run the same dense
       GEMMs until the L1 term has thinned them out.
train: the SAE written the plain PyTorch way (SAELens-style dense ops and
       autograd), one step per batch of consecutive rows (wrapping around):
         sae_in = x - b_dec; pre = sae_in @ W_enc + b_enc
         topk: f = scatter(topk(pre, k) -> relu)   relu: f = relu(pre)
         x_hat = f @ W_dec + b_dec; mse = ((x_hat - x)^2).sum(-1).mean()
         relu adds l1 * (f * ||W_dec rows||).sum(-1).mean()
       torch.optim.Adam(lr, betas 0.9/0.999, eps 1e-8), constant lr; TopK keeps
       unit-norm decoder rows (gradient component along each row removed
       before the step, rows renormalised after), as glassbox does.
       Prints one JSON line: tokens_per_s over the steps after --warmup, the
       median seconds per step, and every step's loss.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from formats import read_safetensors, write_safetensors  # noqa: E402

SITE = "blocks.0.hook_resid_post"


def make(a):
    rng = np.random.default_rng(0)
    d, n_feat = a.d_in, 4 * a.d_in
    dirs = rng.normal(0, 1, (n_feat, d)).astype(np.float32)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    offset = rng.normal(0, 0.5, d).astype(np.float32)
    rows = np.empty((a.rows, d), np.float32)
    for s in range(0, a.rows, 4096):
        n = min(4096, a.rows - s)
        active = rng.random((n, n_feat)) < 24.0 / n_feat
        mags = np.exp(rng.normal(0, 0.5, (n, n_feat))).astype(np.float32) * active
        rows[s:s + n] = mags @ dirs + offset + rng.normal(0, 0.05, (n, d)).astype(np.float32)
    os.makedirs(a.out, exist_ok=True)
    write_safetensors(os.path.join(a.out, "acts.safetensors"), {SITE: rows})
    d_sae = a.expansion * d
    W_dec = rng.normal(0, 1, (d_sae, d)).astype(np.float32)
    W_dec /= np.linalg.norm(W_dec, axis=1, keepdims=True)
    W = {"W_enc": np.ascontiguousarray(W_dec.T), "b_enc": np.zeros(d_sae, np.float32), "W_dec": W_dec,
         "b_dec": rows.mean(0).astype(np.float32)}
    sae_in = rows[:4096] - W["b_dec"]
    pre = sae_in @ W["W_enc"]
    b_sparse = -np.quantile(pre, 1.0 - a.density, axis=0).astype(np.float32)
    for arch, b_enc in (("topk", W["b_enc"]), ("relu", W["b_enc"]), ("relu-sparse", b_sparse)):
        act = arch.split("-")[0]
        cfg = {"architecture": "standard", "d_in": d, "d_sae": d_sae, "dtype": "float32", "device": "cpu",
               "model_name": "synthetic", "hook_name": SITE, "hook_layer": 0, "hook_head_index": None,
               "activation_fn_str": act, "activation_fn_kwargs": {"k": a.k} if act == "topk" else {},
               "apply_b_dec_to_input": True, "finetuning_scaling_factor": False,
               "sae_lens_training_version": None, "prepend_bos": True, "dataset_path": "", "context_size": 128,
               "normalize_activations": "none"}
        dd = os.path.join(a.out, "init-" + arch)
        os.makedirs(dd, exist_ok=True)
        with open(os.path.join(dd, "cfg.json"), "w") as f:
            json.dump(cfg, f)
        write_safetensors(os.path.join(dd, "sae_weights.safetensors"), dict(W, b_enc=b_enc))


def train(a):
    torch.set_num_threads(a.threads)
    acts, _ = read_safetensors(os.path.join(a.dir, "acts.safetensors"))
    X = torch.from_numpy(acts[SITE])
    init_dir = os.path.join(a.dir, "init-" + (a.init or a.arch))
    init, _ = read_safetensors(os.path.join(init_dir, "sae_weights.safetensors"))
    with open(os.path.join(init_dir, "cfg.json")) as f:
        k = json.load(f)["activation_fn_kwargs"].get("k", 0)
    P = {n: torch.nn.Parameter(torch.from_numpy(init[n].copy())) for n in ("W_enc", "b_enc", "W_dec", "b_dec")}
    opt = torch.optim.Adam(P.values(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    unit_norm = a.arch == "topk"
    losses, times = [], []
    rows, pos = X.shape[0], 0
    for step in range(a.steps):
        t0 = time.perf_counter()
        if pos + a.batch > rows:
            pos = 0
        x = X[pos:pos + a.batch]
        pos += a.batch
        pre = (x - P["b_dec"]) @ P["W_enc"] + P["b_enc"]
        if a.arch == "topk":
            top = torch.topk(pre, k, dim=-1)
            f = torch.zeros_like(pre).scatter(-1, top.indices, torch.relu(top.values))
        else:
            f = torch.relu(pre)
        x_hat = f @ P["W_dec"] + P["b_dec"]
        loss = (x_hat - x).pow(2).sum(-1).mean()
        if a.arch == "relu":
            loss = loss + a.l1 * (f * P["W_dec"].norm(dim=1)).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if unit_norm:
            with torch.no_grad():
                W, G = P["W_dec"], P["W_dec"].grad
                G -= (G * W).sum(-1, keepdim=True) * W
        opt.step()
        if unit_norm:
            with torch.no_grad():
                P["W_dec"] /= P["W_dec"].norm(dim=1, keepdim=True)
        losses.append(float(loss))
        times.append(time.perf_counter() - t0)
    timed = times[a.warmup:]
    print(json.dumps({"impl": "torch", "arch": a.arch, "init": a.init or a.arch, "batch": a.batch, "steps": a.steps,
                      "threads": a.threads,
                      "tokens_per_s": a.batch * len(timed) / sum(timed), "seconds": statistics.median(timed),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "losses": losses}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    m.add_argument("--rows", type=int, default=32768)
    m.add_argument("--d-in", type=int, default=768)
    m.add_argument("--expansion", type=int, default=16)
    m.add_argument("--k", type=int, default=32)
    m.add_argument("--density", type=float, default=0.01)
    t = sub.add_parser("train")
    t.add_argument("--dir", required=True)
    t.add_argument("--arch", choices=["topk", "relu"], required=True)
    t.add_argument("--init", default="", help="initial SAE DIR/init-NAME (default: the arch's)")
    t.add_argument("--steps", type=int, default=50)
    t.add_argument("--batch", type=int, default=1024)
    t.add_argument("--lr", type=float, default=4e-4)
    t.add_argument("--l1", type=float, default=5.0)
    t.add_argument("--warmup", type=int, default=3)
    t.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    make(a) if a.cmd == "make" else train(a)


if __name__ == "__main__":
    main()
