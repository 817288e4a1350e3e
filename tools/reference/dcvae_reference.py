#!/usr/bin/python3
"""Golden values for models/dcvae/network.{h,cpp}: an independent PyTorch DC-VAE (network, loss, autograd).

    /usr/bin/python3 tools/reference/dcvae_reference.py   # Debian's torch (1.13) and numpy; no GPU needed
    -> tests/golden/dcvae/*.npy + manifest.json, read by tests/models/test_dcvae_golden.cpp

CI never runs this. The network is written from the official TensorFlow code (GastonGarciaGonzalez/DC-VAE,
dc_vae.py), in Keras conventions, and shares no code with ours:
  * Conv1D(padding="causal"): left zero padding (K-1)*d, channels-last data [B, T, C], kernel [K, C_in, C_out];
    y[t] = b + sum_k W[k]^T x[t - (K-1-k)*d]   (tap K-1 is the current step)
  * encoder: cnn_0 (U[0], D[0], tanh) BN; for i in range(L-2): cnn_{i+1} (U[i+1], D[i+1], tanh) BN;
    z_mean / z_log_var: linear convs, J channels, dilation D[i+1] with i left over from the loop (= D[L-2])
  * z = z_mean + exp(0.5 z_log_var) * eps
  * decoder: cnn_-1 (U[-1], D[-1], elu) BN; for i in range(-2, -L, -1): cnn_i (U[i], D[i], elu) BN;
    x__mean_output / x_log_var_output: linear convs, M channels, dilation D[0]
  * BatchNormalization() after the activation: epsilon 1e-3, momentum 0.99 (running = 0.99 running + 0.01 batch),
    batch mean and biased batch variance in training (also the variance folded into the running one)
  * loss = mean(0.5 ((x - x_mean) / exp(x_log_var))^2 + x_log_var) + mean(-0.5 (1 + z_log_var - z_mean^2 - exp(z_log_var)))
eps is Philox-4x32-10 (runtime/philox.h) re-implemented here in numpy: element i uses counter offset + i, lanes 0
and 1 -> uniforms (float(x >> 8) + 0.5) / 2^24 -> Box-Muller in float32 (bit-identical to ad::philox_normal on
the CPU; the C++ test checks eps.npy against it).

Everything is computed in float64 from float32-representable inputs and parameters (so a float32 and a float64
C++ run see exactly the same numbers) and saved as float64.
Names are ours (encoder.cnn_0..., decoder.cnn_0 = Keras cnn_-1, decoder.cnn_1 = Keras cnn_-2, ...); the manifest
maps them to the Keras layer names.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "dcvae")

CFG = dict(B=3, T=10, M=3, J=2, cnn_units=[4, 5, 3], dil_rate=[1, 2, 4], kernel=2,
           eps_seed=20240611, eps_offset=7, param_seed=1234,
           # Keras' momentum 0.99 and epsilon 1e-3 as float32 constants (what a float32 Keras model and our
           # BatchNormOptions, which hold them as float, both use; matters only for a float64 comparison)
           bn_momentum=float(np.float32(0.99)), bn_epsilon=float(np.float32(1e-3)))

# ---------------------------------------------------------------- Philox-4x32-10 (numpy, uint32 arithmetic)
M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = np.uint32(0x9E3779B9), np.uint32(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(seed, counters):
    counters = np.asarray(counters, dtype=np.uint64)
    c0 = (counters & MASK32).astype(np.uint32)
    c1 = (counters >> np.uint64(32)).astype(np.uint32)
    c2 = np.zeros_like(c0)
    c3 = np.zeros_like(c0)
    k0 = np.uint32(seed & 0xFFFFFFFF)
    k1 = np.uint32((seed >> 32) & 0xFFFFFFFF)
    with np.errstate(over="ignore"):
        for _ in range(10):
            p0 = M0 * c0.astype(np.uint64)
            p1 = M1 * c2.astype(np.uint64)
            hi0, lo0 = (p0 >> np.uint64(32)).astype(np.uint32), (p0 & MASK32).astype(np.uint32)
            hi1, lo1 = (p1 >> np.uint64(32)).astype(np.uint32), (p1 & MASK32).astype(np.uint32)
            c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
            k0 = np.uint32(k0 + W0)
            k1 = np.uint32(k1 + W1)
    return c0, c1, c2, c3


def to_unit(x):
    return ((x >> np.uint32(8)).astype(np.float32) + np.float32(0.5)) * np.float32(1.0 / 16777216.0)


def philox_normal(seed, offset, n):
    r0, r1, _, _ = philox4x32_10(seed, np.arange(n, dtype=np.uint64) + np.uint64(offset))
    u1, u2 = to_unit(r0), to_unit(r1)
    two_pi = np.float32(6.2831853071795864)
    # logf/cosf as the C library computes them (correctly rounded): numpy's own float32 log/cos are off by
    # an ulp for about a quarter of the inputs, so evaluate in float64 and round once.
    log_u1 = np.log(u1.astype(np.float64)).astype(np.float32)
    cos_a = np.cos((two_pi * u2).astype(np.float32).astype(np.float64)).astype(np.float32)
    return (np.sqrt(np.float32(-2.0) * log_u1) * cos_a).astype(np.float32)


# ---------------------------------------------------------------- the network, Keras conventions
def causal_conv(x, w, b, d):
    """x [B, T, Cin], w [K, Cin, Cout] (Keras), b [Cout] -> [B, T, Cout]."""
    K = w.shape[0]
    xt = F.pad(x.transpose(1, 2), ((K - 1) * d, 0))          # left zeros only
    y = F.conv1d(xt, w.permute(2, 1, 0), b, dilation=d)      # torch weight [Cout, Cin, K], cross-correlation
    return y.transpose(1, 2)


def batchnorm(h, gamma, beta, rm, rv, train):
    if train:
        mean = h.mean(dim=(0, 1))
        var = h.var(dim=(0, 1), unbiased=False)
        mom = CFG["bn_momentum"]
        new_rm = mom * rm + (1 - mom) * mean.detach()
        new_rv = mom * rv + (1 - mom) * var.detach()
    else:
        mean, var, new_rm, new_rv = rm, rv, rm, rv
    return gamma * (h - mean) / torch.sqrt(var + CFG["bn_epsilon"]) + beta, new_rm, new_rv


def architecture():
    """[(our name, keras name, cin, cout, dilation, activation or None, has_bn)] following dc_vae.py."""
    U, D, M, J = CFG["cnn_units"], CFG["dil_rate"], CFG["M"], CFG["J"]
    L = len(U)
    enc = [("encoder.cnn_0", "cnn_0", M, U[0], D[0], "tanh", True)]
    i = None
    for i in range(L - 2):
        enc.append(("encoder.cnn_%d" % (i + 1), "cnn_%d" % (i + 1), U[i], U[i + 1], D[i + 1], "tanh", True))
    heads_d = D[i + 1]
    c = enc[-1][3]
    enc += [("encoder.z_mean", "z_mean", c, J, heads_d, None, False),
            ("encoder.z_log_var", "z_log_var", c, J, heads_d, None, False)]
    dec = [("decoder.cnn_0", "cnn_-1", J, U[-1], D[-1], "elu", True)]
    for n, i in enumerate(range(-2, -L, -1)):
        dec.append(("decoder.cnn_%d" % (n + 1), "cnn_%d" % i, dec[-1][3], U[i], D[i], "elu", True))
    c = dec[-1][3]
    dec += [("decoder.x_mean", "x__mean_output", c, M, D[0], None, False),
            ("decoder.x_log_var", "x_log_var_output", c, M, D[0], None, False)]
    return enc, dec


def run_stack(h, layers, P, R, train, new_R):
    for name, _, _, _, d, act, bn in layers:
        h = causal_conv(h, P[name + ".weight"], P[name + ".bias"], d)
        if act == "tanh":
            h = torch.tanh(h)
        elif act == "elu":
            h = F.elu(h, alpha=1.0)
        if bn:
            h, rm, rv = batchnorm(h, P[name + ".bn.gamma"], P[name + ".bn.beta"],
                                  R[name + ".bn.running_mean"], R[name + ".bn.running_var"], train)
            new_R[name + ".bn.running_mean"], new_R[name + ".bn.running_var"] = rm, rv
    return h


def forward(x, P, R, eps, train):
    enc, dec = architecture()
    new_R = {}
    h = run_stack(x, enc[:-2], P, R, train, new_R)
    out = {}
    for name, _, _, _, d, _, _ in enc[-2:]:
        out[name.split(".")[1]] = causal_conv(h, P[name + ".weight"], P[name + ".bias"], d)
    z = out["z_mean"] + torch.exp(0.5 * out["z_log_var"]) * eps if eps is not None else out["z_mean"]
    out["z"] = z
    h = run_stack(z, dec[:-2], P, R, train, new_R)
    for name, _, _, _, d, _, _ in dec[-2:]:
        out[name.split(".")[1]] = causal_conv(h, P[name + ".weight"], P[name + ".bias"], d)
    return out, new_R


def loss(x, o):
    s = o["x_log_var"]
    rec = (0.5 * ((x - o["x_mean"]) / torch.exp(s)) ** 2 + s).mean()
    kl = (-0.5 * (1 + o["z_log_var"] - o["z_mean"] ** 2 - torch.exp(o["z_log_var"]))).mean()
    return rec, kl


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".npy") or f == "manifest.json":
            os.remove(os.path.join(OUT, f))
    rng = np.random.RandomState(CFG["param_seed"])
    f32 = lambda a: np.asarray(a, dtype=np.float32).astype(np.float64)  # float32-representable values
    B, T, M, J, K = CFG["B"], CFG["T"], CFG["M"], CFG["J"], CFG["kernel"]
    enc, dec = architecture()
    params, buffers = {}, {}
    for name, _, cin, cout, _, _, bn in enc + dec:
        lim = np.sqrt(6.0 / (K * cin + K * cout)) * (1.2 if bn else 0.5)  # heads smaller: a moderate loss
        params[name + ".weight"] = f32(rng.uniform(-lim, lim, (K, cin, cout)))
        params[name + ".bias"] = f32(rng.uniform(-0.2, 0.2, cout))
        if bn:
            params[name + ".bn.gamma"] = f32(rng.uniform(0.6, 1.5, cout))
            params[name + ".bn.beta"] = f32(rng.uniform(-0.4, 0.4, cout))
            buffers[name + ".bn.running_mean"] = f32(rng.uniform(-0.5, 0.5, cout))
            buffers[name + ".bn.running_var"] = f32(rng.uniform(0.5, 2.0, cout))
    x = f32(rng.normal(0, 1, (B, T, M)))
    eps = philox_normal(CFG["eps_seed"], CFG["eps_offset"], B * T * J).reshape(B, T, J).astype(np.float64)

    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    R = {k: torch.tensor(v, dtype=torch.float64) for k, v in buffers.items()}
    xt = torch.tensor(x, dtype=torch.float64)
    out, new_R = forward(xt, P, R, torch.tensor(eps), train=True)
    rec, kl = loss(xt, out)
    total = rec + kl
    total.backward()
    with torch.no_grad():
        inf, _ = forward(xt, P, R, None, train=False)

    files = []

    def save(name, a):
        a = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
        np.save(os.path.join(OUT, name + ".npy"), a)
        files.append(name + ".npy")

    save("x", x)
    save("eps", eps)
    for k, v in params.items():
        save("param." + k, v)
    for k, v in buffers.items():
        save("buffer_init." + k, v)
    for k in ("z_mean", "z_log_var", "z", "x_mean", "x_log_var"):
        save("train." + k, out[k].detach().numpy())
    save("train.loss", np.array([total.item(), rec.item(), kl.item()]))
    for k, v in P.items():
        save("grad." + k, v.grad.numpy())
    for k, v in new_R.items():
        save("buffer_after_train." + k, v.numpy())
    for k in ("z_mean", "z_log_var", "x_mean", "x_log_var"):
        save("infer." + k, inf[k].numpy())

    manifest = {
        "generator": "tools/reference/dcvae_reference.py",
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "dtype": "float64 (inputs and parameters are float32-representable)",
        "config": CFG,
        "loss_reduction": "mean",
        "loss_file": "train.loss.npy = [total, reconstruction, kl]",
        "layers": [dict(name=n, keras_name=kn, cin=ci, cout=co, dilation=d, activation=a or "linear", batchnorm=bn)
                   for n, kn, ci, co, d, a, bn in enc + dec],
        "parameters": list(params.keys()),
        "buffers": list(buffers.keys()),
        "train_mode": "batch statistics, sampled z with eps = philox_normal(eps_seed, eps_offset, i)",
        "inference_mode": "running statistics buffer_init.*, z = z_mean",
        "files": sorted(files),
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("wrote %d files to %s; loss %.6f (rec %.6f, kl %.6f)" % (len(files) + 1, OUT, total.item(), rec.item(),
                                                                   kl.item()))


if __name__ == "__main__":
    main()
