#!/usr/bin/python3
"""Checks of the training side's hand-written formats against the converter's independent JS
implementations (run: /usr/bin/python3 models/train/test_export.py; needs node).

- the Q8_0 rounding used for the W8A8 perplexity equals quant.js quantizeQ8_0 + dequantizeQ8_0;
- model.safetensors written by hf_export parses with the converter's SafetensorsFile, with the
  names, shapes and (fp16-rounded) values of the model's parameters;
- config.json reads back through hf_config.js as stored blocks + repeat 2 (immediate);
- the training model's forward pass on the exported checkpoint equals the project's reference
  transcription of the Hugging Face MobileLLM forward (tests/ref/mobilellm_ref.py), layer
  sharing included, in float64 (RoPE tables are fp32 in the training model, hence 1e-5).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from hf_export import export_hf, hf_state_dict  # noqa: E402
from model import MobileLLM, ModelConfig, q8_0_round  # noqa: E402


def node(script, *args):
    out = subprocess.run(['node', '--input-type=module', '-e', script, *args], cwd=ROOT, check=True,
                         stdout=subprocess.PIPE).stdout
    return json.loads(out)


def test_q8_0_matches_quant_js(tmp):
    g = torch.Generator().manual_seed(7)
    x = torch.randn(64, 96, generator=g) * torch.logspace(-3, 2, 96)  # blocks of very different scale
    x[3, :32] = 0.0  # an all-zero block (scale 0)
    x[5, 7] = 1e-30  # tiny value next to normal ones
    path = os.path.join(tmp, 'x.f32')
    x.numpy().astype('<f4').tofile(path)
    script = ("import {readFileSync} from 'node:fs';"
              "import {quantizeQ8_0, dequantizeQ8_0} from './models/convert/quant.js';"
              "const b = readFileSync(process.argv[1]);"
              "const x = new Float32Array(b.buffer, b.byteOffset, b.length / 4);"
              "console.log(JSON.stringify(Array.from(dequantizeQ8_0(quantizeQ8_0(x)))));")
    ref = torch.tensor(node(script, path), dtype=torch.float32).reshape(x.shape)
    got = q8_0_round(x)
    assert torch.equal(got, ref), 'q8_0_round differs from quant.js in %d values' % int((got != ref).sum())
    assert not torch.equal(got, x), 'Q8_0 rounding must change these values'


def test_safetensors_and_config_read_by_converter(tmp):
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=288, dim=64, n_layers=2, repeat=2, n_heads=4, n_kv_heads=2, head_dim=16,
                      ffn_dim=96, max_seq_len=64)
    model = MobileLLM(cfg)
    tok = os.path.join(tmp, 'tokenizer.model')
    with open(tok, 'wb') as f:
        f.write(b'')  # export only copies it; the JS side below does not read it
    out = os.path.join(tmp, 'hf')
    export_hf(model, out, tok)
    script = ("import {readFileSync} from 'node:fs';"
              "import {SafetensorsFile, memorySource} from './models/convert/safetensors.js';"
              "import {hparamsFromConfig} from './models/convert/hf_config.js';"
              "const dir = process.argv[1];"
              "const f = new SafetensorsFile(memorySource(new Uint8Array(readFileSync(dir + '/model.safetensors'))), 'm');"
              "const t = {}; for (const name of f.tensors.keys()) { const r = f.readF32(name);"
              "  t[name] = {dtype: r.dtype, shape: r.shape, sum: Array.from(r.data).reduce((a, b) => a + b, 0),"
              "             first: r.data[1]}; }"
              "const hp = hparamsFromConfig(JSON.parse(readFileSync(dir + '/config.json', 'utf8')));"
              "console.log(JSON.stringify({t, hp}));")
    res = node(script, out)
    sd = hf_state_dict(model)
    assert sorted(res['t']) == sorted(sd), 'tensor names differ: %s' % sorted(set(res['t']) ^ set(sd))
    for name, p in sd.items():
        e = res['t'][name]
        p16 = p.detach().half().double()
        assert e['dtype'] == 'F16' and e['shape'] == list(p.shape), name
        assert e['first'] == float(p16.reshape(-1)[1]), name
        assert abs(e['sum'] - float(p16.sum())) <= 1e-6 * max(1.0, float(p16.abs().sum())), name
    hp = res['hp']
    assert (hp['nLayer'], hp['shareRepeat'], hp['shareMode']) == (2, 2, 'immediate'), hp
    assert (hp['nEmbd'], hp['nFf'], hp['nHead'], hp['nHeadKv'], hp['headDim'], hp['nVocab']) == (64, 96, 4, 2, 16, 288), hp
    assert hp['tied'] is True and (hp['bosId'], hp['eosId']) == (1, 2) and hp['rmsEps'] == 1e-5, hp


def test_forward_matches_hf_reference(tmp):
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'ref'))
    import mobilellm_ref
    sys.path.pop(0)
    from hf_export import load_hf_into
    torch.manual_seed(1)
    cfg = ModelConfig(vocab_size=288, dim=64, n_layers=3, repeat=2, n_heads=4, n_kv_heads=2, head_dim=16,
                      ffn_dim=96, max_seq_len=64)
    model = MobileLLM(cfg)
    with torch.no_grad():  # non-trivial norm gains, so a swapped or skipped norm shows
        for n, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(1 + 0.5 * torch.randn_like(p))
            else:
                p.mul_(5)
    tok = os.path.join(tmp, 'tokenizer.model')
    open(tok, 'wb').close()
    out = os.path.join(tmp, 'hf_fwd')
    export_hf(model, out, tok)
    mine = load_hf_into(MobileLLM(cfg), out).double()
    tokens = [int(t) for t in torch.randint(0, 288, (40,), generator=torch.Generator().manual_seed(3))]
    with torch.no_grad():
        got = mine(torch.tensor([tokens]))[0]
    hcfg, w = mobilellm_ref.load_checkpoint(out)
    ref = mobilellm_ref.forward(hcfg, w, tokens, dtype=torch.float64)
    err = (got - ref).abs().max().item() / ref.abs().max().item()
    assert err < 1e-5, 'forward differs from the HF reference: rel. max diff %g' % err
    # the same check must fail without layer sharing (guards against a reference that ignores it)
    alt = mobilellm_ref.forward(hcfg, w, tokens, repeat=1, dtype=torch.float64)
    assert (got - alt).abs().max().item() / ref.abs().max().item() > 1e-3


def main():
    tests = [test_q8_0_matches_quant_js, test_safetensors_and_config_read_by_converter,
             test_forward_matches_hf_reference]
    with tempfile.TemporaryDirectory() as tmp:
        for t in tests:
            t(tmp)
            print('ok', t.__name__)
    print('models/train: %d checks passed' % len(tests))


if __name__ == '__main__':
    main()
