// The web chat: shows the bot's turns, sends the person's answers to /api/chat, asks for notices now and then.
// No framework and no inline script (the Content-Security-Policy forbids it); text is always set as text.
// What the page shows is kept in the tab's sessionStorage (gone when the tab is closed, cleared by « Effacer mes
// données ») so that a reload shows the recent conversation, places included; the server keeps no more than before.
"use strict";

(function () {
  const API = "/api/chat";
  const NOTICES = "/api/chat/notices";
  const NOTICE_EVERY_MS = 15000;
  const SHOWN = "passerelle-shown"; // sessionStorage: what the page shows, to show it again after a reload
  const MAX_SHOWN = 80; // entries kept: the recent conversation, not all of it
  // The server names these values (the page's data attributes), as it names the commands of the buttons below.
  const UNKNOWN = document.body.dataset.unknown; // "Je ne sais pas": on a several-choice question, it goes alone
  const CONFIRM = document.body.dataset.confirm; // the "Valider" button of a several-choice question
  const TEXTS = {
    bot: "Passerelle",
    person: "Vous",
    waiting: "Un instant, s'il vous plaît…",
    offline: "La connexion a été interrompue. Vérifiez votre connexion à internet, puis réessayez.",
    empty: "Écrivez votre réponse, ou choisissez un des boutons.",
    position: "Ma position",
    positionFailed: "Votre position n'a pas pu être trouvée. Vous pouvez écrire votre code postal ou votre commune.",
    positionWait: "Recherche de votre position…",
    choicesLabel: "Réponses possibles",
    severalLabel: "Plusieurs réponses possibles",
    typedDefault: "Ou écrivez votre réponse :",
    typedAlone: "Votre réponse :",
    typedLocation: "Votre code postal ou votre commune :",
    locationHint: "Par exemple : 69003 ou Villeurbanne",
    typedPhone: "Votre numéro de téléphone :",
    phoneHint: "Par exemple : 06 12 34 56 78",
    typedDone: "Pour recommencer, écrivez un message ou appuyez sur « Recommencer » :",
    call: "Appeler",
    map: "Voir sur la carte",
    newWindow: " (s'ouvre dans un nouvel onglet)",
    kept: "Ce que nous gardons",
  };

  const messages = document.getElementById("messages");
  const status = document.getElementById("status");
  const answer = document.getElementById("reponse");
  const choices = document.getElementById("choices");
  const position = document.getElementById("position");
  const usePosition = document.getElementById("use-position");
  const typed = document.getElementById("typed");
  const typedLabel = document.getElementById("typed-label");
  const typedInput = document.getElementById("typed-input");
  const typedHint = document.getElementById("typed-hint");
  const ask = document.getElementById("ask");

  let question = null; // the token of the question shown: sent back with button values
  let busy = false;
  let waitingTimer = null;
  let noticesRunning = false;
  let messageCount = 0;
  let shown = { question: null, entries: [] }; // what the page shows, as kept in sessionStorage
  let restoring = false;

  // ----- building blocks ------------------------------------------------------------------------------------
  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(label, className, onClick, value) {
    const node = element("button", "button " + className, label);
    node.type = "button";
    if (value !== undefined) node.dataset.value = value;
    node.addEventListener("click", onClick);
    return node;
  }

  // ----- what the page shows, kept for a reload ------------------------------------------------------------
  function remember(entry) {
    shown.entries.push(entry);
    shown.entries = shown.entries.slice(-MAX_SHOWN);
    save();
  }

  function save() {
    try {
      sessionStorage.setItem(SHOWN, JSON.stringify(shown));
    } catch (error) {
      // storage full or refused (private browsing): the page works, a reload shows only the current question
    }
  }

  function restore() {
    let kept = null;
    try {
      kept = JSON.parse(sessionStorage.getItem(SHOWN) || "null");
    } catch (error) {
      kept = null;
    }
    if (!kept || !Array.isArray(kept.entries)) return false;
    kept.entries.forEach(function (entry) {
      if (entry.kind === "offer") addOffer(entry.reply, entry.offer);
      else if (entry.kind === "notice") showNotice(entry.notice, true);
      else if (entry.kind === "link") {
        if (messages.lastElementChild) addListLink(messages.lastElementChild, entry.link);
      }
      else addMessage(entry.who, entry.text, entry.extra, entry.notice);
    });
    shown = { question: kept.question || null, entries: kept.entries };
    return kept.entries.length > 0;
  }

  function clearShown() {
    shown = { question: null, entries: [] };
    messages.replaceChildren();
    try {
      sessionStorage.removeItem(SHOWN);
    } catch (error) {
      // nothing was kept
    }
  }

  function addMessage(who, text, extraClass, notice) {
    const item = element("div", "message " + who + (extraClass ? " " + extraClass : ""));
    item.id = "message-" + ++messageCount;
    item.tabIndex = -1;
    item.appendChild(element("span", "who", (who === "bot" ? TEXTS.bot : TEXTS.person) + " :"));
    if (text) item.appendChild(document.createTextNode(text));
    if (notice) {
      // The privacy notice, folded: the first question must fit a phone's screen; one press opens it.
      const details = element("details", "kept");
      details.appendChild(element("summary", "", TEXTS.kept));
      details.appendChild(element("p", "", notice));
      item.appendChild(details);
    }
    messages.appendChild(item);
    // A failed request's message is of the moment: not shown again after a reload (nor left by a page navigated away
    // from while it was waiting).
    if (!restoring && extraClass !== "error") {
      remember({ kind: "message", who: who, text: text, extra: extraClass || "", notice: notice || null });
    }
    return item;
  }

  function addOffer(reply, offer) {
    const item = element("div", "message bot offer-item");
    item.id = "message-" + ++messageCount;
    item.tabIndex = -1;
    const card = element("article", "offer");
    card.setAttribute("aria-label", offer.name);
    const text = element("p", "offer-text");
    const at = reply.text.indexOf(offer.name);
    if (offer.name && at >= 0) {
      text.appendChild(document.createTextNode(reply.text.slice(0, at)));
      text.appendChild(element("strong", "", offer.name));
      text.appendChild(document.createTextNode(reply.text.slice(at + offer.name.length)));
    } else {
      text.textContent = reply.text;
    }
    card.appendChild(text);
    const actions = element("div", "offer-actions");
    const digits = (offer.phone || "").replace(/[^\d+]/g, "");
    if (digits) {
      const call = element("a", "button", TEXTS.call);
      call.href = "tel:" + digits;
      actions.appendChild(call);
    }
    if (offer.map_url) {
      const map = element("a", "button", TEXTS.map);
      map.href = offer.map_url;
      map.target = "_blank";
      map.rel = "noopener noreferrer";
      map.appendChild(element("span", "visually-hidden", TEXTS.newWindow));
      actions.appendChild(map);
    }
    if (actions.childNodes.length) card.appendChild(actions);
    item.appendChild(card);
    messages.appendChild(item);
    if (!restoring) remember({ kind: "offer", reply: { text: reply.text }, offer: offer });
    return item;
  }

  // « Garder la liste »: the printable list opens in its own tab, the conversation stays where it is.
  function addListLink(item, link) {
    const open = element("a", "button", link.label);
    open.href = link.url;
    open.target = "_blank";
    open.rel = "noopener";
    open.appendChild(element("span", "visually-hidden", TEXTS.newWindow));
    const actions = element("div", "offer-actions");
    actions.appendChild(open);
    item.appendChild(actions);
    if (!restoring) remember({ kind: "link", link: link });
  }

  function setStatus(text) {
    status.textContent = text || "";
  }

  function setBusy(value) {
    busy = value;
    answer.setAttribute("aria-busy", value ? "true" : "false");
    document.querySelectorAll("#choices button, #typed button, [data-command], #use-position").forEach(
      function (node) { node.disabled = value; },
    );
    clearTimeout(waitingTimer);
    if (value) {
      waitingTimer = setTimeout(function () { setStatus(TEXTS.waiting); }, 400);
    } else {
      setStatus("");
    }
  }

  // ----- showing a turn -------------------------------------------------------------------------------------
  // focus: "answer" moves it to the first control of the answer (after a button), "typed" keeps it in the text
  // box (after a typed answer: a phone's keyboard stays open), null leaves it (the page just opened).
  function showTurn(turn, focus, repliesShown) {
    let first = null;
    if (turn.forgotten) clearShown(); // erased: the number typed, the answers, nothing of it stays on screen
    if (!repliesShown) {
      turn.replies.forEach(function (reply) {
        const nodes = reply.offers.length
          ? reply.offers.map(function (offer) { return addOffer(reply, offer); })
          : [addMessage("bot", reply.text, "", reply.notice)];
        if (reply.list_link) addListLink(nodes[0], reply.list_link);
        first = first || nodes[0];
      });
    }
    question = turn.question;
    shown.question = turn.question;
    save();
    document.body.dataset.turns = String(Number(document.body.dataset.turns || "0") + 1);
    const asking = turn.replies.filter(function (reply) { return reply.buttons.length || reply.request; }).pop();
    showAnswers(asking || null, turn.done);
    if (focus) {
      if (first) first.scrollIntoView({ block: "start" });
      if (focus === "typed") typedInput.focus({ preventScroll: true });
      else focusAnswer(first);
    }
  }

  function showAnswers(reply, done) {
    choices.replaceChildren();
    const buttons = reply ? reply.buttons : [];
    if (reply && reply.multi) {
      showSeveral(buttons);
    } else if (buttons.length) {
      const group = element("div", "choices");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", TEXTS.choicesLabel);
      buttons.forEach(function (choice) {
        group.appendChild(button(choice.label, "choice", function () {
          send({ value: choice.value, context: question }, choice.label);
        }, choice.value));
      });
      choices.appendChild(group);
    }
    const request = reply ? reply.request : null;
    // A place or a phone number is mostly typed: the field comes first, the buttons ("Non merci") after.
    if (request) {
      answer.insertBefore(choices, typed.nextSibling);
    } else {
      answer.insertBefore(choices, position);
    }
    position.hidden = !(request === "location" && "geolocation" in navigator && window.isSecureContext);
    typedInput.value = "";
    typedInput.type = request === "contact" ? "tel" : "text";
    typedInput.setAttribute("inputmode", request === "contact" ? "tel" : "text");
    typedInput.setAttribute("autocomplete", request === "contact" ? "tel" : request === "location" ? "postal-code" : "off");
    if (request === "location") {
      typedLabel.textContent = TEXTS.typedLocation;
      typedHint.textContent = TEXTS.locationHint;
    } else if (request === "contact") {
      typedLabel.textContent = TEXTS.typedPhone;
      typedHint.textContent = TEXTS.phoneHint;
    } else {
      typedLabel.textContent = done ? TEXTS.typedDone : buttons.length ? TEXTS.typedDefault : TEXTS.typedAlone;
      typedHint.textContent = "";
    }
  }

  function showSeveral(buttons) {
    const group = element("div", "choices");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", TEXTS.severalLabel);
    const toggles = [];
    let confirm = null;
    const after = [];
    buttons.forEach(function (choice) {
      if (choice.value === CONFIRM) {
        confirm = choice;
      } else if (choice.value.charAt(0) === "/") {
        after.push(choice);
      } else {
        const node = button(choice.label, "choice toggle", function () { toggle(node, toggles); }, choice.value);
        node.setAttribute("aria-pressed", choice.selected ? "true" : "false");
        toggles.push(node);
        group.appendChild(node);
      }
    });
    choices.appendChild(group);
    if (confirm) {
      const label = confirm.label;
      choices.appendChild(button(label, "choice confirm primary", function () {
        const picked = toggles.filter(function (node) { return node.getAttribute("aria-pressed") === "true"; });
        const echo = picked.map(function (node) { return node.textContent; }).join(", ") || label;
        send({ values: picked.map(function (node) { return node.dataset.value; }), context: question }, echo);
      }, confirm.value));
    }
    after.forEach(function (choice) {
      choices.appendChild(button(choice.label, "choice", function () {
        send({ value: choice.value, context: question }, choice.label);
      }, choice.value));
    });
  }

  function toggle(node, toggles) {
    const on = node.getAttribute("aria-pressed") !== "true";
    node.setAttribute("aria-pressed", on ? "true" : "false");
    if (!on) return;
    toggles.forEach(function (other) {
      const alone = other.dataset.value === UNKNOWN || node.dataset.value === UNKNOWN;
      if (other !== node && alone) other.setAttribute("aria-pressed", "false");
    });
  }

  function focusAnswer(fallback) {
    // The first control in the order shown; never "Non merci" before the field of a phone number.
    const first = answer.querySelector("button:not([hidden] *), input");
    const target = first && first.offsetParent !== null ? first : fallback;
    if (target) target.focus({ preventScroll: true });
  }

  function showError(text) {
    const item = addMessage("bot", text, "error");
    item.scrollIntoView({ block: "nearest" });
  }

  // ----- talking to the server ------------------------------------------------------------------------------
  async function send(body, echo) {
    if (busy) return;
    if (echo) addMessage("person", echo);
    setBusy(true);
    let data = null;
    try {
      const response = await fetch(API, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      data = await response.json().catch(function () { return null; });
    } catch (error) {
      data = null;
    }
    setBusy(false);
    const typedAnswer = typeof body.text === "string";
    if (data && data.question) {
      showTurn(data, typedAnswer ? "typed" : "answer");
    } else if (data && data.replies) {
      data.replies.forEach(function (reply) { addMessage("bot", reply.text, "error"); });
      if (typedAnswer) typedInput.focus();
      else focusAnswer(null);
    } else {
      showError((data && data.message) || TEXTS.offline);
      if (typedAnswer) typedInput.focus();
      else focusAnswer(null);
    }
    document.body.dataset.answers = String(Number(document.body.dataset.answers || "0") + 1);
  }

  async function start() {
    restoring = true;
    const restored = restore();
    restoring = false;
    setBusy(true);
    let data = null;
    try {
      const response = await fetch(API, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      data = await response.json().catch(function () { return null; });
    } catch (error) {
      data = null;
    }
    setBusy(false);
    if (data && data.question) {
      // After a reload the question is on screen already, with what came before it: only its answers again.
      const onScreen = restored && data.question === shown.question && !data.forgotten;
      showTurn(data, null, onScreen);
      if (restored) {
        const last = messages.lastElementChild;
        if (last) last.scrollIntoView({ block: "nearest" });
      }
    } else if (data && data.replies) {
      data.replies.forEach(function (reply) { addMessage("bot", reply.text, "error"); });
    } else {
      showError(TEXTS.offline);
    }
    document.body.dataset.ready = "true";
    checkNotices(); // news that came while the page was closed: where the callback request stands now
  }

  async function checkNotices() {
    if (noticesRunning || document.hidden) return;
    noticesRunning = true;
    try {
      const response = await fetch(NOTICES, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      const data = response.ok ? await response.json() : { notices: [] };
      data.notices.forEach(function (notice) { showNotice(notice, false); });
    } catch (error) {
      // offline for now: the notices wait on the server for the next try
    } finally {
      noticesRunning = false;
      document.body.dataset.noticeChecks = String(Number(document.body.dataset.noticeChecks || "0") + 1);
    }
  }

  function showNotice(notice, again) {
    // A notice says where the callback request stands now: the buttons of earlier ones (« Annuler ma demande »
    // once the call is done) would no longer be true.
    messages.querySelectorAll(".notice .choices").forEach(function (node) { node.remove(); });
    const wasRestoring = restoring;
    restoring = true;
    const item = addMessage("bot", notice.text, "notice");
    restoring = wasRestoring;
    if (!again) remember({ kind: "notice", notice: notice });
    if (notice.buttons.length) {
      const group = element("div", "choices");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", TEXTS.choicesLabel);
      notice.buttons.forEach(function (choice) {
        group.appendChild(button(choice.label, "choice", function () {
          send({ value: choice.value }, choice.label);
        }, choice.value));
      });
      item.appendChild(group);
    }
  }

  // ----- wiring -------------------------------------------------------------------------------------------
  typed.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = typedInput.value.trim();
    if (!text) {
      setStatus(TEXTS.empty);
      typedInput.focus();
      return;
    }
    send({ text: text, context: question }, text);
  });

  usePosition.addEventListener("click", function () {
    if (busy) return;
    setStatus(TEXTS.positionWait);
    navigator.geolocation.getCurrentPosition(
      function (found) {
        setStatus("");
        send(
          { location: { latitude: found.coords.latitude, longitude: found.coords.longitude } },
          TEXTS.position,
        );
      },
      function () {
        setStatus(TEXTS.positionFailed);
        typedInput.focus();
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 },
    );
  });

  // « Recommencer » and « Arrêter » ask first (a modal dialog: keyboard and screen readers know it; Escape or
  // « Non » closes it and gives the focus back); the other commands act at once (erasing asks in the chat itself).
  let asked = null;
  document.querySelectorAll("[data-command]").forEach(function (node) {
    node.addEventListener("click", function () {
      if (node.dataset.ask && typeof ask.showModal === "function") {
        asked = node;
        document.getElementById("ask-title").textContent = node.dataset.ask;
        document.getElementById("ask-text").textContent = node.dataset.askText;
        document.getElementById("ask-yes").textContent = node.dataset.askYes;
        document.getElementById("ask-no").textContent = node.dataset.askNo;
        ask.showModal();
        document.getElementById("ask-no").focus();
        return;
      }
      send({ command: node.dataset.command }, node.textContent);
    });
  });
  document.getElementById("ask-yes").addEventListener("click", function () {
    const node = asked;
    ask.close();
    if (node) send({ command: node.dataset.command }, node.textContent);
  });
  document.getElementById("ask-no").addEventListener("click", function () { ask.close(); });
  ask.addEventListener("close", function () {
    if (asked && !busy && document.activeElement === document.body) asked.focus();
    asked = null;
  });

  setInterval(checkNotices, NOTICE_EVERY_MS);
  window.addEventListener("focus", checkNotices);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) checkNotices();
  });

  start();
})();
