"""tf_slim 1.1.0 on TensorFlow 2.21: ``enable_tf_slim_compat()``.

tf_slim 1.1.0 was written against TF 2.x releases that no longer exist. On TF
2.21 two things break, and with them ``slim.batch_norm`` and therefore
``tf_slim.nets.resnet_v1`` / ``resnet_v2`` / ``inception_*`` and most real slim
models:

1. ``ModuleNotFoundError: No module named 'tf_keras.legacy_tf_layers'``.
   ``tensorflow/python/layers/normalization.py`` (used by ``slim.batch_norm``
   and ``tf.compat.v1.layers.batch_normalization``) lazy-loads
   ``tf_keras.legacy_tf_layers.normalization``; tf_keras 2.21 ships it as
   ``tf_keras.src.legacy_tf_layers.normalization``.

   **Fix chosen:** an import alias. A ``sys.meta_path`` finder answers imports
   of ``tf_keras.legacy_tf_layers`` and its submodules with the already-existing
   ``tf_keras.src.legacy_tf_layers...`` module objects. Nothing in TensorFlow is
   modified and tf_keras is only imported when something asks for the legacy
   layers (under Keras 3 too: TF's legacy ``tf.compat.v1.layers`` are tf_keras
   code in TF 2.21, whatever ``tf.keras`` is).

2. ``AttributeError: module 'tensorflow.python.framework.ops' has no attribute
   'Tensor'`` (``slim.batch_norm(fused=True)`` on its ``_fused_batch_norm``
   path, and ``tf_slim/layers/utils.py``, ``optimizers.py``, ``learning.py``,
   ``rev_block_lib.py``). TF 2.21 moved ``Tensor`` to
   ``tensorflow.python.framework.tensor``.

   **Fix chosen:** only the tf_slim modules whose source reads ``<ops>.Tensor``
   get, in place of their module-global ``ops`` binding, a module proxy that
   forwards every attribute to the real ``tensorflow.python.framework.ops`` and
   adds ``Tensor = tf.Tensor``. TensorFlow's own ``ops`` module is not touched
   (we do not set ``ops.Tensor`` globally).

``import compat_reg`` calls ``enable_tf_slim_compat()`` (the project lead's
decision), unless the environment variable ``COMPAT_REG_NO_SLIM_COMPAT=1`` is
set before the import; then call it yourself when you want it. It is
idempotent: calling it again re-checks tf_slim modules imported since (cheap)
and changes nothing else.
"""

import importlib
import importlib.abc
import importlib.util
import os
import re
import sys
import types

from compat_reg._internals import tf_graph

_ALIAS_FROM = tf_graph.LEGACY_LAYERS_ALIAS
_ALIAS_TO = tf_graph.LEGACY_LAYERS_TARGET
OPT_OUT_ENV = "COMPAT_REG_NO_SLIM_COMPAT"


class _LegacyLayersAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolve ``tf_keras.legacy_tf_layers[.x]`` to ``tf_keras.src.legacy_tf_layers[.x]``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _ALIAS_FROM and not fullname.startswith(_ALIAS_FROM + "."):
            return None
        target_name = _ALIAS_TO + fullname[len(_ALIAS_FROM):]
        if importlib.util.find_spec(target_name) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=fullname == _ALIAS_FROM)

    def create_module(self, spec):
        return importlib.import_module(_ALIAS_TO + spec.name[len(_ALIAS_FROM):])

    def exec_module(self, module):
        """The target module is already executed; nothing to do."""


class _OpsWithTensor(types.ModuleType):
    """``tensorflow.python.framework.ops`` as tf_slim 1.1.0 expects it: with ``Tensor``."""

    def __init__(self, real_ops):
        import tensorflow as tf  # pylint: disable=import-outside-toplevel  (loaded: real_ops is its module)

        super().__init__(real_ops.__name__, real_ops.__doc__)
        self.__dict__["_real_ops"] = real_ops
        self.__dict__["Tensor"] = tf.Tensor

    def __getattr__(self, name):
        return getattr(self.__dict__["_real_ops"], name)

    def __repr__(self):
        return f"<compat_reg proxy of {self.__dict__['_real_ops'].__name__} with Tensor=tf.Tensor>"


