/* Sessions: audio/video calls in rooms and scheduled sessions (a WebRTC mesh).
 *
 * Media goes browser to browser; the app server only relays signalling, and only between
 * members of the same call (sessions_app/state/call.py). Messages to the server go through
 * window.__sessionsCallSend (components/call.py's bridge -> CallState.message); the server
 * calls SessionsCall.on(name, data) here. The newcomer offers to everyone already in the call;
 * SDP is sent once ICE gathering is complete (or after a short wait), so a connection needs
 * one offer and one answer, no trickled candidates. Camera/mic off = track disabled (no
 * renegotiation); a device change replaces the track in every connection.
 */
(function () {
  "use strict";
  if (window.SessionsCall) return;

  const GATHER_WAIT_MS = 2500;
  const SPEAK_LEVEL = 0.02;
  const state = {
    inCall: false, selfId: 0, hostId: 0, names: {}, peers: new Map(), local: null,
    iceServers: [], audioCtx: null, meters: new Map(), meterTimer: 0,
    micOn: true, cameraOn: true, audioDevice: "", videoDevice: "", mode: "mesh",
  };
  const metrics = { joinClickedAt: 0, firstRemoteFrameAt: 0, setupMs: 0 };

  const send = (msg) => { if (window.__sessionsCallSend) window.__sessionsCallSend(msg); };
  const panel = () => document.getElementById("call-panel");
  const tilesBox = () => document.getElementById("call-tiles");

  function injectStyle() {
    if (document.getElementById("sessions-call-style")) return;
    const st = document.createElement("style");
    st.id = "sessions-call-style";
    st.textContent = `
.call-tiles{display:grid;gap:8px;width:100%;grid-template-columns:repeat(auto-fit,minmax(min(100%,200px),1fr))}
.call-tiles:empty{display:none}
.call-tiles[data-count="1"]{grid-template-columns:minmax(0,420px)}
.call-tiles[data-count="2"]{grid-template-columns:repeat(2,minmax(0,1fr))}
@media (max-width:520px){.call-tiles{grid-template-columns:repeat(auto-fill,minmax(90px,1fr))}
 .call-tiles[data-count="2"],.call-tiles[data-count="3"],.call-tiles[data-count="4"]{grid-template-columns:repeat(2,minmax(0,1fr))}}
.call-tile{position:relative;aspect-ratio:4/3;background:#111418;border-radius:10px;overflow:hidden;
 outline:2px solid transparent;transition:outline-color .15s}
.call-tile[data-speaking]{outline-color:#3dd68c}
.call-tile video{width:100%;height:100%;object-fit:cover;display:block;background:#111418}
.call-tile[data-self] video{transform:scaleX(-1)}
.call-tile .call-name{position:absolute;left:6px;bottom:6px;font-size:12px;padding:2px 6px;border-radius:6px;
 background:rgba(0,0,0,.55);color:#fff;max-width:calc(100% - 12px);overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.call-tile .call-host{position:absolute;right:6px;top:6px;display:flex;gap:4px}
.call-tile .call-host button{font-size:11px;padding:2px 6px;border-radius:6px;border:0;cursor:pointer;
 background:rgba(0,0,0,.6);color:#fff}
.call-devices-picker{display:flex;gap:8px;flex-wrap:wrap}
.call-devices-picker:empty{display:none}
.call-devices-picker select{background:#1a1d21;color:inherit;border:1px solid #333;border-radius:6px;padding:4px;max-width:100%}
.call-notice{font-size:13px;color:#f5b759}`;
    document.head.appendChild(st);
  }

  function notice(text) {
    const box = tilesBox();
    if (!box) return;
    let n = document.getElementById("call-notice");
    if (!n) {
      n = document.createElement("div");
      n.id = "call-notice"; n.className = "call-notice"; n.setAttribute("role", "status");
      box.parentNode.insertBefore(n, box);
    }
    n.textContent = text;
  }

  function tile(userId) {
    const box = tilesBox();
    if (!box) return null;
    let t = box.querySelector(`.call-tile[data-user-id="${userId}"]`);
    if (!t) {
      t = document.createElement("div");
      t.className = "call-tile";
      t.dataset.userId = String(userId);
      const v = document.createElement("video");
      v.autoplay = true; v.playsInline = true;
      if (userId === state.selfId) { v.muted = true; t.dataset.self = ""; }
      const name = document.createElement("div");
      name.className = "call-name";
      t.append(v, name);
      box.appendChild(t);
    }
    t.querySelector(".call-name").textContent = (state.names[userId] || "") + (userId === state.selfId ? " (you)" : "");
    hostControls(t, userId);
    box.dataset.count = String(box.children.length);
    return t;
  }

  function hostControls(t, userId) {
    let bar = t.querySelector(".call-host");
    const wanted = state.selfId && state.hostId === state.selfId && userId !== state.selfId;
    if (!wanted) { if (bar) bar.remove(); return; }
    if (bar) return;
    bar = document.createElement("div");
    bar.className = "call-host";
    const mute = document.createElement("button");
    mute.className = "call-host-mute"; mute.textContent = "Mute"; mute.type = "button";
    mute.onclick = () => send({ op: "mute", user: userId });
    const remove = document.createElement("button");
    remove.className = "call-host-remove"; remove.textContent = "Remove"; remove.type = "button";
    remove.onclick = () => send({ op: "remove", user: userId });
    bar.append(mute, remove);
    t.appendChild(bar);
  }

  function dropTile(userId) {
    const box = tilesBox();
    const t = box && box.querySelector(`.call-tile[data-user-id="${userId}"]`);
    if (t) t.remove();
    if (box) box.dataset.count = String(box.children.length);
    unmeter(userId);
  }

  function play(video, stream, userId) {
    if (video.srcObject !== stream) video.srcObject = stream;
    const p = video.play();
    if (p && p.catch) {
      p.catch(() => { video.muted = true; video.play().catch(() => {}); });
    }
    if (userId !== state.selfId && !metrics.firstRemoteFrameAt) {
      const first = () => {
        if (metrics.firstRemoteFrameAt) return;
        metrics.firstRemoteFrameAt = performance.now();
        metrics.setupMs = Math.round(metrics.firstRemoteFrameAt - metrics.joinClickedAt);
      };
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(first);
      else video.addEventListener("loadeddata", first, { once: true });
    }
  }

  // --- who is speaking: one analyser per stream, read a few times a second ---------------
  function meter(userId, stream) {
    if (!state.audioCtx || !stream.getAudioTracks().length) return;
    unmeter(userId);
    try {
      const src = state.audioCtx.createMediaStreamSource(stream);
      const an = state.audioCtx.createAnalyser();
      an.fftSize = 512;
      src.connect(an);
      state.meters.set(userId, { src, an, buf: new Uint8Array(an.fftSize) });
    } catch (e) { /* a stream without audio yet */ }
    if (!state.meterTimer) state.meterTimer = setInterval(readMeters, 150);
  }

  function unmeter(userId) {
    const m = state.meters.get(userId);
    if (m) { try { m.src.disconnect(); } catch (e) { /* gone */ } state.meters.delete(userId); }
  }

  function readMeters() {
    const box = tilesBox();
    if (!box) return;
    for (const [userId, m] of state.meters) {
      m.an.getByteTimeDomainData(m.buf);
      let sum = 0;
      for (let i = 0; i < m.buf.length; i++) { const x = (m.buf[i] - 128) / 128; sum += x * x; }
      const level = Math.sqrt(sum / m.buf.length);
      const muted = userId === state.selfId && !state.micOn;
      const t = box.querySelector(`.call-tile[data-user-id="${userId}"]`);
      if (!t) continue;
      if (level > SPEAK_LEVEL && !muted) t.setAttribute("data-speaking", "");
      else t.removeAttribute("data-speaking");
    }
  }

  // --- connections -------------------------------------------------------------------------
  function waitGathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { pc.removeEventListener("icegatheringstatechange", check); resolve(); };
      const check = () => { if (pc.iceGatheringState === "complete") done(); };
      pc.addEventListener("icegatheringstatechange", check);
      setTimeout(done, GATHER_WAIT_MS);
    });
  }

  function makePeer(userId) {
    closePeer(userId);
    const pc = new RTCPeerConnection({ iceServers: state.iceServers });
    if (state.local) {
      for (const track of state.local.getTracks()) pc.addTrack(track, state.local);
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.addTransceiver("video", { direction: "recvonly" });
    }
    const stream = new MediaStream();
    pc.ontrack = (ev) => {
      stream.addTrack(ev.track);
      const t = tile(userId);
      if (t) play(t.querySelector("video"), stream, userId);
      if (ev.track.kind === "audio") meter(userId, stream);
    };
    pc.onconnectionstatechange = () => {
      const t = tilesBox() && tilesBox().querySelector(`.call-tile[data-user-id="${userId}"]`);
      if (t) t.dataset.connection = pc.connectionState;
    };
    state.peers.set(userId, pc);
    tile(userId);
    return pc;
  }

  function closePeer(userId) {
    const pc = state.peers.get(userId);
    if (pc) { pc.close(); state.peers.delete(userId); }
  }

  async function offerTo(userId) {
    const pc = makePeer(userId);
    await pc.setLocalDescription(await pc.createOffer());
    await waitGathered(pc);
    send({ op: "signal", to: userId, kind: "offer", data: { type: "offer", sdp: pc.localDescription.sdp } });
  }

  async function onSignal({ from, kind, data }) {
    if (!state.inCall) return;
    if (kind === "offer") {
      const pc = makePeer(from);
      await pc.setRemoteDescription(data);
      await pc.setLocalDescription(await pc.createAnswer());
      await waitGathered(pc);
      send({ op: "signal", to: from, kind: "answer", data: { type: "answer", sdp: pc.localDescription.sdp } });
    } else if (kind === "answer") {
      const pc = state.peers.get(from);
      if (pc && pc.signalingState === "have-local-offer") await pc.setRemoteDescription(data);
    } else if (kind === "ice") {
      const pc = state.peers.get(from);
      if (pc) await pc.addIceCandidate(data).catch(() => {});
    }
  }


  // --- the SFU (Janus VideoRoom over its WebSocket transport, plain JSON) ------------------
  // One Janus session; a publisher handle (our stream, published under our user id) and one
  // subscriber handle per other member's feed. Janus answers requests carrying SDP with an
  // "ack" and the result later as an event from the handle ("sender").
  const sfu = { ws: null, info: null, session: 0, pub: 0, pubPc: null, subs: new Map(), pending: new Map(),
                handlers: new Map(), keepalive: 0 };

  function janusSend(body) {
    return new Promise((resolve, reject) => {
      const transaction = Math.random().toString(36).slice(2);
      sfu.pending.set(transaction, { resolve, reject });
      sfu.ws.send(JSON.stringify({ ...body, transaction, token: sfu.info.token,
        ...(sfu.session ? { session_id: sfu.session } : {}) }));
    });
  }

  function janusMessage(handle, body, jsep) {
    return janusSend({ janus: "message", handle_id: handle, body, ...(jsep ? { jsep } : {}) });
  }

  function onJanus(ev) {
    const msg = JSON.parse(ev.data);
    const waiting = msg.transaction && sfu.pending.get(msg.transaction);
    if (waiting && msg.janus !== "ack") {
      sfu.pending.delete(msg.transaction);
      if (msg.janus === "error") waiting.reject(new Error(msg.error && msg.error.reason));
      else waiting.resolve(msg);
    }
    if (msg.janus === "event" || msg.janus === "webrtcup" || msg.janus === "hangup") {
      const h = sfu.handlers.get(msg.sender);
      if (h) Promise.resolve(h(msg)).catch((e) => console.warn("sfu:", e));
    }
  }

  async function attach() {
    const r = await janusSend({ janus: "attach", plugin: "janus.plugin.videoroom" });
    return r.data.id;
  }

  function publishersIn(msg) {
    const d = (msg.plugindata && msg.plugindata.data) || {};
    return d.publishers || [];
  }

  async function subscribe(feed) {
    if (feed === state.selfId || sfu.subs.has(feed)) return;
    sfu.subs.set(feed, null);
    const handle = await attach();
    const pc = new RTCPeerConnection({ iceServers: state.iceServers });
    const stream = new MediaStream();
    pc.ontrack = (ev) => {
      stream.addTrack(ev.track);
      const t = tile(feed);
      if (t) play(t.querySelector("video"), stream, feed);
      if (ev.track.kind === "audio") meter(feed, stream);
    };
    sfu.subs.set(feed, { handle, pc });
    state.peers.set(feed, pc);
    sfu.handlers.set(handle, async (msg) => {
      if (msg.jsep && msg.jsep.type === "offer") {
        await pc.setRemoteDescription(msg.jsep);
        await pc.setLocalDescription(await pc.createAnswer());
        await waitGathered(pc);
        await janusMessage(handle, { request: "start", room: sfu.info.room },
          { type: "answer", sdp: pc.localDescription.sdp });
      }
    });
    tile(feed);
    await janusMessage(handle, { request: "join", ptype: "subscriber", room: sfu.info.room, pin: sfu.info.pin,
      streams: [{ feed }] });
  }

  function unsubscribe(feed) {
    const sub = sfu.subs.get(feed);
    if (sub && sub.pc) sub.pc.close();
    sfu.subs.delete(feed);
    state.peers.delete(feed);
    dropTile(feed);
  }

  async function publish() {
    const pc = new RTCPeerConnection({ iceServers: state.iceServers });
    sfu.pubPc = pc;
    if (state.local) for (const track of state.local.getTracks()) pc.addTrack(track, state.local);
    await pc.setLocalDescription(await pc.createOffer());
    await waitGathered(pc);
    await janusMessage(sfu.pub, { request: "publish", audio: true, video: true },
      { type: "offer", sdp: pc.localDescription.sdp });
  }

  async function startSfu(info) {
    stopSfu();
    for (const id of Array.from(state.peers.keys())) closePeer(id);   // leave the mesh
    sfu.info = info;
    state.mode = "sfu";
    sfu.ws = new WebSocket(info.ws_url, "janus-protocol");
    sfu.ws.onmessage = onJanus;
    await new Promise((resolve, reject) => { sfu.ws.onopen = resolve; sfu.ws.onerror = reject; });
    sfu.session = (await janusSend({ janus: "create" })).data.id;
    sfu.keepalive = setInterval(() => janusSend({ janus: "keepalive" }).catch(() => {}), 25000);
    sfu.pub = await attach();
    sfu.handlers.set(sfu.pub, async (msg) => {
      const d = (msg.plugindata && msg.plugindata.data) || {};
      if (msg.jsep && msg.jsep.type === "answer" && sfu.pubPc) await sfu.pubPc.setRemoteDescription(msg.jsep);
      for (const p of publishersIn(msg)) subscribe(p.id);
      const gone = d.unpublished || d.leaving || d.kicked;
      if (gone && gone !== "ok" && gone !== state.selfId) unsubscribe(gone);
    });
    const joined = await new Promise((resolve) => {
      const prev = sfu.handlers.get(sfu.pub);
      sfu.handlers.set(sfu.pub, async (msg) => {
        const d = (msg.plugindata && msg.plugindata.data) || {};
        if (d.videoroom === "joined") { sfu.handlers.set(sfu.pub, prev); resolve(msg); }
      });
      janusMessage(sfu.pub, { request: "join", ptype: "publisher", room: info.room, pin: info.pin,
        id: state.selfId, display: state.names[state.selfId] || "" });
    });
    await publish();
    for (const p of publishersIn(joined)) subscribe(p.id);
  }

  function stopSfu() {
    if (sfu.keepalive) clearInterval(sfu.keepalive);
    for (const feed of Array.from(sfu.subs.keys())) unsubscribe(feed);
    if (sfu.pubPc) sfu.pubPc.close();
    if (sfu.ws) { try { sfu.ws.close(); } catch (e) { /* closed */ } }
    Object.assign(sfu, { ws: null, info: null, session: 0, pub: 0, pubPc: null, keepalive: 0 });
    sfu.pending.clear(); sfu.handlers.clear();
    state.mode = "mesh";
  }

  // --- local media ---------------------------------------------------------------------------
  async function getMedia() {
    const audio = state.audioDevice ? { deviceId: { exact: state.audioDevice } } : true;
    const video = state.videoDevice ? { deviceId: { exact: state.videoDevice } } : true;
    try {
      return await navigator.mediaDevices.getUserMedia({ audio, video });
    } catch (e) {
      try { return await navigator.mediaDevices.getUserMedia({ audio, video: false }); } catch (e2) { return null; }
    }
  }

  function showLocal() {
    const t = tile(state.selfId);
    if (t && state.local) play(t.querySelector("video"), state.local, state.selfId);
    if (state.local) meter(state.selfId, state.local);
  }

  function applyFlags() {
    if (state.local) {
      state.local.getAudioTracks().forEach((t) => { t.enabled = state.micOn; });
      state.local.getVideoTracks().forEach((t) => { t.enabled = state.cameraOn; });
    }
    send({ op: "media", mic: state.micOn, camera: state.cameraOn });
  }

  function teardown() {
    state.inCall = false;
    stopSfu();
    for (const id of Array.from(state.peers.keys())) closePeer(id);
    if (state.local) state.local.getTracks().forEach((t) => t.stop());
    state.local = null;
    for (const id of Array.from(state.meters.keys())) unmeter(id);
    if (state.meterTimer) { clearInterval(state.meterTimer); state.meterTimer = 0; }
    const box = tilesBox();
    if (box) { box.replaceChildren(); box.dataset.count = "0"; }
    const picker = document.getElementById("call-devices-picker");
    if (picker) picker.replaceChildren();
  }

  // --- the API used by the page and the server ---------------------------------------------
  const api = {
    metrics,
    mode() { return state.mode; },
    mount() { injectStyle(); send({ op: "hello" }); },
    unmount() { if (state.inCall) { send({ op: "leave" }); } teardown(); },
    async start() {
      if (state.inCall) return;
      metrics.joinClickedAt = performance.now(); metrics.firstRemoteFrameAt = 0; metrics.setupMs = 0;
      const p = panel();
      if (!p) return;
      try {
        const Ctx = window.AudioContext || window.webkitAudioContext;
        if (!state.audioCtx && Ctx) state.audioCtx = new Ctx();
        if (state.audioCtx && state.audioCtx.state === "suspended") state.audioCtx.resume();
      } catch (e) { /* no audio analysis */ }
      state.local = await getMedia();
      if (!state.local) notice("No camera or microphone available: you can still see and hear the others.");
      state.micOn = true; state.cameraOn = !!(state.local && state.local.getVideoTracks().length);
      send({ op: "join", kind: p.dataset.callKind, id: Number(p.dataset.callId) });
    },
    leave() { send({ op: "leave" }); teardown(); },
    toggleMic() { state.micOn = !state.micOn; applyFlags(); },
    toggleCamera() { state.cameraOn = !state.cameraOn; applyFlags(); },
    async toggleDevices() {
      const picker = document.getElementById("call-devices-picker");
      if (!picker) return;
      if (picker.children.length) { picker.replaceChildren(); return; }
      const devices = await navigator.mediaDevices.enumerateDevices();
      for (const [kind, label] of [["audioinput", "Microphone"], ["videoinput", "Camera"]]) {
        const sel = document.createElement("select");
        sel.id = kind === "audioinput" ? "call-device-audio" : "call-device-video";
        sel.setAttribute("aria-label", label);
        const current = state.local && (kind === "audioinput" ? state.local.getAudioTracks() : state.local.getVideoTracks())[0];
        const currentId = current && current.getSettings ? current.getSettings().deviceId : "";
        for (const d of devices.filter((x) => x.kind === kind)) {
          const o = document.createElement("option");
          o.value = d.deviceId; o.textContent = d.label || label; o.selected = d.deviceId === currentId;
          sel.appendChild(o);
        }
        sel.onchange = () => api.useDevice(kind, sel.value);
        picker.appendChild(sel);
      }
    },
    async useDevice(kind, deviceId) {
      if (kind === "audioinput") state.audioDevice = deviceId; else state.videoDevice = deviceId;
      const constraints = kind === "audioinput" ? { audio: { deviceId: { exact: deviceId } } }
        : { video: { deviceId: { exact: deviceId } } };
      let fresh;
      try { fresh = await navigator.mediaDevices.getUserMedia(constraints); } catch (e) { notice("That device is not available."); return; }
      const track = fresh.getTracks()[0];
      if (!state.local) state.local = new MediaStream();
      const old = state.local.getTracks().find((t) => t.kind === track.kind);
      if (old) { state.local.removeTrack(old); old.stop(); }
      state.local.addTrack(track);
      track.enabled = track.kind === "audio" ? state.micOn : state.cameraOn;
      for (const pc of [...state.peers.values(), ...(sfu.pubPc ? [sfu.pubPc] : [])]) {
        const sender = pc.getSenders().find((s) => s.track && s.track.kind === track.kind);
        if (sender) await sender.replaceTrack(track);
      }
      showLocal();
    },
    async stats() {
      const out = {};
      for (const [userId, pc] of state.peers) {
        const s = {};
        (await pc.getStats()).forEach((r) => {
          if (r.type === "inbound-rtp") s[r.kind] = { bytesReceived: r.bytesReceived, framesDecoded: r.framesDecoded };
        });
        out[userId] = s;
      }
      return out;
    },
    on(name, data) {
      const h = handlers[name];
      if (h) Promise.resolve(h(data)).catch((e) => console.warn("call:", name, e));
    },
  };

  const handlers = {
    async joined(d) {
      state.inCall = true; state.selfId = d.self_id; state.hostId = d.host_id;
      state.iceServers = d.ice_servers || [];
      for (const p of d.peers) state.names[p.user_id] = p.name;
      const n = document.getElementById("call-notice");
      if (n) n.remove();
      showLocal();
      applyFlags();
      if (d.sfu) { await startSfu(d.sfu); return; }
      await Promise.all(d.peers.filter((p) => p.user_id !== state.selfId).map((p) => offerTo(p.user_id)));
    },
    async sfu(d) { if (state.inCall) await startSfu(d); },
    roster(d) {
      if (!state.inCall) return;
      state.hostId = d.host_id;
      const ids = new Set(d.peers.map((p) => p.user_id));
      for (const p of d.peers) state.names[p.user_id] = p.name;
      for (const id of Array.from(state.peers.keys())) {
        if (ids.has(id)) continue;
        if (state.mode === "sfu") unsubscribe(id); else { closePeer(id); dropTile(id); }
      }
      const box = tilesBox();
      if (box) for (const t of Array.from(box.children)) {
        const id = Number(t.dataset.userId);
        if (!ids.has(id) && id !== state.selfId) dropTile(id);
      }
      for (const id of ids) tile(id);
    },
    signal: onSignal,
    muted(d) {
      state.micOn = false; applyFlags();
      notice(`${d.by} muted your microphone. Unmute when you want to speak.`);
    },
    ended(d) {
      teardown();
      notice(d.reason || "You left the call.");
      send({ op: "media", mic: true, camera: true });
      send({ op: "leave" });
    },
    error(d) {
      if (!state.inCall) teardown();
    },
  };

  window.SessionsCall = api;
})();
