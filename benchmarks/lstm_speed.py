"""How fast is lstm_ref's LSTM? Compared with torch.nn.LSTM and Keras on this machine.

    python benchmarks/lstm_speed.py          (or: make benchmark)

float32, B=64, T=100, D=H=256, 2 threads for every library. Each library runs in a
process of its own (so that their thread pools do not fight), and each time is the
median of several runs after a warm-up. GEMM work of one forward pass is
8*T*B*H*(D+H) FLOP (x_t @ Wx and h_{t-1} @ Wh for four gates); a backward pass is
twice that, so forward+backward is three times it. The sgemm peak is measured with a
large NumPy float32 matrix product on the same 2 threads.

Targets (issue 2): forward <= 1.25x torch and faster than Keras; forward+backward no
slower than torch; forward at >= 50 % of the sgemm peak.
"""
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


def measure_peak():
    import numpy as np
    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    return {"sgemm": median_time(lambda: a @ a) / (2 * n**3)}   # seconds per FLOP


def measure_numpy():
    import lstm_ref
    x, dh = inputs()
    p = lstm_ref.init_lstm(D, H, seed=0, dtype=x.dtype)

    def both():
        _, _, cache = lstm_ref.lstm_forward(x, **p)
        lstm_ref.lstm_backward(dh, cache)
    return {"forward": median_time(lambda: lstm_ref.lstm_forward(x, **p)), "both": median_time(both)}


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


MEASURES = {"peak": measure_peak, "numpy": measure_numpy, "torch": measure_torch, "keras": measure_keras}


def run_in_own_process(name):
    env = dict(os.environ, **{v: str(THREADS) for v in
                              ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    env.pop("KERAS_BACKEND", None)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    out = subprocess.run([sys.executable, __file__, "--only", name], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--only":
        print(json.dumps(MEASURES[sys.argv[2]]()))
        return
    print(f"LSTM, float32, B={B}, T={T}, D={D}, H={H}, {THREADS} threads, median of {RUNS} runs")
    peak = 1 / run_in_own_process("peak")["sgemm"] / 1e9
    print(f"measured sgemm peak: {peak:.0f} GFLOP/s\n")
    results = {name: run_in_own_process(name) for name in ("numpy", "torch", "keras")}
    labels = {"numpy": "lstm_ref (NumPy)", "torch": "torch.nn.LSTM", "keras": "Keras LSTM (tf.function)"}
    print(f"{'':26}{'forward':>10}{'vs torch':>10}{'GFLOP/s':>9}{'% peak':>8}"
          f"{'fwd+bwd':>11}{'vs torch':>10}{'GFLOP/s':>9}{'% peak':>8}")
    for name, r in results.items():
        row = f"{labels[name]:26}"
        for key, flop in (("forward", FLOP_FORWARD), ("both", FLOP_BOTH)):
            gflops = flop / r[key] / 1e9
            row += (f"{r[key] * 1e3:8.1f}ms{r[key] / results['torch'][key]:9.2f}x"
                    f"{gflops:9.1f}{100 * gflops / peak:7.0f}%" + ("  " if key == "forward" else ""))
        print(row)
    n, t, k = results["numpy"], results["torch"], results["keras"]
    checks = [
        ("forward <= 1.25x torch", n["forward"] <= 1.25 * t["forward"]),
        ("forward faster than Keras", n["forward"] < k["forward"]),
        ("forward+backward no slower than torch", n["both"] <= t["both"]),
        ("forward >= 50% of sgemm peak", FLOP_FORWARD / n["forward"] / 1e9 >= 0.5 * peak),
    ]
    print()
    for text, ok in checks:
        print(f"{'met   ' if ok else 'MISSED'}  {text}")


if __name__ == "__main__":
    main()
