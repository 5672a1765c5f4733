"""smeval's Climate-REF diagnostics (docs/climate_ref.md).

Each diagnostic follows climate-ref-esmvaltool's ``CommandLineDiagnostic``
pattern: ``build_cmd`` writes a recipe (a restricted copy of
``recipes/recipe_soilmoisture.yml`` on the execution's data sets) and an
ESMValCore configuration, the provider runs ``esmvaltool run``, and
``build_execution_result`` hands Climate-REF the run's own CMEC bundles:
``metrics_cmec.json`` (the metrics table) and ``cmec_output.json`` (the
report, every figure and data file with its caption).

One execution per model and experiment, all its members: the statistics
of a model do not depend on the other models. The multi-model means,
rankings and counts across models are what the recipe itself is for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from climate_ref_core.constraints import AddSupplementaryDataset, RequireFacets
from climate_ref_core.datasets import FacetFilter, SourceDatasetType
from climate_ref_core.diagnostics import (
    CommandLineDiagnostic,
    DataRequirement,
    ExecutionDefinition,
    ExecutionResult,
)
from climate_ref_core.pycmec.metric import CMECMetric
from climate_ref_core.pycmec.output import CMECOutput

from smeval import defaults, runner
from smeval.outputs import METRIC_BUNDLE, OUTPUT_BUNDLE
from smeval.variables import CMOR_TABLES

from . import recipe as ref_recipe
from .recipe import CMIP7_BRANDED

#: Folder of the esmvaltool runs inside an execution's output directory.
EXECUTIONS = "executions"
#: Fixed fields added to each model's files (land fraction, cell area).
FIXED_FIELDS = ("sftlf", "areacella")
#: Executions group a model's members of one experiment.
GROUP_BY = {
    SourceDatasetType.CMIP6: ("source_id", "experiment_id"),
    SourceDatasetType.CMIP7: ("source_id", "experiment_id"),
}


def _requirement(
    source: SourceDatasetType,
    variables: tuple[str, ...],
    required: tuple[str, ...],
) -> DataRequirement:
    """Monthly historical ``variables`` of one model, ``required`` among them, with sftlf and areacella."""
    if source is SourceDatasetType.CMIP6:
        facets = {
            "variable_id": variables,
            "experiment_id": ("historical",),
            "table_id": tuple(
                dict.fromkeys(CMOR_TABLES[v] for v in variables)
            ),
        }
        column, needed = "variable_id", required
    else:
        facets = {
            "branded_variable": tuple(
                CMIP7_BRANDED[v] for v in variables if v in CMIP7_BRANDED
            ),
            "experiment_id": ("historical",),
            "region": ("glb",),
        }
        column, needed = (
            "branded_variable",
            tuple(CMIP7_BRANDED[v] for v in required),
        )
    return DataRequirement(
        source_type=source,
        filters=(FacetFilter(facets=facets),),
        group_by=GROUP_BY[source],
        constraints=(
            RequireFacets(column, needed),
            *(
                AddSupplementaryDataset.from_defaults(field, source)
                for field in FIXED_FIELDS
            ),
        ),
    )


class SmevalDiagnostic(CommandLineDiagnostic):
    """A part of recipe_soilmoisture.yml run by Climate-REF on one model.

    Subclasses set the variable groups (``variables``, of which
    ``required`` must be present), the recipe's diagnostics and scripts
    they keep (``scripts``: diagnostic -> script -> option changes) and the
    reanalysis variables they need (``references``).
    """

    variables: ClassVar[tuple[str, ...]]
    required: ClassVar[tuple[str, ...]]
    scripts: ClassVar[Mapping[str, Mapping[str, Mapping[str, Any]]]]
    references: ClassVar[Mapping[str, tuple[str, ...]]]
    facets = (
        "experiment_id",
        "source_id",
        "reference_source_id",
        "variable_id",
        "region",
        "statistic",
    )

    def __init__(self) -> None:
        super().__init__()
        self.data_requirements = (
            (
                _requirement(
                    SourceDatasetType.CMIP6, self.variables, self.required
                ),
            ),
            (
                _requirement(
                    SourceDatasetType.CMIP7,
                    tuple(v for v in self.variables if v in CMIP7_BRANDED),
                    tuple(v for v in self.required if v in CMIP7_BRANDED),
                ),
            ),
        )

    def _datasets(self, definition: ExecutionDefinition):
        source = (
            SourceDatasetType.CMIP7
            if SourceDatasetType.CMIP7 in definition.datasets
            else SourceDatasetType.CMIP6
        )
        return source, definition.datasets[source].datasets

    def write_recipe(self, definition: ExecutionDefinition) -> Path:
        """Link the input files and write the recipe of this execution; returns its path."""
        obs6 = self.provider.reference_folder()
        present = runner.obs6_present(obs6)
        problem = ref_recipe.missing_references(obs6, self.references, present)
        if problem:
            msg = f"smeval {self.slug}: {problem}"
            raise ref_recipe.MissingReferenceData(msg)
        _, datasets = self._datasets(definition)
        ref_recipe.link_files(
            datasets, definition.to_output_path("climate_data")
        )
        start, end = ref_recipe.common_years(datasets)
        entries = ref_recipe.recipe_datasets(datasets)

        def edit(recipe: dict[str, Any]) -> None:
            ref_recipe.edit_recipe(
                recipe,
                self.scripts,
                self.variables + FIXED_FIELDS,
                entries,
                present,
            )

        path = definition.to_output_path(
            f"recipe_smeval_{self.slug.replace('-', '_')}.yml"
        )
        definition.to_output_path(None).mkdir(parents=True, exist_ok=True)
        return runner.write_recipe(path, timerange=f"{start}/{end}", edit=edit)

    def build_cmd(self, definition: ExecutionDefinition) -> Iterable[str]:
        """Write the recipe and configuration; the ``esmvaltool run`` command of this execution."""
        recipe = self.write_recipe(definition)
        source, _ = self._datasets(definition)
        projects = ref_recipe.config_overrides(
            definition.to_output_path("climate_data"),
            self.provider.reference_folder(),
            source.value.upper(),
        )
        config = runner.write_config(
            definition.to_output_path("config"),
            definition.to_output_path("climate_data"),
            definition.to_output_path(EXECUTIONS),
            **projects,
        )
        return [
            str(runner.esmvaltool_executable()),
            "run",
            f"--config_dir={config}",
            str(recipe),
        ]

    def build_execution_result(
        self, definition: ExecutionDefinition
    ) -> ExecutionResult:
        """Return the run's CMEC bundles, with paths relative to the execution's output directory."""
        sessions = sorted(
            definition.to_output_path(EXECUTIONS).glob("recipe_smeval_*")
        )
        if not sessions:
            return ExecutionResult.build_from_failure(definition)
        session = sessions[-1]
        metric = CMECMetric.model_validate(
            _read(session, "skill", "metrics", METRIC_BUNDLE)
        )
        selectors = definition.datasets[
            self._datasets(definition)[0]
        ].selector_dict()
        structure = metric.DIMENSIONS.root["json_structure"]
        metric = metric.prepend_dimensions(
            {k: v for k, v in selectors.items() if k not in structure}
        )
        output = _rebase(
            _read(session, "evaluation", "report", OUTPUT_BUNDLE),
            session.relative_to(definition.output_directory).as_posix(),
        )
        return ExecutionResult.build_from_output_bundle(
            definition,
            cmec_output_bundle=CMECOutput.model_validate(output),
            cmec_metric_bundle=metric,
        )


def _read(
    session: Path, diagnostic: str, script: str, name: str
) -> dict[str, Any]:
    return json.loads(
        (session / "work" / diagnostic / script / name).read_text(
            encoding="utf-8"
        )
    )


def _rebase(bundle: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Return the output bundle with its file names (relative to the run folder) put under ``prefix``."""
    out = dict(bundle)
    for section in ("data", "plots", "html", "metrics"):
        if out.get(section):
            out[section] = {
                f"{prefix}/{key}": {
                    **entry,
                    "filename": f"{prefix}/{entry['filename']}",
                }
                for key, entry in out[section].items()
            }
    out["index"] = f"{prefix}/{bundle['index']}"
    out["provenance"] = {
        **bundle["provenance"],
        "log": f"{prefix}/{bundle['provenance']['log']}",
    }
    return out


