"""The mediators' Telegram group, with no input or output: a callback request as a group message with its
buttons, a press on them read back, reminders and summaries as text.

Each request has one message in its queue's group, edited in place as it changes (who holds it, its state).
Buttons carry `2|<action>|<request id>`; presses are accepted only from the queue's group, and from its listed
mediators when the queue names some (bot/callbacks/queues.py).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.callbacks.view import RequestView, local_time
from bot.channels.telegram.mapping import bot_api_id

FORMAT = "2"  # mediators' buttons; "1" is the conversation's (mapping.py)
POST_METHOD = "passerelle.callbackPost"  # an outbox row meaning "show this request's current state in its group"
NOTICE_METHOD = "passerelle.callbackNotice"  # a sendMessage of the person's news, whose older news lose their buttons
ACTIONS = {"c": "claim", "d": "done", "u": "unreachable", "r": "release"}
BUTTONS = {  # per state: the buttons shown, (label, action code)
    "new": (("🙋 Je m'en occupe", "c"),),
    "claimed": (("✅ Appel fait", "d"), ("📵 Injoignable", "u"), ("↩️ Libérer", "r")),
}
STATE_ICONS = {"new": "🟠", "claimed": "🔵", "done": "✅", "unreachable": "📵", "cancelled": "⚪"}
ANSWERS_SHOWN = 8  # the main answers: the group message stays short


@dataclass(frozen=True, slots=True)
class Press:
    """A mediator pressed a request's button in a group."""

    chat_id: int
    user_id: int
    user_name: str
    action: str  # claim, done, unreachable, release
    callback_id: str
    query_id: str


def read_press(update: Mapping[str, Any]) -> Press | None:
    """A press on a request's button in a group or supergroup; None for anything else."""
    query = update.get("callback_query")
    if not isinstance(query, Mapping):
        return None
    message, user = query.get("message"), query.get("from")
    if not isinstance(message, Mapping) or not isinstance(user, Mapping) or user.get("is_bot"):
        return None
    chat = message.get("chat")
    if not isinstance(chat, Mapping) or chat.get("type") not in ("group", "supergroup"):
        return None
    version, _, rest = str(query.get("data") or "").partition("|")
    code, _, callback_id = rest.partition("|")
    if version != FORMAT or code not in ACTIONS or not callback_id:
        return None
    name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
    return Press(
        bot_api_id(chat["id"]),
        bot_api_id(user["id"]),
        name[:64] or "Médiateur",
        ACTIONS[code],
        callback_id,
        str(query["id"]),
    )


def render_post(view: RequestView, now: datetime) -> tuple[str, dict[str, Any]]:
    """(HTML text, reply_markup) of a request's group message in its current state."""
    e = _escape
    state = f"{STATE_ICONS.get(view.status, '')} <b>{e(view.status_label)}</b>"
    if view.status == "claimed" and view.holder:
        state += f" par {e(view.holder)}"
    elif view.status == "done" and view.holder:
        state += f" par {e(view.holder)}" + (f" ({e(view.outcome)})" if view.outcome else "")
    elif view.status == "new" and view.attempts:
        state += f" : {view.attempts} appel(s) sans réponse, à rappeler"
    lines = [f"📞 <b>Demande de rappel {e(view.short_id)}</b> · {e(view.queue_label)}", state]
    if view.status in ("new", "claimed"):
        lines.append(f"👤 {e(view.call)}")
        lines.append(f"<b>{e(view.phone)}</b> · {e(view.moment.lower())}")
        where = [f"📍 {e(view.commune)}"] if view.commune else []
        where += [f"par {e(view.channel)}"] if view.channel else []
        if where:
            lines.append(" · ".join(where))
        if view.persona:
            lines.append(f"Profil : {e(view.persona)}")
        lines += [f"• {e(title)} : {e(answer)}" for title, answer in view.answers[:ANSWERS_SHOWN]]
        if view.places:
            lines.append("Lieux proposés : " + e(" ; ".join(view.places[:3])))
        if view.agreed:
            lines.append(f"📅 Rappel convenu avec la personne : le {e(view.agreed)}")
        elif view.due_at is not None:
            late = " ⏰ en retard" if now >= view.due_at else ""
            lines.append(f"Reçue le {local_time(view.created_at)} · à appeler avant le {local_time(view.due_at)}{late}")
    buttons = BUTTONS.get(view.status, ())
    markup = {
        "inline_keyboard": [[{"text": label, "callback_data": f"{FORMAT}|{code}|{view.id}"}] for label, code in buttons]
    }
    return "\n".join(lines), markup


def render_reminder(views: list[RequestView], now: datetime) -> str:
    """One message for every request of a group waiting past its target time."""
    lines = [f"⏰ <b>{len(views)} demande(s) attendent un appel depuis plus longtemps que prévu</b>"]
    for view in views[:20]:
        waited = _duration(now - view.created_at) if view.created_at else ""
        held = f" · prise par {_escape(view.holder)}" if view.status == "claimed" and view.holder else ""
        lines.append(
            f"• {_escape(view.short_id)} · {_escape(view.first_name or 'sans prénom')} · depuis {waited}{held}"
        )
    if len(views) > 20:
        lines.append(f"… et {len(views) - 20} autre(s) : voir le tableau de bord.")
    return "\n".join(lines)


def render_agreed(view: RequestView) -> str:
    """The reminder that the time agreed with the person has come, naming its holder (a mention when they hold it
    from Telegram: they get notified)."""
    e = _escape
    user = view.holder_id.removeprefix("telegram:")
    holder = e(view.holder or "la personne qui la suit")
    if view.holder_id.startswith("telegram:") and user.isdigit():
        holder = f'<a href="tg://user?id={user}">{holder}</a>'
    who = e(view.first_name) or "la personne"
    return (
        f"⏰ <b>Rappel : appeler {who} (demande {e(view.short_id)}) maintenant</b>, convenu avec la personne pour "
        f"le {e(view.agreed)}.\nSuivie par {holder} · ☎ {e(view.phone)}"
    )


def render_summary(queue_label: str, counts: Mapping[str, int], waiting: int, late: int, days: int = 1) -> str:
    """The daily summary of a queue: the activity since the previous working day (yesterday), what waits now."""
    period = "d'hier" if days == 1 else f"des {days} derniers jours"
    return (
        f"📋 <b>Bilan {period} · {_escape(queue_label)}</b>\n"
        f"Nouvelles demandes : {counts.get('created', 0)}\n"
        f"Appels faits : {counts.get('done', 0)}\n"
        f"Injoignables : {counts.get('unreachable', 0)}\n"
        f"Annulées : {counts.get('cancelled', 0) + counts.get('expired', 0)}\n"  # expired: the retention purge
        f"En attente maintenant : {waiting}" + (f" (dont {late} en retard)" if late else "")
    )


def _duration(delta: Any) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} jours"


def _escape(text: str) -> str:
    return html.escape(text, quote=False)
