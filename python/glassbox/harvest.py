"""Harvesting (`glassbox harvest`): activations of hook sites over a corpus
written as sharded safetensors plus a manifest (resumable), and read back:
``glassbox.Harvest(dir).shard(k)`` as numpy views of the mapped shard (no
copy), ``.read()`` as float32 arrays of every row."""
import os

from . import _glassbox
from ._glassbox import GlassboxError, Harvest


def _model_path(m):
    from .model import Model, models_dir
    if isinstance(m, Model):
        return m.source
    p = os.fspath(m)
    d = models_dir()
    if not os.path.exists(p) and d is not None and (d / p).is_dir():
        return str(d / p)
    return p


def harvest(model, hooks, corpus, out, context=128, batch=8, max_tokens=0, dtype="f32", shard_tokens=0,
            prepend_bos=True, exclude_bos=False, bos_id=-1):
    """Writes activations of ``hooks`` (names or globs: "blocks.*.hook_resid_post")
    over ``corpus`` (a text file, tokenised with the model's tokenizer, or a
    .bin / .safetensors token file) to ``out``: shard_NNNNN.safetensors
    ({site: [rows, dim], "tokens": [rows]}) and manifest.json. ``model``: a
    glassbox.Model, a path or an organism name, or a list of them (a
    crosscoder's: sites become "MODEL/hook"). dtype "f32", "bf16" or "f16".
    Rerunning with the same arguments resumes. Returns `glassbox harvest
    --json`'s dict (out, rows, shards, shards_written, shards_kept, seconds,
    manifest)."""
    models = [model] if not isinstance(model, (list, tuple)) else list(model)
    hooks = [hooks] if isinstance(hooks, str) else list(hooks)
    corpus = os.fspath(corpus)
    if not os.path.exists(corpus):
        raise GlassboxError(f"harvest: corpus {corpus}: no such file")
    return _glassbox.harvest([_model_path(m) for m in models], hooks, corpus, os.fspath(out), context, batch,
                             int(max_tokens), dtype, int(shard_tokens), prepend_bos, exclude_bos, bos_id)


def load_harvest(path, verify=True, allow_incomplete=False):
    """A harvest directory read back (glassbox.Harvest): .manifest, .sites,
    .dims, .rows, .n_shards, .shard(k) (zero-copy views), .read(sites, max_rows)."""
    return Harvest(os.fspath(path), verify, allow_incomplete)
