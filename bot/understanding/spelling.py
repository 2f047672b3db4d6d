"""How people write on phones, put back into words the French model knows, before it reads them.

The model was trained on edited text: « jsp », « chui » or « tt le temps » mean nothing to it. This is data, not
logic: a word as typed (lowercase, accents optional) and what it stands for.
"""

from __future__ import annotations

import re
import unicodedata

from bot.core.text import LIGATURES

# Typed word -> what it stands for. Keys are lowercase without accents; values are written properly.
PHONE_SPELLINGS: dict[str, str] = {
    "jsp": "je ne sais pas",
    "jsais": "je sais",
    "jsai": "je sais",
    "chais": "je sais",
    "chai": "je sais",
    "chui": "je suis",
    "chuis": "je suis",
    "jsuis": "je suis",
    "jsui": "je suis",
    "jai": "j'ai",
    "g": "j'ai",
    "jpeux": "je peux",
    "jveux": "je veux",
    "jme": "je me",
    "jle": "je le",
    "jla": "je la",
    "jen": "j'en",
    "ya": "il y a",
    "yen": "il y en",
    "y'a": "il y a",
    "c": "c'est",
    "cest": "c'est",
    "ct": "c'était",
    "ouais": "oui",
    "ouai": "oui",
    "ouaip": "oui",
    "ouep": "oui",
    "yep": "oui",
    "ouii": "oui",
    "ouiii": "oui",
    "wi": "oui",
    "ui": "oui",
    "oue": "oui",
    "yes": "oui",
    "ok": "d'accord",
    "okay": "d'accord",
    "oki": "d'accord",
    "dac": "d'accord",
    "dacc": "d'accord",
    "daccord": "d'accord",
    "nan": "non",
    "nn": "non",
    "nop": "non",
    "bcp": "beaucoup",
    "bcq": "beaucoup",
    "bocou": "beaucoup",
    "tt": "tout",
    "tte": "toute",
    "ts": "tous",
    "ttes": "toutes",
    "tjs": "toujours",
    "tjrs": "toujours",
    "tjr": "toujours",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "pcq": "parce que",
    "pck": "parce que",
    "psk": "parce que",
    "qd": "quand",
    "qq": "quelques",
    "qqn": "quelqu'un",
    "qqun": "quelqu'un",
    "qqch": "quelque chose",
    "pr": "pour",
    "ds": "dans",
    "vs": "vous",
    "mm": "même",
    "ms": "mais",
    "tps": "temps",
    "pb": "problème",
    "pbs": "problèmes",
    "pbm": "problème",
    "slt": "salut",
    "bjr": "bonjour",
    "bsr": "bonsoir",
    "stp": "s'il te plaît",
    "svp": "s'il vous plaît",
    "mrc": "merci",
    "mci": "merci",
    "jamai": "jamais",
    "jammais": "jamais",
    "ordi": "ordinateur",
    "ordis": "ordinateurs",
    "tel": "téléphone",
    "tél": "téléphone",
    "portab": "portable",
    "smartfone": "smartphone",
    "smarphone": "smartphone",
    "smartphonne": "smartphone",
    "tablete": "tablette",
    "tabette": "tablette",
    "ipad": "tablette ipad",
    "internete": "internet",
    "interet": "intérêt",
    "maman": "mère",
    "mman": "mère",
    "papa": "père",
    "mamie": "grand-mère",
    "mamy": "grand-mère",
    "meme": "même",
    "papi": "grand-père",
    "papy": "grand-père",
    "pépé": "grand-père",
    "ptet": "peut-être",
    "aprem": "après-midi",
    "aprèm": "après-midi",
    "apres-midi": "après-midi",
    "h24": "tout le temps",
    "tlj": "tous les jours",
    "tlm": "tout le monde",
    "rdv": "rendez-vous",
    "visio": "visioconférence",
    "visios": "visioconférences",
    "whatsap": "whatsapp",
    "fb": "facebook",
    "asso": "association",
    "ca": "ça",
    "deja": "déjà",
    "tres": "très",
    "interesse": "intéresse",
    "interesses": "intéressé",
    "interessee": "intéressée",
    "mefie": "méfie",
    "agee": "âgée",
    "age": "âge",
    "mere": "mère",
    "pere": "père",
    "frere": "frère",
    "soeur": "sœur",
    "telephone": "téléphone",
    "telephones": "téléphones",
    "probleme": "problème",
    "problemes": "problèmes",
    "demarches": "démarches",
    "impots": "impôts",
    "medecin": "médecin",
    "sante": "santé",
    "securite": "sécurité",
    "ecrire": "écrire",
    "francais": "français",
    "debrouille": "débrouille",
    "debrouiller": "débrouiller",
    "deplacer": "déplacer",
    "plutot": "plutôt",
    "apres": "après",
    "etre": "être",
    "tete": "tête",
    "fenetre": "fenêtre",
    "reve": "rêve",
    "prefere": "préfère",
    "numerique": "numérique",
    "telecharger": "télécharger",
    "regulierement": "régulièrement",
    "mefiant": "méfiant",
    "mefiante": "méfiante",
    "degoute": "dégoûté",
    "deborde": "débordé",
    "decouvrir": "découvrir",
    "epoque": "époque",
    "generation": "génération",
    "genealogie": "généalogie",
    "reseaux": "réseaux",
    "video": "vidéo",
    "videos": "vidéos",
    "eleve": "élevé",
    "cout": "coût",
    "couteux": "coûteux",
    "ecran": "écran",
    "aimerai": "aimerais",
    "voudrai": "voudrais",
    "pourrai": "pourrais",
    "connai": "connais",
    "connait": "connaît",
    "ete": "été",
}
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
_WORD = re.compile(r"\w+'|[\w-]+|[^\w\s]", re.UNICODE)
_REPEATS = re.compile(r"(\w)\1{2,}")  # « nooon », « ouiiii »
GLUED_WORDS = frozenset(
    {"dinternet", "linternet", "jai", "cest", "jen", "quon", "jaime", "jadore", "lordi", "laise", "jarrive", "jessaie"}
)


