#!/usr/bin/python3
"""Writes the seed corpora in fuzz/corpus/<target>/: small, valid files of each
format (and a few near-misses), so the fuzzer starts inside the parsers rather
than at their first check. Run from the repository root; the output is checked
in, so this only needs re-running when a format grows."""
import json, os, shutil, struct

ROOT = "fuzz/corpus"


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def copy(target, name, src):
    with open(src, "rb") as f:
        put(target, name, f.read())


# ---- safetensors: u64 header length, JSON header, data
def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


f32 = lambda xs: struct.pack("<%df" % len(xs), *xs)
i32 = lambda xs: struct.pack("<%di" % len(xs), *xs)

put("fuzz_safetensors", "two", safetensors({"w": ("F32", [2, 3], f32(range(6))), "b": ("F16", [2], b"\0<\0<")},
                                            {"format": "pt"}))
put("fuzz_safetensors", "types", safetensors({"a": ("BF16", [1], b"\x80?"), "i": ("I64", [1], b"\1" + b"\0" * 7),
                                              "u": ("U8", [3], b"abc"), "e": ("F32", [0], b""),
                                              "s": ("F64", [], b"\0" * 8), "bo": ("BOOL", [1], b"\1")}))


# ---- GGUF v3
GT = dict(U8=0, I8=1, U16=2, I16=3, U32=4, I32=5, F32=6, BOOL=7, STR=8, ARR=9, U64=10, I64=11, F64=12)
FMT = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gval(t, v):
    if t == GT["STR"]:
        return gstr(v)
    if t == GT["ARR"]:
        et, xs = v
        return struct.pack("<IQ", et, len(xs)) + b"".join(gval(et, x) for x in xs)
    return struct.pack(FMT[t], v)


def gguf(kvs, tensors, align=32):
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", t) + gval(t, v)
    off, blobs = 0, b""
    for name, ggml_type, ne, raw in tensors:
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        out += struct.pack("<IQ", ggml_type, off)
        pad = -len(raw) % align
        blobs += raw + b"\0" * pad
        off += len(raw) + pad
    out += b"\0" * (-len(out) % align)
    return out + blobs


every_type = [("u8", 0, 7), ("i8", 1, -7), ("u16", 2, 700), ("i16", 3, -700), ("u32", 4, 70000), ("i32", 5, -70000),
              ("f32", 6, 1.5), ("b", 7, True), ("s", 8, "text"), ("u64", 10, 1 << 40), ("i64", 11, -(1 << 40)),
              ("f64", 12, 2.5), ("arr", 9, (5, [1, 2, 3])), ("strs", 9, (8, ["a", "bc"])),
              ("nested", 9, (9, [(4, [1]), (8, ["x"])]))]
q8 = struct.pack("<e", 0.5) + bytes(range(32))  # one Q8_0 block: f16 scale + 32 x int8
put("fuzz_gguf", "types", gguf(every_type, [("w", 0, [4, 2], f32(range(8))), ("q", 8, [32], q8),
                                            ("h", 1, [2], b"\0<\0<")]))
put("fuzz_gguf", "aligned", gguf([("general.alignment", 4, 64)], [("x", 0, [3], f32([1, 2, 3]))], align=64))
toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(16)] + ["\u2581", "a", "b", "\u2581a", "ab"]
spm = [("general.architecture", 8, "llama"), ("tokenizer.ggml.model", 8, "llama"),
       ("tokenizer.ggml.tokens", 9, (8, toks)), ("tokenizer.ggml.scores", 9, (6, [0.0] * len(toks))),
       ("tokenizer.ggml.token_type", 9, (5, [2, 3, 3] + [6] * 16 + [1] * 5)),
       ("tokenizer.ggml.bos_token_id", 4, 1), ("tokenizer.ggml.eos_token_id", 4, 2),
       ("llama.block_count", 4, 2), ("llama.context_length", 4, 64), ("llama.embedding_length", 4, 16),
       ("llama.feed_forward_length", 4, 32), ("llama.attention.head_count", 4, 2),
       ("llama.attention.head_count_kv", 4, 1), ("llama.attention.layer_norm_rms_epsilon", 6, 1e-5),
       ("llama.rope.freq_base", 6, 10000.0), ("llama.vocab_size", 4, len(toks))]
put("fuzz_gguf", "llama-spm", gguf(spm, []))
bpe_toks = ["!", "a", "b", "\u0120", "ab", "\u0120a", "<|endoftext|>"]
gpt2 = [("general.architecture", 8, "gpt2"), ("tokenizer.ggml.model", 8, "gpt2"), ("tokenizer.ggml.pre", 8, "gpt-2"),
        ("tokenizer.ggml.tokens", 9, (8, bpe_toks)), ("tokenizer.ggml.token_type", 9, (5, [1] * 6 + [3])),
        ("tokenizer.ggml.merges", 9, (8, ["a b", "\u0120 a"])), ("tokenizer.ggml.bos_token_id", 4, 6),
        ("gpt2.block_count", 4, 1), ("gpt2.context_length", 4, 32), ("gpt2.embedding_length", 4, 8),
        ("gpt2.feed_forward_length", 4, 32), ("gpt2.attention.head_count", 4, 2),
        ("gpt2.attention.layer_norm_epsilon", 6, 1e-5)]