#: Reanalyses of the evaluation (the recipe's references).
REANALYSES = defaults.REFERENCES


class SoilMoistureSkill(SmevalDiagnostic):
    """Shallow and deep soil moisture against the reanalyses: Taylor statistics and TSS by region."""

    name = "Soil moisture skill"
    slug = "soil-moisture-skill"
    variables = ("mrsos", "mrsol")
    required = ("mrsos",)
    scripts: ClassVar[dict[str, Any]] = {
        "soil_moisture": {
            # Neither maps nor correlation maps: only the series branch.
            "regional_series": {
                "map_variables": None,
                "map_steps": None,
                "correlation_variables": None,
            }
        },
        "skill": {
            "metrics": {},
            "figures": {"figures": [5, 6, 7, 8, 9, 12, 13, 14]},
        },
        "evaluation": {"report": {}},
    }
    references = dict.fromkeys(REANALYSES, ("mrsos", "mrsol", "sftlf"))


class SoilMoisturePMinusECorrelation(SmevalDiagnostic):
    """Shallow soil moisture against P - E: correlation maps, and the water budget's skill by region."""

    name = "Soil moisture versus P-E correlation"
    slug = "soil-moisture-pme-correlation"
    variables = ("mrsos", "pr", "evspsbl", "mrros", "snm")
    required = ("mrsos", "pr", "evspsbl")
    scripts: ClassVar[dict[str, Any]] = {
        "soil_moisture": {
            "regional_series": {"map_variables": None, "map_steps": None}
        },
        "water_budget": {
            "regional_series": {"map_variables": None, "map_steps": None}
        },
        "runoff": {
            "regional_series": {"map_variables": None, "map_steps": None}
        },
        "skill": {"metrics": {}, "figures": {"figures": [10]}},
        "correlation": {"correlation_fields": {}},
        "evaluation": {"figures_correlation": {}, "report": {}},
    }
    references = dict.fromkeys(REANALYSES, ("mrsos", "pr", "evspsbl", "sftlf"))