def strip_accents(text: str) -> str:
    """« Sœur » -> « Soeur »: accents off, ligatures written out (the case is kept)."""
    text = text.translate(LIGATURES).replace("Œ", "Oe").replace("Æ", "Ae")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# « appelez-la », « rappelez-moi »: the pronoun after the verb is who is meant
_AFTER_VERB = re.compile(r"(\w)-(la|le|lui|les)\b", re.IGNORECASE)
_ME_AFTER_VERB = re.compile(r"(\w)-(moi)\b", re.IGNORECASE)
_AFTERNOON = re.compile(r"\bapr[eè]s[ -]?midi\b", re.IGNORECASE)
_HOUR = re.compile(r"\b(\d{1,2}) ?h(?:eures?)?(?: ?(\d{2}))?\b", re.IGNORECASE)  # « vers 10h »
_ALMOST_NEVER = re.compile(r"\b(?:presque|quasi|quasiment|pratiquement) jamais\b", re.IGNORECASE)
_AINE = re.compile(r"\b(\d0)aine\b")  # « la 70aine »
# Compound words typed without their hyphen (« rendez vous », « petits enfants », « belle mere »): one word again
_COMPOUND = re.compile(
    r"\b(rendez (?=vous\b)"
    r"|(?:grande?s?) (?=(?:m[eè]res?|p[eè]res?|parents)\b)|(?:belles?|beaux?) (?=(?:m[eè]res?|p[eè]res?|filles?|fils"
    r"|fr[eè]res?|s(?:oe|œ)urs?|parents)\b)|e (?=mails?\b)|week (?=ends?\b))",
    re.IGNORECASE,
)


def respell(text: str) -> str:
    """The text with phone spellings written out and apostrophes made plain, for the model to read."""
    text = text.translate(_APOSTROPHES).replace("œ", "oe").replace("Œ", "Oe")
    text = _REPEATS.sub(r"\1", text)
    text = _AFTER_VERB.sub(r"\1 lui", text)
    text = _ME_AFTER_VERB.sub(r"\1 moi", text)
    text = _AINE.sub(r"\1 ans", text)
    text = _COMPOUND.sub(lambda m: m.group(1).replace(" ", "-"), text)
    text = _AFTERNOON.sub("après-midi", text)
    text = _HOUR.sub(r"\1 heures", text)
    text = _ALMOST_NEVER.sub("rarement", text)
    words = []
    for word in _WORD.findall(text):
        plain = strip_accents(word.lower())
        replacement = PHONE_SPELLINGS.get(plain) or PHONE_SPELLINGS.get(word.lower())
        if replacement is None and plain in GLUED_WORDS:
            replacement = plain[0] + "'" + plain[1:]  # « jai », « dinternet »: the apostrophe left out
        words.append(replacement if replacement is not None else word)
    return " ".join(words).replace(" ' ", "'").replace("' ", "'")


