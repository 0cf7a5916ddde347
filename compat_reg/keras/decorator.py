"""``@tf1_layer``: the decorator form of ``TF1Layer`` (a layer factory that keeps the TF1 function)."""

import functools


def tf1_layer(fn=None, *, name=None, conventions=None):
    """Decorator: turn a TF1-style model function into a factory of ``TF1Layer``.

    ::

        @compat_reg.keras.tf1_layer
        def small_net(inputs, num_classes, is_training=False):
            ...

        layer = small_net(num_classes=10)           # a TF1Layer (name "small_net")
        logits = small_net.fn(x_graph, num_classes=10)  # the TF1 function itself, in a tf.Graph

    The factory accepts ``name=``, ``conventions=`` and ``fn``'s keyword
    arguments. Also usable with arguments: ``@tf1_layer(conventions=...)``.
    """

    def decorate(function):
        if not callable(function):
            raise TypeError(f"tf1_layer decorates a function; received {function!r}")

        @functools.wraps(function)
        def factory(*args, **kwargs):
            if args:
                raise TypeError(
                    f"{function.__name__} is decorated with compat_reg.keras.tf1_layer: calling it "
                    "makes a TF1Layer and takes keyword arguments only (fn's keyword arguments, "
                    f"name=, conventions=). Received {len(args)} positional argument(s). Call the "
                    f"layer on your inputs ({function.__name__}(...)(inputs)), or the TF1 function "
                    f"itself as {function.__name__}.fn(inputs, ...)."
                )
            kwargs.setdefault("name", name)
            kwargs.setdefault("conventions", conventions)
            from compat_reg.keras.tf1_layer import TF1Layer  # pylint: disable=import-outside-toplevel

            return TF1Layer(function, **kwargs)

        factory.fn = function
        return factory

    if fn is None:
        return decorate
    return decorate(fn)
