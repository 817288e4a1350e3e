#!/usr/bin/env python3
"""Golden outputs for layers/recurrent.* from torch.nn.LSTM / torch.nn.GRU (torch 1.13, CPU, float64).

For each cell: a tiny sequence x [T, B, I], initial state, the layer's parameters (PyTorch names), the
outputs [T, B, Hd], the final state, and the gradients of L = sum(out * r_out) + sum(h_T * r_h) (+ sum(c_T * r_c))
for fixed random r, with respect to x, the initial state and every parameter.
Writes tests/golden/recurrent/<cell>.<name>.npy (float64). Run from the repository root:
    /usr/bin/python3 tools/reference/recurrent_reference.py
"""
import os

import numpy as np
import torch

OUT = os.path.join("tests", "golden", "recurrent")
T, B, I, HD = 5, 3, 4, 6


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(7)
    for cell in ("lstm", "gru"):
        layer = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(I, HD).double()
        x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
        h0 = torch.randn(1, B, HD, dtype=torch.float64, requires_grad=True)
        c0 = torch.randn(1, B, HD, dtype=torch.float64, requires_grad=True)
        if cell == "lstm":
            out, (hT, cT) = layer(x, (h0, c0))
        else:
            out, hT = layer(x, h0)
        r_out, r_h, r_c = torch.randn_like(out), torch.randn(B, HD, dtype=torch.float64), torch.randn(B, HD, dtype=torch.float64)
        loss = (out * r_out).sum() + (hT[0] * r_h).sum()
        if cell == "lstm":
            loss = loss + (cT[0] * r_c).sum()
        loss.backward()
        arrays = {"x": x, "h0": h0[0], "out": out, "h_T": hT[0], "r_out": r_out, "r_h": r_h,
                  "dx": x.grad, "dh0": h0.grad[0]}
        if cell == "lstm":
            arrays.update({"c0": c0[0], "c_T": cT[0], "r_c": r_c, "dc0": c0.grad[0]})
        for name, p in layer.named_parameters():
            leaf = name.replace("_l0", "")  # weight_ih_l0 -> weight_ih
            arrays["param." + leaf] = p
            arrays["grad." + leaf] = p.grad
        for name, a in arrays.items():
            np.save(os.path.join(OUT, f"{cell}.{name}.npy"), a.detach().numpy().astype(np.float64))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
