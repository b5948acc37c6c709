"""PyTorch peer of the `generate` bench suite (bench/src/suites/generate.ts).

A MiniMind-shaped decoder written inline in plain PyTorch, following upstream `model/model_minimind.py`
(RMSNorm, rotate-half RoPE, attention with per-head q_norm / k_norm and grouped-query heads through
`repeat_kv`, the manual softmax path with a causal mask -- PyTorch 1.13 has no scaled_dot_product_attention --,
SwiGLU feed-forward, tied lm_head), random N(0, 0.02^2) weights, nothing downloaded. It measures what the
TypeScript side measures, the same way: batch 1, fp32, greedy, KV cache as upstream (torch.cat per step);
prefill tokens/s of a `--prefill`-token prompt (one generation step: the prompt's forward and the first
token) and decode tokens/s of `--decode` further tokens after a `--decode-prompt`-token prompt,
decode / (time(1 + decode new tokens) - time(1 new token)); each time is the median of `--runs` runs after
one warm-up. Prints one JSON object on stdout.

Run it as `python3 -B bench/peers/torch_generate.py --hidden-size 512 ...` (-B: no __pycache__ in the repo).
"""

import argparse
import json
import math
import statistics
import sys
import time

sys.dont_write_bytecode = True

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return self.weight * (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x)


def rotary_tables(head_dim, end, theta):
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))
    angles = torch.outer(torch.arange(end).float(), freqs)
    cos = torch.cat([torch.cos(angles), torch.cos(angles)], dim=-1)
    sin = torch.cat([torch.sin(angles), torch.sin(angles)], dim=-1)
    return cos, sin


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary(q, k, cos, sin):
    # q, k [B, T, H, D]; cos, sin [T, D]
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


def repeat_kv(x, n_rep):
    batch, length, heads, dim = x.shape
    if n_rep == 1:
        return x
    return x[:, :, :, None, :].expand(batch, length, heads, n_rep, dim).reshape(batch, length, heads * n_rep, dim)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = c.heads, c.kv_heads, c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, c.heads * c.head_dim, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, c.kv_heads * c.head_dim, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, c.kv_heads * c.head_dim, bias=False)
        self.o_proj = nn.Linear(c.heads * c.head_dim, c.hidden_size, bias=False)
        self.q_norm = RMSNorm(c.head_dim, c.rms_norm_eps)
        self.k_norm = RMSNorm(c.head_dim, c.rms_norm_eps)

    def forward(self, x, cos, sin, past):
        batch, length, _ = x.shape
        xq = self.q_norm(self.q_proj(x).view(batch, length, self.heads, self.head_dim))
        xk = self.k_norm(self.k_proj(x).view(batch, length, self.kv_heads, self.head_dim))
        xv = self.v_proj(x).view(batch, length, self.kv_heads, self.head_dim)
        xq, xk = apply_rotary(xq, xk, cos, sin)
        if past is not None:
            xk = torch.cat([past[0], xk], dim=1)
            xv = torch.cat([past[1], xv], dim=1)
        present = (xk, xv)
        n_rep = self.heads // self.kv_heads
        q = xq.transpose(1, 2)
        k = repeat_kv(xk, n_rep).transpose(1, 2)
        v = repeat_kv(xv, n_rep).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        if length > 1:
            mask = torch.triu(torch.full((length, length), float("-inf")), diagonal=1)
            scores[:, :, :, -length:] += mask
        output = F.softmax(scores.float(), dim=-1).type_as(q) @ v
        output = output.transpose(1, 2).reshape(batch, length, -1)
        return self.o_proj(output), present


