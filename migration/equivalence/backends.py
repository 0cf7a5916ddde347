"""The Keras 3 backends the new side of a check can run on, defined once.

``check_equivalence(..., backend=...)`` and ``compat-reg check --backend`` accept
``BACKENDS``. ``tensorflow`` runs the new side in this process (as without
``backend``) when this process' Keras is on TensorFlow; ``jax`` and ``torch`` run it
in a child process with ``KERAS_BACKEND`` set (``sides.child_process``), because
Keras picks its backend once per process. Each backend's packages are looked up
without importing them (``importlib.util.find_spec``), so validating ``--backend``
costs nothing.
"""

import importlib.metadata
import importlib.util

# backend -> the packages it needs (import name, distribution name), in report order
PACKAGES = {
    "tensorflow": (("tensorflow", "tensorflow"),),
    "jax": (("jax", "jax"), ("jaxlib", "jaxlib")),
    "torch": (("torch", "torch"),),
}
BACKENDS = tuple(PACKAGES)
INSTALL_HINT = {
    "tensorflow": "pip install tensorflow",
    "jax": 'pip install "jax[cpu]"',
    "torch": "pip install torch --index-url https://download.pytorch.org/whl/cpu",
}


def problem(backend):
    """Why ``backend`` cannot run (a message naming the fix), or ``None`` when it can."""
    if backend is None:
        return None
    if not isinstance(backend, str) or backend not in PACKAGES:
        return (f"Invalid value for argument `backend`. Expected one of {list(BACKENDS)} (or None: this "
                f"process' Keras). Received: backend={backend!r}")
    missing = [module for module, _ in PACKAGES[backend] if importlib.util.find_spec(module) is None]
    if missing:
        return (f"backend={backend!r} needs {', '.join(missing)}, which is not installed in this Python "
                f"environment; install it ({INSTALL_HINT[backend]}) or pick another backend")
    return None


def versions(backend):
    """``{"backend": name, "keras": version, <package>: version, ...}`` of what runs the new side."""
    out = {"backend": backend, "keras": _version("keras")}
    for _, dist in PACKAGES[backend]:
        out[dist] = _version(dist)
    return out


def describe(info):
    """``"jax (keras 3.15.1, jax 0.10.2, jaxlib 0.10.2), child process"`` from ``versions()``."""
    pkgs = ", ".join(f"{k} {v}" for k, v in info.items() if k not in ("backend", "process", "description"))
    return f"{info['backend']} ({pkgs}), {info.get('process', 'child process')}"


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def current():
    """The backend of this process' Keras: ``keras.backend.backend()``, ``"tensorflow"`` under tf_keras."""
    from compat_reg import _flavor

    if not _flavor.is_keras3():
        return "tensorflow"
    import keras

    return keras.backend.backend()


def runs_in_child(backend):
    """Whether the new side must run in a child process: a backend other than this process' Keras one.

    ``None`` means this process' backend: the new side runs here (``KerasSide`` on
    TensorFlow, ``backend_child.BackendSide`` on JAX / torch).
    """
    return backend is not None and backend != current()


def reference(obj, what):
    """``"module:qualname"`` by which a child process imports ``obj``; ``ValueError`` naming the fix otherwise."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        raise ValueError(
            f"{what} must be importable by the child process that runs the new side on another Keras "
            f"backend: a module-level function or class (module:attr), not {obj!r}. Define it in a module "
            "and pass that (compat-reg check takes module:attr)."
        )
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if target is not obj:
        raise ValueError(f"{what} {module}:{qualname} does not import back as the same object; "
                         "define it at module level")
    return f"{module}:{qualname}"


def report(backend):
    """What the report says ran the new side: ``versions()`` plus where and a one-line description."""
    info = versions(backend)
    info["process"] = "child process" if runs_in_child(backend) else "this process"
    info["description"] = describe(info)
    return info


def command_line_problem(backend, strategy=None):
    """What is wrong with ``compat-reg check --backend NAME`` (with ``--strategy``), or ``None``; no import."""
    if backend is not None and backend not in BACKENDS:
        return f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}"
    if problem(backend):
        return problem(backend)
    if backend not in (None, "tensorflow") and strategy:
        return f"--strategy runs NEW in this process on TensorFlow; drop it or --backend {backend}"
    return None
