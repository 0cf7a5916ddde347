"""The demo's TF1 model, as ``examples.demo_tf1_model:model`` in a source checkout.

The model ships inside the package (``compat_reg.migration.demo_models.tf1_model``,
so an installed ``compat-reg demo`` runs anywhere); this module re-exports it under
the name the README and ``compat-reg check`` examples use.
"""

from compat_reg.migration.demo_models.tf1_model import ACTIVITY_L1
from compat_reg.migration.demo_models.tf1_model import CONV_L1
from compat_reg.migration.demo_models.tf1_model import HEAD_DECAY
from compat_reg.migration.demo_models.tf1_model import INPUT_SHAPE
from compat_reg.migration.demo_models.tf1_model import NUM_CLASSES
from compat_reg.migration.demo_models.tf1_model import WEIGHT_DECAY
from compat_reg.migration.demo_models.tf1_model import model

__all__ = ["ACTIVITY_L1", "CONV_L1", "HEAD_DECAY", "INPUT_SHAPE", "NUM_CLASSES", "WEIGHT_DECAY", "model"]
