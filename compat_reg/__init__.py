"""compat_reg: TF1 regularization semantics on today's TensorFlow.

``import compat_reg`` gives a graph-mode script the ``tf.contrib.layers`` /
tf_slim regularizers, the ``REGULARIZATION_LOSSES`` collection API and the
patterns users keep asking for. The Keras bridge lives in ``compat_reg.keras``.
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

__version__ = "0.1.0"
