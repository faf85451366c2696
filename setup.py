"""The package is declared in setup.cfg; this adds what setup.cfg cannot:
the C walk of protocol/record_walk.py, optional, so that an install without
a C compiler still works (with the walk in Python, much slower)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("protocol._recordwalk", ["protocol/_recordwalk.c"], optional=True,
                             extra_compile_args=["-O2"])])
