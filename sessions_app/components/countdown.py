"""The countdown: a tiny React component that draws MM:SS from the timer anchors.

The server sends anchors only (when the phase ends, or the time left while paused). The
browser computes the remaining time every 250 ms itself, corrected by its clock's offset from
the server (the lowest-round-trip sample from ``ClockState``), so a running timer costs zero
WebSocket frames and every screen agrees even when a computer's clock is minutes off.

The main room countdown also keeps the tab title current, plays a soft chime and shows a
browser notification at a phase change when the student turned that on, and lets the host
press Space to start / pause / resume.
"""

from __future__ import annotations

import reflex as rx
from reflex_base.utils.imports import ImportVar

_JS = r"""
const sessionsClock = () => (typeof window !== "undefined" && window.__sessionsClock) || { offset: 0, rtt: Infinity, at: 0 };
const sessionsFmt = (ms) => {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60), s = total % 60;
  return String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
};
const sessionsChime = () => {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    const ctx = new Ctx(); const o = ctx.createOscillator(); const g = ctx.createGain();
    o.type = "sine"; o.frequency.value = 660; g.gain.setValueAtTime(0.0001, ctx.currentTime);
    g.gain.exponentialRampToValueAtTime(0.15, ctx.currentTime + 0.05);
    g.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 1.2);
    o.connect(g); g.connect(ctx.destination); o.start(); o.stop(ctx.currentTime + 1.3);
  } catch (e) { /* no audio available */ }
};
function SessionsCountdown({ endsAt, pausedRemaining, serverNow, clientSent, phase, phaseLabel, idleMs, main, id, className }) {
  const [, setTick] = useState(0);
  const lastPhase = useRef(null);
  useEffect(() => {
    if (!serverNow || !clientSent) return;
    const now = Date.now(); const rtt = now - clientSent;
    const c = sessionsClock();
    if (rtt >= 0 && (rtt <= c.rtt || now - c.at > 600000)) {
      window.__sessionsClock = { offset: serverNow + rtt / 2 - now, rtt: rtt, at: now };
    }
  }, [serverNow, clientSent]);
  useEffect(() => {
    const h = setInterval(() => setTick((x) => (x + 1) % 1000000), 250);
    return () => clearInterval(h);
  }, []);
  // Idle: the length of the focus block a Start would begin (when given), not 00:00.
  const remaining = phase === "idle" ? (idleMs > 0 ? idleMs : 0)
    : pausedRemaining >= 0 ? pausedRemaining
    : (endsAt > 0 ? Math.max(0, endsAt - (Date.now() + sessionsClock().offset)) : 0);
  const text = sessionsFmt(remaining);
  useEffect(() => {
    if (!main) return;
    document.title = phase === "idle" ? "Sessions" : text + " · " + phaseLabel + (pausedRemaining >= 0 ? " (paused)" : "") + " · Sessions";
  }, [main, text, phase, phaseLabel, pausedRemaining]);
  useEffect(() => {
    if (!main) return;
    if (lastPhase.current !== null && lastPhase.current !== phase && phase !== "idle") {
      if (localStorage.getItem("sessions-sound") === "on") {
        sessionsChime();
        if (window.Notification && Notification.permission === "granted" && document.hidden) {
          new Notification("Sessions", { body: "Now: " + phaseLabel });
        }
      }
    }
    lastPhase.current = phase;
  }, [main, phase, phaseLabel]);
  useEffect(() => {
    if (!main) return;
    const onKey = (e) => {
      if (e.code !== "Space" || e.repeat) return;
      const t = e.target; const tag = (t && t.tagName) || "";
      if (["INPUT", "TEXTAREA", "SELECT", "BUTTON"].includes(tag) || (t && t.isContentEditable)) return;
      const btn = ["timer-pause", "timer-resume", "timer-start"].map((x) => document.getElementById(x)).find((b) => b);
      if (btn) { e.preventDefault(); btn.click(); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [main]);
  return <span id={id} className={className} style={{ fontVariantNumeric: "tabular-nums" }}>{text}</span>;
}
"""


class Countdown(rx.Component):
    """``MM:SS`` left in the phase, computed in the browser from the anchors."""

    tag = "SessionsCountdown"

    ends_at: rx.Var[int]
    paused_remaining: rx.Var[int]
    server_now: rx.Var[int]
    client_sent: rx.Var[int]
    phase: rx.Var[str]
    phase_label: rx.Var[str]
    # What an idle timer shows (ms): the focus length a Start would begin; 0 shows 00:00.
    idle_ms: rx.Var[int]
    main: rx.Var[bool]

    def add_imports(self):
        """React hooks used by the component."""
        return {"react": [ImportVar(tag="useEffect"), ImportVar(tag="useState"), ImportVar(tag="useRef")]}

    def add_custom_code(self) -> list[str]:
        """The component's JavaScript (defined once per page)."""
        return [_JS]


countdown = Countdown.create

TOGGLE_SOUND_JS = """(() => {
  const on = localStorage.getItem("sessions-sound") !== "on";
  localStorage.setItem("sessions-sound", on ? "on" : "off");
  if (on && window.Notification && Notification.permission === "default") Notification.requestPermission();
  return on;
})()"""
READ_SOUND_JS = 'localStorage.getItem("sessions-sound") === "on"'
