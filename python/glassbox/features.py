"""Features and steering: sparse dictionaries (glassbox.Sae, SAELens
directories), linear probes, steering directions and control vectors. A
direction becomes interventions that Model.generate / run_with_cache take."""
import numpy as np

from . import _glassbox


def fit_probe(x, y, kind="logistic", l2=1e-2, n_classes=0):
    """A linear probe on activation rows x [n, d] with integer labels y [n]:
    kind "logistic", "ridge" or "mass-mean". Returns a glassbox.LinearProbe
    (scores, predict, direction, to_json)."""
    return _glassbox.fit_probe(np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int32), kind, l2, n_classes)


def steering_from_pairs(model, pairs, method="mean-diff", site="resid_post", layers=None, read_at="last", name=""):
    """A steering direction per layer from prompt pairs
    ([{"prompt", "positive", "negative"}], as `glassbox steer build` reads
    them): the JSON document `glassbox steer build` writes, as a dict."""
    return _glassbox.steering_from_pairs(model._m, list(pairs), method, site, list(layers or []), read_at, name)


def load_steering(path):
    """A steering direction file (`glassbox steer build --out X.json`), or a
    llama.cpp control-vector .gguf (what `glassbox steer import` reads), as a dict."""
    return _glassbox.load_steering(str(path))


def steering_interventions(model, vector, coefficient=1.0, layers=None, positions=None):
    """The add_vector interventions that apply `vector` (a dict from
    steering_from_pairs / load_steering) times `coefficient`."""
    return _glassbox.steering_interventions(model._m, vector, coefficient, list(layers or []), list(positions or []))


def control_vector_interventions(model, path, scale=1.0, check_hint=True):
    """The interventions of a llama.cpp control-vector file at `scale`
    (what --control-vector-scaled FILE SCALE does)."""
    return _glassbox.control_vector_interventions(model._m, str(path), scale, check_hint)


def write_control_vector(model, vector, path, coefficient=1.0, layers=None):
    """Writes `vector` times `coefficient` as a llama.cpp control-vector file."""
    _glassbox.write_control_vector(model._m, vector, str(path), coefficient, list(layers or []))
