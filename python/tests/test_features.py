"""Dictionaries, probes and steering from Python."""
import os

import numpy as np
import pytest

import glassbox

SAE_HOOK = "blocks.2.hook_resid_post"


def test_sae_encode_decode_reconstructs(tiny_lm):
    sae = glassbox.Sae(os.path.join(glassbox.models_dir(), "tiny-lm", "saes", SAE_HOOK))
    assert sae.d_in == tiny_lm.cfg.d_model and sae.d_sae > sae.d_in
    _, cache = tiny_lm.run_with_cache("Once upon a time there was a little girl who", names_filter=SAE_HOOK)
    x = cache[SAE_HOOK][0]
    f = sae.encode(x)
    assert f.shape == (x.shape[0], sae.d_sae) and (f >= 0).all()
    assert (f > 0).mean() < 0.5  # sparse
    x_hat = sae.decode(f)
    fvu = ((x_hat - x) ** 2).sum() / ((x - x.mean(0)) ** 2).sum()
    assert fvu < 0.5
    with pytest.raises(glassbox.GlassboxError, match="SAE.encode"):
        sae.encode(np.zeros((2, 3), np.float32))
    # Splicing the dictionary in with its error term added back changes nothing.
    text = "Once upon a time"
    splice = {"type": "sae", "hook": SAE_HOOK, "sae": sae.dir, "edit": "none", "keep_error": True}
    np.testing.assert_allclose(tiny_lm(text, interventions=[splice]), tiny_lm(text), rtol=1e-3, atol=1e-3)


def test_probe_separates_synthetic_classes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 8)).astype(np.float32)
    x = x[np.abs(x[:, 3]) > 0.25]  # a margin between the classes
    y = (x[:, 3] > 0).astype(np.int32)
    p = glassbox.fit_probe(x, y)
    assert (p.predict(x) == y).mean() > 0.98
    d = p.direction()
    assert np.argmax(np.abs(d)) == 3
    with pytest.raises(glassbox.GlassboxError):
        glassbox.fit_probe(x, y[:10])


def test_steering_from_pairs_and_control_vectors(tiny_lm, tmp_path):
    pairs = [{"prompt": "The weather today is", "positive": " happy", "negative": " sad"},
             {"prompt": "I feel", "positive": " great", "negative": " terrible"},
             {"prompt": "She said it was", "positive": " wonderful", "negative": " awful"}]
    v = glassbox.steering_from_pairs(tiny_lm, pairs, layers=[1, 2])
    assert [l["layer"] for l in v["layers"]] == [1, 2] and v["d_model"] == tiny_lm.cfg.d_model
    xs = glassbox.steering_interventions(tiny_lm, v, coefficient=8.0)
    assert [x["hook"] for x in xs] == ["blocks.1.hook_resid_post", "blocks.2.hook_resid_post"]
    prompt = "Once upon a time"
    base = tiny_lm.generate(prompt, max_new_tokens=8, temperature=0)
    steered = tiny_lm.generate(prompt, max_new_tokens=8, temperature=0, interventions=xs)
    assert steered != base
    # As a llama.cpp control vector and back: the same interventions.
    path = tmp_path / "happy.gguf"
    glassbox.write_control_vector(tiny_lm, v, path, coefficient=8.0)
    back = glassbox.control_vector_interventions(tiny_lm, path, scale=1.0)
    assert [x["hook"] for x in back] == [x["hook"] for x in xs]
    for a, b in zip(back, xs):
        np.testing.assert_allclose(np.array(a["vector"]) * a["alpha"], np.array(b["vector"]) * b["alpha"], rtol=1e-5)
