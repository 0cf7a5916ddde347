"""Bridged losses under tf.distribute: one device and two replicas give the same weight updates.

The model (tests/keras_bridge/_mwms_worker.py) carries a Keras L2 kernel regularizer, an
L1 activity regularizer (divided by the replica's batch) and an add_callable_loss penalty
with a trainable coefficient. References: the same training on one device; the
cross-check fit (Keras' own scaling) == custom loop (replica_total_loss); NumPy for the
helper's value. MultiWorkerMirroredStrategy runs two worker processes on 127.0.0.1.
"""

import functools
import json
import os
import socket
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from compat_reg import _flavor
from compat_reg.keras import replica_total_loss
from compat_reg.keras import scale_regularization_loss
from tests.conftest import LOGICAL_CPUS
from tests.helpers import assert_close
from tests.keras_bridge import _mwms_worker as shared

pytestmark = pytest.mark.keras

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# One device vs two replicas: same math, float32 sums in a different order.
RTOL_REPLICAS = 1e-5
WORKER_TIMEOUT_S = 90


# Keras 3 < 3.8 (TF 2.16's 3.3.3): upstream, a multi-replica step is not the one-device step,
# with plain Keras layers and without compat_reg (see _flavor.multi_replica_training_exact).
exact_replicas = pytest.mark.skipif(
    not _flavor.multi_replica_training_exact(),
    reason=f"Keras {_flavor.version()}: upstream, its TF optimizer applies each replica's gradient unsummed "
    "(all-reduce inside merge_call, fixed by keras-team/keras#19969 in 3.5) and fit does not scale the loss "
    "per replica (keras-team/keras#20609, 3.8), so two replicas cannot equal one device",
)


@pytest.fixture(autouse=True, scope="module")
def _exact_fit_updates():
    with shared.grappler_dependency_optimization_off():
        yield


@functools.lru_cache(maxsize=None)
def _mirrored():
    """One MirroredStrategy for the module, reducing through one device instead of collectives.

    Every MirroredStrategy object numbers its collective ops from the same keys (group 1,
    instance 100) while TF's collective executor is process-wide, so a second strategy in
    the same process (another model, another test module) collides with the first one's
    all-reduce: "Shape mismatch in the collective instance 100". ReductionToOneDevice uses
    no collective keys; the sum over two replicas is the same.
    """
    assert len(LOGICAL_CPUS) >= 2, LOGICAL_CPUS
    return tf.distribute.MirroredStrategy(LOGICAL_CPUS[:2], cross_device_ops=tf.distribute.ReductionToOneDevice())


