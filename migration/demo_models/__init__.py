"""The models ``compat-reg demo`` checks; they ship with the package so the demo runs anywhere.

* ``tf1_model``: a tf_slim-style TF1 graph with four regularization idioms;
* ``keras_port``: its correct Keras port (Keras 3 and tf_keras);
* ``keras_naive_port``: the port that copies TF1 coefficients literally (caught).

In a source checkout ``examples/demo_*.py`` re-export them under the names the
README uses (``examples.demo_tf1_model:model``).
"""