class _PatchAfterExec:
    """A loader wrapper: run the real loader, then give the new tf_slim module the ``ops`` proxy."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _patch_modules([module.__name__])

    def __getattr__(self, name):  # get_source, get_resource_reader, ...: the real loader's
        return getattr(self._loader, name)


class _TfSlimImportHook(importlib.abc.MetaPathFinder):
    """Patch each ``tf_slim`` module right after it is imported, so ``import compat_reg``
    need not import tf_slim (nor TensorFlow) itself: the fix applies whenever tf_slim loads."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tf_slim" and not fullname.startswith("tf_slim."):
            return None
        for finder in sys.meta_path[sys.meta_path.index(self) + 1:]:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchAfterExec(spec.loader)
                return spec
        return None


_state = {"alias": None, "hook": None, "proxy": None, "patched": set()}


def _install_alias():
    if _state["alias"] is None:
        _state["alias"] = _LegacyLayersAlias()
        _state["hook"] = _TfSlimImportHook()
    for finder in (_state["hook"], _state["alias"]):
        if finder not in sys.meta_path:
            sys.meta_path.insert(0, finder)


def _ops_proxy():
    if _state["proxy"] is None:
        _state["proxy"] = _OpsWithTensor(tf_graph.framework_ops_module())
    return _state["proxy"]


def _patch_ops_tensor():
    """Give each loaded tf_slim module that reads ``<ops>.Tensor`` the proxy. Returns names patched."""
    return _patch_modules([n for n in list(sys.modules) if n == "tf_slim" or n.startswith("tf_slim.")])


def _patch_modules(names):
    if tf_graph.FRAMEWORK_OPS not in sys.modules:  # TensorFlow not loaded: no tf_slim module to fix yet
        return []
    real_ops = tf_graph.framework_ops_module()
    if hasattr(real_ops, "Tensor"):  # an older TF: nothing to fix
        return []
    proxy = _ops_proxy()
    patched = []
    for mod_name in names:
        module = sys.modules.get(mod_name)
        if module is None:
            continue
        if mod_name in _state["patched"]:
            continue
        bound = [n for n, v in vars(module).items() if v is real_ops]
        if not bound:
            continue
        source = _source_of(module)
        for global_name in bound:
            if re.search(r"\b%s\.Tensor\b" % re.escape(global_name), source):
                setattr(module, global_name, proxy)
                _state["patched"].add(mod_name)
                patched.append(f"{mod_name}.{global_name}")
    return patched


def _source_of(module):
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def enable_tf_slim_compat():
    """Make tf_slim 1.1.0 layers and ``tf_slim.nets`` build and run on TF 2.21.

    Idempotent; safe to call any number of times and under either Keras flavor.
    Installs the ``tf_keras.legacy_tf_layers`` import alias and gives the
    tf_slim modules that use ``ops.Tensor`` an ``ops`` proxy that has it (see the
    module docstring for why these two narrow fixes and not global patches of
    TensorFlow). It imports neither TensorFlow nor tf_slim: tf_slim modules
    already loaded are fixed now, and an import hook fixes every tf_slim module
    loaded later, right after it executes.

    Returns:
      The list of ``"module.global"`` bindings patched by this call (empty on a
      second call), for logging.
    """
    _install_alias()
    return _patch_ops_tensor()


def is_enabled():
    """True once ``enable_tf_slim_compat()`` has installed the import alias."""
    return _state["alias"] is not None and _state["alias"] in sys.meta_path


def patched_modules():
    """Names of the tf_slim modules whose ``ops`` binding was replaced by the proxy."""
    return sorted(_state["patched"])


def opted_out():
    """True when ``COMPAT_REG_NO_SLIM_COMPAT`` asks ``import compat_reg`` not to enable it."""
    return os.environ.get(OPT_OUT_ENV, "").lower() in ("1", "true", "yes")
