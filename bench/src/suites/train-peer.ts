/**
 * The PyTorch side of the `train` bench suite, as Python source the suite writes to a temporary file: it
 * imports upstream MiniMind's own `model/model_minimind.py` from $MINIMIND_UPSTREAM_DIR (never fetched or
 * committed here) and times full training steps — forward with labels, loss + aux loss, backward, clip 1.0,
 * torch.optim.AdamW — on random tokens of the same shapes as ours. Upstream imports a few Hugging Face
 * base classes (PretrainedConfig, PreTrainedModel, GenerationMixin, ACT2FN, MoeCausalLMOutputWithPast);
 * where `transformers` is not installed (Debian ships python3-torch, not transformers) a minimal stand-in
 * module provides them, which changes nothing in the model's computation. Prints one JSON object.
 */
export const TRAIN_PEER_SOURCE = `
import json, math, os, statistics, sys, time, types
sys.dont_write_bytecode = True
import torch
from torch import nn

def shim_transformers():
    try:
        import transformers  # noqa: F401
        return "transformers " + transformers.__version__
    except ImportError:
        pass
    class PretrainedConfig:
        def __init__(self, **kwargs):
            for key, value in kwargs.items():
                setattr(self, key, value)
    class PreTrainedModel(nn.Module):
        def __init__(self, config, *args, **kwargs):
            nn.Module.__init__(self)
        def post_init(self):
            pass
    class GenerationMixin:
        pass
    class MoeCausalLMOutputWithPast(dict):
        def __getattr__(self, name):
            return self.get(name)
    root = types.ModuleType("transformers")
    root.PretrainedConfig, root.PreTrainedModel, root.GenerationMixin = PretrainedConfig, PreTrainedModel, GenerationMixin
    activations = types.ModuleType("transformers.activations")
    activations.ACT2FN = {"silu": nn.SiLU()}
    outputs = types.ModuleType("transformers.modeling_outputs")
    outputs.MoeCausalLMOutputWithPast = MoeCausalLMOutputWithPast
    sys.modules.update({"transformers": root, "transformers.activations": activations, "transformers.modeling_outputs": outputs})
    return "stand-in transformers base classes"

def median_ms(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter(); fn(); times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)

def main():
    args = json.loads(sys.argv[1])
    torch.set_num_threads(args["threads"])
    base = shim_transformers()
    sys.path.insert(0, os.path.join(args["upstream"], "model"))
    import model_minimind as upstream
    config = upstream.MiniMindConfig(hidden_size=args["hidden"], num_hidden_layers=args["layers"], vocab_size=6400)
    torch.manual_seed(0)
    model = upstream.MiniMindForCausalLM(config)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
    generator = torch.Generator().manual_seed(1)
    batches = [torch.randint(0, 6400, (args["batch"], args["seq"]), generator=generator) for _ in range(4)]
    state = {"index": 0}
    def step():
        ids = batches[state["index"] % len(batches)]; state["index"] += 1
        result = model(ids, labels=ids)
        loss = result.loss + result.aux_loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    step()
    step_ms = median_ms(step, args["runs"])
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    matmul = 2 * 1024**3 / (median_ms(lambda: a @ b, 3) / 1000) / 1e9
    parameters = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    print(json.dumps({
        "peer": "PyTorch " + torch.__version__ + " (upstream model_minimind.py)",
        "base_classes": base,
        "threads": torch.get_num_threads(),
        "parameters": parameters,
        "step_ms": step_ms,
        "tokens_per_s": args["batch"] * args["seq"] / (step_ms / 1000),
        "matmul_gflops": matmul,
        "flash": bool(getattr(model.model.layers[0].self_attn, "flash", False)),
    }))

main()
`;
