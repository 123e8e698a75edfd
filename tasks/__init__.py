"""Prefect tasks: thin wrappers over library calls adding retries, logging and artifacts.

Tasks pass paths to stores and files, never arrays.
"""
