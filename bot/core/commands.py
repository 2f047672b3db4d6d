"""The commands people can send (typed, or as the value of a button): every channel and the engine use these names."""

from __future__ import annotations

START = "/start"  # start again from the first question
HELP = "/aide"
HUMAN = "/humain"  # talk to a person: the callback request
MY_DATA = "/mesdonnees"  # what is stored about me
FORGET = "/oublier"  # erase what is stored about me (after a confirmation)
STOP = "/stop"
CANCEL = "/annuler"  # cancel my callback request (also the button under "une personne va vous appeler")
CONFIRM = "/valider"  # the "Valider" button of a several-choice question
COMMANDS = (START, HELP, HUMAN, MY_DATA, FORGET, STOP, CANCEL)
