"""How fast is lstm_ref's LSTM? Compared with torch.nn.LSTM and Keras on this machine.

    python benchmarks/lstm_speed.py          (or: make benchmark)

float32, B=64, T=100, D=H=256, 2 threads for every library. Each library runs in a
process of its own (so that their thread pools do not fight). GEMM work of one forward pass is
8*T*B*H*(D+H) FLOP (x_t @ Wx and h_{t-1} @ Wh for four gates); a backward pass is
twice that, so forward+backward is three times it. The sgemm peak is measured with a
large NumPy float32 matrix product on the same 2 threads.

Rows that explain the NumPy numbers:

* "its products alone" times only the matrix products lstm_ref has to do, at their
  shapes (the input projection of all steps, then T products (B, H) @ (H, kH); backward
  T products (B, kH) @ (kH, H) and three large ones; k = 4 for the LSTM, 3 for the GRU,
  1 for the RNN). No NumPy implementation can be faster than this row: it is the floor
  that NumPy's BLAS sets, whatever the elementwise code does. lstm_ref and its products
  are timed in one process, in alternation, so that the ratio of the two compares runs
  that saw the same machine.
* OpenBLAS picks its kernels from the CPU it recognises. A release that does not know
  the CPU falls back to an older kernel (AMD Zen 5 is run with the AVX2 "Haswell" kernel
  by OpenBLAS releases before the fix of OpenMathLib/OpenBLAS#6029, at about half the
  speed of its AVX-512 "SkylakeX" kernel). When the CPU has AVX-512, NumPy is measured
  with both kernel families, the other one chosen with OPENBLAS_CORETYPE, OpenBLAS's own
  documented override, so that both numbers are on the table.

Targets (issue 19, which replaced issue 2's targets against torch: torch runs nn.LSTM as
one fused kernel, and NumPy's products alone already take about as long as its whole
forward pass): lstm_ref's forward <= 1.25x its products alone, forward+backward <= 1.15x,
for the LSTM, the GRU and the RNN. torch and Keras are printed as context for the LSTM,
in the same units. The last line is
`lstm_ref vs its products alone: forward X.XXx, forward+backward Y.YYx` (LSTM, default
OpenBLAS kernel).

Each time is the best of several runs after a warm-up: on a shared machine the other
programs only ever add time, so the shortest run is the closest to the code's own cost.
"""
import glob
import json
import os
import subprocess
import sys
import time

THREADS = 2
B, T, D, H = 64, 100, 256, 256
FLOP_FORWARD = 8 * T * B * H * (D + H)
FLOP_BOTH = 3 * FLOP_FORWARD
RUNS = 9
AVX512_KERNELS = ("SkylakeX", "Cooperlake", "SapphireRapids")
CELLS = {"lstm": ("LSTM", 4), "gru": ("GRU", 3), "rnn": ("RNN", 1)}    # k: gate blocks


def best_times(fns, runs=RUNS):
    """{name: shortest of `runs` timings} for a dict of functions, called in alternation
    so that each sees the same machine, after one warm-up call each (allocation, JIT,
    thread pools)."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: min(ts) for name, ts in times.items()}


def best_time(fn, runs=RUNS):
    return best_times({"fn": fn}, runs)["fn"]


def inputs():
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    dh = rng.standard_normal((B, T, H)).astype(np.float32)
    return x, dh


def openblas_kernel():
    """Name of the kernel family OpenBLAS chose at load time ("Haswell", "SkylakeX", ...),
    read from the OpenBLAS that NumPy's wheel bundles; "unknown" for another BLAS."""
    import ctypes
    import numpy as np
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*"))
    for path in libs:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                     "openblas_get_corename64_", "openblas_get_corename"):
            if hasattr(lib, name):
                fn = getattr(lib, name)
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return "unknown"


def cpu_has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx512f " in f.read()
    except OSError:
        return False


def measure_peak():
    import numpy as np
    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    return {"sgemm": best_time(lambda: a @ a) / (2 * n**3), "kernel": openblas_kernel()}


def products_alone(p, k):
    """Only the matrix products of a sequence forward and backward with k gate blocks, at
    lstm_ref's shapes, into preallocated outputs where lstm_ref has them: the floor under
    any NumPy implementation."""
    import numpy as np
    x, _ = inputs()
    X = x.reshape(T * B, D)
    h = np.zeros((B, H), np.float32)        # the values do not matter to a BLAS, the shapes do
    dA = np.zeros((T * B, k * H), np.float32)
    Hs = np.zeros((T * B, H), np.float32)
    a_step, dh_step = np.empty((B, k * H), np.float32), np.empty((B, H), np.float32)
    proj, dx = np.empty((T * B, k * H), np.float32), np.empty((T * B, D), np.float32)

    def forward():
        np.matmul(X, p["Wx"], out=proj)
        for _ in range(T):
            np.matmul(h, p["Wh"], out=a_step)

    def backward():
        for t in range(T):
            np.matmul(dA[t * B:(t + 1) * B], p["Wh"].T, out=dh_step)
        np.matmul(dA, p["Wx"].T, out=dx)
        X.T @ dA
        Hs.T @ dA

    def both():
        forward()
        backward()
    return forward, both


def measure_cell(cell):
    """lstm_ref's forward and forward+backward of one cell, and its products alone, timed
    in alternation in this one process."""
    import lstm_ref
    x, dh = inputs()
    p = getattr(lstm_ref, f"init_{cell}")(D, H, seed=0, dtype=x.dtype)
    fwd, bwd = getattr(lstm_ref, f"{cell}_forward"), getattr(lstm_ref, f"{cell}_backward")

    def both():
        _, _, cache = fwd(x, **p)
        bwd(dh, cache)
    floor_forward, floor_both = products_alone(p, CELLS[cell][1])
    t = best_times({"forward": lambda: fwd(x, **p), "both": both,
                    "floor_forward": floor_forward, "floor_both": floor_both})
    return {"lstm_ref": {"forward": t["forward"], "both": t["both"]},
            "products": {"forward": t["floor_forward"], "both": t["floor_both"]}}