put("fuzz_gguf", "gpt2-bpe", gguf(gpt2, []))

# ---- control vectors: general.architecture "controlvector", direction.{layer} F32 [n_embd]
cv = [("general.architecture", 8, "controlvector"), ("controlvector.model_hint", 8, "llama"),
      ("controlvector.layer_count", 5, 2)]
put("fuzz_control_vector", "two-layers", gguf(cv, [("direction.1", 0, [4], f32([1, 0, 0, 0])),
                                                   ("direction.2", 0, [4], f32([0, 1, 0, 0]))]))
put("fuzz_control_vector", "repeat", gguf(cv, [("direction.1", 0, [2], f32([1, 2])),
                                               ("direction.1", 0, [2], f32([3, 4]))]))

# ---- tokenizers
copy("fuzz_tokenizer_json", "induction", "models/induction/tokenizer.json")
bpe = {"version": "1.0", "added_tokens": [{"id": 6, "content": "<|endoftext|>", "special": True}],
       "normalizer": None, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
       "post_processor": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"},
       "model": {"type": "BPE", "vocab": {t: i for i, t in enumerate(bpe_toks)}, "merges": ["a b", "\u0120 a"]}}
put("fuzz_tokenizer_json", "bytelevel-bpe", json.dumps(bpe))
spm_json = {"version": "1.0", "added_tokens": [{"id": 1, "content": "<s>", "special": True}],
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                                {"type": "Replace", "pattern": {"String": " "},
                                                                 "content": "\u2581"}]},
            "pre_tokenizer": None,
            "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                                       {"Sequence": {"id": "A", "type_id": 0}}],
                               "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
            "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"},
                                                          "content": " "}, {"type": "ByteFallback"}]},
            "model": {"type": "BPE", "byte_fallback": True, "unk_token": "<unk>",
                      "vocab": {t: i for i, t in enumerate(toks)}, "merges": [["\u2581", "a"], ["a", "b"]]}}
put("fuzz_tokenizer_json", "spm-bpe", json.dumps(spm_json))
put("fuzz_vocab_merges", "gpt2", json.dumps({t: i for i, t in enumerate(bpe_toks)}) + "\0#version: 0.2\na b\n\u0120 a\n")

# ---- config.json
for m in ["induction", "ioi", "tiny-lm", "modadd"]:
    if os.path.exists(f"models/{m}/config.json"):
        copy("fuzz_hf_config", m, f"models/{m}/config.json")
put("fuzz_hf_config", "gpt2", json.dumps({"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 8, "n_positions": 16,
                                          "vocab_size": 10, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}))
