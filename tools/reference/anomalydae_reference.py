#!/usr/bin/python3
"""Golden values for models/anomalydae/network.{h,cpp}: an independent dense PyTorch AnomalyDAE.

    /usr/bin/python3 tools/reference/anomalydae_reference.py   # Debian's torch (1.13) and numpy; no GPU
    -> tests/golden/anomalydae/<case>/*.npy + manifest.json, read by tests/models/test_anomalydae_golden.cpp

CI never runs this. Written from the official TensorFlow code (haoyfan/AnomalyDAE: model.py, layers.py,
optimizer.py; preprocess_graph of GAE) with dense N x N matrices and torch autograd, sharing no code with ours:
  * A_hat = D^-1/2 (A + I) D^-1/2 (degrees of A + I); structure target A + I
  * H = relu(X W1 + b1);  F = H Wp^T;  f1 = F a1^T + c1;  f2 = F a2^T + c2
  * logits on the nonzeros of A_hat: A_hat_ij * f1_i + A_hat_ij * f2_j (official, "scaled") or f1_i + f2_j
    ("plain"); leaky_relu 0.2; softmax over each row's nonzeros; Z_V = gamma F + b
  * transposed attribute encoder: Z_A = relu(X^T W3 + b3) W4^T + b4, X_hat = Z_V Z_A^T
    mlp attribute encoder (ours, for traces): Z_N = relu(X W3 + b3) W4^T + b4, X_hat = Z_V Dv^T + Z_N Da^T + bd
  * S = sigmoid(Z_V Z_V^T), restricted to each row's block (ranges) when given
  * errors and score per loss_form (official / paper / pygod), loss = mean score
Everything in float64 from float32-representable values, saved as float64. Parameter names are ours.
"""
import json
import os

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "anomalydae")


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def glorot(rng, shape, fan_in, fan_out):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return f32(rng.uniform(-lim, lim, size=shape))


