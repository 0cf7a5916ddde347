"""compat-reg: TF1 regularization semantics on today's TensorFlow, Keras bridge, migration tools."""

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    "tensorflow==2.21.0",
    "tf-keras==2.21.0",
    "tf-slim==1.1.0",
    "keras==3.15.1",
    "numpy==2.4.6",
    "libcst==1.9.0",
    "PyYAML==6.0.3",
    "matplotlib==3.11.2",
]

setup(
    name="compat-reg",
    version="0.1.0",
    description=(
        "Run TF1 regularization idioms on TF 2.21, bridge them to Keras model.losses "
        "(Keras 3 and tf_keras), and check old against new number by number."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["compat_reg", "compat_reg.*", "migration", "migration.*"]),
    install_requires=INSTALL_REQUIRES,
    extras_require={"test": ["pytest==9.2.0"]},
    entry_points={"console_scripts": ["compat-reg=migration.cli:main"]},
)