class FeedForward(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = FeedForward(c)

    def forward(self, hidden, cos, sin, past):
        attended, present = self.self_attn(self.input_layernorm(hidden), cos, sin, past)
        hidden = hidden + attended
        return hidden + self.mlp(self.post_attention_layernorm(hidden)), present


class MiniMindLike(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Block(c) for _ in range(c.layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.lm_head.weight = self.embed_tokens.weight  # tied, as upstream
        cos, sin = rotary_tables(c.head_dim, c.max_position_embeddings, c.rope_theta)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for name, weight in self.named_parameters():
            if not name.endswith("norm.weight"):
                nn.init.normal_(weight, std=0.02)

    def forward(self, input_ids, past=None):
        start = 0 if past is None else past[0][0].shape[1]
        length = input_ids.shape[1]
        cos, sin = self.cos[start : start + length], self.sin[start : start + length]
        hidden = self.embed_tokens(input_ids)
        presents = []
        for index, layer in enumerate(self.layers):
            hidden, present = layer(hidden, cos, sin, None if past is None else past[index])
            presents.append(present)
        hidden = self.norm(hidden)
        return self.lm_head(hidden[:, -1:, :]), presents  # logits of the last position only


def generate(model, prompt, new_tokens):
    """Greedy, KV-cached: prefill the prompt, then one token per step (no EOS stop)."""
    logits, past = model(prompt)
    token = logits[:, -1, :].argmax(dim=-1, keepdim=True)
    output = [token]
    for _ in range(new_tokens - 1):
        logits, past = model(token, past)
        token = logits[:, -1, :].argmax(dim=-1, keepdim=True)
        output.append(token)
    return torch.cat(output, dim=1)


def median_ms(fn, runs, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def matmul_gflops():
    """fp32 GFLOP/s of a 1024^3 matmul: tells an optimised BLAS (OpenBLAS: tens of GFLOP/s or more) from
    Debian's reference libblas (a few), which python3-torch falls back to without libopenblas0."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    return 2 * 1024**3 / (median_ms(lambda: a @ b, 3) / 1000) / 1e9


def loaded_blas():
    """The BLAS library this process mapped (Debian's torch is built against a generic libblas.so.3)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.split()[-1]}
        return ", ".join(sorted(paths)) or "none found"
    except OSError:
        return "unknown"


def prompt_of(length, vocab):
    # Same ids as the TypeScript side's promptOf.
    return torch.tensor([[(index * 997 + 13) % vocab for index in range(length)]], dtype=torch.long)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in (
        "hidden-size",
        "layers",
        "heads",
        "kv-heads",
        "head-dim",
        "intermediate-size",
        "vocab-size",
        "max-position-embeddings",
    ):
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--rope-theta", type=float, default=1e6)
    parser.add_argument("--rms-norm-eps", type=float, default=1e-6)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--prefill", type=int, required=True)
    parser.add_argument("--decode-prompt", type=int, required=True)
    parser.add_argument("--decode", type=int, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    c = parser.parse_args()

    torch.set_num_threads(c.threads)
    torch.manual_seed(c.seed)
    model = MiniMindLike(c).eval()
    parameters = sum(weight.numel() for weight in model.parameters())  # the tied head counted once
    shapes = {name: list(weight.shape) for name, weight in model.named_parameters()}

    prefill_prompt = prompt_of(c.prefill, c.vocab_size)
    decode_prompt = prompt_of(c.decode_prompt, c.vocab_size)
    with torch.inference_mode():
        blas_gflops = matmul_gflops()
        prefill_ms = median_ms(lambda: generate(model, prefill_prompt, 1), c.runs)
        first_token_ms = median_ms(lambda: generate(model, decode_prompt, 1), c.runs)
        decode_run_ms = median_ms(lambda: generate(model, decode_prompt, 1 + c.decode), c.runs)

    print(
        json.dumps(
            {
                "peer": f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)",
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "parameters": parameters,
                "shapes": {
                    "model.embed_tokens.weight": shapes["embed_tokens.weight"],
                    "model.layers.0.self_attn.q_proj.weight": shapes["layers.0.self_attn.q_proj.weight"],
                    "model.layers.0.self_attn.k_proj.weight": shapes["layers.0.self_attn.k_proj.weight"],
                    "model.layers.0.mlp.gate_proj.weight": shapes["layers.0.mlp.gate_proj.weight"],
                },
                "layers": len(model.layers),
                "blas": loaded_blas(),
                "matmul_gflops": blas_gflops,
                "prefill_ms": prefill_ms,
                "first_token_ms": first_token_ms,
                "decode_run_ms": decode_run_ms,
                "prefill_tokens_per_s": c.prefill / (prefill_ms / 1000),
                "decode_tokens_per_s": c.decode / ((decode_run_ms - first_token_ms) / 1000),
            }
        )
    )


if __name__ == "__main__":
    main()
