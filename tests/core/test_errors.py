"""Every error gradviz raises on purpose derives from one base, so a caller catches it once."""

import importlib
import inspect

import pytest
import torch

import gradviz

MODULES = ("gradviz.core.runner", "gradviz.core.session", "gradviz.core.trace",
           "gradviz.layout.export", "gradviz.layout.graphviz_errors", "gradviz.sources")


def test_every_error_class_derives_from_gradviz_error():
    modules = [importlib.import_module(name) for name in MODULES]
    errors = [obj for mod in modules for _, obj in inspect.getmembers(mod, inspect.isclass)
              if issubclass(obj, Exception) and obj.__module__ == mod.__name__]
    assert {e.__name__ for e in errors} >= {"TraceError", "SessionError", "ExportError",
                                            "GraphvizMissing", "SourceError", "ScriptError"}
    assert all(issubclass(e, gradviz.GradvizError) for e in errors), errors


def test_trace_error_is_caught_by_the_base_and_by_its_old_builtin_base():
    for base in (gradviz.GradvizError, ValueError):
        with pytest.raises(base, match="does not require grad"):
            gradviz.trace(torch.ones(2))
