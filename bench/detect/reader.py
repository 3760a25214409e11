#!/usr/bin/env python3
"""Reference reader for bench/detect: reads each .safetensors header with only
json and struct (as a Python tool would), validates the offsets the same way
the C++ reader does, and looks up the keys a classifier needs.

    reader.py DIR            -> prints {"files": N, "errors": E, "seconds": S, "cpu_seconds": C, "bases": {...}}
"""
import json
import os
import struct
import sys
import time

DTYPE_BITS = {"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
              "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
              "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64}
PREFIXES = ("model.diffusion_model.", "diffusion_model.", "model.model.", "net.", "transformer.", "unet.")


def read_header(path):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError("truncated")
        (n,) = struct.unpack("<Q", head)
        if n > 100_000_000 or 8 + n > size:
            raise ValueError("bad header length")
        header = json.loads(f.read(n).decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("not an object")
    meta = header.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise ValueError("metadata")
    spans = []
    for name, t in header.items():
        bits = DTYPE_BITS[t["dtype"]]
        for d in t["shape"]:
            if not isinstance(d, int) or d < 0:
                raise ValueError("shape")
            bits *= d
        b, e = t["data_offsets"]
        if e < b or bits % 8 or e - b != bits // 8:
            raise ValueError("offsets")
        spans.append((b, e, name))
    spans.sort()
    pos = 0
    for b, e, name in spans:
        if b != pos:
            raise ValueError("hole/overlap at " + name)
        pos = e
    if 8 + n + pos != size:
        raise ValueError("file size")
    return header, meta


def classify(header):
    prefix = ""
    for p in PREFIXES:
        if sum(1 for k in header if k.startswith(p)) > 5:
            prefix = p
            break
    def shape(k):
        t = header.get(prefix + k)
        return t["shape"] if t else None
    if shape("label_emb.0.0.weight") == [1280, 2816]:
        return "sdxl"
    if shape("input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight") == [320, 768]:
        return "sd_1_5"
    if shape("img_in.weight") == [3072, 64]:
        return "flux_dev" if prefix + "guidance_in.in_layer.weight" in header else "flux_schnell"
    pe = shape("patch_embedding.weight")
    if pe:
        return {1536: "wan_2_1", 3072: "wan_2_2"}.get(pe[0], "unknown")
    if shape("x_embedder.proj.weight") == [2560, 64]:
        return "hidream"
    return "unknown"


def main():
    root = sys.argv[1]
    files = sorted(os.path.join(root, f) for f in os.listdir(root) if f.endswith(".safetensors"))
    bases = {}
    errors = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    for path in files:
        try:
            header, _ = read_header(path)
            b = classify(header)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
            errors += 1
            continue
        bases[b] = bases.get(b, 0) + 1
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    print(json.dumps({"files": len(files), "errors": errors, "seconds": seconds, "cpu_seconds": cpu_seconds, "bases": bases}))


if __name__ == "__main__":
    main()