def measure_torch():
    import torch
    torch.set_num_threads(THREADS)
    x, dh = inputs()
    m = torch.nn.LSTM(D, H, batch_first=True)
    xt, dht = torch.from_numpy(x), torch.from_numpy(dh)

    def forward():
        with torch.no_grad():
            m(xt)

    def both():
        xg = xt.clone().requires_grad_()
        out, _ = m(xg)
        out.backward(dht)
    return {"forward": best_time(forward), "both": best_time(both)}


def measure_keras():
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    import keras
    x, dh = inputs()
    layer = keras.layers.LSTM(H, return_sequences=True)
    layer.build((None, T, D))
    xt, dht = tf.constant(x), tf.constant(dh)

    @tf.function
    def forward(x):
        return layer(x)

    @tf.function
    def both(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = layer(x)
        return tape.gradient(out, [x] + layer.trainable_weights, output_gradients=dht)
    return {"forward": best_time(lambda: forward(xt).numpy()),
            "both": best_time(lambda: [g.numpy() for g in both(xt)])}


MEASURES = {"peak": measure_peak, "torch": measure_torch, "keras": measure_keras,
            **{cell: (lambda cell=cell: measure_cell(cell)) for cell in CELLS}}


def run_in_own_process(name, coretype=None):
    env = dict(os.environ, **{v: str(THREADS) for v in
                              ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    env.pop("KERAS_BACKEND", None)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    out = subprocess.run([sys.executable, __file__, "--only", name], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--only":
        print(json.dumps(MEASURES[sys.argv[2]]()))
        return
    print(f"float32, B={B}, T={T}, D={D}, H={H}, {THREADS} threads, best of {RUNS} runs")
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
          f"(more than {os.cpu_count() - THREADS} means other programs took time from these runs)")
    peak_default = run_in_own_process("peak")
    settings = [(None, f"OpenBLAS kernel {peak_default['kernel']}")]
    if cpu_has_avx512():                    # the other kernel family, for comparison
        other = "Haswell" if peak_default["kernel"] in AVX512_KERNELS else "SkylakeX"
        settings.append((other, f"OPENBLAS_CORETYPE={other}"))
    peaks = {c: 1 / (peak_default if c is None else run_in_own_process("peak", c))["sgemm"] / 1e9
             for c, _ in settings}
    peak = max(peaks.values())
    for c, label in settings:
        print(f"measured sgemm peak, {label}: {peaks[c]:.0f} GFLOP/s")
    print(f"(percentages below are of the best: {peak:.0f} GFLOP/s)\n")

    measured = {(cell, c): run_in_own_process(cell, c) for cell in CELLS for c, _ in settings}
    t = run_in_own_process("torch")
    k = run_in_own_process("keras")
    rows = {}
    for cell, (name, _) in CELLS.items():
        for c, label in settings:
            rows[f"lstm_ref {name}, {label}"] = (measured[cell, c]["lstm_ref"], cell)
            rows[f"  its products alone ({name}), {label}"] = (measured[cell, c]["products"], cell)
        if cell == "lstm":
            rows["torch.nn.LSTM"] = (t, cell)
            rows["Keras LSTM (tf.function)"] = (k, cell)

    width = max(map(len, rows)) + 2
    print(f"{'':{width}}{'forward':>10}{'vs torch':>10}{'GFLOP/s':>9}{'% peak':>8}"
          f"{'fwd+bwd':>11}{'vs torch':>10}{'GFLOP/s':>9}{'% peak':>8}")
    for label, (r, cell) in rows.items():
        line = f"{label:{width}}"
        flop_forward = FLOP_FORWARD * CELLS[cell][1] // 4
        for key, flop in (("forward", flop_forward), ("both", 3 * flop_forward)):
            gflops = flop / r[key] / 1e9
            vs_torch = f"{r[key] / t[key]:9.2f}x" if cell == "lstm" else f"{'':10}"
            line += (f"{r[key] * 1e3:8.1f}ms{vs_torch}"
                     f"{gflops:9.1f}{100 * gflops / peak:7.0f}%" + ("  " if key == "forward" else ""))
        print(line)

    # The targets (issue 19): everything that is not a matrix product should cost little
    # next to the products, which are the floor of any NumPy implementation. torch's fused
    # kernel and Keras are context, not targets.
    for cell, (name, _) in CELLS.items():
        for c, label in settings:
            n, floor = measured[cell, c]["lstm_ref"], measured[cell, c]["products"]
            print(f"\nlstm_ref {name} with {label}:")
            for key, what, target in (("forward", "forward", 1.25),
                                      ("both", "forward+backward", 1.15)):
                ratio = n[key] / floor[key]
                context = (f"; torch {t[key] / floor[key]:.2f}x, Keras {k[key] / floor[key]:.2f}x "
                           f"of the same products" if cell == "lstm" else "")
                print(f"  {'met   ' if ratio <= target else 'MISSED'}  {what}: "
                      f"{ratio:.2f}x its products alone (target <= {target:.2f}x){context}")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    for cell, (name, _) in reversed(CELLS.items()):     # the LSTM's line last
        n, floor = measured[cell, None]["lstm_ref"], measured[cell, None]["products"]
        who = "lstm_ref" if cell == "lstm" else f"lstm_ref {name}"
        print(f"{who} vs its products alone: forward {n['forward'] / floor['forward']:.2f}x, "
              f"forward+backward {n['both'] / floor['both']:.2f}x")


if __name__ == "__main__":
    main()