# Ways people decline to answer, beside the button's own label, read like its examples. The « je ne sais pas »
# forms are not here: they are matched whole (DONT_KNOW below); read like examples, « savoir » and « rien » would
# take « il ne veut rien savoir » for « je ne sais pas ».
UNKNOWN_PHRASES = (
    "aucune idée",
    "nsp",
    "je préfère ne pas répondre",
    "ça ne vous regarde pas",
    "je préfère ne pas le dire",
    "je préfère pas le dire",
    "pas de réponse",
    "sans opinion",
    "pas d'avis",
    "je n'ai pas d'avis",
    "difficile à dire",
)
QUESTION_WORD = re.compile(r"^(qui|quoi|quand|ou|comment|combien|pourquoi|quel|quelle|quels|quelles|est ce)\b")
# « je ne sais pas », then nothing, or what is not known (« si elle a le wifi », « trop », « ce qu'elle a »)
DONT_KNOW = re.compile(
    r"^(?:(?:elle|il|moi|euh|bah|ben|alors|franchement|honnetement) )*"
    r"(?:je ne sais pas|je sais pas|jsp|j sais pas|sais pas|je ne sais plus|je sais plus|aucune idee|je n en sais rien|"
    r"elle ne sait pas|il ne sait pas|elle sait pas|il sait pas|on ne sait pas|on sait pas|chais pas|chai pas|"
    r"je ne connais pas|je connais pas|j en sais rien|j en sais pas|je n en sais pas)"
    r"(?: (?:trop|vraiment|exactement|bien|du tout|non plus))?"
    r"(?: (?:si|ce qu|ce que|comment|quel|quelle|quels|combien|s il|s elle|son|sa|ses|mon|ma|mes|pour|quoi"
    # « je sais pas, faudrait que je demande à ma soeur »: who would know, not an answer
    r"|faudrait|il faudrait|faut|je demanderai|je vais demander|je lui demanderai|demandez|on verra"
    r"|je ne vis pas|je vis pas|je n habite pas|j habite pas|je l ai jamais|je ne l ai jamais)\b.*)?$"
)
# « je sais pas comment ça s'appelle, un truc avec un écran »: the name is not known, the thing is described
NAME_UNKNOWN = re.compile(r"\b(?:s appelle|le nom|son nom|comment ca se dit|comment on dit)\b")
# « elle ne sait même pas ce que c'est, internet », « je sais pas ce que c'est une box »: how far the thing is,
# or not knowing the word; neither « Je ne sais pas » nor the thing named: the buttons ask
WHAT_IT_IS = re.compile(r"\b(?:sais|sait|savons|savent) (?:meme |vraiment |trop )?pas (?:bien )?ce que c est\b")
# « je ne sais pas comment ça marche »: not knowing how, which to a question on skills is the answer itself
HOW_TO = re.compile(
    r"\b(?:sais pas|sait pas|aucune idee|ne sais|ne sait) (?:de )?comment (?:ca marche|ca fonctionne|on fait|faire"
    r"|s en servir|m en servir|l utiliser|on s en sert|on s y prend)\b"
)
# « y en a pas d'autres ? », « vous n'avez pas autre chose ? »: asking whether there is, not saying there is not
ASKS_IF_THERE_IS = re.compile(
    r"\b(?:y en a|y a|il y a|il y en a|n y a t il|n y en a t il|vous avez|vous n avez|vous auriez|vous n auriez)"
    r" (?:pas|plus|rien)\b"
)
# To a yes-or-no question, answers that say yes or no without the word (« bien sûr », « je crois pas »).
SAYS_YES = re.compile(
    r"^(?:oui )?(?:bien sur|bien entendu|affirmatif|pourquoi pas|volontiers|avec plaisir|evidemment|carrement|"
    r"je crois que oui|je pense que oui|il me semble que oui|il me semble|oui je crois|oui je pense|"
    r"j accepte|j accepte volontiers|je veux bien|elle veut bien|il veut bien|je suis d accord)(?: merci)?$"
)
SAYS_NO = re.compile(
    r"^(?:non )?(?:je ne crois pas|je crois pas|je ne pense pas|je pense pas|il me semble pas|il ne me semble pas|"
    r"pas que je sache|negatif|absolument pas|surtout pas|pas question|il n en est pas question|jamais de la vie|"
    r"je crois que non|je pense que non|je refuse|je ne veux pas|je veux pas|il ne veut pas|il veut pas|"
    r"elle ne veut pas|elle veut pas)(?: merci)?$"
)
# « pas vraiment, … » first: no, then why (« pas trop, ma fille habite loin »)
NO_FIRST = re.compile(
    r"^(?:non )?(?:pas vraiment|pas trop|pas tellement|pas specialement|pas beaucoup|pas franchement|pas du tout"
    r"|pas souvent|pas tant que ca)\b(.*)$"
)
# « ça dépend des semaines », « selon les jours »: an answer that varies, named by what it varies with
DEPENDS = re.compile(r"^(?:(?:mais|bah?|ben|euh|bof|oh) )*(?:ca|cela|tout) depend\b|^selon (?:les|le|la)\b")
# Laughing or joking (« le frein à main lol »): what is said may not be meant, never taken without asking
JOKING = re.compile(r"\b(?:lol|mdr|ptdr|haha\w*|hihi\w*|hoho\w*|je plaisante|c est une blague)\b|[😂🤣😜😆]")
ASKING = re.compile(r"\b(c est quoi|qu est ce que c est|ca veut dire quoi|veut dire quoi|ca veut dire quoi)\b")
# Both people at once, where the question asks which one (« pour nous deux », « l'un ou l'autre »): ask again.
BOTH_PEOPLE = re.compile(
    r"\b(pour nous|nous deux|les deux|tous deux|tous les deux|toutes les deux|l un ou l autre|l un et l autre|"
    r"l une ou l autre|n importe lequel|n importe laquelle)\b"
)
