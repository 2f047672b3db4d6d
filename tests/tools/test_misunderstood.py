"""`python -m bot flows misunderstood`: what people wrote without being understood, per question in the flow's order,
spellings counted together, kinds and last date, as text in French or `--json`; `--since` and `--flow`; an empty or
missing database answered kindly; a bad date refused in French. Real processes on a SQLite file filled through the
Storage API, with answers masked as the engine masks them."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from bot.app.root import load_flow_with_personas
from bot.core.clock import PARIS
from bot.storage import Storage
from bot.storage.records import Misunderstood
from bot.storage.tables import misunderstood
from bot.understanding.masking import mask_personal
from tests.test_cli import ROOT, bot_env, run_bot

FLOW = load_flow_with_personas(ROOT / "flows" / "orientation.yaml").flow
# What the people typed (masked before storage), with the personal data that must never show.
TYPED = [
    ("attitude", "Elle veut pas en entendre parler !", "not_understood"),
    ("attitude", "elle veut pas en entendre parler", "refused"),
    ("attitude", "elle veut pas en entendre parler", "not_understood"),
    ("attitude", "bof", "not_understood"),
    ("pour_qui", "c'est pour ma mère, appelez-moi au 06 12 34 56 78", "not_understood"),
    ("pour_qui", "c'est pour ma mere, appelez moi au 06.98.76.54.32", "not_understood"),
    ("rappel.who", "je m'appelle Germaine, écrivez à germaine.dupont@orange.fr", "not_understood"),
    ("age", "née le 12/03/1941", "refused"),
]
PERSONAL = ["06 12", "34 56 78", "98.76", "Germaine", "germaine", "orange.fr", "12/03"]
OLD = "le temps"  # written 40 days ago


def fill(url: str) -> None:
    """The database a few conversations leave: the flow version remembered, the answers written by turns."""

    async def write() -> None:
        storage = await Storage.open(url)
        try:
            await storage.remember_flow_version(FLOW.name, FLOW.version, FLOW.file, FLOW.source)
            async with storage.transaction() as tx:
                await tx.add_misunderstood(
                    [Misunderstood(FLOW.name, FLOW.version, q, mask_personal(t), k) for q, t, k in TYPED]  # type: ignore[arg-type]
                    + [Misunderstood("autre", "w1", "q1", "peut-être", "not_understood")]
                )
            async with storage.transaction() as tx:
                await tx.add_misunderstood([Misunderstood(FLOW.name, FLOW.version, "freins", OLD, "not_understood")])
            async with storage.callback_transaction() as tx:
                await tx.connection.execute(
                    update(misunderstood)
                    .where(misunderstood.c.text == OLD)
                    .values(created_at=datetime.now(UTC) - timedelta(days=40))
                )
        finally:
            await storage.close()

    asyncio.run(write())


def test_json_lists_each_question_in_flow_order_with_spellings_counted_together(tmp_path: Path) -> None:
    """`--flow orientation --json`: one object per question of that flow, in the flow's order (a phase right after
    its step); an answer's spellings make one entry shown in its most frequent form, with its kinds and last date;
    phone numbers in two formats make one entry; no personal data comes out."""
    env = bot_env(tmp_path)
    fill(env["DATABASE_URL"])
    result = run_bot(["flows", "misunderstood", "--flow", "orientation", "--json"], tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(q["flow"], q["question"], q["total"]) for q in report] == [
        ("orientation", "pour_qui", 2),
        ("orientation", "attitude", 4),
        ("orientation", "freins", 1),
        ("orientation", "age", 1),
        ("orientation", "rappel.who", 1),
    ]
    attitude = report[1]["texts"]
    assert [(t["text"], t["count"], t["not_understood"], t["refused"]) for t in attitude] == [
        ("elle veut pas en entendre parler", 3, 2, 1),
        ("bof", 1, 1, 0),
    ]
    assert datetime.fromisoformat(attitude[0]["last"]) > datetime.now(UTC) - timedelta(minutes=5)
    (phones,) = report[0]["texts"]
    assert phones["count"] == 2
    assert re.fullmatch(r"c'est pour ma m[eè]re, appelez[- ]moi au ••[ .]••[ .]••[ .]••[ .]••", phones["text"])
    assert report[3]["texts"][0]["text"] == "née le ••/••/1941"
    assert report[4]["texts"][0]["text"] == "je m'appelle [prénom], écrivez à [e-mail]"
    assert not [p for p in PERSONAL if p in result.stdout]


def test_text_report_in_french_and_since_filters(tmp_path: Path) -> None:
    """The plain report speaks French: a summary, each question with its wording, count × « text », kinds and the last
    date in Paris time, what to do next; every flow is shown. `--since` (JJ/MM/AAAA or AAAA-MM-JJ) leaves out what
    came before that day."""
    env = bot_env(tmp_path)
    fill(env["DATABASE_URL"])
    result = run_bot(["flows", "misunderstood"], tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Réponses non comprises : 10, à 6 question(s) (parcours autre, orientation).")
    attitude = FLOW.steps["attitude"].text
    assert attitude is not None
    assert f"orientation / attitude : « {' '.join(attitude.pick(None).split())[:60]}" in out
    today = datetime.now(UTC).astimezone(PARIS).strftime("%d/%m/%Y")
    assert f"3 × « elle veut pas en entendre parler »  (non comprise 2, refusée 1 ; dernière fois le {today}" in out
    assert out.index("autre / q1") < out.index("orientation / pour_qui") < out.index("orientation / attitude")
    assert "examples:" in out
    assert not [p for p in PERSONAL if p in out]

    since = (datetime.now(UTC) - timedelta(days=10)).astimezone(PARIS)
    for written in (since.strftime("%d/%m/%Y"), since.strftime("%Y-%m-%d")):
        recent = run_bot(["flows", "misunderstood", "--since", written, "--json"], tmp_path, env=env)
        assert recent.returncode == 0, recent.stderr
        questions = [q["question"] for q in json.loads(recent.stdout)]
        assert questions == ["q1", "pour_qui", "attitude", "age", "rappel.who"]  # « freins » was 40 days ago


def test_no_answer_yet_is_said_kindly_and_no_database_is_created(tmp_path: Path) -> None:
    """With no database file yet: a kind French sentence, exit 0, and no file created; `--json` prints an empty
    list. On a database holding nothing for that period: the same sentence, naming the date."""
    env = bot_env(tmp_path)
    result = run_bot(["flows", "misunderstood"], tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Aucune réponse non comprise n'a été enregistrée : rien à revoir")
    assert not (tmp_path / "cli.db").exists()
    as_json = run_bot(["flows", "misunderstood", "--json"], tmp_path, env=env)
    assert (as_json.returncode, json.loads(as_json.stdout)) == (0, [])
    fill(env["DATABASE_URL"])
    later = run_bot(["flows", "misunderstood", "--since", "2099-01-01"], tmp_path, env=env)
    assert later.returncode == 0, later.stderr
    assert later.stdout.startswith("Aucune réponse non comprise n'a été enregistrée depuis le 01/01/2099")


def test_a_bad_date_is_refused_in_french(tmp_path: Path) -> None:
    """`--since hier` or an impossible date: exit 2, an error in French giving the expected forms, nothing printed
    on standard output."""
    for bad in ("hier", "31/02/2026", "2026-13-01"):
        result = run_bot(["flows", "misunderstood", "--since", bad], tmp_path)
        assert result.returncode == 2
        assert result.stdout == ""
        assert f"erreur : --since attend une date comme 2026-11-01 ou 01/11/2026, pas « {bad} »" in result.stderr


def test_a_scripted_conversation_feeds_the_report_masked(tmp_path: Path) -> None:
    """What a `chat --jsonl` run did not understand (or had refused after « Si je comprends bien ») reaches
    `flows misunderstood`, with the phone number and the name masked and nothing of the conversation."""
    env = bot_env(tmp_path)
    script = [
        "bonjour",
        "value:self",
        "zorglub mon numéro 06 12 34 56 78",  # not understood, with a number in it
        "value:family_contact",
        "value:smartphone",
        "value:weekly",
        "value:intermediate",
        "value:unsure",
        "value:confidence",
        "il conduit",  # a doubt…
        "value:guess_no",  # …refused
        "je m'appelle Germaine et je fais du vélo",
    ]
    chat = run_bot(["chat", "--jsonl"], tmp_path, stdin="\n".join(script) + "\n", env=env)
    assert chat.returncode == 0, chat.stderr
    done = run_bot(["flows", "misunderstood", "--json"], tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    report = {entry["question"]: entry for entry in json.loads(done.stdout)}
    assert set(report) == {"envies", "mobilite"}
    goals = report["envies"]["texts"]
    assert [t["not_understood"] for t in goals] == [1]
    assert "zorglub" in goals[0]["text"]
    assert "06 12" not in goals[0]["text"]
    assert "78" not in goals[0]["text"]
    mobility = {t["text"]: t for t in report["mobilite"]["texts"]}
    assert mobility["il conduit"]["refused"] == 1
    assert not any("Germaine" in text for text in mobility)
    assert "conversation" not in done.stdout
    assert "test:" not in done.stdout
