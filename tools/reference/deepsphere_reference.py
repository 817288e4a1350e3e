#!/usr/bin/env python3
"""Golden data for models/deepsphere (tests/models/test_deepsphere_golden.cpp): an independent PyTorch
(1.13, CPU, float64) version of the official DeepSphere network and loss (picsolab/DeepSphere), written from
the TF1 code's equations, on a tiny batch without dropout.

  encoder  nn.LSTM(D, H) over T steps from zeros; z_b = sum_t a_t h_tb
  sphere   d2 = |z - c|^2, residue = relu(d2 - R^2), weight = u / sum(u), u = relu(exp(R^2 - d2) - 1) + 1e-28
  decoder  nn.LSTM fed zeros for T steps from the encoder's final (h, c); outputs reversed in time; Linear(H, D)
  loss     R^2 + gamma sum(residue) + mean(d2) + lambda mean(weight * mean_{t,d}(x - x_hat)^2)

The centre and radius are set so that part of the batch is inside the sphere (else every weight is the
1e-28 floor and the weighted term says little). Writes tests/golden/deepsphere/*.npy and manifest.json:
inputs x [B, T, D], every parameter (our names), x_hat, d2, residue, weight, the loss and its four terms,
every parameter gradient; also the same for the LSTM-AE ablation (hypersphere off: loss = mean rec).
Run from the repository root: /usr/bin/python3 tools/reference/deepsphere_reference.py
"""
import json
import os

import numpy as np
import torch

OUT = os.path.join("tests", "golden", "deepsphere")
B, T, N, H = 6, 4, 3, 5
D = N * N
GAMMA, LAMBDA = 0.05, 2.0


class DeepSphere(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.LSTM(D, H)
        self.decoder = torch.nn.LSTM(1, H)  # fed zeros: its input weights never matter
        self.output = torch.nn.Linear(H, D)
        self.attention = torch.nn.Parameter(torch.randn(T))  # T, D, H: module globals (the bench resizes them)
        self.centre = torch.nn.Parameter(torch.randn(H))
        self.radius = torch.nn.Parameter(torch.tensor([0.1]))

    def embed(self, x):
        h, state = self.encoder(x.transpose(0, 1))  # [T, B, H]
        return torch.einsum("tbh,t->bh", h, self.attention), state

    def forward(self, x, hypersphere=True):
        return self.forward_with_input(x, x, hypersphere)

    def forward_with_input(self, x, x_in, hypersphere=True):
        """x: the reconstruction target; x_in: the encoder's input (x with dropout, or x)."""
        z, (h_t, c_t) = self.embed(x_in)
        d2 = ((z - self.centre) ** 2).sum(1)
        r2 = self.radius[0] ** 2
        residue = torch.relu(d2 - r2)
        u = torch.relu(torch.exp(r2 - d2) - 1.0) + 1e-28
        weight = u / u.sum()
        dec, _ = self.decoder(torch.zeros(x.shape[1], x.shape[0], 1, dtype=x.dtype, device=x.device), (h_t, c_t))
        x_hat = self.output(dec.flip(0)).transpose(0, 1)  # [B, T, D]
        rec = ((x - x_hat) ** 2).mean(dim=(1, 2))
        if hypersphere:
            terms = [r2, GAMMA * residue.sum(), d2.mean(), LAMBDA * (weight * rec).mean()]
        else:
            terms = [rec.mean() * 0, rec.mean() * 0, rec.mean() * 0, rec.mean()]
        return x_hat, d2, residue, weight, terms


def our_name(name):
    # nn.LSTM names weight_ih_l0 ...; ours encoder.weight_ih
    return name.replace("_l0", "")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(3)
    model = DeepSphere().double()
    x = torch.rand(B, T, D, dtype=torch.float64)
    with torch.no_grad():
        z, _ = model.embed(x)
        model.centre.copy_(z.mean(0) + 0.01)
        dist = ((z - model.centre) ** 2).sum(1).sqrt()
        model.radius.fill_(float(dist.median()) * 1.05)
    np.save(os.path.join(OUT, "x.npy"), x.numpy())
    params = {our_name(n): p for n, p in model.named_parameters() if n != "decoder.weight_ih_l0"}
    for n, p in params.items():
        np.save(os.path.join(OUT, f"param.{n}.npy"), p.detach().numpy())
    manifest = {"B": B, "T": T, "N": N, "hidden": H, "gamma": GAMMA, "lambda": LAMBDA, "modes": {}}
    for mode, hyp in (("deepsphere", True), ("lstm_ae", False)):
        model.zero_grad()
        x_hat, d2, residue, weight, terms = model(x, hyp)
        loss = sum(terms)
        loss.backward()
        np.save(os.path.join(OUT, f"{mode}.x_hat.npy"), x_hat.detach().numpy())
        np.save(os.path.join(OUT, f"{mode}.d2.npy"), d2.detach().numpy())
        np.save(os.path.join(OUT, f"{mode}.residue.npy"), residue.detach().numpy())
        np.save(os.path.join(OUT, f"{mode}.weight.npy"), weight.detach().numpy())
        for n, p in params.items():
            np.save(os.path.join(OUT, f"{mode}.grad.{n}.npy"), p.grad.detach().numpy())
        manifest["modes"][mode] = {"loss": float(loss), "terms": [float(t) for t in terms],
                                   "inside": int((d2 < model.radius[0] ** 2).sum())}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print("wrote", OUT, manifest)


if __name__ == "__main__":
    main()
