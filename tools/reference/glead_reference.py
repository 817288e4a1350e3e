#!/usr/bin/env python3
"""Golden outputs for models/glead/ from an independent PyTorch (1.13, CPU, float64) write-up of GLEAD's network
and loss as the public code computes them (Serendipity618/GLEAD src/model.py and the penalty in src/trainer.py):

  H = Embedding(ids); U = tanh(H W1^T + b1); A = softmax over time of (U W2^T + b2), transposed to [B, K, T];
  M = A H; d_n, d_a = (1 - cos(M_h, c_h)) / 2 per head; head weights softmax(-/+ alpha d) (not detached);
  hinge with margin 1 per class, each class summed and divided by (its count + 1); penalty mean((C C^T - I)^2)
  over the 2K prototype rows; loss = triplet + lambda_p * penalty.

One tiny batch (B=6: two labelled normal, two unlabelled, two labelled anomalous windows; vocabulary 9 with the
padding id 0 present; T=6, D=5, A=7, K=3). Writes tests/golden/glead/<name>.npy (float64) and manifest.json.
Run from the repository root:  /usr/bin/python3 tools/reference/glead_reference.py
"""
import json
import os

import numpy as np
import torch

OUT = os.path.join("tests", "golden", "glead")
B, T, V, D, A, K = 6, 6, 9, 5, 7, 3
ALPHA, MARGIN, LAMBDA_P = 1.0, 1.0, 1.0


def half_cosine(m, c):
    # (1 - cos) / 2 along the last dim; c broadcasts over the batch.
    cos = torch.nn.functional.cosine_similarity(m, c.expand_as(m), dim=-1)
    return 0.5 * (1.0 - cos)


def head_weighted(d, sign):
    w = torch.softmax(sign * ALPHA * d, dim=1)
    return (w * d).sum(dim=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(11)
    dt = torch.float64
    emb = torch.randn(V, D, generator=g, dtype=dt, requires_grad=True)
    w1 = ((torch.rand(A, D, generator=g, dtype=dt) - 0.5) * 0.8).requires_grad_()
    b1 = ((torch.rand(A, generator=g, dtype=dt) - 0.5) * 0.8).requires_grad_()
    w2 = ((torch.rand(K, A, generator=g, dtype=dt) - 0.5) * 0.8).requires_grad_()
    b2 = ((torch.rand(K, generator=g, dtype=dt) - 0.5) * 0.8).requires_grad_()
    c_n = ((torch.rand(K, D, generator=g, dtype=dt) - 0.5) * 2).requires_grad_()
    c_a = ((torch.rand(K, D, generator=g, dtype=dt) - 0.5) * 2).requires_grad_()
    ids = torch.randint(0, V, (B, T), generator=g)
    labels = torch.tensor([0, 0, 0, 0, 1, 1])
    semi = torch.tensor([0, 0, 1, 1, 0, 0])

    H = emb[ids]                                               # [B, T, D]
    U = torch.tanh(H @ w1.t() + b1)                            # [B, T, A]
    att = torch.softmax(U @ w2.t() + b2, dim=1).transpose(1, 2)  # [B, K, T]
    M = att @ H                                                # [B, K, D]
    d_n = half_cosine(M, c_n)                                  # [B, K]
    d_a = half_cosine(M, c_a)

    anomaly = (semi == 0) & (labels == 1)
    normal = ~anomaly
    l1 = torch.relu(head_weighted(d_n[normal], -1) - head_weighted(d_a[normal], +1) + MARGIN)
    l2 = torch.relu(head_weighted(d_a[anomaly], -1) - head_weighted(d_n[anomaly], +1) + MARGIN)
    triplet = l1.sum() / (l1.numel() + 1) + l2.sum() / (l2.numel() + 1)
    C = torch.cat([c_n, c_a], dim=0)                           # [2K, D]
    penalty = ((C @ C.t() - torch.eye(2 * K, dtype=dt)) ** 2).mean()
    loss = triplet + LAMBDA_P * penalty
    loss.backward()

    arrays = {
        "ids": ids.to(torch.int32), "labels": labels.to(torch.int32), "semi": semi.to(torch.int32),
        "param.embedding": emb, "param.W1": w1, "param.b1": b1, "param.W2": w2, "param.b2": b2,
        "param.prototypes": torch.stack([c_n, c_a]),          # [2, K, D]
        "H": H, "attention": att, "M": M, "distances": torch.stack([d_n, d_a], dim=1),  # [B, 2, K]
        "grad.embedding": emb.grad, "grad.W1": w1.grad, "grad.b1": b1.grad, "grad.W2": w2.grad, "grad.b2": b2.grad,
        "grad.prototypes": torch.stack([c_n.grad, c_a.grad]),
    }
    for name, a in arrays.items():
        a = a.detach().numpy()
        np.save(os.path.join(OUT, name + ".npy"), a if a.dtype == np.int32 else a.astype(np.float64))
    manifest = {"B": B, "T": T, "V": V, "D": D, "A": A, "K": K, "alpha": ALPHA, "margin": MARGIN,
                "lambda_p": LAMBDA_P, "triplet": triplet.item(), "penalty": penalty.item(), "loss": loss.item(),
                "torch": torch.__version__}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print("wrote", OUT, manifest)


if __name__ == "__main__":
    main()
