#!/usr/bin/env python3
"""Independent PyTorch reference of MUAD's network (models/muad/network.h) for the golden test.

Written from the paper and the official code (slg-frank/muad), not from our C++: GATv2 as DGL's GATv2Conv
(share_weights=False, messages src -> dst, softmax over each node's in-edges, zero in-degree -> zeros),
max over heads, DGL's GlobalAttentionPooling, the UncertainBlock (Linear -> LayerNorm -> Tanh, sigmoid
mu/variance heads, SimpleAttention), TCP confidence heads, concatenation (or sum) fusion, the
Linear -> ReLU -> Linear classifier and the loss. eps is the runtime's Philox-4x32-10 normal draw
(reimplemented below in numpy), so the C++ network can be run with the very same noise.

Writes tests/golden/muad/<case>/: inputs, every parameter (our names), outputs, loss terms and every
parameter gradient, as .npy, plus manifest.json. Run from the repository root:
    /usr/bin/python3 tools/reference/muad_reference.py
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

# ---- Philox-4x32-10 normal draws (runtime/philox.h) -----------------------------------------------
M32 = 0xFFFFFFFF


def philox4x32_10(seed, counter):
    c0, c1, c2, c3 = counter & M32, (counter >> 32) & M32, 0, 0
    k0, k1 = seed & M32, (seed >> 32) & M32
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        hi0, lo0 = (p0 >> 32) & M32, p0 & M32
        hi1, lo1 = (p1 >> 32) & M32, p1 & M32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + 0x9E3779B9) & M32
        k1 = (k1 + 0xBB67AE85) & M32
    return c0, c1


def philox_normal(seed, offset, n):
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        a, b = philox4x32_10(seed, offset + i)
        u1 = np.float32((np.float32(a >> 8) + np.float32(0.5)) * np.float32(1.0 / 16777216.0))
        u2 = np.float32((np.float32(b >> 8) + np.float32(0.5)) * np.float32(1.0 / 16777216.0))
        out[i] = np.sqrt(np.float32(-2.0) * np.log(u1)) * np.cos(np.float32(6.2831853071795864) * u2)
    return out


# ---- the network --------------------------------------------------------------------------------------
def gatv2_maxheads(x, src, dst, p, pre, heads, slope):
    n = x.shape[0]
    fs = (x @ p[pre + "fc_src.weight"].T + p[pre + "fc_src.bias"]).view(n, heads, -1)
    fd = (x @ p[pre + "fc_dst.weight"].T + p[pre + "fc_dst.bias"]).view(n, heads, -1)
    att = p[pre + "att"].view(1, heads, -1)
    e = (F.leaky_relu(fs[src] + fd[dst], slope) * att).sum(-1)  # [E, H]
    rows = []
    for v in range(n):
        m = dst == v
        if m.any():
            a = torch.softmax(e[m], dim=0)  # over v's in-edges, per head
            rows.append((a.unsqueeze(-1) * fs[src[m]]).sum(0))
        else:
            rows.append(torch.zeros_like(fs[0]))
    return torch.stack(rows).max(dim=1).values  # MaxPool1d over heads


def attention_pool(x, p, pre, S):
    gate = (x @ p[pre + "gate.weight"].T + p[pre + "gate.bias"]).view(-1, S)
    w = torch.softmax(gate, dim=1)
    return (w.unsqueeze(-1) * x.view(-1, S, x.shape[1])).sum(1)


def lin(x, p, name):
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def forward(p, inp, cfg, eps):
    S, H, heads = cfg["services"], cfg["hidden"], cfg["heads"]
    y = inp["y"]
    src, dst = inp["src"], inp["dst"]
    zs, out = [], {}
    tcp, kl = 0.0, 0.0
    for v, name in enumerate(["trace", "metric", "log"]):
        pre = name + "."
        if name == "log":
            e = lin(inp["logs"], p, pre + "embed")
        else:
            x = inp["traces"] if name == "trace" else inp["metrics"]
            # torch.nn.GRU's own function (gate order r, z, n), called with our parameter leaves.
            e = torch._VF.gru(x, torch.zeros(1, x.shape[1], H), [p[pre + "gru.weight_ih"], p[pre + "gru.weight_hh"],
                                                                  p[pre + "gru.bias_ih"], p[pre + "gru.bias_hh"]],
                              True, 1, 0.0, False, False, False)[1][0]
        g = gatv2_maxheads(e, src, dst, p, pre + "gat.", heads, cfg["slope"])
        pooled = attention_pool(g, p, pre + "pool.", S)
        a = torch.tanh(F.layer_norm(lin(pooled, p, pre + "enc"), (2 * H,), p[pre + "norm.weight"],
                                    p[pre + "norm.bias"], 1e-5))
        mu0, v0 = torch.sigmoid(lin(a, p, pre + "fc_mu")), lin(a, p, pre + "fc_var")
        if cfg["sigmoid_variance"]:  # the code's head; with a log-variance reading we leave it out
            v0 = torch.sigmoid(v0)
        mu = mu0 * torch.softmax(lin(mu0, p, pre + "att_mu"), dim=-1)
        var = v0 * torch.softmax(lin(v0, p, pre + "att_var"), dim=-1)
        sigma = torch.exp(0.5 * var) if cfg["variance"] == "logvar" else torch.sqrt(var)
        z = mu + sigma * eps[v]
        kl = kl + (-0.5 * torch.sum(1 + var - mu ** 2 - var.exp(), dim=-1)).mean() / 3
        logit = lin(z, p, pre + "cls")
        prob = torch.softmax(logit, dim=1)
        c = torch.sigmoid(lin(z, p, pre + "conf")).squeeze(-1)
        tcp = tcp + F.mse_loss(c, prob.gather(1, y.unsqueeze(1)).squeeze(1)) + F.cross_entropy(logit, y)
        zs.append(z * c.unsqueeze(-1))
        out["z_" + name] = z
        out["c_" + name] = c
    h = sum(zs) if cfg["fusion"] == "sum" else torch.cat(zs, dim=-1)
    logits = lin(torch.relu(lin(h, p, "mm1")), p, "mm2")
    ce = F.cross_entropy(logits, y)
    fused_c = torch.sigmoid(lin(h.detach(), p, "fused_conf")).squeeze(-1)
    fmse = F.mse_loss(fused_c, torch.softmax(logits, 1).gather(1, y.unsqueeze(1)).squeeze(1).detach())
    loss = ce + cfg["lambda_conf"] * tcp + cfg["lambda_kl"] * kl + fmse
    out.update(logits=logits, fused_c=fused_c)
    return out, {"loss": loss, "ce": ce, "tcp": tcp, "kl": kl, "fused_mse": fmse}


def param_shapes(cfg):
    H, heads, M, L = cfg["hidden"], cfg["heads"], cfg["metric_channels"], cfg["log_templates"]
    F_ = H if cfg["fusion"] == "sum" else 3 * H
    shapes = []
    for name, inp in [("trace", 1), ("metric", M), ("log", None)]:
        pre = name + "."
        if inp is None:
            shapes += [(pre + "embed.weight", (H, L)), (pre + "embed.bias", (H,))]
        else:
            shapes += [(pre + "gru.weight_ih", (3 * H, inp)), (pre + "gru.weight_hh", (3 * H, H)),
                       (pre + "gru.bias_ih", (3 * H,)), (pre + "gru.bias_hh", (3 * H,))]
        shapes += [(pre + "gat.fc_src.weight", (heads * H, H)), (pre + "gat.fc_src.bias", (heads * H,)),
                   (pre + "gat.fc_dst.weight", (heads * H, H)), (pre + "gat.fc_dst.bias", (heads * H,)),
                   (pre + "gat.att", (heads * H,)), (pre + "pool.gate.weight", (1, H)), (pre + "pool.gate.bias", (1,)),
                   (pre + "enc.weight", (2 * H, H)), (pre + "enc.bias", (2 * H,)),
                   (pre + "norm.weight", (2 * H,)), (pre + "norm.bias", (2 * H,)),
                   (pre + "fc_mu.weight", (H, 2 * H)), (pre + "fc_mu.bias", (H,)),
                   (pre + "fc_var.weight", (H, 2 * H)), (pre + "fc_var.bias", (H,)),
                   (pre + "att_mu.weight", (H, H)), (pre + "att_mu.bias", (H,)),
                   (pre + "att_var.weight", (H, H)), (pre + "att_var.bias", (H,)),
                   (pre + "cls.weight", (2, H)), (pre + "cls.bias", (2,)),
                   (pre + "conf.weight", (1, H)), (pre + "conf.bias", (1,))]
    shapes += [("mm1.weight", (H, F_)), ("mm1.bias", (H,)), ("mm2.weight", (2, H)), ("mm2.bias", (2,)),
               ("fused_conf.weight", (1, F_)), ("fused_conf.bias", (1,))]
    return shapes


def make_case(name, cfg, seed):
    rng = np.random.default_rng(seed)
    S, B, T, M, L, H = (cfg[k] for k in ["services", "batch", "steps", "metric_channels", "log_templates", "hidden"])
    edges = cfg["edges"]
    src = torch.tensor([b * S + s for b in range(B) for s, d in edges])
    dst = torch.tensor([b * S + d for b in range(B) for s, d in edges])
    inp = {"metrics": torch.tensor(rng.normal(size=(T, B * S, M)).astype(np.float32).astype(np.float64)),
           "traces": torch.tensor(rng.normal(size=(T, B * S, 1)).astype(np.float32).astype(np.float64)),
           "logs": torch.tensor(rng.normal(size=(B * S, L)).astype(np.float32).astype(np.float64)),
           "y": torch.tensor(cfg["y"]), "src": src, "dst": dst}
    p = {}
    for pname, shape in param_shapes(cfg):
        scale = 0.5 if not pname.endswith("norm.weight") else 0.2
        val = rng.normal(size=shape) * scale + (1.0 if pname.endswith("norm.weight") else 0.0)
        p[pname] = torch.tensor(val.astype(np.float32).astype(np.float64), requires_grad=True)
    eps = [torch.tensor(philox_normal(cfg["seed"], cfg["offset"] + v * B * H, B * H).astype(np.float64)).view(B, H)
           for v in range(3)]
    out, terms = forward(p, inp, cfg, eps)
    terms["loss"].backward()
    d = os.path.join("tests/golden/muad", name)
    os.makedirs(d, exist_ok=True)
    f32 = lambda t: np.ascontiguousarray(t.detach().numpy().astype(np.float32))
    np.save(os.path.join(d, "metrics.npy"), f32(inp["metrics"]))
    np.save(os.path.join(d, "traces.npy"), f32(inp["traces"]))
    np.save(os.path.join(d, "logs.npy"), f32(inp["logs"]))
    for pname, t in p.items():
        np.save(os.path.join(d, "param." + pname + ".npy"), f32(t))
        np.save(os.path.join(d, "grad." + pname + ".npy"), f32(t.grad))
    for k, t in out.items():
        np.save(os.path.join(d, "out." + k + ".npy"), f32(t))
    manifest = dict(cfg)
    manifest["terms"] = {k: float(v) for k, v in terms.items()}
    manifest["params"] = [n for n, _ in param_shapes(cfg)]
    with open(os.path.join(d, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    print(name, {k: round(float(v), 6) for k, v in terms.items()})


# A 5-service graph: self loops, a fan-out, and node 4 with no in-edges (pools with its GAT output at zero).
EDGES = [[0, 0], [0, 1], [0, 2], [1, 2], [2, 3], [3, 3], [1, 3], [0, 3]]
BASE = dict(services=5, batch=3, steps=4, metric_channels=3, log_templates=6, hidden=8, heads=2, slope=0.2,
            lambda_conf=0.6, lambda_kl=1.0, edges=EDGES, y=[1, 0, 1], seed=1234, offset=100)

if __name__ == "__main__":
    make_case("concat_logvar", dict(BASE, fusion="concat", variance="logvar", sigmoid_variance=False), 7)
    make_case("sum_official", dict(BASE, fusion="sum", variance="official", sigmoid_variance=True, y=[0, 0, 1]), 8)
