#!/usr/bin/python3
"""Writes tests/golden/fixtures/sae-*/: tiny SAEs in SAELens' directory layout
(cfg.json + sae_weights.safetensors, SAELens 5.x field names as
sae_lens/sae.py SAEConfig.to_dict writes them) and expected.safetensors with
what SAELens' own forward computes for them, re-implemented here in torch
float64 line by line from sae_lens/sae.py (encode_standard, encode_jumprelu,
TopK, decode with apply_finetuning_scaling_factor).

Independent of glassbox: safetensors written by formats.py from the spec.
Run with Debian's python (torch + numpy):
    /usr/bin/python3 tests/reference/make_sae_fixtures.py
"""
import argparse
import json
import os

import numpy as np
import torch

from formats import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))


def saelens_cfg(**kw):
    cfg = {
        "architecture": "standard", "d_in": 8, "d_sae": 32, "dtype": "float32", "device": "cpu",
        "model_name": "tiny-lm", "hook_name": "blocks.1.hook_resid_post", "hook_layer": 1,
        "hook_head_index": None, "activation_fn_str": "relu", "activation_fn_kwargs": {},
        "apply_b_dec_to_input": True, "finetuning_scaling_factor": False,
        "sae_lens_training_version": "5.5.2", "prepend_bos": True, "dataset_path": "data/tiny-corpus",
        "dataset_trust_remote_code": True, "context_size": 128, "normalize_activations": "none",
        "neuronpedia_id": None, "model_from_pretrained_kwargs": {},
    }
    cfg.update(kw)
    return cfg


def saelens_forward(cfg, W, x):
    """sae_lens/sae.py SAE.encode_* + decode, float64."""
    x = torch.tensor(x, dtype=torch.float64)
    W = {k: torch.tensor(v, dtype=torch.float64) for k, v in W.items()}
    sae_in = x - W["b_dec"] * cfg["apply_b_dec_to_input"]
    hidden_pre = sae_in @ W["W_enc"] + W["b_enc"]
    if cfg["architecture"] == "jumprelu":
        acts = torch.relu(hidden_pre) * (hidden_pre > W["threshold"])
    elif cfg.get("activation_fn_str", cfg.get("activation_fn")) == "topk":
        topk = torch.topk(hidden_pre, k=cfg["activation_fn_kwargs"]["k"], dim=-1)
        acts = torch.zeros_like(hidden_pre).scatter_(-1, topk.indices, torch.relu(topk.values))
    else:
        acts = torch.relu(hidden_pre)
    scaled = acts * W["finetuning_scaling_factor"] if cfg["finetuning_scaling_factor"] else acts
    out = scaled @ W["W_dec"] + W["b_dec"]
    return acts.numpy(), out.numpy()


def make(out_dir, name, cfg, seed):
    rng = np.random.default_rng(seed)
    d_in, d_sae = cfg["d_in"], cfg["d_sae"]
    W = {
        "W_enc": rng.normal(0, 0.5, (d_in, d_sae)).astype(np.float32),
        "b_enc": rng.normal(0, 0.2, (d_sae,)).astype(np.float32),
        "W_dec": rng.normal(0, 0.5, (d_sae, d_in)).astype(np.float32),
        "b_dec": rng.normal(0, 0.2, (d_in,)).astype(np.float32),
    }
    if cfg["architecture"] == "jumprelu":
        W["threshold"] = np.abs(rng.normal(0, 0.3, (d_sae,))).astype(np.float32)
    if cfg["finetuning_scaling_factor"]:
        W["finetuning_scaling_factor"] = rng.uniform(0.5, 1.5, (d_sae,)).astype(np.float32)
    x = rng.normal(0, 1.0, (6, d_in)).astype(np.float32)
    acts, out = saelens_forward(cfg, W, x)
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "cfg.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    write_safetensors(os.path.join(d, "sae_weights.safetensors"), W)
    write_safetensors(os.path.join(d, "expected.safetensors"),
                      {"x": x, "feature_acts": acts.astype(np.float32), "sae_out": out.astype(np.float32)})
    print(f"{name}: l0 {float((acts > 0).sum(-1).mean()):.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "golden", "fixtures"))
    a = ap.parse_args()
    make(a.out, "sae-topk", saelens_cfg(activation_fn_str="topk", activation_fn_kwargs={"k": 4}), 1)
    make(a.out, "sae-jumprelu", saelens_cfg(architecture="jumprelu", hook_name="blocks.0.hook_mlp_out",
                                            hook_layer=0), 2)
    # An older file: pre-rename field names, no apply_b_dec_to_input (SAELens
    # defaults it to True) turned off explicitly here, a fine-tuning scale.
    old = saelens_cfg(apply_b_dec_to_input=False, finetuning_scaling_factor=True)
    old["hook_point"] = old.pop("hook_name")
    old["activation_fn"] = old.pop("activation_fn_str")
    make(a.out, "sae-relu-old-fields", old, 3)


if __name__ == "__main__":
    main()