put("fuzz_hf_config", "llama", json.dumps({"model_type": "llama", "num_hidden_layers": 2, "num_attention_heads": 4,
                                           "num_key_value_heads": 2, "hidden_size": 16, "intermediate_size": 32,
                                           "max_position_embeddings": 64, "vocab_size": 20, "rms_norm_eps": 1e-6,
                                           "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": False,
                                           "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
                                                            "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                            "original_max_position_embeddings": 32}}))
put("fuzz_hf_config", "neox", json.dumps({"model_type": "gpt_neox", "num_hidden_layers": 2, "num_attention_heads": 2,
                                          "hidden_size": 8, "intermediate_size": 32, "max_position_embeddings": 16,
                                          "vocab_size": 10, "layer_norm_eps": 1e-5, "rotary_pct": 0.25,
                                          "use_parallel_residual": True, "hidden_act": "gelu"}))

# ---- interventions
put("fuzz_interventions", "list", json.dumps([
    {"type": "zero_ablate", "hook": "blocks.0.attn.hook_z", "heads": [1, 2], "positions": [3]},
    {"type": "add_vector", "hook": "blocks.1.hook_resid_post", "vector": [1, 2, 3], "alpha": 2.5},
    {"type": "project_out", "hook": "blocks.*.hook_resid_post", "vector": [0, 1]},
    {"type": "patch", "hook": "blocks.1.hook_resid_post", "source": "missing.safetensors", "positions": [-1]}]))
put("fuzz_interventions", "one", json.dumps({"type": "mean_ablate", "hook": "blocks.*.hook_mlp_out", "positions": [0]}))

# ---- per-request profiles (interventions + monitors), checked against a width-8, 3-layer Config
v8 = [0.5, -1, 0.25, 2, 0, 1, -0.5, 1.5]
put("fuzz_profile", "steer", json.dumps({"name": "calm", "description": "d",
    "interventions": [{"type": "add_vector", "hook": "blocks.1.hook_resid_post", "vector": v8, "alpha": 2}],
    "monitors": [{"type": "entropy", "threshold": 3.0},
                 {"type": "projection", "hook": "blocks.2.hook_resid_post", "direction": v8, "threshold": 0.5,
                  "action": "steer", "alpha": 4}]}))
put("fuzz_profile", "probe", json.dumps({
    "interventions": [{"type": "project_out", "hook": "blocks.*.hook_resid_post", "vector": v8}],
    "monitors": [{"type": "logit_lens", "threshold": 2, "when": "below"},
                 {"name": "unsure", "type": "entropy", "threshold": 5.5, "action": "stop"},
                 {"type": "probe", "hook": "blocks.0.hook_resid_post",
                  "probe": {"kind": "logistic", "direction": [v8], "mean": v8, "bias": [0.1]}, "threshold": 0.9}]}))

# ---- train configs
put("fuzz_train_config", "full", json.dumps({"steps": 5, "batch_size": 4, "seq_len": 16, "seed": 1,
                                             "optimizer": {"kind": "adamw", "lr": 0.001, "weight_decay": 0.1},
                                             "schedule": {"warmup": 2, "decay": "cosine", "min_lr": 0.0},
                                             "eval_every": 2, "log_every": 1}))
put("fuzz_train_config", "old", json.dumps({"steps": 3, "optimizer": {"kind": "sgd", "lr": 0.5},
                                            "schedule": {"cosine": False}}))

# ---- SAELens cfg.json
copy("fuzz_saelens_cfg", "tiny-lm", "models/tiny-lm/saes/blocks.2.hook_resid_post/cfg.json")
put("fuzz_saelens_cfg", "saelens6", json.dumps({"d_in": 8, "d_sae": 32, "architecture": "jumprelu",
                                                "metadata": {"hook_name": "blocks.0.hook_resid_pre", "hook_layer": 0,
                                                             "model_name": "gpt2", "prepend_bos": True},
                                                "normalize_activations": "expected_average_only_in"}))
put("fuzz_saelens_cfg", "old-names", json.dumps({"d_in": 8, "d_sae": 16, "hook_point": "blocks.1.hook_mlp_out",
                                                 "hook_point_layer": 1, "activation_fn": "topk",
                                                 "activation_fn_kwargs": {"k": 4}, "apply_b_dec_to_input": False}))

# ---- JSON Lines: label files and contrastive pairs
put("fuzz_jsonl", "labels", '{"text": "abc", "label": "x"}\n\n{"text": "cab", "label": 1, "group": "g", "control": "k",'
                            ' "positions": {"end": -1}}\n')
put("fuzz_jsonl", "targets", '{"text": "aa", "target": 0.5}\n{"text": "bb", "target": -2}\n')
put("fuzz_jsonl", "pairs", '{"prompt": "ab", "positive": "c", "negative": "d"}\n{"prompt": "", "positive": "x", '
                           '"negative": "y"}\n')

# ---- other JSON documents: first byte picks the reader (fuzz_json_docs.cpp)
put("fuzz_json_docs", "steering", b"\0" + json.dumps({"format": "glassbox-steering", "name": "s", "method": "mean_diff",
                                                       "site": "resid_post", "d_model": 2, "layers": [
        {"layer": 1, "hook": "blocks.1.hook_resid_post", "norm": 1.0, "vector": [1, 0], "separation": None}]}).encode())
put("fuzz_json_docs", "examples", b"\1" + json.dumps({"features": [{"feature": 3, "density": 0.1, "top": [
    {"tokens": ["a", "b"], "acts": [0.0, 1.5], "max": 1.5, "max_pos": 1}]}]}).encode())
put("fuzz_json_docs", "explanation", b"\2" + json.dumps({"text": "fires on b", "feature": 3, "explainer": "tokens",
                                                          "patterns": [{"token": "b", "activation": 1.5}]}).encode())
put("fuzz_json_docs", "manifest", b"\3" + json.dumps({"format": "glassbox-harvest", "version": 1, "hooks": ["h"],
                                                       "dims": [4], "dtype": "F32", "rows": 2, "shard_rows": 2,
                                                       "shards": [{"file": "s0.safetensors", "rows": 2, "sha256": "0"}],
                                                       "complete": True}).encode())
put("fuzz_json_docs", "metric", b"\4" + json.dumps({"kind": "logit_diff", "pos": -1, "answer": [1], "wrong": [2]}).encode())

# ---- token files and activation files: first byte picks the reader (fuzz_tensor_files.cpp)
llmc = struct.pack("<256i", 20240520, 1, 4, *([0] * 253)) + struct.pack("<4H", 1, 2, 3, 50256)
put("fuzz_tensor_files", "llmc-bin", b"\0" + llmc)
put("fuzz_tensor_files", "nanogpt-bin", b"\0" + struct.pack("<6H", 5, 6, 7, 8, 9, 10))
put("fuzz_tensor_files", "tokens", b"\1" + safetensors({"tokens": ("I32", [2, 3], i32([1, 2, 3, 4, 5, 6]))}))
put("fuzz_tensor_files", "cache", b"\2" + safetensors({"hook_embed": ("F32", [1, 2, 2], f32([1, 2, 3, 4])),
                                                       "tokens": ("I32", [1, 2], i32([1, 2]))},
                                                      {"format": "glassbox-cache"}))
put("fuzz_tensor_files", "acts", b"\3" + safetensors({"blocks.0.hook_resid_post": ("F32", [3, 2], f32(range(6)))}))
