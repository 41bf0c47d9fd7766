"""FHIR R4: a patient Bundle in (a profile document with per-fact provenance), the knowledge base out (CPG-on-FHIR
PlanDefinitions). Plain JSON dicts only, no FHIR library at run time. Imported only by the commands that need it.

Library API::

    from vascular_cli.fhir import load_mapping, profile_from_bundle
    fp = profile_from_bundle(bundle_dict, load_mapping())
    fp.errors        # [FhirError]; when empty, fp.document is a profile document (the --profile shape)
    fp.provenance    # {"lesion:acute-iliofemoral-dvt": [{"resource": "Condition/c1", ...}], ...}
    fp.ignored       # codes/resources not used, each with the reason
"""

from .bundle import FhirError, FhirProfile, profile_from_bundle
from .load import load_mapping
from .mapping import Mapping

__all__ = ["FhirError", "FhirProfile", "Mapping", "load_mapping", "profile_from_bundle"]