def make_case(name, n, d, hidden, embed, edges, blocks, form, logits, encoder, eta, theta, alpha, seed):
    rng = np.random.default_rng(seed)
    A = np.zeros((n, n))
    for i, j in edges:
        A[i, j] = A[j, i] = 1.0
    X = f32((rng.uniform(size=(n, d)) < 0.4) * rng.uniform(0.5, 1.5, size=(n, d)))
    p = {}
    p["struct_in.weight"] = glorot(rng, (d, hidden), d, hidden)
    p["struct_in.bias"] = f32(rng.normal(0, 0.1, hidden))
    p["attention.proj.weight"] = glorot(rng, (embed, hidden), hidden, embed)
    p["attention.att_src.weight"] = glorot(rng, (1, embed), embed, 1)
    p["attention.att_src.bias"] = f32(rng.normal(0, 0.1, 1))
    p["attention.att_dst.weight"] = glorot(rng, (1, embed), embed, 1)
    p["attention.att_dst.bias"] = f32(rng.normal(0, 0.1, 1))
    p["attention.bias"] = f32(rng.normal(0, 0.1, embed))
    attr_in = n if encoder == "transposed" else d
    p["attr_in.weight"] = glorot(rng, (attr_in, hidden), attr_in, hidden)
    p["attr_in.bias"] = f32(rng.normal(0, 0.1, hidden))
    p["attr_out.weight"] = glorot(rng, (embed, hidden), hidden, embed)
    p["attr_out.bias"] = f32(rng.normal(0, 0.1, embed))
    if encoder == "mlp":
        p["attr_dec_v.weight"] = glorot(rng, (d, embed), embed, d)
        p["attr_dec_a.weight"] = glorot(rng, (d, embed), embed, d)
        p["attr_dec_a.bias"] = f32(rng.normal(0, 0.1, d))

    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}
    Xt = torch.tensor(X)
    AI = torch.tensor(A + np.eye(n))
    dinv = AI.sum(1).pow(-0.5)
    Ahat = dinv[:, None] * AI * dinv[None, :]
    mask = AI > 0

    H = torch.relu(Xt @ t["struct_in.weight"] + t["struct_in.bias"])
    F = H @ t["attention.proj.weight"].T
    f1 = F @ t["attention.att_src.weight"].T + t["attention.att_src.bias"]  # [n, 1]
    f2 = F @ t["attention.att_dst.weight"].T + t["attention.att_dst.bias"]
    E = Ahat * f1 + Ahat * f2.T if logits == "scaled" else f1 + f2.T
    E = torch.nn.functional.leaky_relu(E, 0.2)
    E = torch.where(mask, E, torch.full_like(E, -np.inf))
    gamma = torch.softmax(E, dim=1)
    Zv = gamma @ F + t["attention.bias"]
    if encoder == "transposed":
        Za = torch.relu(Xt.T @ t["attr_in.weight"] + t["attr_in.bias"]) @ t["attr_out.weight"].T + t["attr_out.bias"]
        Xhat = Zv @ Za.T
    else:
        Zn = torch.relu(Xt @ t["attr_in.weight"] + t["attr_in.bias"]) @ t["attr_out.weight"].T + t["attr_out.bias"]
        Xhat = Zv @ t["attr_dec_v.weight"].T + Zn @ t["attr_dec_a.weight"].T + t["attr_dec_a.bias"]
    S = torch.sigmoid(Zv @ Zv.T)
    block = torch.ones(n, n, dtype=torch.float64)
    ranges = None
    if blocks is not None:
        block.zero_()
        ranges = np.zeros((n, 2), dtype=np.int64)
        start = 0
        for size in blocks:
            block[start:start + size, start:start + size] = 1
            ranges[start:start + size] = [start, start + size]
            start += size
        assert start == n
    if form == "pygod":
        wa = torch.where(Xt > 0, torch.tensor(eta / (1 + eta), dtype=torch.float64), torch.tensor(1 / (1 + eta), dtype=torch.float64))
        ws = torch.where(AI > 0, torch.tensor(theta / (1 + theta), dtype=torch.float64), torch.tensor(1 / (1 + theta), dtype=torch.float64))
    else:
        wa = (1 + (eta - 1) * Xt) ** 2
        ws = (1 + (theta - 1) * AI) ** 2
    Sa = (wa * (Xhat - Xt) ** 2).sum(1)
    Ss = (block * ws * (S - AI) ** 2).sum(1)
    if form == "paper":
        attr, struct = Sa, Ss
        score = alpha * struct + (1 - alpha) * attr
    elif form == "pygod":
        attr, struct = Sa.sqrt(), Ss.sqrt()
        score = (1 - alpha) * attr + alpha * struct
    else:
        attr, struct = Sa.sqrt(), Ss.sqrt()
        score = alpha * attr + (1 - alpha) * struct
    loss = score.mean()
    loss.backward()

    out = os.path.join(OUT, name)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".npy") or f == "manifest.json":
            os.remove(os.path.join(out, f))

    def save(nm, a):
        np.save(os.path.join(out, nm + ".npy"), np.asarray(a, dtype=np.float64))

    e = np.array(sorted({(min(i, j), max(i, j)) for i, j in edges}), dtype=np.int64)
    np.save(os.path.join(out, "edges.npy"), e)
    save("features", X)
    if ranges is not None:
        np.save(os.path.join(out, "ranges.npy"), ranges)
    for k, v in p.items():
        save("param." + k, v)
        save("grad." + k, t[k].grad.numpy())
    save("attribute_error", attr.detach().numpy())
    save("structure_error", struct.detach().numpy())
    save("score", score.detach().numpy())
    save("embeddings", Zv.detach().numpy())
    save("reconstruction", Xhat.detach().numpy())
    save("loss", np.array([loss.item()]))
    manifest = {"nodes": n, "attrs": d, "hidden": hidden, "embed": embed, "loss_form": form,
                "attention_logits": logits, "attribute_encoder": encoder, "eta": eta, "theta": theta,
                "alpha": alpha, "blocks": blocks, "params": list(p.keys()), "torch": torch.__version__}
    with open(os.path.join(out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
    print(name, "loss", loss.item())


def main():
    torch.manual_seed(0)
    # A 9-node graph: a triangle, a path, a star and an isolated node (only its self loop).
    g = [(0, 1), (1, 2), (0, 2), (2, 3), (3, 4), (4, 5), (5, 6), (5, 7)]
    make_case("official", 9, 6, 7, 5, g, None, "official", "scaled", "transposed", 5.0, 4.0, 0.7, 1)
    make_case("paper_plain", 9, 6, 7, 5, g, None, "paper", "plain", "transposed", 3.0, 2.0, 0.4, 2)
    # Traces: three blocks (4, 1 and 5 nodes), edges inside each block only.
    t = [(0, 1), (0, 2), (2, 3), (5, 6), (6, 7), (6, 8), (8, 9)]
    make_case("pygod_mlp_blocks", 10, 6, 7, 5, t, [4, 1, 5], "pygod", "scaled", "mlp", 5.0, 4.0, 0.3, 3)
    make_case("official_mlp_blocks", 10, 6, 7, 5, t, [4, 1, 5], "official", "scaled", "mlp", 5.0, 4.0, 0.7, 4)


if __name__ == "__main__":
    main()
