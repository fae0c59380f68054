"""Emit: render a Program into the files of a C project (bytes, not yet written)."""
from codegen.emit.render import (LibraryFiles, render_library, render_project,
                                 render_project_files, template_env)
from codegen.emit.writer import write_project

__all__ = ["LibraryFiles", "render_library", "render_project", "render_project_files",
           "template_env", "write_project"]