def _fit(strategy):
    keras = shared._flavor.keras()
    with strategy.scope():
        model = shared.build_model()
        model.compile(optimizer=keras.optimizers.SGD(shared.LR), loss="mse")
    n = shared.GLOBAL_BATCH * shared.STEPS
    model.fit(shared.X[:n], shared.Y[:n], batch_size=shared.GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    return shared.weights(model)


def _assert_same_weights(got, want, what):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert_close(g, w, rtol=RTOL_REPLICAS, atol=1e-7, what=f"{what}: weight {i}")


@pytest.fixture(scope="module")
def one_device():
    """Custom loop on one device; checked here against fit on one device and the initial weights."""
    weights = shared.weights(shared.train_custom_loop(tf.distribute.get_strategy()))
    initial = shared.weights(shared.build_model())
    for w, w0 in zip(weights, initial):
        assert np.max(np.abs(w - w0)) > 1e-4  # every variable moved, the coefficient included
    return weights


@exact_replicas
def test_fit_scales_bridged_losses_per_replica(one_device):
    _assert_same_weights(_fit(tf.distribute.get_strategy()), one_device, "fit, one device vs custom loop")
    _assert_same_weights(_fit(_mirrored()), one_device, "fit, two replicas vs one device")


@exact_replicas
def test_custom_loop_with_replica_total_loss(one_device):
    _assert_same_weights(shared.weights(shared.train_custom_loop(_mirrored())), one_device, "custom loop, two replicas")


@exact_replicas
def test_unscaled_regularization_is_applied_twice(one_device):
    """The mistake the helper prevents: tf.add_n(model.losses) added on every replica."""
    wrong = shared.weights(shared.train_custom_loop(_mirrored(), scale=False))
    assert max(np.max(np.abs(w - r)) for w, r in zip(wrong, one_device)) > 1e-3


def test_multi_replica_flag_matches_plain_keras_fit():
    """_flavor.multi_replica_training_exact() says what plain Keras (no compat_reg, no regularizer) does."""
    keras = shared._flavor.keras()

    def fit(strategy):
        with strategy.scope():
            inp = keras.Input((3,))
            d1 = keras.layers.Dense(4, activation="tanh", kernel_initializer=keras.initializers.Constant(shared.W1))
            d2 = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(shared.W2))
            model = keras.Model(inp, d2(d1(inp)))
            model.compile(optimizer=keras.optimizers.SGD(shared.LR), loss="mse")
        model.fit(shared.X, shared.Y, batch_size=shared.GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
        return shared.weights(model)

    one, two = fit(tf.distribute.get_strategy()), fit(_mirrored())
    worst = max(float(np.max(np.abs(a - b) / (np.abs(a) + 1e-7))) for a, b in zip(one, two))
    # exact: float32 reordering only (RTOL_REPLICAS); Keras 3.3.3 differs by ~5% and more
    assert (worst <= RTOL_REPLICAS) is _flavor.multi_replica_training_exact(), worst


def test_scale_regularization_loss_value():
    strategy = _mirrored()
    with strategy.scope():
        model = shared.build_model()
    x = strategy.experimental_distribute_values_from_function(lambda ctx: tf.constant(shared.X[:4]))

    def replica(xb):
        model(xb)
        return scale_regularization_loss(model), tf.add_n(model.losses)

    scaled, raw = strategy.run(replica, args=(x,))
    for s, r in zip(strategy.experimental_local_results(scaled), strategy.experimental_local_results(raw)):
        assert_close(float(s), float(r) / 2.0)
    w1 = np.asarray(model.layers[1].kernel, np.float64)
    w2 = np.asarray(model.layers[2].kernel, np.float64)
    coef = float(np.asarray([w for w in model.weights if "coef" in w.name][0]))
    h = np.tanh(shared.X[:4].astype(np.float64) @ w1)
    # Keras' activity penalty: the batch mean (Keras >= 3.14, tf_keras), the raw sum before.
    act_batch = 4 if _flavor.activity_loss_divided_by_batch() else 1
    expected = 0.1 * np.sum(w1**2) + 0.01 * np.sum(np.abs(h)) / act_batch + coef * np.sum(w2**2) / 2
    assert_close(float(strategy.experimental_local_results(raw)[0]), expected, rtol=1e-5)


def test_helpers_without_strategy_are_the_plain_sums(keras):
    losses = [tf.constant(1.5), tf.constant(2.0, tf.float16)]
    assert_close(float(scale_regularization_loss(losses)), 3.5)
    per_example = tf.constant([1.0, 2.0, 3.0, 6.0])
    assert_close(float(replica_total_loss(per_example, losses)), 3.0 + 3.5)
    assert_close(float(replica_total_loss(per_example, global_batch_size=8)), 12.0 / 8)


ERRORS = [
    pytest.param(lambda: scale_regularization_loss("losses"), TypeError, "Received: model_or_losses='losses'", id="bad-type"),
    pytest.param(lambda: replica_total_loss(tf.constant(2.0)), ValueError, "it is a scalar", id="scalar-loss"),
]


@pytest.mark.parametrize("call,error,text", ERRORS)
def test_helper_errors(keras, call, error, text):
    with pytest.raises(error) as info:
        call()
    assert text in str(info.value)


def test_cross_replica_context_is_refused():
    with _mirrored().scope():
        with pytest.raises(RuntimeError) as info:
            scale_regularization_loss([tf.constant(1.0)])
    assert "call it in the step function you pass to `strategy.run" in str(info.value)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@exact_replicas
def test_multi_worker_mirrored_two_local_workers(one_device):
    cluster = {"worker": [f"127.0.0.1:{_free_port()}" for _ in range(2)]}
    with tempfile.TemporaryDirectory() as tmp:
        outs = [os.path.join(tmp, f"worker{i}.npz") for i in range(2)]
        procs = []
        for i in range(2):
            env = dict(os.environ)
            env.update(
                TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
                CUDA_VISIBLE_DEVICES="",
                TF_CPP_MIN_LOG_LEVEL="2",
                PYTHONPATH=ROOT,
            )
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tests.keras_bridge._mwms_worker", outs[i], *outs],
                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                )
            )
        outputs = []
        try:
            for p in procs:
                outputs.append(p.communicate(timeout=WORKER_TIMEOUT_S)[0])
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            logs = [p.communicate()[0][-2000:] for p in procs]
            pytest.fail(f"MWMS workers did not finish in {WORKER_TIMEOUT_S}s; output tails: {logs}")
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        for i, p in enumerate(procs):
            assert p.returncode == 0, f"worker {i} failed:\n{outputs[i][-3000:]}"
        for i, out in enumerate(outs):
            with np.load(out) as data:
                got = [data[f"arr_{k}"] for k in range(len(data.files))]
            _assert_same_weights(got, one_device, f"MWMS worker {i} vs one device")


