// The list of requests keeps itself up to date (a small enhancement: without JavaScript the page works the same,
// with a reload). Every few seconds it asks /mediateurs/etat.json whether a request of the mediator's queues was
// made or changed; if so (or once a minute, for the waiting times), it fetches the same page again and puts its
// list in place of this one. The title counts the requests waiting for someone; a new one is announced to
// screen readers and, when the mediator asked for it, with a short sound.
(() => {
  "use strict";
  const live = document.querySelector("[data-live]");
  if (!live || !window.fetch || !window.DOMParser) {
    return;
  }
  const every = Math.max(1000, Number(live.dataset.every) || 10000);
  const status = document.getElementById("live-status");
  const tools = document.querySelector("[data-live-tools]");
  const sound = document.querySelector("[data-sound]");
  const title = document.title.replace(/^\(\d+\) /, "");
  const SOUND_KEY = "passerelle-son";
  let version = live.dataset.version;
  let waiting = Number(live.dataset.waiting) || 0;
  let refreshed = Date.now();

  if (tools && sound) {
    tools.hidden = false;
    sound.checked = localStorage.getItem(SOUND_KEY) === "1";
    sound.addEventListener("change", () => localStorage.setItem(SOUND_KEY, sound.checked ? "1" : "0"));
  }

  function beep() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!sound || !sound.checked || !Context) {
      return;
    }
    const audio = new Context();
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.frequency.value = 660;
    volume.gain.value = 0.08;
    tone.connect(volume).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
    tone.onended = () => audio.close();
  }

  function showWaiting(count) {
    document.title = (count > 0 ? `(${count}) ` : "") + title;
  }

  async function refresh() {
    const response = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok || !response.url.includes("/mediateurs/") || response.url.includes("/connexion")) {
      return false;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("liste");
    if (!fresh) {
      return false;
    }
    const focused = document.activeElement;
    const focusedLink = focused && live.contains(focused) ? focused.getAttribute("href") : null;
    live.replaceChildren(...Array.from(fresh.childNodes, (node) => document.importNode(node, true)));
    if (focusedLink) {  // keep the keyboard where it was
      const again = Array.from(live.querySelectorAll("a[href]")).find((a) => a.getAttribute("href") === focusedLink);
      if (again) {
        again.focus();
      }
    }
    refreshed = Date.now();
    return true;
  }

  async function check() {
    const response = await fetch(live.dataset.live, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
    const type = response.headers.get("Content-Type") || "";
    if (!response.ok || !type.includes("application/json")) {
      return false;  // signed out (the sign-in page came back): stop; the next action will say so
    }
    const state = await response.json();
    if (state.version !== version || Date.now() - refreshed > 60000) {
      if (!(await refresh())) {
        return false;
      }
      version = state.version;
    }
    if (state.waiting > waiting) {
      const more = state.waiting - waiting;
      status.textContent = more > 1 ? `${more} nouvelles demandes en attente.` : "Une nouvelle demande en attente.";
      beep();
    }
    waiting = state.waiting;
    showWaiting(waiting);
    return true;
  }

  async function loop() {
    let again = true;
    try {
      again = await check();
    } catch (error) {
      again = true;  // the network or the server hiccuped: the next check will tell
    }
    if (again) {
      window.setTimeout(loop, every);
    }
  }

  window.setTimeout(loop, every);
  window.addEventListener("focus", () => { check().catch(() => undefined); });
})();
