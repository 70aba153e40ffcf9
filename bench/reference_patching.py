#!/usr/bin/python3
"""PyTorch baseline for glassbox's patching benchmark (bench/bench_patching.cpp).

    /usr/bin/python3 bench/reference_patching.py --model DIR [--tokens 64] [--mode act|attr] [--corrupt 1]
        [--threads 2] [--repeat 1] [--logits all|last] [--grads acts|weights] [--dump FILE]

Prints one JSON line with the same keys as bench_patching. The model is the
TransformerLens-style hooked GPT-2 of reference_hooked_gpt2.py (HookPoints with
PyTorch forward / backward hooks), on the same weights and the same tokens as
bench_patching, so the grids (and their `checksum`, the sum of every value)
must agree to ~1e-3 relative.

act:  TransformerLens' patching.get_act_patch_resid_pre as the demo uses it:
      clean_logits, clean_cache = run_with_cache(clean) (every hook), one
      corrupted baseline run, then for every (layer, position) a full forward
      of the corrupted prompt with a forward hook on blocks.{l}.hook_resid_pre
      doing act[:, pos] = clean_cache[...][:, pos] (run_with_hooks: the hook is
      added and removed around each run), metric = logit difference at the
      last position, normalised (patched - corrupt) / (clean - corrupt).
      Nothing is reused between cells: that is what TransformerLens does.
      (--mode act_noreuse is accepted and is the same thing.)
attr: Nanda's attribution patching: a clean forward caching hook_resid_pre,
      hook_attn_out and hook_mlp_out; a corrupted forward caching the same and
      backward from the logit difference with full backward hooks on those
      HookPoints storing d metric / d activation; then per layer x position
      sum over d_model of (clean - corrupt) * grad, normalised as above.
      --grads acts (default) makes the embedding output the autograd leaf, so
      the backward computes activation gradients only, the work glassbox
      does; --grads weights makes the weights require grad as the
      nn.Parameters of a stock HookedTransformer do (weight gradients too).
--logits all (default) computes the logits of every position, as a
      HookedTransformer forward does; --logits last only the last position's
      (what glassbox computes for a last-position metric), to split the ratio.

`seconds` is the median over --repeat timed runs of the whole analysis
(clean run, corrupted run, cells), after one untimed plain forward that pages
the mmap'd weights in. Tokens: clean[t] = (7919 t + 13) mod V; the --corrupt
K positions (k+1) T // (K+1) get (clean + 7777) mod V; answer / wrong are the
clean / corrupted tokens at the first corrupted position.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_hooked_gpt2 import HookedGPT2, peak_rss_mb, read_safetensors_mmap  # noqa: E402
from reference_train import set_blas_threads  # noqa: E402


def load(model_dir, weight_grads):
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    cfg = {"d_model": c["n_embd"], "n_heads": c["n_head"], "n_layers": c["n_layer"],
           "eps": c.get("layer_norm_epsilon", 1e-5), "d_vocab": c["vocab_size"], "n_ctx": c["n_positions"]}
    S = read_safetensors_mmap(os.path.join(model_dir, "model.safetensors"))
    if weight_grads:
        for t in S.values():
            if t.is_floating_point():
                t.requires_grad_(True)
    return HookedGPT2(S, cfg)


def run(model, tokens, last_only):
    """model(tokens), or with last_only the same forward unembedding the last position only."""
    if not last_only:
        return model(tokens)
    B, T = tokens.shape
    x = model.hook_embed(model.W_E[tokens])
    x = x + model.hook_pos_embed(model.W_pos[:T].unsqueeze(0).expand(B, T, -1))
    for b in model.blocks:
        x = b(x)
    return torch.matmul(model.ln_final(x[:, -1:]), model.W_U)


def logit_diff(logits, answer, wrong):
    """Mean over batch of logit[answer] - logit[wrong] at the last position, in float64 as glassbox."""
    z = logits[:, -1].double()
    return (z[:, answer] - z[:, wrong]).mean()


def act_patch_resid_pre(model, clean, corrupt, answer, wrong, last_only):
    L, T = model.cfg["n_layers"], clean.shape[1]
    with torch.inference_mode():
        clean_logits, clean_cache = model.run_with_cache(clean)
        corrupt_logits = run(model, corrupt, last_only)
        v_clean = logit_diff(clean_logits, answer, wrong).item()
        v_corrupt = logit_diff(corrupt_logits, answer, wrong).item()
        grid = torch.zeros(L, T, dtype=torch.float64)
        for layer in range(L):
            name = f"blocks.{layer}.hook_resid_pre"
            hp, clean_act = model.hook_dict[name], clean_cache[name]
            for pos in range(T):
                def patch(module, inp, act, pos=pos):  # layer_pos_patch_setter
                    act[:, pos, ...] = clean_act[:, pos, ...]
                    return act
                h = hp.register_forward_hook(patch)
                try:
                    patched_logits = run(model, corrupt, last_only)
                finally:
                    h.remove()
                v = logit_diff(patched_logits, answer, wrong).item()
                grid[layer, pos] = (v - v_corrupt) / (v_clean - v_corrupt)
    return {"hook_resid_pre": grid}, v_clean, v_corrupt, 2 + L * T


def attr_patch(model, clean, corrupt, answer, wrong, last_only, weight_grads, sites):
    L = model.cfg["n_layers"]
    names = [f"blocks.{l}.{s}" for s in sites for l in range(L)]

    def add_fwd_cache(cache, handles):
        for n in names:
            def save(module, inp, out, n=n):
                cache[n] = out.detach()
            handles.append(model.hook_dict[n].register_forward_hook(save))

    clean_cache, handles = {}, []
    add_fwd_cache(clean_cache, handles)
    try:
        with torch.inference_mode():
            v_clean = logit_diff(run(model, clean, last_only), answer, wrong).item()
    finally:
        for h in handles:
            h.remove()

    cache, grad_cache, handles = {}, {}, []
    add_fwd_cache(cache, handles)
    for n in names:
        def save_grad(module, grad_input, grad_output, n=n):
            grad_cache[n] = grad_output[0].detach()
        handles.append(model.hook_dict[n].register_full_backward_hook(save_grad))
    if not weight_grads:  # the autograd graph starts at the embedding: activation gradients only
        handles.append(model.hook_embed.register_forward_hook(lambda m, i, out: out.detach().requires_grad_(True)))
    try:
        with torch.enable_grad():
            value = logit_diff(run(model, corrupt, last_only), answer, wrong)
            value.backward()
        v_corrupt = value.item()
    finally:
        for h in handles:
            h.remove()

    grids = {}
    for s in sites:
        g = torch.stack([((clean_cache[f"blocks.{l}.{s}"] - cache[f"blocks.{l}.{s}"])
                          * grad_cache[f"blocks.{l}.{s}"]).sum(-1).sum(0) for l in range(L)])
        grids[s] = g.double() / (v_clean - v_corrupt)
    return grids, v_clean, v_corrupt, 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="directory with config.json + model.safetensors (HF GPT-2)")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--mode", choices=["act", "act_noreuse", "attr"], default="act")
    ap.add_argument("--corrupt", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--logits", choices=["all", "last"], default="all")
    ap.add_argument("--grads", choices=["acts", "weights"], default="acts")
    ap.add_argument("--dump", help="write the grids as JSON to this file")
    a = ap.parse_args()
    if a.tokens < 2 or a.repeat < 1 or not 1 <= a.corrupt < a.tokens:
        sys.exit("--tokens >= 2, --repeat >= 1 and 1 <= --corrupt < --tokens, please")
    torch.set_num_threads(a.threads)
    set_blas_threads(a.threads)

    t0 = time.perf_counter()
    weight_grads = a.mode == "attr" and a.grads == "weights"
    model = load(a.model, weight_grads)
    load_s = time.perf_counter() - t0
    V, T = model.cfg["d_vocab"], a.tokens
    if T > model.cfg["n_ctx"]:
        sys.exit(f"--tokens {T} exceeds n_ctx {model.cfg['n_ctx']}")
    clean_ids = [(t * 7919 + 13) % V for t in range(T)]
    corrupt_ids = list(clean_ids)
    cpos = [(k + 1) * T // (a.corrupt + 1) for k in range(a.corrupt)]
    for p in cpos:
        corrupt_ids[p] = (clean_ids[p] + 7777) % V
    answer, wrong = clean_ids[cpos[0]], corrupt_ids[cpos[0]]
    clean = torch.tensor([clean_ids], dtype=torch.int64)
    corrupt = torch.tensor([corrupt_ids], dtype=torch.int64)
    last_only = a.logits == "last"
    sites = ["hook_resid_pre", "hook_attn_out", "hook_mlp_out"]

    with torch.inference_mode():
        run(model, clean, last_only)  # untimed warm-up: pages the mmap'd weights in
    times, cpu_times = [], []
    for _ in range(a.repeat):
        grids = None
        t, c = time.perf_counter(), time.process_time()
        if a.mode == "attr":
            grids, v_clean, v_corrupt, fwd = attr_patch(model, clean, corrupt, answer, wrong, last_only,
                                                        weight_grads, sites)
        else:
            grids, v_clean, v_corrupt, fwd = act_patch_resid_pre(model, clean, corrupt, answer, wrong, last_only)
        times.append(time.perf_counter() - t)
        cpu_times.append(time.process_time() - c)

    # float32 values as glassbox stores them, summed in float64
    vals = {k: g.float().double() for k, g in grids.items()}
    per_site = {k: v.sum().item() for k, v in vals.items()}
    if a.dump:
        with open(a.dump, "w") as f:
            json.dump({"impl": "torch", "mode": a.mode, "grids": [
                {"hook": k, "n_layers": v.shape[0], "n_cols": v.shape[1], "values": v.flatten().tolist(),
                 "clean": v_clean, "corrupt": v_corrupt} for k, v in vals.items()]}, f)
            f.write("\n")
    out = {"impl": "torch", "mode": a.mode, "tokens": T, "corrupt_positions": cpos, "threads": a.threads,
           "repeat": a.repeat, "seconds": round(statistics.median(times), 4),
           "cpu_seconds": round(statistics.median(cpu_times), 4), "load_seconds": round(load_s, 4),
           "peak_rss_mb": round(peak_rss_mb(), 1), "forward_runs": fwd, "backward_runs": int(a.mode == "attr"),
           "cells": sum(v.numel() for v in vals.values()), "clean": v_clean, "corrupt": v_corrupt,
           "checksum": sum(per_site.values()), "abs_sum": sum(v.abs().sum().item() for v in vals.values()),
           "checksums": per_site, "loadavg_1min": os.getloadavg()[0], "all_seconds": [round(t, 4) for t in times],
           "torch": torch.__version__, "logits": a.logits, "grads": a.grads}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
