"""compat_reg: TF1 regularization semantics on today's TensorFlow.

``import compat_reg`` gives a graph-mode script the ``tf.contrib.layers`` /
tf_slim regularizers, the ``REGULARIZATION_LOSSES`` collection API and the
patterns users keep asking for. The Keras bridge lives in ``compat_reg.keras``.

Importing ``compat_reg`` also calls ``compat_reg.enable_tf_slim_compat()``, which
makes tf_slim 1.1.0 (``slim.batch_norm``, ``tf_slim.nets``) build on TF 2.21; it
is idempotent and patches no TensorFlow module (see ``compat_reg.slim_compat``).
Set ``COMPAT_REG_NO_SLIM_COMPAT=1`` before the import to opt out.
"""

from compat_reg.collections import REGULARIZATION_LOSSES
from compat_reg.collections import add_regularization_loss
from compat_reg.collections import apply_regularization
from compat_reg.collections import get_regularization_loss
from compat_reg.collections import get_regularization_losses
from compat_reg.collections import get_total_loss
from compat_reg.regularizers import L1Regularizer
from compat_reg.regularizers import L2Regularizer
from compat_reg.regularizers import NoExactKerasEquivalent
from compat_reg.regularizers import Regularizer
from compat_reg.regularizers import SumRegularizer
from compat_reg.regularizers import from_keras
from compat_reg.regularizers import l1_l2_regularizer
from compat_reg.regularizers import l1_regularizer
from compat_reg.regularizers import l2_regularizer
from compat_reg.regularizers import sum_regularizer
from compat_reg.regularizers import to_keras
from compat_reg.scopes import DoubleRegularizationWarning
from compat_reg.scopes import FusedPenalty
from compat_reg.scopes import regularize
from compat_reg.scopes import regularized_by
from compat_reg.scopes import regularized_scope
from compat_reg.patterns import TrainableCoefficient
from compat_reg.patterns import activity_regularize
from compat_reg.patterns import group_regularizer
from compat_reg.patterns import orthogonality
from compat_reg.patterns import split_total_loss
from compat_reg.patterns import trainable_coefficient
from compat_reg.slim_compat import enable_tf_slim_compat
from compat_reg import layers
from compat_reg import slim_compat as _slim_compat

__version__ = "0.1.0"

if not _slim_compat.opted_out():
    enable_tf_slim_compat()
