#!/usr/bin/python3
"""Writes a random-weight GPT-2-small as a Hugging Face checkpoint (model.safetensors + config.json).

    /usr/bin/python3 bench/make_gpt2_small.py OUT_DIR [--seed 0] [--layers 12] [--d-model 768]
                                               [--heads 12] [--vocab 50257] [--n-ctx 1024]

GPT2LMHeadModel tensor names and layouts (transformer.wte/wpe, transformer.h.{l}.ln_1,
attn.c_attn [d,3d] Conv1D, attn.c_proj, ln_2, mlp.c_fc [d,4d], mlp.c_proj,
transformer.ln_f; lm_head tied, not stored), float32. Matrices and embeddings
~ N(0, 0.02), LayerNorm weights 1, biases 0 (Hugging Face's init), deterministic
for a given seed. The file is streamed tensor by tensor in chunks, so the
script's RSS stays far below the file size (~500 MB for the default shape).
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np

CHUNK = 1 << 22  # elements generated per step (16 MiB of float32)


def tensor_specs(L, d, V, n_ctx):
    """(name, shape, init) in file order; init is 'normal', 'ones' or 'zeros'."""
    specs = [("transformer.wte.weight", (V, d), "normal"), ("transformer.wpe.weight", (n_ctx, d), "normal")]
    for l in range(L):
        h = f"transformer.h.{l}"
        specs += [
            (h + ".ln_1.weight", (d,), "ones"), (h + ".ln_1.bias", (d,), "zeros"),
            (h + ".attn.c_attn.weight", (d, 3 * d), "normal"), (h + ".attn.c_attn.bias", (3 * d,), "zeros"),
            (h + ".attn.c_proj.weight", (d, d), "normal"), (h + ".attn.c_proj.bias", (d,), "zeros"),
            (h + ".ln_2.weight", (d,), "ones"), (h + ".ln_2.bias", (d,), "zeros"),
            (h + ".mlp.c_fc.weight", (d, 4 * d), "normal"), (h + ".mlp.c_fc.bias", (4 * d,), "zeros"),
            (h + ".mlp.c_proj.weight", (4 * d, d), "normal"), (h + ".mlp.c_proj.bias", (d,), "zeros"),
        ]
    specs += [("transformer.ln_f.weight", (d,), "ones"), ("transformer.ln_f.bias", (d,), "zeros")]
    return specs


def write_random_safetensors(path, specs, seed, std):
    """Streams `specs` (name, shape, 'normal' | 'ones' | 'zeros') to a float32
    safetensors file atomically, N(0, std) from PCG64(seed); returns the number of parameters."""
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in specs:
        n = int(np.prod(shape)) * 4
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((-len(hj)) % 8)
    rng = np.random.Generator(np.random.PCG64(seed))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj)
        for name, shape, init in specs:
            n = int(np.prod(shape))
            if init == "normal":
                for s in range(0, n, CHUNK):
                    m = min(CHUNK, n - s)
                    x = rng.standard_normal(m, dtype=np.float32)
                    x *= np.float32(std)
                    f.write(x.astype("<f4", copy=False).tobytes())
            else:
                f.write(np.full(n, 1.0 if init == "ones" else 0.0, dtype="<f4").tobytes())
    os.replace(tmp, path)
    return off // 4


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--d-model", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--n-ctx", type=int, default=1024)
    ap.add_argument("--std", type=float, default=0.02)
    a = ap.parse_args()
    if a.d_model % a.heads:
        sys.exit("d-model must be a multiple of heads")
    t0 = time.time()
    os.makedirs(a.out_dir, exist_ok=True)
    specs = tensor_specs(a.layers, a.d_model, a.vocab, a.n_ctx)
    path = os.path.join(a.out_dir, "model.safetensors")
    n_params = write_random_safetensors(path, specs, a.seed, a.std)
    config = {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": a.vocab,
        "n_positions": a.n_ctx, "n_ctx": a.n_ctx, "n_embd": a.d_model, "n_layer": a.layers, "n_head": a.heads,
        "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
        "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1, "initializer_range": a.std,
        "scale_attn_weights": True, "use_cache": True, "bos_token_id": 50256, "eos_token_id": 50256,
        "torch_dtype": "float32",
    }
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"path": path, "bytes": os.path.getsize(path), "n_tensors": len(specs),
                      "n_params": n_params, "seconds": round(time.time() - t0, 2), "peak_rss_mb": round(rss, 1)}))


if __name__ == "__main__":
    main()
