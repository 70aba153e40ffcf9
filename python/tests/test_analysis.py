"""The analyses as functions: results checked against the model's own logits
and against the known ground truth of the organisms."""
import numpy as np
import pytest

import glassbox
from conftest import IOI_CLEAN, IOI_CORRUPT


def test_logit_lens_final_layer_is_the_model(ioi):
    r = glassbox.logit_lens(ioi, IOI_CLEAN, top_k=3, positions=[-1])
    assert len(r["layers"]) == ioi.cfg.n_layers + 1
    logits = ioi(IOI_CLEAN)
    final = r["cells"][-1][0]  # [layer][position]: the last layer's only cell
    assert final["top_tokens"][0] == int(np.argmax(logits[0, -1]))
    assert final["kl_to_final"] == pytest.approx(0.0, abs=1e-5)
    assert r["kl_to_final"].shape == (ioi.cfg.n_layers + 1, 1) and r["kl_to_final"][0, 0] > 0
    assert r["top_token"][-1, 0] == final["top_tokens"][0]


def test_dla_sums_to_the_logit_difference(ioi):
    r = glassbox.dla(ioi, IOI_CLEAN, answer=" Mary", wrong=" John")
    logits = ioi(IOI_CLEAN)
    diff = logits[0, -1, ioi.to_single_token(" Mary")] - logits[0, -1, ioi.to_single_token(" John")]
    assert r["logit"] == pytest.approx(float(diff), rel=1e-4)
    assert sum(r["by_layer"].values()) == pytest.approx(r["logit"], rel=1e-3, abs=1e-3)
    assert r["by_head"].shape == (ioi.cfg.n_layers, ioi.cfg.n_heads)
    for l in range(ioi.cfg.n_layers):
        assert r["by_head"][l].sum() + r["head_bias"][l] == pytest.approx(r["by_layer"][f"blocks.{l}.hook_attn_out"],
                                                                         rel=1e-3, abs=1e-3)


def test_activation_patching_restores_at_the_changed_token(ioi):
    r = glassbox.activation_patching(ioi, IOI_CLEAN, IOI_CORRUPT, answer=" Mary", wrong=" John",
                                     sites=["resid_pre", "z"])
    resid, z = r["grids"]
    T = len(ioi.to_str_tokens(IOI_CLEAN))
    assert resid["values"].shape == (ioi.cfg.n_layers, T) and z["values"].shape == (ioi.cfg.n_layers, ioi.cfg.n_heads)
    changed = [i for i, (a, b) in enumerate(zip(ioi.to_tokens(IOI_CLEAN)[0], ioi.to_tokens(IOI_CORRUPT)[0])) if a != b]
    assert len(changed) == 1
    # Patching the whole residual stream before block 0 at the only differing position restores everything ...
    assert resid["values"][0, changed[0]] == pytest.approx(1.0, abs=1e-4)
    # ... and at any other position nothing (the inputs are equal there).
    others = np.delete(resid["values"][0], changed[0])
    np.testing.assert_allclose(others, 0.0, atol=1e-4)
    assert resid["clean"] > resid["corrupt"]


def test_attribution_patching_correlates(ioi):
    r = glassbox.activation_patching(ioi, IOI_CLEAN, IOI_CORRUPT, answer=" Mary", wrong=" John",
                                     sites=["resid_pre"], method="both")
    assert [g["technique"] for g in r["grids"]] == ["activation_patching", "attribution_patching"]
    assert r["correlation"]["hook_resid_pre"] > 0.5


def test_path_patching(ioi):
    g = glassbox.path_patching(ioi, IOI_CLEAN, IOI_CORRUPT, answer=" Mary", wrong=" John", receivers=["logits"])
    assert g["values"].shape == (ioi.cfg.n_layers, ioi.cfg.n_heads) and g["technique"] == "path_patching"
    l, h = np.unravel_index(np.argmax(np.abs(1 - g["values"])), g["values"].shape)
    one = glassbox.path_patching(ioi, IOI_CLEAN, IOI_CORRUPT, answer=" Mary", wrong=" John", receivers=["logits"],
                                 senders=[(int(l), int(h))])
    assert one == pytest.approx(float(g["values"][l, h]), abs=1e-3)
    with pytest.raises(glassbox.GlassboxError, match="receivers"):
        glassbox.path_patching(ioi, IOI_CLEAN, IOI_CORRUPT, answer=" Mary", wrong=" John", receivers=["3.1.x"])


def test_circuit_eap(ioi):
    r = glassbox.circuit(ioi, IOI_CLEAN, IOI_CORRUPT, answer=" Mary", wrong=" John", method="eap", curve_points=4)
    assert r["technique"] == "circuit" and r["method"] == "eap"
    assert r["n_edges"] == len(r["edges"]) > 0 and 0 < r["n_kept"] <= r["n_edges"]
    assert r["clean_metric"] == pytest.approx(glassbox.dla(ioi, IOI_CLEAN, " Mary", " John")["logit"], rel=1e-4)


def test_patching_errors(ioi):
    with pytest.raises(glassbox.GlassboxError):
        glassbox.activation_patching(ioi, IOI_CLEAN, "When Mary went", answer=" Mary", wrong=" John")
    with pytest.raises(glassbox.GlassboxError, match="answer"):
        glassbox.activation_patching(ioi, IOI_CLEAN, IOI_CORRUPT)


def test_head_detectors_find_the_induction_head(induction):
    s = glassbox.head_detectors(induction, seq_len=20, rows=4)
    ind, prev = s["induction"], s["previous_token"]
    assert ind.shape == (2, induction.cfg.n_heads)
    assert ind[1].max() > 0.5 and ind[1].max() > ind[0].max()  # ground truth: the induction head is in layer 1
    assert prev[0].max() > 0.5  # ... fed by a previous-token head in layer 0
    assert glassbox.copying_scores(induction).shape == (2, induction.cfg.n_heads)
    ov, toks = glassbox.ov_circuit(induction, 1, int(np.argmax(ind[1])), tokens=list(range(10)))
    assert ov.shape == (10, 10) and list(toks) == list(range(10))


def test_tuned_lens_train_and_decode(ioi, tmp_path):
    r = glassbox.train_tuned_lens(ioi, tmp_path / "lens", sample=600, steps=5)
    assert len(r["losses"]) == 5 and (tmp_path / "lens" / "params.safetensors").exists()
    t = glassbox.tuned_lens(ioi, tmp_path / "lens", IOI_CLEAN, positions=[-1])
    l = glassbox.logit_lens(ioi, IOI_CLEAN, positions=[-1])
    assert t["layers"] == l["layers"]
    # The final residual stream has no translator: both lenses decode it as the model does.
    assert t["cells"][-1][0]["top_tokens"] == l["cells"][-1][0]["top_tokens"]
    with pytest.raises(glassbox.GlassboxError):
        glassbox.tuned_lens(ioi, tmp_path / "missing", IOI_CLEAN)


def test_head_roles_side_by_side(ioi, induction):
    t = glassbox.head_roles([induction, ioi], names=["induction", "ioi"], copying=False)
    assert t["roles"] == ["previous_token", "duplicate_token", "induction"]
    assert [m["name"] for m in t["models"]] == ["induction", "ioi"]
