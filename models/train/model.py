"""MobileLLM architecture in plain PyTorch (1.13, CPU), with Hugging Face MobileLLM semantics.

Pre-norm decoder: RMSNorm (computed in fp32) -> grouped-query attention with half-split RoPE
(HF `rotate_half`) -> residual; RMSNorm -> SwiGLU FFN down(silu(gate(x)) * up(x)) -> residual.
No biases. The output head is the token embedding (embedding sharing). Layer sharing is
"immediate block-wise": each stored block runs `repeat` times in a row (A A B B ...), the
effective depth is n_layers * repeat and no weight is copied.

`quant` switches every linear layer (head included) to the W8A8 Q8_0 simulation used for the
Q8_0 perplexity: weight and input are each rounded per block of 32 along the input dimension to
int8 with an fp16 scale (llama.cpp's quantize_row_q8_0), then multiplied in fp32. The embedding
lookup reads Q8_0-rounded rows, as the engine's get-rows on a Q8_0 table does.
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ModelConfig:
    vocab_size: int = 4096
    dim: int = 256
    n_layers: int = 10          # STORED blocks
    repeat: int = 2             # runs of each stored block (2 = MobileLLM-LS immediate sharing)
    n_heads: int = 4
    n_kv_heads: int = 2
    head_dim: int = 64
    ffn_dim: int = 704
    max_seq_len: int = 256
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5

    def to_dict(self):
        return asdict(self)


def q8_0_round(x):
    """Round the last dimension of x to Q8_0 (blocks of 32, int8, fp16 scale) and back to fp32.

    Matches llama.cpp quantize_row_q8_0: d = amax/127, q = round(x/d) (ties away from zero, via
    roundf), stored scale = fp16(d); dequantized value = q * fp16(d).
    """
    shp = x.shape
    assert shp[-1] % 32 == 0, 'Q8_0 needs the row length to be a multiple of 32'
    xb = x.reshape(-1, 32).float()
    amax = xb.abs().amax(dim=1, keepdim=True)
    d = amax / 127.0
    inv = torch.where(d > 0, 1.0 / d, torch.zeros_like(d))
    v = xb * inv
    q = torch.sign(v) * torch.floor(v.abs() + 0.5)  # roundf: half away from zero
    return (q * d.half().float()).reshape(shp)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.type_as(x)


class QLinear(nn.Linear):
    """nn.Linear without bias that can run the W8A8 Q8_0 simulation."""

    def __init__(self, n_in, n_out):
        super().__init__(n_in, n_out, bias=False)
        self.quant = False

    def forward(self, x):
        if self.quant:
            return F.linear(q8_0_round(x), q8_0_round(self.weight))
        return F.linear(x, self.weight)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.c = c
        self.q_proj = QLinear(c.dim, c.n_heads * c.head_dim)
        self.k_proj = QLinear(c.dim, c.n_kv_heads * c.head_dim)
        self.v_proj = QLinear(c.dim, c.n_kv_heads * c.head_dim)
        self.o_proj = QLinear(c.n_heads * c.head_dim, c.dim)

    def forward(self, x, cos, sin, mask):
        c = self.c
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, c.n_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, c.n_kv_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, c.n_kv_heads, c.head_dim).transpose(1, 2)
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)  # keep bf16 activations bf16 under autocast
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # GQA without copying K/V per query head (HF repeat_kv semantics: kv head j serves query
        # heads j*g .. j*g+g-1): fold each group's g query heads into the time axis.
        g = c.n_heads // c.n_kv_heads
        q = q.reshape(b, c.n_kv_heads, g * t, c.head_dim)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(c.head_dim))
        att = att.view(b, c.n_kv_heads, g, t, t) + mask[:t, :t].to(att.dtype)
        att = torch.softmax(att.float(), dim=-1).type_as(v).view(b, c.n_kv_heads, g * t, t)
        y = (att @ v).view(b, c.n_heads, t, c.head_dim).transpose(1, 2).reshape(b, t, c.n_heads * c.head_dim)
        return self.o_proj(y)


class FeedForward(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.gate_proj = QLinear(c.dim, c.ffn_dim)
        self.up_proj = QLinear(c.dim, c.ffn_dim)
        self.down_proj = QLinear(c.ffn_dim, c.dim)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(c.dim, c.norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.dim, c.norm_eps)
        self.mlp = FeedForward(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class MobileLLM(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.dim)
        self.layers = nn.ModuleList([Block(c) for _ in range(c.n_layers)])
        self.norm = RMSNorm(c.dim, c.norm_eps)
        self.quant = False
        inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, c.head_dim, 2).float() / c.head_dim))
        freqs = torch.outer(torch.arange(c.max_seq_len).float(), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)  # half-split layout, as HF
        self.register_buffer('cos', emb.cos(), persistent=False)
        self.register_buffer('sin', emb.sin(), persistent=False)
        mask = torch.full((c.max_seq_len, c.max_seq_len), float('-inf')).triu(1)
        self.register_buffer('mask', mask, persistent=False)
        self._init_weights()

    def _init_weights(self):
        # GPT-2 style: N(0, 0.02), residual-branch outputs scaled by 1/sqrt(2 * effective depth)
        # so the residual stream's variance does not grow with the (shared) depth.
        depth = self.c.n_layers * self.c.repeat
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02
                if name.endswith('o_proj.weight') or name.endswith('down_proj.weight'):
                    std = 0.02 / math.sqrt(2 * depth)
                nn.init.normal_(p, mean=0.0, std=std)

    def set_quant(self, on: bool):
        """Switch the W8A8 Q8_0 simulation on or off for every linear layer and the head."""
        self.quant = on
        for m in self.modules():
            if isinstance(m, QLinear):
                m.quant = on

    def forward(self, idx):
        t = idx.shape[1]
        w_emb = self.embed_tokens.weight
        if self.quant:
            w_emb = q8_0_round(w_emb)
        x = F.embedding(idx, w_emb)
        cos, sin = self.cos[:t], self.sin[:t]
        for block in self.layers:
            for _ in range(self.c.repeat):  # immediate block-wise sharing: A A B B ...
                x = block(x, cos, sin, self.mask)
        x = self.norm(x)
        if self.quant:
            return F.linear(q8_0_round(x), w_emb)  # w_emb is already Q8_0-rounded
        return F.linear(x, w_emb)  # tied head

    def num_params(self):
        return sum(p.numel() for p in self.parameters())
