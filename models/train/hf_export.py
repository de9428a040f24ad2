"""Write a trained model in the Hugging Face MobileLLM layout: config.json, model.safetensors,
tokenizer.model. The safetensors file is written by hand (no safetensors package): an 8-byte
little-endian header length, the JSON header (padded with spaces to a multiple of 8), then the
raw little-endian tensor bytes in header order.

config.json follows facebook/MobileLLM-*: `num_hidden_layers` is the number of STORED blocks and
`layer_sharing: true` means each runs twice in a row (immediate block-wise), which is how
models/convert/hf_config.js reads it (llama.block_count = stored blocks,
mobilellm.layer_share.repeat = 2).
"""
import json
import os
import shutil
import struct

import numpy as np
import torch

_DTYPES = {torch.float32: ('F32', np.float32), torch.float16: ('F16', np.float16)}


def hf_state_dict(model):
    """Model parameters under Hugging Face MobileLLM tensor names (no lm_head: it is tied)."""
    out = {}
    for name, p in model.state_dict().items():
        out['model.' + name] = p
    return out


def write_safetensors(path, tensors, dtype=torch.float16):
    """tensors: {name: torch.Tensor}; every tensor is stored as `dtype` (F16 or F32)."""
    tag, np_dtype = _DTYPES[dtype]
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        arr = tensors[name].detach().to(torch.float32).cpu().numpy().astype(np_dtype)
        raw = arr.astype(arr.dtype.newbyteorder('<'), copy=False).tobytes(order='C')
        header[name] = {'dtype': tag, 'shape': list(arr.shape), 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header['__metadata__'] = {'format': 'pt'}
    hjson = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hjson += b' ' * ((8 - len(hjson) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    """Inverse of write_safetensors (F32/F16 only), returning fp32 torch tensors."""
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, h in header.items():
        if name == '__metadata__':
            continue
        np_dtype = {'F32': '<f4', 'F16': '<f2'}[h['dtype']]
        s, e = h['data_offsets']
        arr = np.frombuffer(data[base + s:base + e], dtype=np_dtype).reshape(h['shape'])
        out[name] = torch.from_numpy(arr.astype(np.float32))
    return out


def hf_config(c):
    cfg = {
        'architectures': ['MobileLLMForCausalLM'],
        'model_type': 'mobilellm',
        'hidden_size': c.dim,
        'intermediate_size': c.ffn_dim,
        'num_hidden_layers': c.n_layers,  # stored blocks; effective depth = this * 2 when layer_sharing
        'num_attention_heads': c.n_heads,
        'num_key_value_heads': c.n_kv_heads,
        'hidden_act': 'silu',
        'max_position_embeddings': c.max_seq_len,
        'rms_norm_eps': c.norm_eps,
        'rope_theta': c.rope_theta,
        'vocab_size': c.vocab_size,
        'share_embedding': True,
        'tie_word_embeddings': True,
        'layer_sharing': c.repeat == 2,
        'attention_bias': False,
        'mlp_bias': False,
        'bos_token_id': 1,
        'eos_token_id': 2,
        'torch_dtype': 'float16',
    }
    if c.repeat not in (1, 2):
        raise ValueError('the MobileLLM config can only say layer_sharing true (2) or false (1)')
    if c.head_dim * c.n_heads != c.dim:
        cfg['head_dim'] = c.head_dim
    return cfg


def export_hf(model, out_dir, tokenizer_model, dtype=torch.float16):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'config.json'), 'w') as f:
        json.dump(hf_config(model.c), f, indent=2)
        f.write('\n')
    write_safetensors(os.path.join(out_dir, 'model.safetensors'), hf_state_dict(model), dtype)
    shutil.copyfile(tokenizer_model, os.path.join(out_dir, 'tokenizer.model'))


def load_hf_into(model, out_dir):
    """Load model.safetensors written by export_hf into `model` (names must match)."""
    sd = read_safetensors(os.path.join(out_dir, 'model.safetensors'))
    model.load_state_dict({k[len('model.'):]: v for k, v in sd.items()})
    return model
