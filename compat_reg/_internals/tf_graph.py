"""compat_reg's only door into tf graph internals (see ``compat_reg._internals``).

Each function names, in its docstring, the private symbol it reaches and the
versions it was checked on; ``REACHES`` lists them for the seam test.
"""

from compat_reg._internals import Reach

REACHES = ()


def collections_dict(graph):
    """``graph._collections``: the dict ``{key: list}`` behind ``get_collection_ref`` (TF 2.16-2.21).

    The Keras bridge replaces one list object in it (``REGULARIZATION_LOSSES`` by a
    list that tags each append with its replica thread) and deletes the keys a
    ``TF1Layer`` call created, which ``get_collection_ref`` cannot do.
    """
    return graph._collections  # pylint: disable=protected-access


REACHES = REACHES + (
    Reach("tensorflow.python.framework.ops", "Graph", "TensorFlow 2.16.2-2.21.0",
          "for its instance dict _collections, to swap REGULARIZATION_LOSSES for a per-replica "
          "tagged list during a TF1Layer call (collections_dict)"),
)
