"""How fast is lstm_ref's LSTM? Compared with torch.nn.LSTM and Keras on this machine.

    python benchmarks/lstm_speed.py          (or: make benchmark)

float32, B=64, T=100, D=H=256, 2 threads for every library. Each library runs in a
process of its own (so that their thread pools do not fight), and each time is the
median of several runs after a warm-up. GEMM work of one forward pass is
8*T*B*H*(D+H) FLOP (x_t @ Wx and h_{t-1} @ Wh for four gates); a backward pass is
twice that, so forward+backward is three times it. The sgemm peak is measured with a
large NumPy float32 matrix product on the same 2 threads.

Two rows explain the NumPy numbers:

* "NumPy products alone" times only the matrix products lstm_ref has to do, at their
  shapes (the input projection of all steps, then T products (B, H) @ (H, 4H); backward
  T products (B, 4H) @ (4H, H) and three large ones). No NumPy LSTM can be faster than
  this row: it is the floor that NumPy's BLAS sets, whatever the elementwise code does.
* OpenBLAS picks its kernels from the CPU it recognises. A release that does not know
  the CPU falls back to an older kernel (AMD Zen 5 is run with the AVX2 "Haswell" kernel
  by OpenBLAS releases before the fix of OpenMathLib/OpenBLAS#6029, at about half the
  speed of its AVX-512 "SkylakeX" kernel). When the CPU has AVX-512 and OpenBLAS did not
  choose an AVX-512 kernel, NumPy is measured a second time with OPENBLAS_CORETYPE=SkylakeX,
  OpenBLAS's own documented override, so that both numbers are on the table.

Targets (issue 19, which replaced issue 2's targets against torch: torch runs nn.LSTM as
one fused kernel, and NumPy's products alone already take about as long as its whole
forward pass): lstm_ref's forward <= 1.25x its products alone, forward+backward <= 1.15x.
torch and Keras are printed as context, in the same units. The last line is
`lstm_ref vs its products alone: forward X.XXx, forward+backward Y.YYx` (default
OpenBLAS kernel).
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
RUNS = 7
AVX512_KERNELS = ("SkylakeX", "Cooperlake", "SapphireRapids")


def median_time(fn, runs=RUNS):
    fn()                                    # warm-up: allocation, JIT, thread pools
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


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
    return {"sgemm": median_time(lambda: a @ a) / (2 * n**3), "kernel": openblas_kernel()}


def measure_numpy():
    import lstm_ref
    x, dh = inputs()
    p = lstm_ref.init_lstm(D, H, seed=0, dtype=x.dtype)

    def both():
        _, _, cache = lstm_ref.lstm_forward(x, **p)
        lstm_ref.lstm_backward(dh, cache)
    return {"forward": median_time(lambda: lstm_ref.lstm_forward(x, **p)), "both": median_time(both)}


def measure_products():
    """Only the matrix products of lstm_forward and lstm_backward, at their shapes, into
    preallocated outputs: the floor under any NumPy implementation."""
    import numpy as np
    import lstm_ref
    x, _ = inputs()
    p = lstm_ref.init_lstm(D, H, seed=0, dtype=x.dtype)
    X = x.reshape(T * B, D)
    h = np.zeros((B, H), np.float32)        # the values do not matter to a BLAS, the shapes do
    dA = np.zeros((T * B, 4 * H), np.float32)
    Hs = np.zeros((T * B, H), np.float32)
    a_step, dh_step = np.empty((B, 4 * H), np.float32), np.empty((B, H), np.float32)
    proj, dx = np.empty((T * B, 4 * H), np.float32), np.empty((T * B, D), np.float32)

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
    return {"forward": median_time(forward), "both": median_time(both)}


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
    return {"forward": median_time(forward), "both": median_time(both)}


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
    return {"forward": median_time(lambda: forward(xt).numpy()),
            "both": median_time(lambda: [g.numpy() for g in both(xt)])}


MEASURES = {"peak": measure_peak, "numpy": measure_numpy, "products": measure_products,
            "torch": measure_torch, "keras": measure_keras}


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
    print(f"LSTM, float32, B={B}, T={T}, D={D}, H={H}, {THREADS} threads, median of {RUNS} runs")
    peak_default = run_in_own_process("peak")
    settings = [(None, f"OpenBLAS kernel {peak_default['kernel']}")]
    if cpu_has_avx512() and peak_default["kernel"] not in AVX512_KERNELS:
        settings.append(("SkylakeX", "OPENBLAS_CORETYPE=SkylakeX"))
    peaks = {c: 1 / (peak_default if c is None else run_in_own_process("peak", c))["sgemm"] / 1e9
             for c, _ in settings}
    peak = max(peaks.values())
    for c, label in settings:
        print(f"measured sgemm peak, {label}: {peaks[c]:.0f} GFLOP/s")
    print(f"(percentages below are of the best: {peak:.0f} GFLOP/s)\n")

    rows, numpy_rows, floors = {}, {}, {}
    for c, label in settings:
        rows[f"lstm_ref, {label}"] = numpy_rows[c] = run_in_own_process("numpy", c)
        rows[f"  its products alone, {label}"] = floors[c] = run_in_own_process("products", c)
    rows["torch.nn.LSTM"] = t = run_in_own_process("torch")
    rows["Keras LSTM (tf.function)"] = k = run_in_own_process("keras")

    width = max(map(len, rows)) + 2
    print(f"{'':{width}}{'forward':>10}{'vs torch':>10}{'GFLOP/s':>9}{'% peak':>8}"
          f"{'fwd+bwd':>11}{'vs torch':>10}{'GFLOP/s':>9}{'% peak':>8}")
    for label, r in rows.items():
        line = f"{label:{width}}"
        for key, flop in (("forward", FLOP_FORWARD), ("both", FLOP_BOTH)):
            gflops = flop / r[key] / 1e9
            line += (f"{r[key] * 1e3:8.1f}ms{r[key] / t[key]:9.2f}x"
                     f"{gflops:9.1f}{100 * gflops / peak:7.0f}%" + ("  " if key == "forward" else ""))
        print(line)

    # The targets (issue 19): everything that is not a matrix product should cost little
    # next to the products, which are the floor of any NumPy LSTM. torch's fused kernel
    # and Keras are context, not targets.
    for c, label in settings:
        n, floor = numpy_rows[c], floors[c]
        print(f"\nlstm_ref with {label}:")
        for key, name, target in (("forward", "forward", 1.25),
                                  ("both", "forward+backward", 1.15)):
            ratio = n[key] / floor[key]
            print(f"  {'met   ' if ratio <= target else 'MISSED'}  {name}: "
                  f"{ratio:.2f}x its products alone (target <= {target:.2f}x); "
                  f"torch {t[key] / floor[key]:.2f}x, Keras {k[key] / floor[key]:.2f}x "
                  f"of the same products")
    n, floor = numpy_rows[None], floors[None]
    print(f"\nlstm_ref vs its products alone: forward {n['forward'] / floor['forward']:.2f}x, "
          f"forward+backward {n['both'] / floor['both']:.2f}x")

if __name__ == "__main__":
    main()
