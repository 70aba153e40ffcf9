"""Checkpoint file writers/readers for the golden fixtures (numpy + struct only).

Nothing here imports safetensors, gguf or transformers: the formats are written
from their specifications so that glassbox's loaders are tested against files
produced independently of glassbox.

* safetensors: u64 LE header length N, N bytes of JSON
  {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}
  padded with spaces to a multiple of 8, then the raw little-endian data;
  offsets are relative to the first byte after the header.
* GGUF v3 (ggml/docs/gguf.md): "GGUF", u32 version, u64 n_tensors, u64 n_kv,
  kv pairs, tensor infos (name, u32 n_dims, u64 ne[n_dims] innermost first,
  u32 ggml type, u64 offset relative to the data section), padding to
  general.alignment (default 32), data (each tensor aligned).
* ggml reference quantisers for Q8_0 and Q4_0 (quantize_row_q8_0_ref /
  quantize_row_q4_0_ref in ggml-quants.c), emulated in float32.
"""
import json
import struct

import numpy as np

# ----------------------------------------------------------------------------
# bf16 helpers (numpy has no bfloat16)
# ----------------------------------------------------------------------------


def f32_to_bf16_bits(x):
    """Round-to-nearest-even float32 -> bf16 bit pattern (uint16), like ggml/torch."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    u = x.view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        rounded[nan] = ((u[nan] >> 16) | 64).astype(np.uint16)
    return rounded


def bf16_bits_to_f32(b):
    b = np.ascontiguousarray(b, dtype=np.uint16)
    return (b.astype(np.uint32) << 16).view(np.float32)


def round_to_dtype(x, dtype):
    """float32 values as they read back after being stored as `dtype`."""
    x = np.asarray(x, dtype=np.float32)
    if dtype == "F32":
        return x.copy()
    if dtype == "F16":
        return x.astype(np.float16).astype(np.float32)
    if dtype == "BF16":
        return bf16_bits_to_f32(f32_to_bf16_bits(x)).reshape(x.shape)
    raise ValueError(dtype)


# ----------------------------------------------------------------------------
# safetensors
# ----------------------------------------------------------------------------

_ST_NP = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
    "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}


class Stored:
    """A tensor with an explicit on-disk dtype ("F32", "F16", "BF16", "I32", "BOOL", ...)."""

    def __init__(self, array, dtype):
        self.array = np.asarray(array)
        self.dtype = dtype

    def raw(self):
        a = self.array
        if self.dtype == "BF16":
            return f32_to_bf16_bits(a.astype(np.float32)).tobytes()
        npdt = np.dtype(_ST_NP[self.dtype]).newbyteorder("<")
        return np.ascontiguousarray(a.astype(npdt)).tobytes()

    @property
    def shape(self):
        return list(self.array.shape)


def _as_stored(v):
    if isinstance(v, Stored):
        return v
    a = np.asarray(v)
    for name, dt in _ST_NP.items():
        if a.dtype == np.dtype(dt):
            return Stored(a, name)
    raise TypeError(f"unsupported numpy dtype {a.dtype}")


def safetensors_bytes(tensors, metadata=None):
    """tensors: dict name -> np.ndarray or Stored. Returns the file bytes."""
    header = {}
    blobs = []
    off = 0
    for name in tensors:  # keep the caller's order
        s = _as_stored(tensors[name])
        raw = s.raw()
        header[name] = {"dtype": s.dtype, "shape": s.shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata is not None:
        header = {"__metadata__": metadata, **header}
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)
    return struct.pack("<Q", len(hjson)) + hjson + b"".join(blobs)


def write_safetensors(path, tensors, metadata=None):
    data = safetensors_bytes(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def read_safetensors(path):
    """Returns (dict name -> float/int numpy array (BF16 widened to F32), metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None)
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = data[base + b:base + e]
        shape = info["shape"]
        if info["dtype"] == "BF16":
            arr = bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2")).reshape(shape)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_ST_NP[info["dtype"]]).newbyteorder("<")).reshape(shape)
        out[name] = arr.copy()
    return out, meta


