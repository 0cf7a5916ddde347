"""compat_reg.keras: the bridge between TF1 graph collections and Keras ``model.losses``.

Works with the Keras that ``tf.keras`` is (Keras 3, or tf_keras under
``TF_USE_LEGACY_KERAS=1``); see ``compat_reg._flavor``.

Owns, one concept per module: ``tf1_layer`` (``TF1Layer``) with ``decorator``
(``@tf1_layer``), ``build_window`` (each call as a fresh TF1 graph build),
``variable_store`` (``get_variable`` semantics), ``activity`` (activity penalties),
``checkpoint`` (TF1 Saver checkpoints), ``input_spec``, ``keras_variables``,
``training_arg``, ``construction`` (``losses`` between Keras' construction trace and
the first call on data); ``conventions``, ``publish``, ``callable_loss``, ``loss_split``,
``distribute``. Upstream privates only through ``compat_reg._internals``.
"""

from compat_reg.keras.callable_loss import add_callable_loss
from compat_reg.keras.conventions import ActivityLoss
from compat_reg.keras.conventions import Conventions
from compat_reg.keras.conventions import FrozenWeights
from compat_reg.keras.conventions import record_activity_loss
from compat_reg.keras.tf1_layer import TF1Layer
from compat_reg.keras.tf1_layer import TF1VariableCreationError
from compat_reg.keras.tf1_layer import tf1_layer
from compat_reg.keras.loss_split import LossSplit
from compat_reg.keras.publish import publish_losses
from compat_reg.keras.distribute import replica_total_loss
from compat_reg.keras.distribute import scale_regularization_loss
