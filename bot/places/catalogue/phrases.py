"""The national standard's values the search reads, and the plain French phrases that explain a place to a
person: what it helps with, why it was chosen, and for which of the person's goals."""

from __future__ import annotations

# ----- national standard values -------------------------------------------------------------------------------
DEMARCHES = "Aide aux démarches administratives"
MAITRISE = "Maîtrise des outils numériques du quotidien"
INSERTION = "Insertion professionnelle via le numérique"
SECURITE = "Utilisation sécurisée du numérique"
PARENTALITE = "Parentalité et éducation avec le numérique"
LOISIRS = "Loisirs et créations numériques"
COMPREHENSION = "Compréhension du monde numérique"
ACCES = "Accès internet et matériel informatique"
MATERIEL_SOLIDAIRE = "Acquisition de matériel informatique à prix solidaire"
AUTONOMIE = "En autonomie"
INDIVIDUEL = "Accompagnement individuel"
ATELIER = "Dans un atelier collectif"
A_DISTANCE = "À distance"
ITINERANT = "Itinérant"
SENIORS = "Seniors"
GRATUIT = "Gratuit"
GRATUIT_SOUS_CONDITION = "Gratuit sous condition"
PAYANT = "Payant"

# What each service helps with, in the person's words (Offer.help_with), in the standard's order.
HELP_WITH = {
    DEMARCHES: "démarches en ligne",
    MAITRISE: "se servir d'un téléphone, d'une tablette ou d'un ordinateur",
    INSERTION: "recherche d'emploi",
    SECURITE: "se protéger des arnaques",
    PARENTALITE: "accompagner les enfants sur internet",
    LOISIRS: "photos, loisirs, créations",
    COMPREHENSION: "comprendre le numérique",
    ACCES: "accès à internet et à un ordinateur",
    MATERIEL_SOLIDAIRE: "appareils à petit prix",
}
# The reason given when a service made the place chosen, and the agreement of "gratuit" with it
# (None: never said free, e.g. buying a device at a solidarity price is not free).
SERVICE_REASONS: dict[str, tuple[str, str | None]] = {
    DEMARCHES: ("aide aux démarches", "gratuite"),
    MAITRISE: ("initiation au téléphone et à l'ordinateur", "gratuite"),
    INSERTION: ("aide à la recherche d'emploi", "gratuite"),
    SECURITE: ("conseils contre les arnaques", "gratuits"),
    PARENTALITE: ("aide pour les enfants et internet", "gratuite"),
    LOISIRS: ("découverte des loisirs sur internet", "gratuite"),
    COMPREHENSION: ("découverte du monde numérique", "gratuite"),
    ACCES: ("accès à internet et à un ordinateur", "gratuit"),
    MATERIEL_SOLIDAIRE: ("appareils à prix solidaire", None),
}
MODE_REASONS = {
    ATELIER: "ateliers en petit groupe",
    INDIVIDUEL: "aide individuelle",
    AUTONOMIE: "accès libre, à son rythme",
    A_DISTANCE: "aide à distance, sans se déplacer",
}
# Goals (slot `goals`) and the services that answer them.
GOAL_SERVICES = {
    "family_contact": (MAITRISE,),
    "admin_procedures": (DEMARCHES,),
    "daily_life": (MAITRISE,),
    "leisure": (LOISIRS,),
    "office_skills": (MAITRISE,),
    "new_tools": (COMPREHENSION,),
}
# What a place offers for each of the person's goals (slot `goals`), as its reason says it (at most 60 characters).
GOAL_WORDS = {
    "family_contact": "pour les appels vidéo et messages avec la famille",
    "admin_procedures": "pour les démarches en ligne (impôts, retraite, CAF…)",
    "daily_life": "pour la santé, les courses, les transports en ligne",
    "leisure": "pour les photos, la musique, les loisirs sur internet",
    "office_skills": "pour écrire des documents et des mails",
    "new_tools": "pour découvrir de nouveaux outils",
}
# What else a place chosen for the person's goals offers, named after them so that places differ (« aussi :
# ordinateurs sur place, aide aux démarches »); at most two, in this order.
ALSO_WORDS = {
    MATERIEL_SOLIDAIRE: "appareils à petit prix",
    ACCES: "ordinateurs sur place",
    LOISIRS: "photos et loisirs",
    SECURITE: "contre les arnaques",
    DEMARCHES: "aide aux démarches",
    MAITRISE: "prise en main",
}
