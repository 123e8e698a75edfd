"""Reusable test machinery: the reader conformance suite and writers of small files in every format.

Importing this package needs pytest (a development dependency); the library itself never imports it.
"""