def read_safetensors_dtypes(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    header.pop("__metadata__", None)
    return {k: v["dtype"] for k, v in header.items()}


# ----------------------------------------------------------------------------
# ggml quantisation (reference implementations, float32 arithmetic)
# ----------------------------------------------------------------------------

QK = 32
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0, GGML_BF16 = 0, 1, 2, 8, 30
GGML_TYPE_NAME = {GGML_F32: "F32", GGML_F16: "F16", GGML_Q4_0: "Q4_0", GGML_Q8_0: "Q8_0", GGML_BF16: "BF16"}
GGML_TYPE_ID = {v: k for k, v in GGML_TYPE_NAME.items()}


def _roundf(v):
    """C roundf (half away from zero) of float32 values; float64 math is exact here."""
    v = v.astype(np.float64)
    return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.float32)


def quantize_q8_0(x):
    """x: float32 [..., n] with n % 32 == 0 -> bytes (34 bytes per block)."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, QK)
    amax = np.abs(x).max(axis=1)
    d = (amax / np.float32(127.0)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, 1), 0).astype(np.float32)
    q = _roundf(x * idv[:, None]).astype(np.int8)
    out = np.zeros(x.shape[0], dtype=[("d", "<f2"), ("qs", "i1", (QK,))])
    out["d"] = d.astype(np.float16)
    out["qs"] = q
    return out.tobytes()


def dequantize_q8_0(raw, n):
    blocks = np.frombuffer(raw, dtype=[("d", "<f2"), ("qs", "i1", (QK,))], count=n // QK)
    return (blocks["qs"].astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def quantize_q4_0(x):
    """x: float32 [..., n] with n % 32 == 0 -> bytes (18 bytes per block)."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, QK)
    nb = x.shape[0]
    idx = np.argmax(np.abs(x), axis=1)  # first occurrence of the largest |x|, as the C loop's strict '<'
    mx = x[np.arange(nb), idx]
    d = (mx / np.float32(-8.0)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, 1), 0).astype(np.float32)
    x0 = (x[:, :QK // 2] * idv[:, None]).astype(np.float32)
    x1 = (x[:, QK // 2:] * idv[:, None]).astype(np.float32)
    xi0 = np.minimum(15, np.trunc((x0 + np.float32(8.5)).astype(np.float32)).astype(np.int32))
    xi1 = np.minimum(15, np.trunc((x1 + np.float32(8.5)).astype(np.float32)).astype(np.int32))
    qs = (xi0 | (xi1 << 4)).astype(np.uint8)
    out = np.zeros(nb, dtype=[("d", "<f2"), ("qs", "u1", (QK // 2,))])
    out["d"] = d.astype(np.float16)
    out["qs"] = qs
    return out.tobytes()


def dequantize_q4_0(raw, n):
    blocks = np.frombuffer(raw, dtype=[("d", "<f2"), ("qs", "u1", (QK // 2,))], count=n // QK)
    d = blocks["d"].astype(np.float32)[:, None]
    lo = (blocks["qs"] & 0x0F).astype(np.int32) - 8
    hi = (blocks["qs"] >> 4).astype(np.int32) - 8
    return np.concatenate([lo * d, hi * d], axis=1).astype(np.float32).reshape(-1)


def ggml_encode(x, ggml_type):
    """float32 array (numpy row-major, i.e. reversed ne) -> raw bytes in ggml_type."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if ggml_type == GGML_F32:
        return x.astype("<f4").tobytes()
    if ggml_type == GGML_F16:
        return x.astype("<f2").tobytes()
    if ggml_type == GGML_BF16:
        return f32_to_bf16_bits(x).astype("<u2").tobytes()
    if ggml_type == GGML_Q8_0:
        return quantize_q8_0(x)
    if ggml_type == GGML_Q4_0:
        return quantize_q4_0(x)
    raise ValueError(ggml_type)


def ggml_decode(raw, ggml_type, shape):
    n = int(np.prod(shape))
    if ggml_type == GGML_F32:
        a = np.frombuffer(raw, dtype="<f4", count=n)
    elif ggml_type == GGML_F16:
        a = np.frombuffer(raw, dtype="<f2", count=n).astype(np.float32)
    elif ggml_type == GGML_BF16:
        a = bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2", count=n))
    elif ggml_type == GGML_Q8_0:
        a = dequantize_q8_0(raw, n)
    elif ggml_type == GGML_Q4_0:
        a = dequantize_q4_0(raw, n)
    else:
        raise ValueError(ggml_type)
    return np.array(a, dtype=np.float32).reshape(shape)


def ggml_nbytes(ggml_type, n):
    return {GGML_F32: 4 * n, GGML_F16: 2 * n, GGML_BF16: 2 * n,
            GGML_Q8_0: n // QK * 34, GGML_Q4_0: n // QK * 18}[ggml_type]


# ----------------------------------------------------------------------------
# GGUF v3
# ----------------------------------------------------------------------------

GGUF_UINT8, GGUF_INT8, GGUF_UINT16, GGUF_INT16, GGUF_UINT32, GGUF_INT32 = 0, 1, 2, 3, 4, 5
GGUF_FLOAT32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY, GGUF_UINT64, GGUF_INT64, GGUF_FLOAT64 = 6, 7, 8, 9, 10, 11, 12
_GGUF_SCALAR = {GGUF_UINT8: "<B", GGUF_INT8: "<b", GGUF_UINT16: "<H", GGUF_INT16: "<h",
                GGUF_UINT32: "<I", GGUF_INT32: "<i", GGUF_FLOAT32: "<f", GGUF_BOOL: "<?",
                GGUF_UINT64: "<Q", GGUF_INT64: "<q", GGUF_FLOAT64: "<d"}


def _gguf_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _gguf_value(vtype, value):
    if vtype == GGUF_STRING:
        return _gguf_str(value)
    if vtype == GGUF_ARRAY:
        etype, items = value
        out = struct.pack("<IQ", etype, len(items))
        return out + b"".join(_gguf_value(etype, it) for it in items)
    return struct.pack(_GGUF_SCALAR[vtype], value)


def write_gguf(path, kvs, tensors, alignment=32):
    """kvs: list of (key, gguf value type, value); tensors: list of (name, ggml_type, float32 array).

    The numpy array's shape is the row-major shape, so ne = reversed(shape)
    (ne[0] innermost). Returns (file size, dict name -> (ggml_type, ne, raw bytes)).
    """
    out = bytearray()
    out += b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, vtype, value in kvs:
        out += _gguf_str(key) + struct.pack("<I", vtype) + _gguf_value(vtype, value)
    blobs = []
    off = 0
    info = {}
    for name, gtype, arr in tensors:
        arr = np.asarray(arr, dtype=np.float32)
        ne = list(reversed(arr.shape))
        if gtype in (GGML_Q8_0, GGML_Q4_0) and ne[0] % QK:
            raise ValueError(f"{name}: inner dim {ne[0]} not a multiple of {QK}")
        raw = ggml_encode(arr, gtype)
        assert len(raw) == ggml_nbytes(gtype, arr.size)
        off += (-off) % alignment
        out += _gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", v) for v in ne)
        out += struct.pack("<IQ", gtype, off)
        blobs.append((off, raw))
        info[name] = (gtype, ne, raw)
        off += len(raw)
    out += b"\x00" * ((-len(out)) % alignment)
    base = len(out)
    data = bytearray(off)
    for o, raw in blobs:
        data[o:o + len(raw)] = raw
    out += data
    with open(path, "wb") as f:
        f.write(out)
    return len(out), info


def read_gguf(path):
    """Minimal GGUF v3 reader for self-checks. Returns (kv dict, dict name -> (ggml_type, ne, float32 array))."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def rd(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def rstr():
        nonlocal pos
        n = rd("<Q")
        s = data[pos:pos + n].decode("utf-8")
        pos += n
        return s

    def rval(t):
        if t == GGUF_STRING:
            return rstr()
        if t == GGUF_ARRAY:
            et, n = rd("<I"), rd("<Q")
            return [rval(et) for _ in range(n)]
        return rd(_GGUF_SCALAR[t])

    assert data[:4] == b"GGUF"
    pos = 4
    version, n_t, n_kv = rd("<I"), rd("<Q"), rd("<Q")
    assert version == 3
    kv = {}
    for _ in range(n_kv):
        k = rstr()
        t = rd("<I")
        kv[k] = rval(t)
    infos = []
    for _ in range(n_t):
        name = rstr()
        nd = rd("<I")
        ne = [rd("<Q") for _ in range(nd)]
        gt, off = rd("<I"), rd("<Q")
        infos.append((name, ne, gt, off))
    align = kv.get("general.alignment", 32)
    base = pos + ((-pos) % align)
    tensors = {}
    for name, ne, gt, off in infos:
        assert off % align == 0
        n = int(np.prod(ne))
        raw = data[base + off:base + off + ggml_nbytes(gt, n)]
        tensors[name] = (gt, ne, ggml_decode(raw, gt, list(reversed(ne))))
    return kv, tensors
