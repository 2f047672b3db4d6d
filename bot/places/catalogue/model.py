"""A place of digital help, in the national standard "lieux de médiation numérique" (v1.0.x field names).

Importers turn any accepted input (v1 or v0.1, CSV or JSON) into these; storage keeps them; search reads them.
List fields hold v1 values only (v0.1 values are mapped on import).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The fields holding lists (tuples here, `|`-separated in v1 files).
LIST_FIELDS = (
    "itinerance",
    "services",
    "publics_specifiquement_adresses",
    "prise_en_charge_specifique",
    "frais_a_charge",
    "modalites_acces",
    "modalites_accompagnement",
    "dispositif_programmes_nationaux",
)


@dataclass(frozen=True, slots=True)
class Place:
    id: str  # unique within its source
    source: str  # who published it (the `source` column, else the name given at import)
    nom: str
    commune: str
    code_postal: str
    adresse: str
    code_insee: str = ""
    complement_adresse: str = ""
    latitude: float | None = None
    longitude: float | None = None
    position_precision: str = "exact"  # exact (from the file), commune, postcode, department (placed by geo)
    telephone: str = ""  # E.164 when it could be normalised, else empty
    courriels: str = ""
    site_web: str = ""
    horaires: str = ""  # OpenStreetMap opening_hours syntax, as published
    presentation_resume: str = ""
    typologie: str = ""
    itinerance: tuple[str, ...] = ()  # "Itinérant", "Fixe"
    services: tuple[str, ...] = ()  # empty: stored, never recommended (not open to the public)
    publics_specifiquement_adresses: tuple[str, ...] = ()
    prise_en_charge_specifique: tuple[str, ...] = ()
    frais_a_charge: tuple[str, ...] = ()  # "Gratuit", "Gratuit sous condition", "Payant"
    modalites_acces: tuple[str, ...] = ()
    modalites_accompagnement: tuple[str, ...] = ()
    dispositif_programmes_nationaux: tuple[str, ...] = ()
    assistance: bool = False  # v0.1 "A ma place": someone does the procedure for the person (refractaire)
    date_maj: str = ""  # ISO date, "" when unknown (1970-01-01 placeholders)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # kept for display, never required

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Place:
        values = dict(data)
        for name in LIST_FIELDS:
            values[name] = tuple(values.get(name) or ())
        return cls(**values)

    @property
    def recommendable(self) -> bool:
        """Open to the public (it lists services) and placed on the map."""
        return bool(self.services) and self.latitude is not None and self.longitude is not None