def _tf1_net(activity_scale, per_example_mean):
    """A TF1-style function: get_variable with a tf_slim regularizer and a manual collection add."""
    import tf_slim

    def net(x):
        w = tf.compat.v1.get_variable("w", initializer=shared.W1, regularizer=tf_slim.l2_regularizer(0.1))
        h = tf.tanh(tf.matmul(x, w))
        penalty = activity_scale * tf.reduce_sum(tf.abs(h))
        if per_example_mean:
            penalty = penalty / tf.cast(tf.shape(h)[0], tf.float32)
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES, penalty)
        return h

    return net


def _fit_tf1_layer(strategy, net):
    from compat_reg.keras.tf1_layer import TF1Layer

    keras = shared._flavor.keras()
    with strategy.scope():
        inp = keras.Input((3,))
        out = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(shared.W2))(TF1Layer(net)(inp))
        model = keras.Model(inp, out)
        model.compile(optimizer=keras.optimizers.SGD(shared.LR), loss="mse")
    model.fit(shared.X, shared.Y, batch_size=shared.GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    return shared.weights(model)


@exact_replicas
def test_tf1_layer_losses_scaled_per_replica_by_fit():
    """TF1Layer's collection losses (weight regularizer + a per-example-mean penalty): 1 device == 2 replicas."""
    net = _tf1_net(0.01, per_example_mean=True)
    one = _fit_tf1_layer(tf.distribute.get_strategy(), net)
    _assert_same_weights(_fit_tf1_layer(_mirrored(), net), one, "TF1Layer fit, two replicas")


@exact_replicas
def test_batch_sum_penalty_counts_once_per_replica_share():
    """Documented caveat: a penalty that SUMS over the batch, scaled 1/R like every loss,
    acts on R replicas like the same penalty with scale/R on one device."""
    two = _fit_tf1_layer(_mirrored(), _tf1_net(0.01, per_example_mean=False))
    one_halved = _fit_tf1_layer(tf.distribute.get_strategy(), _tf1_net(0.005, per_example_mean=False))
    _assert_same_weights(two, one_halved, "batch-sum penalty, two replicas vs scale/2 on one device")


@exact_replicas
def test_loss_split_logs_agree_across_replicas():
    from compat_reg.keras import LossSplit

    keras = shared._flavor.keras()
    logs = []
    for strategy in (tf.distribute.get_strategy(), _mirrored()):
        with strategy.scope():
            model = shared.build_model()
            model.compile(optimizer=keras.optimizers.SGD(shared.LR), loss="mse")
        history = model.fit(
            shared.X, shared.Y, batch_size=shared.GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0,
            callbacks=[LossSplit()],
        )
        logs.append({k: v[-1] for k, v in history.history.items()})
    one, two = logs
    for key in ("loss", "regularization_loss", "loss_no_weight_decay"):
        assert_close(two[key], one[key], rtol=RTOL_REPLICAS, what=key)
    assert_close(one["regularization_loss"] + one["loss_no_weight_decay"], one["loss"], rtol=RTOL_REPLICAS)
