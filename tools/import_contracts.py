"""An import-linter contract type: the named packages import only the standard library
(and modules of their own package).

import-linter's `forbidden` contract needs every third-party name listed, so a new dependency
would slip through; this contract asks the opposite question, which stays true as the
dependencies change. It needs `include_external_packages = true` so that third-party
top-level packages appear in the graph.
"""

from __future__ import annotations

import sys

from grimp import ImportGraph
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck

__all__ = ["StdlibOnlyContract"]


class StdlibOnlyContract(Contract):
    type_name = "stdlib_only"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        violations: list[str] = []
        for package in self.packages:  # type: ignore[attr-defined]
            modules = {package} | graph.find_descendants(package)
            for module in sorted(modules):
                for imported in sorted(graph.find_modules_directly_imported_by(module)):
                    top = imported.split(".")[0]
                    if imported == package or imported.startswith(package + "."):
                        continue
                    if top in sys.stdlib_module_names:
                        continue
                    violations.append(f"{module} imports {imported}")
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        from importlinter.application import output

        for line in check.metadata["violations"]:
            output.print_error(f"- {line}")
