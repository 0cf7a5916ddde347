"""compat_reg's warning categories, in a module that imports nothing.

``pytest.ini`` (``filterwarnings = error::compat_reg._warnings.DoubleRegularizationWarning``)
and anything else that names the category resolves it without importing TensorFlow.
``compat_reg._registry`` and ``compat_reg.DoubleRegularizationWarning`` are the same class.
"""


class DoubleRegularizationWarning(UserWarning):
    """A variable is regularized by more than one mechanism (its loss would count twice)."""
